package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
)

// The page is loaded with Subresource Integrity: the page as served
// names the SHA-256 of every script and stylesheet it loads, and a
// modulepreload of every module the scripts import, so that a browser
// refuses a file whose bytes are not the ones built into this binary.
// Assets lists every file of the page as served, with its SHA-256, for
// `chatbox version --assets`; both are made from the embedded files here.

// Asset is one file of the page as it is served.
type Asset struct {
	// Path is where the box serves it ("/" for the page).
	Path string
	// Name is the embedded file it is made from.
	Name  string
	Bytes []byte
}

// SHA256 is the hex SHA-256 of the file as served.
func (a Asset) SHA256() string {
	sum := sha256.Sum256(a.Bytes)
	return hex.EncodeToString(sum[:])
}

// Integrity is the file's Subresource Integrity value.
func (a Asset) Integrity() string { return integrity(a.Bytes) }

func integrity(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// servedPath is where the box serves the embedded file name.
func servedPath(name string) string {
	if name == "index.html" {
		return "/"
	}
	return "/" + name
}

// Page returns index.html as the box serves it: every script, stylesheet
// and modulepreload with its integrity, and a modulepreload (with its
// integrity) for every module under static/ that is not loaded by a
// script tag of its own, placed before the scripts.
func Page() ([]byte, error) { return page(Files) }

// tagRef finds the script and link tags of the page that load a file of
// its own, and the attribute that names it.
var tagRef = regexp.MustCompile(`<(script|link)\b[^>]*?\b(src|href)="(/static/[^"]+)"[^>]*>`)

func page(files fs.FS) ([]byte, error) {
	html, err := fs.ReadFile(files, "index.html")
	if err != nil {
		return nil, fmt.Errorf("the page: %w", err)
	}
	if bytes.Contains(html, []byte("integrity=")) {
		return nil, fmt.Errorf("index.html names an integrity itself; the box adds every one")
	}
	modules, err := fs.Glob(files, "static/js/*.js")
	if err != nil {
		return nil, err
	}
	loaded := map[string]bool{}
	var failed error
	out := tagRef.ReplaceAllFunc(html, func(tag []byte) []byte {
		m := tagRef.FindSubmatch(tag)
		kind, path := string(m[1]), string(m[3])
		if kind == "link" && !bytes.Contains(tag, []byte(`rel="stylesheet"`)) && !bytes.Contains(tag, []byte(`rel="modulepreload"`)) {
			return tag // an icon: not a subresource that runs or styles
		}
		raw, err := fs.ReadFile(files, strings.TrimPrefix(path, "/"))
		if err != nil {
			failed = fmt.Errorf("index.html loads %s, which is not embedded", path)
			return tag
		}
		loaded[path] = true
		at := bytes.LastIndexByte(tag, '>')
		if tag[at-1] == '/' {
			at--
		}
		return slices.Concat(tag[:at], []byte(` integrity="`+integrity(raw)+`"`), tag[at:])
	})
	if failed != nil {
		return nil, failed
	}
	var preload bytes.Buffer
	imports := map[string]string{}
	for _, name := range modules {
		raw, err := fs.ReadFile(files, name)
		if err != nil {
			return nil, err
		}
		imports["/"+name] = integrity(raw)
		if loaded["/"+name] {
			continue
		}
		fmt.Fprintf(&preload, "<link rel=\"modulepreload\" href=\"/%s\" integrity=\"%s\">\n", name, integrity(raw))
	}
	// A modulepreload that fails its integrity does not stop an import of
	// the same module fetching it again unchecked: the import map's
	// integrity is what Chromium checks every import against. It is the
	// page's one inline script, data and no code, allowed by its hash
	// alone (ImportMapPolicy).
	if len(imports) > 0 {
		preload.Write(importMap(imports))
	}
	first := bytes.Index(out, []byte("<script"))
	if first < 0 {
		return nil, fmt.Errorf("index.html has no script")
	}
	return slices.Concat(out[:first], preload.Bytes(), out[first:]), nil
}

// Worker returns the service worker as the box serves it: its cache named
// after the page's files, so another version of the box is another
// worker with another cache, and the stylesheet's integrity written in
// for its offline screen.
func Worker() ([]byte, error) {
	sw, err := fs.ReadFile(Files, "sw.js")
	if err != nil {
		return nil, fmt.Errorf("the service worker: %w", err)
	}
	sum := sha256.New()
	err = fs.WalkDir(Files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := fs.ReadFile(Files, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(sum, "%s %d\n", path, len(raw))
		sum.Write(raw)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("the page's files: %w", err)
	}
	version := hex.EncodeToString(sum.Sum(nil))[:12]
	style, err := fs.ReadFile(Files, "static/style.css")
	if err != nil {
		return nil, fmt.Errorf("the page's stylesheet: %w", err)
	}
	sw = bytes.Replace(sw, []byte(`"chatbox-static-v1"`), []byte(`"chatbox-static-`+version+`"`), 1)
	return bytes.Replace(sw, []byte(`const STYLE_INTEGRITY = "";`), []byte(`const STYLE_INTEGRITY = "`+integrity(style)+`";`), 1), nil
}

// importMap is the page's import map: the integrity of every module.
func importMap(imports map[string]string) []byte {
	raw, _ := json.Marshal(map[string]any{"integrity": imports}) // sorted keys
	return slices.Concat([]byte(`<script type="importmap">`), raw, []byte("</script>\n"))
}

// ImportMapPolicy is the Content-Security-Policy source that allows the
// page's import map and nothing else inline: its SHA-256.
func ImportMapPolicy() (string, error) {
	p, err := Page()
	if err != nil {
		return "", err
	}
	m := importMapScript.FindSubmatch(p)
	if m == nil {
		return "", fmt.Errorf("the page has no import map")
	}
	return "'" + integrity(m[1]) + "'", nil
}

var importMapScript = regexp.MustCompile(`<script type="importmap">([^<]*)</script>`)

// Assets returns every embedded file of the page as the box serves it,
// sorted by path: the page as Page makes it, the service worker as Worker
// makes it, and every other file as it is.
func Assets() ([]Asset, error) {
	var out []Asset
	err := fs.WalkDir(Files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		var raw []byte
		switch name {
		case "index.html":
			raw, err = Page()
		case "sw.js":
			raw, err = Worker()
		default:
			raw, err = fs.ReadFile(Files, name)
		}
		if err != nil {
			return err
		}
		out = append(out, Asset{Path: servedPath(name), Name: name, Bytes: raw})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("the page's files: %w", err)
	}
	slices.SortFunc(out, func(a, b Asset) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}
