package httpapi

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"testing"

	"github.com/chatbox-dev/chatbox/chat/web"
)

// The page stays small: its HTML, scripts and styles together are under a
// budget, so a phone on a slow link opens the room quickly. The budget of
// the files themselves was 128 KiB until the page grew to 167 KB with
// encrypted rooms (crypto.js and vault.js, 21 KB, which every page loads),
// the in-page destroy dialog and the push hints; the box serves them
// gzip-encoded, and what a phone downloads has a budget of its own.
func TestThePageStaysSmall(t *testing.T) {
	const budget, downloadBudget = 192 << 10, 64 << 10
	assets, err := pageAssets()
	if err != nil {
		t.Fatal(err)
	}
	total, scripts, download := 0, 0, 0
	err = fs.WalkDir(web.Files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !strings.HasSuffix(path, ".html") && !strings.HasSuffix(path, ".js") && !strings.HasSuffix(path, ".css") {
			return nil
		}
		b, err := fs.ReadFile(web.Files, path)
		if err != nil {
			return err
		}
		total += len(b)
		a := assets["/"+path]
		if path == "index.html" {
			a = assets["/"]
		}
		if a == nil || a.gz == nil {
			return fmt.Errorf("%s is not served gzip-encoded", path)
		}
		download += len(a.gz)
		if strings.HasSuffix(path, ".js") {
			scripts++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the page is %d bytes in HTML, CSS and %d modules (budget %d); %d bytes gzip-encoded (budget %d)", total, scripts, budget, download, downloadBudget)
	if total > budget {
		t.Errorf("the page is %d bytes, over its budget of %d", total, budget)
	}
	if download > downloadBudget {
		t.Errorf("the page downloads as %d bytes, over its budget of %d", download, downloadBudget)
	}
}

// The page's files are served gzip-encoded to a browser that takes it,
// decode to the very bytes (their integrity is of those), and are served
// as they are otherwise; pictures are never encoded again.
func TestThePagesFilesAreServedCompressed(t *testing.T) {
	tr := newTestRoom(t, nil)
	get := func(path, acceptEncoding string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", tr.srv.URL+path, nil)
		req.Header.Set("Accept-Encoding", acceptEncoding) // set: the client does not decode
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, b
	}
	for _, path := range []string{"/", "/static/js/main.js", "/static/style.css", "/sw.js"} {
		plainRes, plain := get(path, "identity")
		if plainRes.StatusCode != 200 || plainRes.Header.Get("Content-Encoding") != "" {
			t.Fatalf("GET %s without gzip: %d, Content-Encoding %q", path, plainRes.StatusCode, plainRes.Header.Get("Content-Encoding"))
		}
		res, body := get(path, "br, gzip;q=0.8")
		if res.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(res.Header.Get("Vary"), "Accept-Encoding") {
			t.Fatalf("GET %s with gzip: Content-Encoding %q, Vary %q", path, res.Header.Get("Content-Encoding"), res.Header.Get("Vary"))
		}
		if ct := res.Header.Get("Content-Type"); ct != plainRes.Header.Get("Content-Type") || ct == "" || strings.Contains(ct, "gzip") {
			t.Errorf("GET %s: Content-Type %q encoded, %q not", path, ct, plainRes.Header.Get("Content-Type"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("GET %s: not gzip: %v", path, err)
		}
		decoded, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(decoded, plain) {
			t.Errorf("GET %s: the encoded body does not decode to the file (%v)", path, err)
		}
		t.Logf("%s: %d bytes, %d encoded", path, len(plain), len(body))
		if res, _ := get(path, "gzip;q=0, identity"); res.Header.Get("Content-Encoding") != "" {
			t.Errorf("GET %s with gzip;q=0 came encoded", path)
		}
	}
	if res, _ := get("/static/icon-192.png", "gzip"); res.Header.Get("Content-Encoding") != "" || res.Header.Get("Content-Type") != "image/png" {
		t.Errorf("a picture: Content-Encoding %q, Content-Type %q", res.Header.Get("Content-Encoding"), res.Header.Get("Content-Type"))
	}
	if res, _ := get("/static/js/", "gzip"); res.StatusCode != http.StatusNotFound {
		t.Errorf("a folder: %d, want 404", res.StatusCode)
	}
}
