package box

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHTTPHandler(t *testing.T) {
	health := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })
	cases := []struct {
		name         string
		host         string
		port         int
		method, path string
		wantCode     int
		wantLocation string
	}{
		{"a page on port 443 goes to the bare name", "chat.example.com", 443, "GET", "/api/room?x=1", 308, "https://chat.example.com/api/room?x=1"},
		{"another HTTPS port is kept in the URL", "chat.example.com", 8443, "GET", "/", 308, "https://chat.example.com:8443/"},
		{"an IPv6 address gets brackets", "2001:db8::1", 443, "GET", "/", 308, "https://[2001:db8::1]/"},
		{"a POST is redirected with its method kept", "203.0.113.7", 443, "POST", "/api/messages", 308, "https://203.0.113.7/api/messages"},
		{"GET /healthz is answered over plain HTTP", "chat.example.com", 443, "GET", "/healthz", 200, ""},
		{"POST /healthz is redirected", "chat.example.com", 443, "POST", "/healthz", 308, "https://chat.example.com/healthz"},
		{"the trust page is answered over plain HTTP", "192.168.1.20", 443, "GET", "/trust", 200, ""},
		{"the CA certificate is answered over plain HTTP", "192.168.1.20", 443, "GET", "/chatbox-ca.crt", 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ca, err := newLocalCA(tc.host, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(tc.method, "http://whatever.invalid"+tc.path, nil)
			httpHandler(fixedSite(tc.host, ca), tc.port, health).ServeHTTP(rec, req)
			if rec.Code != tc.wantCode || rec.Header().Get("Location") != tc.wantLocation {
				t.Errorf("%s %s = %d to %q, want %d to %q", tc.method, tc.path, rec.Code, rec.Header().Get("Location"), tc.wantCode, tc.wantLocation)
			}
		})
	}
}

func TestTrustPageShowsTheCAFingerprint(t *testing.T) {
	ca, err := newLocalCA("192.168.1.20", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	h := httpHandler(fixedSite("192.168.1.20", ca), 443, http.NotFoundHandler())

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/chatbox-ca.crt", nil))
	block, _ := pem.Decode(rec.Body.Bytes())
	if block == nil {
		t.Fatalf("/chatbox-ca.crt is not PEM: %q", rec.Body.String())
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil || !cert.IsCA {
		t.Fatalf("/chatbox-ca.crt holds no CA certificate: %v", err)
	}
	sum := sha256.Sum256(cert.Raw)
	want := strings.ToUpper(strings.TrimSuffix(strings.ReplaceAll(fmt.Sprintf("% x", sum), " ", ":"), ":"))

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/trust", nil))
	page := rec.Body.String()
	for _, s := range []string{want, `href="/chatbox-ca.crt"`, "https://192.168.1.20/", "Firefox", "Android"} {
		if !strings.Contains(page, s) {
			t.Errorf("the trust page lacks %q", s)
		}
	}
}

func TestWithHSTS(t *testing.T) {
	h := withHSTS(http.NotFoundHandler())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "https://chat.example.com/missing", nil))
	if got := rec.Header().Get("Strict-Transport-Security"); got != "max-age=63072000; includeSubDomains" {
		t.Errorf("Strict-Transport-Security = %q on a 404, want it on every response", got)
	}
}

// fixedSite is a site function for a box whose name never changes.
func fixedSite(name string, ca *localCA) func() (string, *localCA) {
	return func() (string, *localCA) { return name, ca }
}
