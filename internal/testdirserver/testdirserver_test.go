package testdirserver

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A file rewritten within the second it was first served is served anew
// to a client that sends the Last-Modified it saw.
func TestARewrittenFileIsServedWholeDespiteIfModifiedSince(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "InRelease")
	if err := os.WriteFile(path, []byte("version 1"), 0o644); err != nil {
		t.Fatal(err)
	}
	url := "http://" + Start(t, dir) + "/InRelease"
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	last := res.Header.Get("Last-Modified")
	if last == "" {
		t.Fatal("no Last-Modified: the test would not show anything")
	}
	if err := os.WriteFile(path, []byte("version 2"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The same second as far as Last-Modified can tell.
	mod, _ := http.ParseTime(last)
	if err := os.Chtimes(path, mod, mod.Add(500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("If-Modified-Since", last)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || string(body) != "version 2" {
		t.Fatalf("%s %q, want 200 \"version 2\"", res.Status, body)
	}
}
