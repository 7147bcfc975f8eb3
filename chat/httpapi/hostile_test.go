package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/internal/testpics"
)

// TestPrivateRoomLeaksNothingWithoutThePassword asks every endpoint that
// shows content, without credentials and with a wrong password, and checks
// that nothing of the room comes back.
func TestPrivateRoomLeaksNothingWithoutThePassword(t *testing.T) {
	// The guesser has an address of its own: once throttled, an address
	// gets 429 even for the right password.
	tr, password := newPrivateRoom(t, func(o *testOptions) { o.Web.TrustedProxies = []string{"127.0.0.1"} })
	auth := func(r *http.Request) { r.SetBasicAuth("", password) }
	hdr := http.Header{}
	hdr.Set("Authorization", "Basic "+basicToken(password))
	tr.dial(t, "bob", hdr) // so that a ping can be delivered
	secret := "the treasure is under the oak"
	tr.do(t, "POST", "/api/messages", map[string]string{"nick": "alice", "text": secret}, auth)
	tr.do(t, "POST", "/api/messages", map[string]string{"nick": "alice", "text": "/ping bob " + secret}, auth)
	res, raw := tr.shareFile(t, "alice", "holiday.png", testpics.PNG(40, 30), auth)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", res.StatusCode, raw)
	}
	pic := decode[chat.Message](t, raw)

	paths := []string{
		"/api/messages",
		"/api/messages?after=0",
		pic.File.URL,
		pic.File.Thumb,
		"/files/" + pic.File.ID + "/thumb",
		"/rss/all.xml",
		"/rss/ping/bob.xml",
		"/ws?nick=eve",
	}
	for _, who := range []struct {
		name string
		auth func(*http.Request)
	}{
		{"a stranger", nil},
		{"someone with a wrong password", func(r *http.Request) {
			r.SetBasicAuth("", "guess")
			r.Header.Set("X-Forwarded-For", "203.0.113.66")
		}},
		{"someone with a forged session cookie", func(r *http.Request) {
			r.AddCookie(&http.Cookie{Name: sessionCookie, Value: "forged"})
		}},
	} {
		for _, path := range paths {
			if path == "" {
				continue
			}
			t.Run(who.name+" gets nothing from "+path, func(t *testing.T) {
				res, raw := tr.do(t, "GET", path, nil, who.auth)
				if res.StatusCode != http.StatusUnauthorized && res.StatusCode != http.StatusTooManyRequests {
					t.Fatalf("status %d, want 401", res.StatusCode)
				}
				if bytes.Contains(raw, []byte("treasure")) || bytes.Contains(raw, []byte("holiday")) || bytes.Contains(raw, []byte("\x89PNG")) {
					t.Fatalf("the answer leaks room content: %q", raw)
				}
			})
		}
	}
	t.Run("the password opens every one of them", func(t *testing.T) {
		for _, path := range paths[:7] {
			if res, raw := tr.do(t, "GET", path, nil, auth); res.StatusCode != http.StatusOK {
				t.Errorf("GET %s with the password: %d %.100s", path, res.StatusCode, raw)
			}
		}
	})
}

func TestSessionCookieIsSecureOverHTTPS(t *testing.T) {
	room, err := chat.Open(t.Context(), withOptions(roomOptions(t.TempDir()), func(o *chat.Options) {
		o.Private = true
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer room.Close()
	srv := httptest.NewTLSServer(New(context.Background(), room, Options{SecureCookies: true}))
	defer srv.Close()
	res, err := srv.Client().Post(srv.URL+"/api/room", "application/json", strings.NewReader(`{"private":true}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("second room: %d", res.StatusCode)
	}
	pw, err := room.SetPassword()
	if err != nil {
		t.Fatal(err)
	}
	res, err = srv.Client().Post(srv.URL+"/api/login", "application/json", strings.NewReader(`{"password":"`+pw+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	cookies := res.Cookies()
	if len(cookies) != 1 || !cookies[0].Secure || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookies over HTTPS: %+v; want one Secure, HttpOnly, SameSite=Strict", cookies)
	}
}

// TestHostileInputIsRefusedAndHarmsNothing throws malicious and malformed
// input at every endpoint: each gets a 4xx with one sentence, and what was
// stored before is unchanged.
func TestHostileInputIsRefusedAndHarmsNothing(t *testing.T) {
	tr := newTestRoom(t, nil)
	before := tr.post(t, "alice", "keep me")

	type probe struct {
		name, method, path string
		body               any
	}
	probes := []probe{
		{"a script tag as nickname", "POST", "/api/messages", map[string]string{"nick": "<script>alert(1)</script>", "text": "x"}},
		{"an event handler as nickname", "POST", "/api/messages", map[string]string{"nick": `"onmouseover=alert(1)`, "text": "x"}},
		{"a null byte in text", "POST", "/api/messages", `{"nick":"a","text":"a\u0000b"}`},
		{"a null byte in nickname", "POST", "/api/messages", `{"nick":"a\u0000b","text":"x"}`},
		{"overlong UTF-8 for a slash", "POST", "/api/messages", "{\"nick\":\"a\",\"text\":\"\xc0\xaf\"}"},
		{"a lone surrogate", "POST", "/api/messages", `{"nick":"a","text":"\ud800"}`},
		{"a huge number as nickname", "POST", "/api/messages", `{"nick":1e999,"text":"x"}`},
		{"nested JSON", "POST", "/api/messages", strings.Repeat("[", 10000) + strings.Repeat("]", 10000)},
		{"an array instead of an object", "POST", "/api/messages", `["a","b"]`},
		{"a huge after", "GET", "/api/messages?after=99999999999999999999999999", nil},
		{"a negative limit", "GET", "/api/messages?limit=-5", nil},
		{"a huge limit", "GET", "/api/messages?limit=1e9", nil},
		{"path traversal in a file URL", "GET", "/files/..%2f..%2fmessages.db/x", nil},
		{"path traversal in a file id", "GET", "/files/../../etc/passwd", nil},
		{"a dot file id", "GET", "/files/./thumb", nil},
		{"a null byte in a file id", "GET", "/files/a%00b/thumb", nil},
		{"a ping feed for markup", "GET", "/rss/ping/%3Cscript%3E.xml", nil},
		{"a ping feed with traversal", "GET", "/rss/ping/..%2f..%2fetc%2fpasswd", nil},
		{"a destroy with a bad nickname", "POST", "/api/destroy", map[string]string{"nick": "../root"}},
		{"a login with a huge body", "POST", "/api/login", `{"password":"` + strings.Repeat("a", 1<<16) + `"}`},
		{"a room with a string for private", "POST", "/api/room", `{"private":"yes"}`},
		{"a WebSocket with a markup nickname", "GET", "/ws?nick=%3Cimg%3E", nil},
		{"an unknown endpoint", "DELETE", "/api/messages", nil},
	}
	for _, p := range probes {
		t.Run(p.name+" is refused", func(t *testing.T) {
			res, raw := tr.do(t, p.method, p.path, p.body, nil)
			if res.StatusCode < 400 || res.StatusCode >= 500 {
				t.Fatalf("status %d (%.200s), want 4xx", res.StatusCode, raw)
			}
			if strings.HasPrefix(p.path, "/api/") {
				var e struct{ Error string }
				if json.Unmarshal(raw, &e) != nil || e.Error == "" || strings.Contains(e.Error, "\n") {
					t.Fatalf("error body %q is not one sentence in JSON", raw)
				}
			}
			if strings.Contains(string(raw), "<script>") || strings.Contains(string(raw), "<img>") {
				t.Fatalf("the answer reflects markup: %q", raw)
			}
		})
	}
	h := tr.history(t, nil)
	if len(h) != 1 || h[0] != before {
		t.Fatalf("history after hostile input: %+v, want only %+v", h, before)
	}
}

// The Origin check compares the scheme too: a page served over plain HTTP
// on the same name is another origin than the HTTPS room.
func TestOriginOfAnotherSchemeIsRefused(t *testing.T) {
	tr := newTestRoom(t, nil)
	host := strings.TrimPrefix(tr.srv.URL, "http://")
	for origin, want := range map[string]int{
		"http://" + host:  http.StatusCreated,
		"https://" + host: http.StatusForbidden,
		"ws://" + host:    http.StatusForbidden,
	} {
		res, raw := tr.do(t, "POST", "/api/messages", map[string]string{"nick": "alice", "text": "hi"}, func(r *http.Request) {
			r.Header.Set("Origin", origin)
		})
		if res.StatusCode != want {
			t.Errorf("Origin %s: %d %s, want %d", origin, res.StatusCode, raw, want)
		}
	}
}

// A feed's links point at the box's own address, never at whatever Host a
// request claimed.
func TestFeedLinksUseTheBoxsAddress(t *testing.T) {
	tr := newTestRoom(t, func(o *testOptions) { o.Web.PublicURL = "https://chat.example.org/" })
	tr.post(t, "alice", "hello")
	_, raw := tr.do(t, "GET", "/rss/all.xml", nil, func(r *http.Request) { r.Host = "evil.example" })
	if strings.Contains(string(raw), "evil.example") || !strings.Contains(string(raw), "https://chat.example.org/#m") {
		t.Fatalf("the feed's links follow the request's Host:\n%s", raw)
	}
}
