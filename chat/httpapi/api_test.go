package httpapi

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/chat/web"
)

func TestHealthAndAPIIndex(t *testing.T) {
	tr := newTestRoom(t, nil)
	res, raw := tr.do(t, "GET", "/healthz", nil, nil)
	if res.StatusCode != 200 || strings.TrimSpace(string(raw)) != `{"status":"ok"}` {
		t.Fatalf("healthz: %d %s", res.StatusCode, raw)
	}
	res, raw = tr.do(t, "GET", "/api", nil, nil)
	var index struct{ Endpoints []endpoint }
	if err := json.Unmarshal(raw, &index); err != nil || res.StatusCode != 200 {
		t.Fatalf("api index: %d %s", res.StatusCode, raw)
	}
	for _, want := range []string{"/api/room", "/api/login", "/api/messages", "/api/destroy", "/ws"} {
		found := false
		for _, e := range index.Endpoints {
			found = found || strings.HasPrefix(e.Path, want)
		}
		if !found {
			t.Errorf("GET /api does not list %s", want)
		}
	}
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	tr := newTestRoom(t, nil)
	for _, path := range []string{"/", "/static/js/main.js", "/api/room", "/api/nothing", "/healthz", "/favicon.ico"} {
		t.Run(path, func(t *testing.T) {
			res, _ := tr.do(t, "GET", path, nil, nil)
			csp := res.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("CSP %q", csp)
			}
			for h, want := range map[string]string{
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "no-referrer",
			} {
				if got := res.Header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			if res.Header.Get("Permissions-Policy") == "" {
				t.Error("no Permissions-Policy")
			}
		})
	}
}

func TestPageHasNoInlineScriptOrStyle(t *testing.T) {
	raw, err := web.Files.ReadFile("index.html")
	if err != nil {
		t.Fatal(err)
	}
	page := string(raw)
	for _, bad := range []string{"<script>", "<style", "style=", "onclick=", "onload=", "javascript:"} {
		if strings.Contains(page, bad) {
			t.Errorf("index.html contains %q, which the CSP would block", bad)
		}
	}
}

func TestRejectedPostsStoreNothing(t *testing.T) {
	tr := newTestRoom(t, func(o *testOptions) { o.MaxMessageLength = 20 })
	tests := []struct {
		name   string
		body   any
		ctype  string
		status int
		says   string
	}{
		{"a message over the limit", map[string]string{"nick": "a", "text": strings.Repeat("x", 21)}, "", 413, "at most 20 characters"},
		{"an empty message", map[string]string{"nick": "a", "text": "  "}, "", 400, "empty"},
		{"a control character", map[string]string{"nick": "a", "text": "a\x07b"}, "", 400, "control character"},
		{"a lone surrogate", `{"nick":"a","text":"\ud800"}`, "", 400, "not valid UTF-8"},
		{"a bad nickname", map[string]string{"nick": "a b", "text": "x"}, "", 400, "letters and digits"},
		{"broken JSON", `{"nick":`, "", 400, "not valid JSON"},
		{"a wrong field type", `{"nick":1,"text":"x"}`, "", 400, `"nick" must be a string`},
		{"an unknown field", `{"nick":"a","message":"x"}`, "", 400, "unknown field"},
		{"a form post", "nick=a&text=x", "application/x-www-form-urlencoded", 415, "JSON"},
		{"a ping to someone absent", map[string]string{"nick": "a", "text": "/ping ghost hi"}, "", 409, "ghost is not in the room"},
		{"two objects", `{"nick":"a","text":"x"}{"nick":"a","text":"y"}`, "", 400, "one JSON object"},
		{"a stray brace after the object", `{"nick":"a","text":"x"}}`, "", 400, "one JSON object"},
		{"a huge body", `{"nick":"a","text":"` + strings.Repeat("x", 1<<20) + `"}`, "", 413, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			res, raw := tr.do(t, "POST", "/api/messages", tt.body, func(r *http.Request) {
				if tt.ctype != "" {
					r.Header.Set("Content-Type", tt.ctype)
				}
			})
			var e struct{ Error string }
			json.Unmarshal(raw, &e)
			if res.StatusCode != tt.status || !strings.Contains(e.Error, tt.says) {
				t.Fatalf("got %d %s, want %d with %q", res.StatusCode, raw, tt.status, tt.says)
			}
		})
	}
	if h := tr.history(t, nil); len(h) != 0 {
		t.Fatalf("rejected posts stored %d messages", len(h))
	}
}

func TestWritesFromOtherSitesAreRefused(t *testing.T) {
	tr := newTestRoom(t, nil)
	for _, path := range []string{"/api/messages", "/api/destroy", "/api/login"} {
		t.Run(path, func(t *testing.T) {
			res, raw := tr.do(t, "POST", path, map[string]string{"nick": "a", "text": "x"}, func(r *http.Request) {
				r.Header.Set("Origin", "https://evil.example")
			})
			if res.StatusCode != http.StatusForbidden {
				t.Fatalf("got %d %s, want 403", res.StatusCode, raw)
			}
		})
	}
	if h := tr.history(t, nil); len(h) != 0 {
		t.Fatal("a cross-site post was stored")
	}
}

func TestPostsAreRateLimitedPerAddress(t *testing.T) {
	tr := newTestRoom(t, func(o *testOptions) { o.PostsPerMinute = 6 })
	limited := 0
	for i := range 20 {
		res, _ := tr.do(t, "POST", "/api/messages", map[string]string{"nick": "a", "text": "x"}, nil)
		if res.StatusCode == http.StatusTooManyRequests {
			limited++
			if res.Header.Get("Retry-After") == "" {
				t.Fatalf("post %d: 429 without Retry-After", i)
			}
		}
	}
	if limited == 0 {
		t.Fatal("20 quick posts at 6 per minute were never limited")
	}
}

// newPrivateRoom returns a private room and its password.
func newPrivateRoom(t *testing.T, change func(*testOptions)) (*testRoom, string) {
	t.Helper()
	tr := newTestRoom(t, func(o *testOptions) {
		o.Private = true
		if change != nil {
			change(o)
		}
	})
	password, ok := tr.TakeInitialPassword()
	if !ok {
		t.Fatal("the private room created at start has no first password to hand over")
	}
	if again, ok := tr.TakeInitialPassword(); ok {
		t.Fatalf("the first password was handed over twice (%q)", again)
	}
	return tr, password
}

func TestPrivateRoomNeedsThePassword(t *testing.T) {
	tr, password := newPrivateRoom(t, nil)
	if _, err := os.Stat(filepath.Join(tr.dir, "initial-password")); !os.IsNotExist(err) {
		t.Fatalf("the first password was written to the disk: %v", err)
	}
	basic := func(pw string) func(*http.Request) {
		return func(r *http.Request) { r.SetBasicAuth("anyone", pw) }
	}

	for _, path := range []string{"/api/messages", "/ws?nick=a"} {
		res, raw := tr.do(t, "GET", path, nil, nil)
		if res.StatusCode != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("GET %s without password: %d %s", path, res.StatusCode, raw)
		}
	}
	res, raw := tr.do(t, "GET", "/api/room", nil, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(string(raw), `"authorized":false`) || !strings.Contains(string(raw), `"members":[]`) {
		t.Fatalf("room info leaks to a stranger: %s", raw)
	}
	res, _ = tr.do(t, "POST", "/api/messages", map[string]string{"nick": "a", "text": "x"}, basic("wrong"))
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("post with a wrong password: %d", res.StatusCode)
	}
	res, raw = tr.do(t, "POST", "/api/messages", map[string]string{"nick": "a", "text": "secret"}, basic(password))
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("post with the password over basic auth: %d %s", res.StatusCode, raw)
	}

	// Log in, then use the cookie.
	res, raw = tr.do(t, "POST", "/api/login", map[string]string{"password": password}, nil)
	if res.StatusCode != 200 {
		t.Fatalf("login: %d %s", res.StatusCode, raw)
	}
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == sessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie %+v, want HttpOnly and SameSite=Strict", cookie)
	}
	h := tr.history(t, func(r *http.Request) { r.AddCookie(cookie) })
	if len(h) != 1 || h[0].Text != "secret" {
		t.Fatalf("history with the session cookie: %+v", h)
	}
	// A WebSocket with the cookie is let in.
	hdr := http.Header{}
	hdr.Set("Cookie", sessionCookie+"="+cookie.Value)
	tr.dial(t, "alice", hdr)

	// The hash, never the password, is stored.
	if st := tr.State(); strings.Contains(st.PasswordHash, password) || !strings.HasPrefix(st.PasswordHash, "scrypt$") {
		t.Fatalf("stored password hash %q", st.PasswordHash)
	}
}

func TestWrongPasswordsAreThrottled(t *testing.T) {
	tr, password := newPrivateRoom(t, func(o *testOptions) { o.LoginsPerMinute = 6 })
	statuses := map[int]int{}
	for range 8 {
		res, _ := tr.do(t, "POST", "/api/login", map[string]string{"password": "guess"}, nil)
		statuses[res.StatusCode]++
	}
	if statuses[http.StatusUnauthorized] == 0 || statuses[http.StatusTooManyRequests] == 0 {
		t.Fatalf("8 wrong guesses got %v; want some 401 then 429", statuses)
	}
	// Even the right password waits its turn once throttled: a guesser
	// learns nothing from trying it.
	res, _ := tr.do(t, "POST", "/api/login", map[string]string{"password": password}, nil)
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("right password while throttled: %d, want 429", res.StatusCode)
	}
	// Another address is not affected.
	res, _ = tr.do(t, "POST", "/api/login", map[string]string{"password": password}, func(r *http.Request) {
		r.Header.Set("X-Forwarded-For", "203.0.113.9")
	})
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("X-Forwarded-For from an untrusted peer changed the address: %d", res.StatusCode)
	}
}

func TestTrustedProxyAddressIsUsedForLimits(t *testing.T) {
	tr, password := newPrivateRoom(t, func(o *testOptions) {
		o.LoginsPerMinute = 6
		o.Web.TrustedProxies = []string{"127.0.0.1"}
	})
	for range 8 {
		tr.do(t, "POST", "/api/login", map[string]string{"password": "guess"}, func(r *http.Request) {
			r.Header.Set("X-Forwarded-For", "203.0.113.9")
		})
	}
	res, _ := tr.do(t, "POST", "/api/login", map[string]string{"password": password}, func(r *http.Request) {
		r.Header.Set("X-Forwarded-For", "198.51.100.7")
	})
	if res.StatusCode != 200 {
		t.Fatalf("a different client behind the trusted proxy got %d, want 200", res.StatusCode)
	}
}

func TestDestroyWipesTheRoom(t *testing.T) {
	tr, password := newPrivateRoom(t, func(o *testOptions) { o.DestroyCountdown = 300 * time.Millisecond })
	auth := func(r *http.Request) { r.SetBasicAuth("", password) }
	hdr := http.Header{}
	hdr.Set("Authorization", "Basic "+basicToken(password))
	alice := tr.dial(t, "alice", hdr)
	tr.do(t, "POST", "/api/messages", map[string]string{"nick": "alice", "text": "remember me"}, auth)
	res, _ := tr.do(t, "POST", "/api/login", map[string]string{"password": password}, nil)
	if res.StatusCode != 200 {
		t.Fatal("login failed")
	}
	upload := filepath.Join(tr.dir, "files", "abc123", "original")
	os.MkdirAll(filepath.Dir(upload), 0o700)
	os.WriteFile(upload, []byte("picture"), 0o600)

	// Two clicks, one countdown.
	res1, raw1 := tr.do(t, "POST", "/api/destroy", map[string]string{"nick": "alice"}, auth)
	res2, raw2 := tr.do(t, "POST", "/api/destroy", map[string]string{"nick": "bob"}, auth)
	if res1.StatusCode != 202 || res2.StatusCode != 202 || string(raw1) != string(raw2) {
		t.Fatalf("two destroys: %d %s / %d %s; want the same countdown twice", res1.StatusCode, raw1, res2.StatusCode, raw2)
	}
	countdowns := 0
	done := alice.waitFor("destroy done", func(ev chat.Event) bool {
		if ev.Type == "destroy" && !ev.Done {
			countdowns++
		}
		return ev.Type == "destroy" && ev.Done
	})
	if countdowns != 1 || done.By != "alice" {
		t.Fatalf("saw %d countdowns and done by %q; want 1 by alice", countdowns, done.By)
	}

	if _, err := os.Stat(filepath.Join(tr.dir, "files")); !os.IsNotExist(err) {
		t.Fatalf("uploads survive the destroy: %v", err)
	}
	if info, _ := tr.Info(); info.Messages != 0 {
		t.Fatalf("%d messages survive the destroy", info.Messages)
	}
	res, raw := tr.do(t, "GET", "/api/room", nil, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(string(raw), `"exists":false`) || !strings.Contains(string(raw), `"destroyed_by":"alice"`) {
		t.Fatalf("room after destroy: %s", raw)
	}
	// Old sessions and the old password are gone with the room.
	res, _ = tr.do(t, "GET", "/api/messages", nil, auth)
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("messages of a destroyed room: %d, want 409", res.StatusCode)
	}
	// The launcher creates a new public room.
	res, raw = tr.do(t, "POST", "/api/room", map[string]bool{"private": false}, nil)
	if res.StatusCode != 201 || strings.Contains(string(raw), "password") {
		t.Fatalf("create a public room: %d %s", res.StatusCode, raw)
	}
	res, raw = tr.do(t, "POST", "/api/room", map[string]bool{"private": true}, nil)
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("create a second room: %d %s, want 409", res.StatusCode, raw)
	}
	m := tr.post(t, "bob", "fresh start")
	if m.ID != 2 {
		t.Fatalf("first message after the destroy has id %d; ids keep going up (want 2)", m.ID)
	}
}

func TestCreatingAPrivateRoomShowsThePasswordOnce(t *testing.T) {
	tr := newTestRoom(t, func(o *testOptions) { o.CreateOnStart = false })
	res, raw := tr.do(t, "POST", "/api/room", map[string]bool{"private": true}, nil)
	var out struct{ URL, Password string }
	json.Unmarshal(raw, &out)
	if res.StatusCode != 201 || len(out.Password) != 23 || !strings.HasPrefix(out.URL, "http://") {
		t.Fatalf("create private room: %d %s", res.StatusCode, raw)
	}
	var creator *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == sessionCookie {
			creator = c
		}
	}
	if creator == nil {
		t.Fatal("the creator was not logged in")
	}
	tr.history(t, func(r *http.Request) { r.AddCookie(creator) })
	res, _ = tr.do(t, "GET", "/api/messages", nil, nil)
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a stranger reads the new private room: %d", res.StatusCode)
	}
}

func TestReconnectingClientFetchesOnlyWhatItMissed(t *testing.T) {
	tr := newTestRoom(t, nil)
	for i := range 5 {
		tr.post(t, "a", "old "+string(rune('0'+i)))
	}
	res, raw := tr.do(t, "GET", "/api/messages?after=3", nil, nil)
	var msgs []chat.Message
	json.Unmarshal(raw, &msgs)
	if res.StatusCode != 200 || len(msgs) != 2 || msgs[0].ID != 4 {
		t.Fatalf("after=3 gave %d %s", res.StatusCode, raw)
	}
	for _, bad := range []string{"after=-1", "after=x", "limit=0", "limit=100000", "after=99999999999999999999"} {
		res, raw := tr.do(t, "GET", "/api/messages?"+bad, nil, nil)
		if res.StatusCode != 400 || !strings.Contains(string(raw), `"error"`) {
			t.Errorf("%s: %d %s, want 400 with an error", bad, res.StatusCode, raw)
		}
	}
}

func basicToken(password string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth("", password)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

func TestLongMessagesCostMoreOfTheBudget(t *testing.T) {
	tr := newTestRoom(t, func(o *testOptions) { o.PostsPerMinute = 60 }) // a bucket of 10
	long := strings.Repeat("x", 996)                                     // costs 1 + 996/332 = 4
	statuses := []int{}
	for range 3 {
		res, _ := tr.do(t, "POST", "/api/messages", map[string]string{"nick": "a", "text": long}, nil)
		statuses = append(statuses, res.StatusCode)
	}
	if statuses[0] != 201 || statuses[1] != 201 || statuses[2] != 429 {
		t.Fatalf("three long posts got %v, want 201 201 429", statuses)
	}
	tr2 := newTestRoom(t, func(o *testOptions) { o.PostsPerMinute = 60 })
	for i := range 3 {
		if res, _ := tr2.do(t, "POST", "/api/messages", map[string]string{"nick": "a", "text": "short"}, nil); res.StatusCode != 201 {
			t.Fatalf("short post %d got %d", i, res.StatusCode)
		}
	}
}

func TestOversizeBodyIsRefusedBeforeItIsRead(t *testing.T) {
	tr := newTestRoom(t, nil)
	// Announce a huge body but send only a little: the server must answer
	// from the announced length without waiting for the rest.
	conn, err := net.Dial("tcp", tr.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{\"nick\":\"a\"", 1<<30)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer before the body was sent: %v", err)
	}
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("got %d, want 413", res.StatusCode)
	}
}
