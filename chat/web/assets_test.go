package web

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestThePageRefusesWhatItCannotVouchFor(t *testing.T) {
	for name, html := range map[string]string{
		"a script that is not embedded":    `<script type="module" src="/static/js/gone.js"></script>`,
		"an integrity written by hand":     `<script type="module" src="/static/js/a.js" integrity="sha256-x"></script>`,
		"a stylesheet that is not there":   `<link rel="stylesheet" href="/static/gone.css"><script type="module" src="/static/js/a.js"></script>`,
		"no script to put preloads before": `<link rel="stylesheet" href="/static/a.css">`,
	} {
		files := fstest.MapFS{
			"index.html":     {Data: []byte(html)},
			"static/js/a.js": {Data: []byte("export const a = 1;")},
			"static/a.css":   {Data: []byte("body{}")},
		}
		if _, err := page(files); err == nil {
			t.Errorf("%s: the page was made", name)
		}
	}
	files := fstest.MapFS{
		"index.html":     {Data: []byte(`<link rel="icon" href="/static/i.svg"><script type="module" src="/static/js/a.js"></script>`)},
		"static/js/a.js": {Data: []byte("import {b} from './b.js';")},
		"static/js/b.js": {Data: []byte("export const b = 1;")},
		"static/i.svg":   {Data: []byte("<svg/>")},
	}
	got, err := page(files)
	if err != nil {
		t.Fatal(err)
	}
	want := `<link rel="icon" href="/static/i.svg"><link rel="modulepreload" href="/static/js/b.js" integrity="` + integrity([]byte("export const b = 1;")) + `">
<script type="importmap">{"integrity":{"/static/js/a.js":"` + integrity([]byte("import {b} from './b.js';")) + `","/static/js/b.js":"` + integrity([]byte("export const b = 1;")) + `"}}</script>
<script type="module" src="/static/js/a.js" integrity="` + integrity([]byte("import {b} from './b.js';")) + `"></script>`
	if string(got) != want {
		t.Errorf("the page:\n%s\nwant:\n%s", got, want)
	}
	if strings.Count(string(got), "integrity=") != 2 {
		t.Errorf("the icon got an integrity")
	}
}
