package httpapi

import (
	"net/http"
	"testing"
)

// A room behind a reverse proxy on the same machine: the proxy on loopback
// says which scheme and host the browser used.
func TestForwardedProtoFromATrustedProxy(t *testing.T) {
	tests := []struct {
		name       string
		trusted    []string
		proto      string
		wantSecure bool
	}{
		{"https from a trusted proxy makes the cookie Secure", []string{"127.0.0.1"}, "https", true},
		{"http from a trusted proxy leaves it plain", []string{"127.0.0.1"}, "http", false},
		{"https from an untrusted peer is not believed", nil, "https", false},
		{"https from a peer outside the trusted range is not believed", []string{"192.0.2.0/24"}, "https", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, password := newPrivateRoom(t, func(o *testOptions) { o.Web.TrustedProxies = tt.trusted })
			res, body := tr.do(t, "POST", "/api/login", map[string]string{"password": password}, func(r *http.Request) {
				r.Header.Set("X-Forwarded-Proto", tt.proto)
			})
			if res.StatusCode != http.StatusOK {
				t.Fatalf("login: %d %s", res.StatusCode, body)
			}
			cookies := res.Cookies()
			if len(cookies) != 1 || cookies[0].Secure != tt.wantSecure {
				t.Fatalf("cookies %+v, want one with Secure=%v", cookies, tt.wantSecure)
			}
		})
	}
}

func TestOriginBehindAProxy(t *testing.T) {
	tests := []struct {
		name    string
		trusted []string
		allowed []string
		header  http.Header
		wantOK  bool
	}{
		{"the public origin named in the options is accepted", nil, []string{"https://chat.example.com"},
			http.Header{"Origin": {"https://chat.example.com"}}, true},
		{"the origin the trusted proxy forwards is accepted", []string{"127.0.0.1"}, nil,
			http.Header{"Origin": {"https://chat.example.com"}, "X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"chat.example.com"}}, true},
		{"forwarded headers from an untrusted peer are not believed", nil, nil,
			http.Header{"Origin": {"https://chat.example.com"}, "X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"chat.example.com"}}, false},
		{"another site behind the trusted proxy is refused", []string{"127.0.0.1"}, []string{"https://chat.example.com"},
			http.Header{"Origin": {"https://evil.example"}, "X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"chat.example.com"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTestRoom(t, func(o *testOptions) {
				o.Web.TrustedProxies = tt.trusted
				o.Web.AllowedOrigins = tt.allowed
			})
			c, res, err := tr.tryDial("alice", tt.header)
			if tt.wantOK {
				if err != nil {
					t.Fatalf("WebSocket refused: %v (%v)", err, res)
				}
				c.Close()
				return
			}
			if err == nil {
				c.Close()
				t.Fatal("WebSocket from another origin was accepted")
			}
			if res == nil || res.StatusCode != http.StatusForbidden {
				t.Fatalf("got %v, want 403", res)
			}
		})
	}
}
