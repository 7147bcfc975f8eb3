package httpapi

import (
	"bytes"
	"compress/gzip"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chatbox-dev/chatbox/chat/web"
)

// asset is one of the page's files as the box serves it, and its gzip
// encoding where that is smaller: what a phone downloads is about a
// quarter of the scripts and styles' size. Subresource Integrity is of
// the file itself, which the browser checks after decoding.
type asset struct {
	name    string
	ctype   string
	raw, gz []byte
}

// pageAssets are the page's files by the path they are served at. They
// are made once: the embedded files never change, and every Server
// (a test makes hundreds) shares them, read-only.
var pageAssets = sync.OnceValues(makePageAssets)

func makePageAssets() (map[string]*asset, error) {
	list, err := web.Assets()
	if err != nil {
		return nil, err
	}
	out := make(map[string]*asset, len(list))
	for _, a := range list {
		ctype := mime.TypeByExtension(path.Ext(a.Name))
		if a.Name == "sw.js" {
			ctype = "text/javascript; charset=utf-8"
		}
		var gz []byte
		switch path.Ext(a.Name) {
		case ".html", ".js", ".css", ".svg":
			gz = gzipped(a.Bytes) // pictures are compressed already
		}
		out[a.Path] = &asset{name: a.Name, ctype: ctype, raw: a.Bytes, gz: gz}
	}
	return out, nil
}

// gzipped is b gzip-encoded, or nil when that saves little.
func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	if buf.Len() >= len(b)*9/10 {
		return nil
	}
	return buf.Bytes()
}

// serve writes the asset, gzip-encoded when the client takes that.
func (a *asset) serve(w http.ResponseWriter, req *http.Request) {
	h := w.Header()
	if a.ctype != "" {
		h.Set("Content-Type", a.ctype)
	}
	body := a.raw
	if a.gz != nil {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(req.Header.Get("Accept-Encoding")) {
			h.Set("Content-Encoding", "gzip")
			body = a.gz
		}
	}
	http.ServeContent(w, req, a.name, time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reads an Accept-Encoding header: gzip (or *) listed without
// q=0.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "gzip" && name != "*" {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		return q > 0
	}
	return false
}
