package box_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/chatbox-dev/chatbox/config"
)

// proxyConfig is a box in proxy mode on a free loopback port.
func proxyConfig(t *testing.T) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Server.Mode = config.ModeProxy
	cfg.Server.Listen = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg.Server.HTTPListen = cfg.Server.Listen // where startBox asks /healthz
	cfg.Server.PublicURL = "https://chat.example.com/"
	cfg.Server.DataDir = t.TempDir()
	return cfg
}

func TestProxyModeServesPlainHTTPBehindTheProxy(t *testing.T) {
	cfg := proxyConfig(t)
	startBox(t, cfg)
	base := "http://" + cfg.Server.Listen
	get := func(t *testing.T, proto string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/api/room", nil)
		req.Host = "chat.example.com"
		if proto != "" {
			req.Header.Set("X-Forwarded-Proto", proto)
		}
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	t.Run("the room answers over plain HTTP, with no redirect", func(t *testing.T) {
		if res := get(t, ""); res.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/room: %s, want 200", res.Status)
		}
	})
	t.Run("a request the proxy got over HTTPS gets HSTS", func(t *testing.T) {
		if res := get(t, "https"); res.Header.Get("Strict-Transport-Security") == "" {
			t.Fatal("no Strict-Transport-Security header")
		}
	})
	t.Run("a request the proxy got over HTTP gets no HSTS", func(t *testing.T) {
		if res := get(t, "http"); res.Header.Get("Strict-Transport-Security") != "" {
			t.Fatal("Strict-Transport-Security on a plain HTTP request")
		}
	})
	t.Run("a WebSocket from the public origin is accepted", func(t *testing.T) {
		h := http.Header{"Origin": {"https://chat.example.com"}}
		c, res, err := websocket.DefaultDialer.Dial("ws://"+cfg.Server.Listen+"/ws?nick=alice", h)
		if err != nil {
			t.Fatalf("dial: %v (%v)", err, res)
		}
		c.Close()
	})
	t.Run("a WebSocket from another site is refused", func(t *testing.T) {
		h := http.Header{"Origin": {"https://evil.example"}}
		c, res, err := websocket.DefaultDialer.Dial("ws://"+cfg.Server.Listen+"/ws?nick=mallory", h)
		if err == nil {
			c.Close()
			t.Fatal("accepted")
		}
		if res == nil || res.StatusCode != http.StatusForbidden {
			t.Fatalf("got %v, want 403", res)
		}
	})
}
