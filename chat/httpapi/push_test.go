package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/chat/datadir"
	"github.com/chatbox-dev/chatbox/chat/push"
	"github.com/chatbox-dev/chatbox/chat/push/pushtest"
)

// newPushRoom opens a test room whose pushes go to a stand-in push
// service (see pushtest for why a stand-in).
func newPushRoom(t *testing.T, change func(*testOptions, *push.Options)) (*testRoom, *push.Service, *pushtest.Server) {
	t.Helper()
	ps := pushtest.New(t)
	var svc *push.Service
	tr := newTestRoom(t, func(o *testOptions) {
		popts := push.Options{
			Layout: datadir.Layout{Dir: o.DataDir}, Subject: "https://chat.example.com", Title: "chat.example.com",
			Preview: true, MaxPerNick: 5, MaxSubscriptions: 20000, PerSecond: 1000, QueueLength: 1000,
			TTL: time.Hour, HTTPClient: ps.Client(),
		}
		if change != nil {
			change(o, &popts)
		}
		var err error
		if svc, err = push.New(t.Context(), popts); err != nil {
			t.Fatal(err)
		}
		o.Watcher = svc
		o.Web.Push = svc
	})
	if err := ps.Trust(svc.PublicKey()); err != nil {
		t.Fatal(err)
	}
	return tr, svc, ps
}

// subscription is what a page posts to POST /api/push for d.
func subscription(d *pushtest.Device, nick, mode string) map[string]any {
	return map[string]any{
		"nick": nick, "endpoint": d.Endpoint, "mode": mode, "expirationTime": nil,
		"keys": map[string]string{"p256dh": d.P256dh, "auth": d.Auth},
	}
}

func TestPushSubscriptionsOverHTTP(t *testing.T) {
	tr, svc, ps := newPushRoom(t, nil)
	res, raw := tr.do(t, "GET", "/api/push", nil, nil)
	info := decode[map[string]any](t, raw)
	if res.StatusCode != 200 || info["public_key"] != svc.PublicKey() || info["enabled"] != true {
		t.Fatalf("GET /api/push: %d %s", res.StatusCode, raw)
	}
	d := ps.NewDevice(t)
	res, raw = tr.do(t, "POST", "/api/push", subscription(d, "bob", ""), nil)
	if res.StatusCode != http.StatusCreated || !strings.Contains(string(raw), `"mode":"pings"`) {
		t.Fatalf("POST /api/push: %d %s", res.StatusCode, raw)
	}
	if subs := svc.Subscriptions(); len(subs) != 1 || subs[0].Nick != "bob" || subs[0].Mode != push.ModePings {
		t.Fatalf("stored %+v", subs)
	}
	bad := subscription(d, "bob", "")
	bad["keys"] = map[string]string{"p256dh": "AAAA", "auth": d.Auth}
	res, raw = tr.do(t, "POST", "/api/push", bad, nil)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(raw), "p256dh") {
		t.Errorf("a bad key: %d %s", res.StatusCode, raw)
	}
	res, raw = tr.do(t, "POST", "/api/push", subscription(d, "bob", ""), func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") })
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("a subscription from another site: %d %s", res.StatusCode, raw)
	}
	res, raw = tr.do(t, "DELETE", "/api/push", map[string]string{"endpoint": d.Endpoint}, nil)
	if res.StatusCode != 200 || string(raw) != "{\"deleted\":true}\n" || svc.Len() != 0 {
		t.Errorf("DELETE /api/push: %d %s, %d left", res.StatusCode, raw, svc.Len())
	}
}

func TestAPingPushesOnlyWhenThePersonsPageIsNotVisible(t *testing.T) {
	tr, svc, ps := newPushRoom(t, nil)
	d := ps.NewDevice(t)
	if res, raw := tr.do(t, "POST", "/api/push", subscription(d, "bob", "pings"), nil); res.StatusCode != 201 {
		t.Fatalf("subscribe: %d %s", res.StatusCode, raw)
	}
	bob := tr.dial(t, "bob", nil)
	bob.waitFor("presence", func(ev chat.Event) bool { return ev.Type == "presence" })
	bob.send(map[string]any{"type": "visible", "visible": true})
	waitUntil(t, "bob's page counts as visible", func() bool { return svc.Visible("bob") })

	tr.post(t, "alice", "/ping bob are you there?")
	waitUntil(t, "the push is skipped", func() bool { return svc.Stats().Skipped.Load() == 1 })

	bob.send(map[string]any{"type": "visible", "visible": false})
	waitUntil(t, "bob's page counts as hidden", func() bool { return !svc.Visible("bob") })
	m := tr.post(t, "alice", "/ping bob now?")
	p := ps.Next(t, 10*time.Second)
	if p.Err != nil {
		t.Fatal(p.Err)
	}
	pl := decode[push.Payload](t, p.Plain)
	if pl.ID != m.ID || pl.Body != "alice: now?" || !pl.Ping || p.Header.Get("Urgency") != "high" {
		t.Errorf("pushed %+v (Urgency %s) for message %d", pl, p.Header.Get("Urgency"), m.ID)
	}
	bob.conn.Close()
	waitUntil(t, "bob's closed page is forgotten", func() bool { return !svc.Visible("bob") })
}

func TestAVisibleEventIsChargedAndChecked(t *testing.T) {
	tr, _, _ := newPushRoom(t, func(o *testOptions, _ *push.Options) { o.PostsPerMinute = 6 })
	c := tr.dial(t, "bob", nil)
	c.send(map[string]any{"type": "visible"})
	if ev := c.waitFor("error", func(ev chat.Event) bool { return ev.Type == "error" }); !strings.Contains(ev.Error, "visible") {
		t.Errorf("a visible event without visible: %q", ev.Error)
	}
	for range 10 {
		c.send(map[string]any{"type": "visible", "visible": true})
	}
	c.waitFor("a rate-limit error", func(ev chat.Event) bool { return ev.Type == "error" && ev.Code == "rate_limited" })
}

func TestPasswordChangesAndResetsDeleteSubscriptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(*chat.Room) error
	}{
		{"a password change", func(r *chat.Room) error { _, err := r.SetPassword(); return err }},
		{"a reset", func(r *chat.Room) error { _, err := r.Reset(false); return err }},
		{"a destroy", func(r *chat.Room) error {
			if _, err := r.Destroy("alice"); err != nil {
				return err
			}
			for r.State().Exists {
				time.Sleep(10 * time.Millisecond) // the countdown is 50ms in tests
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, svc, ps := newPushRoom(t, nil)
			for _, nick := range []string{"bob", "carol"} {
				if res, raw := tr.do(t, "POST", "/api/push", subscription(ps.NewDevice(t), nick, "all"), nil); res.StatusCode != 201 {
					t.Fatalf("subscribe: %d %s", res.StatusCode, raw)
				}
			}
			if err := tc.do(tr.Room); err != nil {
				t.Fatal(err)
			}
			waitUntil(t, "the subscriptions are deleted", func() bool { return svc.Len() == 0 })
		})
	}
}

// In a private room a subscription needs a session, and logging out
// ends the subscriptions made in it.
func TestAPrivateRoomsSubscriptionsFollowTheSession(t *testing.T) {
	tr, svc, ps := newPushRoom(t, func(o *testOptions, _ *push.Options) { o.Private = true })
	password, _ := tr.TakeInitialPassword()
	res, raw := tr.do(t, "POST", "/api/push", subscription(ps.NewDevice(t), "bob", ""), nil)
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("a subscription without a session: %d %s", res.StatusCode, raw)
	}
	login := func() *http.Cookie {
		res, raw := tr.do(t, "POST", "/api/login", map[string]string{"password": password}, nil)
		if res.StatusCode != 200 || len(res.Cookies()) == 0 {
			t.Fatalf("login: %d %s", res.StatusCode, raw)
		}
		return res.Cookies()[0]
	}
	phone, laptop := login(), login()
	for _, c := range []*http.Cookie{phone, laptop} {
		if res, raw := tr.do(t, "POST", "/api/push", subscription(ps.NewDevice(t), "bob", ""), func(r *http.Request) { r.AddCookie(c) }); res.StatusCode != 201 {
			t.Fatalf("subscribe: %d %s", res.StatusCode, raw)
		}
	}
	if res, raw := tr.do(t, "POST", "/api/logout", nil, func(r *http.Request) { r.AddCookie(phone) }); res.StatusCode != 200 {
		t.Fatalf("logout: %d %s", res.StatusCode, raw)
	}
	if svc.Len() != 1 || svc.Subscriptions()[0].Session != push.SessionID(laptop.Value) {
		t.Errorf("after the phone logged out: %+v, want only the laptop's", svc.Subscriptions())
	}
}

// waitUntil polls cond until it holds, failing the test after 10s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A ping to someone whose page is closed is taken when a device of theirs
// takes pings: that is what the subscription is for.
func TestAPingReachesSomeoneOutOfTheRoomThroughTheirDevice(t *testing.T) {
	tr, _, ps := newPushRoom(t, nil)
	res, raw := tr.do(t, "POST", "/api/messages", map[string]string{"nick": "alice", "text": "/ping bob lunch?"}, nil)
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("a ping to bob, absent and unsubscribed: %d %s", res.StatusCode, raw)
	}
	d := ps.NewDevice(t)
	if res, raw := tr.do(t, "POST", "/api/push", subscription(d, "bob", "pings"), nil); res.StatusCode != 201 {
		t.Fatalf("subscribe: %d %s", res.StatusCode, raw)
	}
	m := tr.post(t, "alice", "/ping bob lunch?")
	if pl := decode[push.Payload](t, ps.Next(t, 10*time.Second).Plain); pl.ID != m.ID || !pl.Ping {
		t.Errorf("pushed %+v", pl)
	}
	if res, raw := tr.do(t, "POST", "/api/push", subscription(d, "bob", "none"), nil); res.StatusCode != 201 {
		t.Fatalf("mute: %d %s", res.StatusCode, raw)
	}
	if res, _ := tr.do(t, "POST", "/api/messages", map[string]string{"nick": "alice", "text": "/ping bob still?"}, nil); res.StatusCode != http.StatusConflict {
		t.Errorf("a ping to bob, whose only device is muted: %d, want 409", res.StatusCode)
	}
}

// A nickname another browser holds cannot have its pings sent to a
// stranger's device: the subscription needs the holder's token, as a post
// under that nickname does.
func TestAHeldNicknamesPushesNeedItsToken(t *testing.T) {
	tr, svc, ps := newPushRoom(t, nil)
	tr.join(t, "alice", aliceToken)
	res, raw := tr.do(t, "POST", "/api/push", subscription(ps.NewDevice(t), "alice", "all"), nil)
	if res.StatusCode != http.StatusConflict || !strings.Contains(string(raw), "nick_taken") {
		t.Fatalf("a stranger subscribing as alice: %d %s, want 409 nick_taken", res.StatusCode, raw)
	}
	sub := subscription(ps.NewDevice(t), "alice", "all")
	sub["token"] = aliceToken
	if res, raw := tr.do(t, "POST", "/api/push", sub, nil); res.StatusCode != http.StatusCreated {
		t.Fatalf("alice's own browser subscribing: %d %s", res.StatusCode, raw)
	}
	if n := svc.Len(); n != 1 {
		t.Fatalf("%d subscriptions kept, want alice's own one", n)
	}
}

// The service worker is served from the root, never cached by HTTP, and
// names its cache after the page's files, so a box with new files
// replaces every browser's cache of the old ones.
func TestTheServiceWorkerNamesItsCacheAfterThePagesFiles(t *testing.T) {
	tr := newTestRoom(t, nil)
	res, raw := tr.do(t, "GET", "/sw.js", nil, nil)
	if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "no-cache" || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("GET /sw.js: %d %v", res.StatusCode, res.Header)
	}
	if !regexp.MustCompile(`const CACHE = "chatbox-static-[0-9a-f]{12}";`).Match(raw) {
		t.Errorf("the worker's cache is not named after the files: %.300s", raw)
	}
	// Its offline screen loads the stylesheet the box serves, checked.
	_, style := tr.do(t, "GET", "/static/style.css", nil, nil)
	sum := sha256.Sum256(style)
	want := `const STYLE_INTEGRITY = "sha256-` + base64.StdEncoding.EncodeToString(sum[:]) + `";`
	if !strings.Contains(string(raw), want) {
		t.Errorf("the worker does not hold the stylesheet's integrity %s", want)
	}
	res, raw = tr.do(t, "GET", "/manifest.webmanifest", nil, nil)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/manifest+json" || !strings.Contains(string(raw), `"display":"standalone"`) {
		t.Errorf("GET /manifest.webmanifest: %d %s", res.StatusCode, raw)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "worker-src 'self'") || !strings.Contains(csp, "manifest-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
}
