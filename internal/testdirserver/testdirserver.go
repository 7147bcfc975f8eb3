// Package testdirserver serves a folder over loopback HTTP for tests, as
// a release host or an apt archive serves its files.
package testdirserver

import (
	"net"
	"net/http"
	"testing"
	"time"
)

// Handler serves the files under dir and answers every request with the
// whole file. A file server's Last-Modified counts whole seconds, and a
// test publishes twice within a second (a release never does): honouring
// apt's If-Modified-Since would answer 304 for the newer index, and apt
// would keep the old one.
func Handler(dir string) http.Handler {
	files := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Del("If-Modified-Since")
		r.Header.Del("If-None-Match")
		r.Header.Del("If-Range")
		files.ServeHTTP(w, r)
	})
}

// Start serves dir on host loopback until the test ends and returns the
// server's address (host:port).
func Start(t testing.TB, dir string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: Handler(dir), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}
