package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/chatbox-dev/chatbox/chat/web"
)

// Every script and stylesheet of the served page carries the integrity of
// the bytes the box serves for it, every module the scripts may import is
// preloaded with its integrity (Chromium checks an import against it),
// and the page has no inline script.
func TestThePageLoadsEveryScriptAndStyleWithTheIntegrityOfWhatIsServed(t *testing.T) {
	tr := newTestRoom(t, nil)
	res, raw := tr.do(t, "GET", "/", nil, nil)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	page := string(raw)
	// The one inline script is the import map, allowed by its hash alone,
	// and it names the integrity of every module as served.
	maps := regexp.MustCompile(`<script type="importmap">([^<]*)</script>`).FindAllStringSubmatch(page, -1)
	if len(maps) != 1 {
		t.Fatalf("the page has %d import maps, want 1", len(maps))
	}
	mapSum := sha256.Sum256([]byte(maps[0][1]))
	csp := res.Header.Get("Content-Security-Policy")
	if want := "script-src 'self' 'sha256-" + base64.StdEncoding.EncodeToString(mapSum[:]) + "';"; !strings.Contains(csp, want) || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("the page's policy is %q, want %q in it", csp, want)
	}
	var importMap struct{ Integrity map[string]string }
	if err := json.Unmarshal([]byte(maps[0][1]), &importMap); err != nil {
		t.Fatal(err)
	}
	for path, want := range importMap.Integrity {
		_, body := tr.do(t, "GET", path, nil, nil)
		if sum := sha256.Sum256(body); "sha256-"+base64.StdEncoding.EncodeToString(sum[:]) != want {
			t.Errorf("the import map's integrity of %s is not that of what is served", path)
		}
	}
	page = strings.Replace(page, maps[0][0], "", 1)
	tags := regexp.MustCompile(`<(script|link)\b[^>]*>`).FindAllString(page, -1)
	attr := func(tag, name string) string {
		m := regexp.MustCompile(`\b` + name + `="([^"]*)"`).FindStringSubmatch(tag)
		if m == nil {
			return ""
		}
		return m[1]
	}
	covered := map[string]bool{}
	checked := 0
	for _, tag := range tags {
		src := attr(tag, "src")
		if strings.HasPrefix(tag, "<link") {
			switch attr(tag, "rel") {
			case "stylesheet", "modulepreload":
				src = attr(tag, "href")
			default:
				continue // icons and the manifest
			}
		}
		if src == "" {
			t.Errorf("an inline script: %s", tag)
			continue
		}
		res, body := tr.do(t, "GET", src, nil, nil)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", src, res.StatusCode)
			continue
		}
		sum := sha256.Sum256(body)
		if want := "sha256-" + base64.StdEncoding.EncodeToString(sum[:]); attr(tag, "integrity") != want {
			t.Errorf("%s: integrity %q, the served bytes are %s", tag, attr(tag, "integrity"), want)
		}
		covered[src] = true
		checked++
	}
	modules, err := fs.Glob(web.Files, "static/js/*.js")
	if err != nil || len(modules) < 5 {
		t.Fatalf("the page's modules: %v %v", modules, err)
	}
	for _, m := range append(modules, "static/push.js", "static/style.css", "static/push.css") {
		if !covered["/"+m] {
			t.Errorf("the page loads or preloads no /%s with its integrity", m)
		}
	}
	if len(importMap.Integrity) != len(modules) {
		t.Errorf("the import map names %d modules, there are %d", len(importMap.Integrity), len(modules))
	}
	if checked < len(modules)+3 {
		t.Errorf("checked %d tags; the test reads the wrong page", checked)
	}
	// The script modules make no stylesheet or script of their own (it
	// would carry no integrity).
	err = fs.WalkDir(web.Files, "static", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".js") {
			return err
		}
		src, err := fs.ReadFile(web.Files, path)
		if err != nil {
			return err
		}
		if regexp.MustCompile(`rel:\s*"stylesheet"|createElement\("script"\)|\bimport\(`).Match(src) {
			t.Errorf("%s loads a stylesheet or script of its own, without integrity", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// `chatbox version --assets` and the served page agree: what Assets says
// of each file is what the box serves at its path.
func TestTheAssetsListIsWhatIsServed(t *testing.T) {
	tr := newTestRoom(t, nil)
	assets, err := web.Assets()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range assets {
		seen[a.Name] = true
		res, body := tr.do(t, "GET", a.Path, nil, nil)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", a.Path, res.StatusCode)
			continue
		}
		sum := sha256.Sum256(body)
		if got := base64.StdEncoding.EncodeToString(sum[:]); "sha256-"+got != a.Integrity() {
			t.Errorf("%s is served with SHA-256 %s, the list says %s", a.Path, got, a.Integrity())
		}
	}
	for _, name := range []string{"index.html", "sw.js", "static/js/main.js", "static/style.css", "favicon.ico"} {
		if !seen[name] {
			t.Errorf("the assets list has no %s", name)
		}
	}
}
