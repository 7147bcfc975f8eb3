package box

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// A page on another site can make a browser talk to 127.0.0.1 under a
// name of its own (DNS rebinding); the development server, which has no
// password, answers only loopback names.
func TestTheDevServerAnswersOnlyLoopbackNames(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := loopbackHostsOnly(ok)
	for host, want := range map[string]int{
		"localhost:8080":        http.StatusNoContent,
		"LOCALHOST":             http.StatusNoContent,
		"127.0.0.1:8080":        http.StatusNoContent,
		"127.0.0.2":             http.StatusNoContent,
		"[::1]:8080":            http.StatusNoContent,
		"rebind.example:8080":   http.StatusMisdirectedRequest,
		"192.0.2.7":             http.StatusMisdirectedRequest,
		"localhost.example":     http.StatusMisdirectedRequest,
		"127.0.0.1.nip.example": http.StatusMisdirectedRequest,
	} {
		req := httptest.NewRequest("GET", "/api/room", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("Host %q: %d, want %d", host, rec.Code, want)
		}
	}
}
