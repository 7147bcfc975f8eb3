package httpapi

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/chat/push"
)

// An encrypted room's notifications say "New message" until the person
// lets this device show the text: the service worker then keeps the room
// key (a key that cannot be read out, in IndexedDB) and opens the
// envelope the push carries; unticked, the key is gone and the
// notifications say "New message" again. The pushes are the box's own,
// decrypted by the stand-in push service and handed to the worker as the
// browser's push service would (see TestBrowserInstallablePushAndOffline).
func TestBrowserEncryptedPushShowsTextOnlyWhereAsked(t *testing.T) {
	b := newBrowser(t)
	tr, _, ps := newPushRoom(t, func(o *testOptions, _ *push.Options) { o.Encrypted = true })
	origin := tr.srv.URL
	tab := b.page(t, "about:blank")
	sw := watchWorker(t, tab, origin)

	// Bob's browser is the first: it makes the room's key.
	run(t, tab, chromedp.Navigate(origin), chromedp.WaitVisible(chromedp.ID("ready")))
	link := get(t, tab, chromedp.Text(chromedp.ID("ready-link")))
	m := regexp.MustCompile(`#k=([A-Za-z0-9_-]{43})$`).FindStringSubmatch(link)
	if m == nil {
		t.Fatalf("the link to share is %q", link)
	}
	key, err := base64.RawURLEncoding.DecodeString(m[1])
	if err != nil {
		t.Fatal(err)
	}
	run(t, tab, chromedp.Click(chromedp.ID("ready-enter")))
	joinAs(t, tab, "bob")
	run(t, tab, chromedp.WaitVisible(chromedp.ID("encrypted-mark")))
	roomID := tr.State().RoomID
	worker, reg := sw.attach(t)

	// The device's subscription is the stand-in's (Chromium cannot reach
	// its own push service from here), posted as push.js posts one, and
	// the page remembers "Every message" as if bob had picked it.
	d := ps.NewDevice(t)
	sub := fmt.Sprintf(`{"endpoint":%q,"keys":{"p256dh":%q,"auth":%q},"nick":"bob","mode":"all"}`, d.Endpoint, d.P256dh, d.Auth)
	status := get(t, tab, chromedp.Evaluate[int](`localStorage.setItem("chatbox.push.mode", "all"), fetch("/api/push", {method: "POST", headers: {"Content-Type": "application/json"},
		body: JSON.stringify(Object.assign(JSON.parse(`+jsString(sub)+`), {token: localStorage.getItem("chatbox.token")}))}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if status != 201 {
		t.Fatalf("the page's subscription: %d", status)
	}

	// away takes bob's tab off the room; back brings it back (the tab
	// keeps the key), and tick sets "Show what messages say".
	away := func(t *testing.T) {
		t.Helper()
		// As in TestBrowserInstallablePushAndOffline: a page kept in the
		// back-forward cache may keep its socket.
		say(t, tab, "/quit")
		run(t, tab, chromedp.Navigate(origin+"/healthz"))
		waitUntil(t, "bob has left", func() bool { return !slices.Contains(tr.Members(), "bob") })
		run(t, worker, chromedp.Evaluate[chromedp.Void](`self.registration.getNotifications().then(ns => ns.forEach(n => n.close()))`, chromedp.EvalAwaitPromise))
	}
	back := func(t *testing.T) {
		t.Helper()
		run(t, tab, chromedp.Navigate(origin), chromedp.WaitVisible(chromedp.ID("encrypted-mark")),
			until(`document.getElementById("status").textContent === ""`))
	}
	tick := func(t *testing.T, on bool, said string) {
		t.Helper()
		run(t, tab, chromedp.Click(chromedp.ID("push-button")), chromedp.WaitVisible(chromedp.ID("push-text-row")))
		if got := get(t, tab, chromedp.Evaluate[bool](`document.getElementById("push-text").checked`)); got == on {
			t.Fatalf("the box is already %v", got)
		}
		run(t, tab, chromedp.Click(chromedp.ID("push-text")),
			until(`document.getElementById("push-status").textContent.includes(`+jsString(said)+`)`))
		if on {
			// What the person reads before and after ticking, on a phone in
			// the dark and on a desktop in the light.
			for _, sc := range []screen{screens[3], screens[0]} {
				look(t, tab, sc)
				run(t, tab, framesDrawn)
				path := filepath.Join(screenshotDir(t), "encrypted-push-text-"+sc.name+".png")
				if err := os.WriteFile(path, get(t, tab, chromedp.CaptureScreenshot()), 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("saved %s", path)
			}
		}
		run(t, tab, chromedp.Click(chromedp.ID("push-close")))
	}
	kept := func(t *testing.T) string {
		t.Helper()
		return get(t, worker, chromedp.Evaluate[string](`keptKey(`+jsString(roomID)+`).then(k => k ? k.constructor.name + " " + k.algorithm.name + " extractable=" + k.extractable : "none")`, chromedp.EvalAwaitPromise))
	}
	n := byte(0)
	// post has alice send an envelope of text (to bob, a ping) as the page
	// would, and returns what bob's device is shown for it.
	post := func(t *testing.T, kind, text string) (uint64, []string) {
		t.Helper()
		n++
		iv := make([]byte, 12)
		iv[0] = n
		env := fmt.Sprintf(`{"v":1,"iv":%q,"ct":%q}`, base64.RawURLEncoding.EncodeToString(iv),
			base64.RawURLEncoding.EncodeToString(docSeal(t, key, iv, []byte(text), docAD("chatbox/v1", roomID, kind, "alice"))))
		body := map[string]string{"nick": "alice", "text": env}
		if kind == "ping" {
			body["to"] = "bob"
		}
		res, raw := tr.do(t, "POST", "/api/messages", body, nil)
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("alice's %s: %d %s", kind, res.StatusCode, raw)
		}
		msg := decode[chat.Message](t, raw)
		p := ps.Next(t, 10*time.Second)
		if p.Err != nil {
			t.Fatalf("the stand-in could not read the push: %v", p.Err)
		}
		deliverPushes(t, tab, worker, origin, reg.RegistrationID, string(p.Plain))
		return msg.ID, notifications(t, tab)
	}
	want := func(id uint64, body string) []string {
		return []string{fmt.Sprintf("chat.example.com|%s|/#m%d", body, id)}
	}

	t.Run("without asking, a notification says New message", func(t *testing.T) {
		away(t)
		id, got := post(t, "text", "the harbour meeting moves to thursday")
		if !slices.Equal(got, want(id, "New message")) {
			t.Errorf("notifications %q, want %q", got, want(id, "New message"))
		}
		if k := kept(t); k != "none" {
			t.Errorf("the worker keeps %s before anyone asked", k)
		}
	})
	t.Run("asked, the worker keeps the key and shows the text", func(t *testing.T) {
		back(t)
		tick(t, true, "keeps the room's key")
		if k := kept(t); k != "CryptoKey AES-GCM extractable=false" {
			t.Errorf("the worker keeps %s, want a CryptoKey AES-GCM that cannot be read out", k)
		}
		away(t)
		id, got := post(t, "text", "bring the blue folder with the tide tables")
		if w := want(id, "alice: bring the blue folder with the tide tables"); !slices.Equal(got, w) {
			t.Errorf("notifications %q, want %q", got, w)
		}
		run(t, worker, chromedp.Evaluate[chromedp.Void](`self.registration.getNotifications().then(ns => ns.forEach(n => n.close()))`, chromedp.EvalAwaitPromise))
		id, got = post(t, "ping", "are you reading this, periwinkle")
		if w := want(id, "alice pinged you: are you reading this, periwinkle"); !slices.Equal(got, w) {
			t.Errorf("notifications %q, want %q", got, w)
		}
	})
	t.Run("unticked, the key is gone and notifications say New message", func(t *testing.T) {
		back(t)
		tick(t, false, "no longer keeps the room's key")
		if k := kept(t); k != "none" {
			t.Errorf("the worker still keeps %s", k)
		}
		away(t)
		id, got := post(t, "text", "and the spare oars from the shed")
		if !slices.Equal(got, want(id, "New message")) {
			t.Errorf("notifications %q, want %q", got, want(id, "New message"))
		}
	})
}
