package httpapi

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cachestorage"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/chat/push"
)

// untilEvery waits for a JavaScript expression (a promise, say) to become
// true, asking every 100 ms: animation frames, which until waits on, may
// not come to a tab in the background.
func untilEvery(expr string) chromedp.Action[chromedp.Void] {
	return awaited(expr, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(15*time.Second), chromedp.WithPollingInterval(100*time.Millisecond)))
}

// call runs one DevTools command on a page's target with a deadline.
func call[P, R any](t *testing.T, ctx context.Context, cmd cdp.Command[P, R], params P) R {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	r, err := chromedp.Call(ctx, cmd, params)
	if err != nil {
		t.Fatalf("%s: %v", cmd.Method, err)
	}
	return r
}

// The room installs as an app, its service worker shows the box's pushes,
// and it keeps nothing of a private room. Subscribing in Chromium itself
// needs the browser's own push service, which cannot be reached from a
// test: the page is given a subscription of the stand-in push service
// instead, the box's push to it is decrypted there (as the browser's push
// service would hand it on), and DevTools' deliverPushMessage hands it to
// the service worker as the browser would.
func TestBrowserInstallablePushAndOffline(t *testing.T) {
	b := newBrowser(t)
	tr, svc, ps := newPushRoom(t, func(o *testOptions, _ *push.Options) { o.Private = true })
	password, _ := tr.TakeInitialPassword()
	origin := tr.srv.URL

	tab := b.page(t, "about:blank")
	ctxID := chromedp.FromContext(tab).BrowserContextID
	if _, err := chromedp.CallBrowser(tab, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
		Permission: &cdpbrowser.PermissionDescriptor{Name: "notifications"}, Setting: cdpbrowser.PermissionSettingGranted,
		Origin: origin, BrowserContextID: ctxID,
	}); err != nil {
		t.Fatalf("grant notifications: %v", err)
	}
	regs := make(chan *serviceworker.Registration, 64)
	go func() {
		for ev, err := range chromedp.Events(tab, serviceworker.WorkerRegistrationUpdated) {
			if err != nil {
				return
			}
			for _, r := range ev.Registrations {
				regs <- r
			}
		}
	}()
	call(t, tab, serviceworker.Enable, cdp.Empty{})

	run(t, tab, chromedp.Navigate(origin),
		chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")))
	joinAs(t, tab, "bob")
	say(t, tab, "a secret of the private room")
	waitForText(t, tab, "a secret of the private room")

	t.Run("the service worker registers and controls the page", func(t *testing.T) {
		run(t, tab, until(`navigator.serviceWorker.controller !== null && navigator.serviceWorker.controller.scriptURL.endsWith("/sw.js")`))
	})

	t.Run("the manifest has no errors", func(t *testing.T) {
		m := call(t, tab, page.GetAppManifest, page.GetAppManifestParams{})
		for _, e := range m.Errors {
			t.Errorf("manifest error: %s (critical %v)", e.Message, e.Critical)
		}
		var got manifest
		if err := json.Unmarshal([]byte(m.Data), &got); err != nil {
			t.Fatalf("manifest %q: %v", m.Data, err)
		}
		if got.Display != "standalone" || got.Name != "127.0.0.1" || len(got.Icons) != 4 || !strings.HasSuffix(m.URL, "/manifest.webmanifest") {
			t.Errorf("manifest %s: %+v", m.URL, got)
		}
		if m.Manifest == nil || !strings.HasSuffix(strings.ToLower(m.Manifest.Display), "standalone") || len(m.Manifest.Icons) != 4 {
			t.Errorf("Chromium read the manifest as %+v", m.Manifest)
		}
	})

	// The box's key, as the page sees it, is the one pushes are signed with.
	if key := get(t, tab, chromedp.Evaluate[string](`fetch("/api/push").then(r => r.json()).then(j => j.public_key)`, chromedp.EvalAwaitPromise)); key != svc.PublicKey() {
		t.Fatalf("the page got key %q, want the box's", key)
	}
	d := ps.NewDevice(t)
	sub := fmt.Sprintf(`{"endpoint":%q,"keys":{"p256dh":%q,"auth":%q},"nick":"bob","mode":"pings"}`, d.Endpoint, d.P256dh, d.Auth)
	// The page adds its browser's token, as push.js does: bob's browser
	// holds his name.
	status := get(t, tab, chromedp.Evaluate[int](`fetch("/api/push", {method: "POST", headers: {"Content-Type": "application/json"},
		body: JSON.stringify(Object.assign(JSON.parse(`+jsString(sub)+`), {token: localStorage.getItem("chatbox.token")}))}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if status != 201 {
		t.Fatalf("the page's subscription: %d", status)
	}

	// bob leaves the room and his tab goes elsewhere on the box (a page
	// kept in the back-forward cache may keep its socket), then alice
	// pings him.
	say(t, tab, "/quit")
	run(t, tab, chromedp.Navigate(origin+"/healthz"))
	waitUntil(t, "bob has left", func() bool { return !slices.Contains(tr.Members(), "bob") })
	res, raw := tr.do(t, "POST", "/api/messages", map[string]string{"nick": "alice", "text": "/ping bob the meeting moved to three"},
		func(r *http.Request) { r.SetBasicAuth("", password) })
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("alice's ping: %d %s", res.StatusCode, raw)
	}
	m := decode[chat.Message](t, raw)
	p := ps.Next(t, 10*time.Second)
	if p.Err != nil {
		t.Fatalf("the stand-in could not read the push: %v", p.Err)
	}

	var reg *serviceworker.Registration
	for reg == nil {
		select {
		case r := <-regs:
			if !r.IsDeleted && strings.HasPrefix(r.ScopeURL, origin) {
				reg = r
			}
		case <-time.After(10 * time.Second):
			t.Fatal("DevTools told of no service worker registration")
		}
	}
	t.Run("a push shows a notification", func(t *testing.T) {
		// Now and then (about one run in three on a loaded machine) the
		// first push after the navigation shows nothing; its cause is not
		// known. The push is delivered again then, and the test says so.
		shown := false
		for attempt := 1; attempt <= 3 && !shown; attempt++ {
			call(t, tab, serviceworker.DeliverPushMessage, serviceworker.DeliverPushMessageParams{
				Origin: origin, RegistrationID: reg.RegistrationID, Data: string(p.Plain),
			})
			ctx, cancel := context.WithTimeout(tab, 6*time.Second)
			err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](`navigator.serviceWorker.getRegistration().then(r => r.getNotifications()).then(ns => ns.length === 1)`,
				chromedp.WithPollingTimeout(5*time.Second), chromedp.WithPollingInterval(100*time.Millisecond)))
			cancel()
			if shown = err == nil; !shown {
				state := get(t, tab, chromedp.Evaluate[string](`navigator.serviceWorker.getRegistration().then(r => (r && r.active ? r.active.state : "no active worker") + ", permission " + Notification.permission)`, chromedp.EvalAwaitPromise))
				t.Logf("push %d showed no notification within 5 s (worker: %s); delivering it again", attempt, state)
			}
		}
		if !shown {
			t.Fatal("three pushes showed no notification")
		}
		got := get(t, tab, chromedp.Evaluate[[]string](`navigator.serviceWorker.getRegistration().then(r => r.getNotifications()).then(ns => [ns[0].title, ns[0].body, ns[0].data.url])`, chromedp.EvalAwaitPromise))
		want := []string{"chat.example.com", "alice: the meeting moved to three", fmt.Sprintf("/#m%d", m.ID)}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("notification %q, want %q", got, want)
		}
		// The same ping again replaces it; the room's other messages share
		// one notification that counts them.
		other := fmt.Sprintf(`{"title":"chat.example.com","body":"carol: hi","count":1,"id":%d,"url":"/#m%d","tag":"chatbox-room"}`, m.ID+1, m.ID+1)
		for _, data := range []string{string(p.Plain), other, other} {
			call(t, tab, serviceworker.DeliverPushMessage, serviceworker.DeliverPushMessageParams{
				Origin: origin, RegistrationID: reg.RegistrationID, Data: data,
			})
		}
		run(t, tab, untilEvery(`navigator.serviceWorker.getRegistration().then(r => r.getNotifications()).then(ns => ns.length === 2 && ns.some(n => n.body === "2 new messages") && ns.some(n => n.body === "alice: the meeting moved to three"))`))
	})

	t.Run("the link of a notification opens the room at the message", func(t *testing.T) {
		// The page remembers bob: it enters the room at once.
		run(t, tab, chromedp.Navigate(origin+fmt.Sprintf("/#m%d", m.ID)), chromedp.WaitVisible(chromedp.ID("room")))
		run(t, tab, until(fmt.Sprintf(`document.getElementById("m%d") !== null`, m.ID)))
		// The page, visible again, clears the room's notifications.
		run(t, tab, untilEvery(`navigator.serviceWorker.getRegistration().then(r => r.getNotifications()).then(ns => ns.length === 0)`))
	})

	t.Run("cache storage holds nothing of the private room", func(t *testing.T) {
		// Load what the room has: history, a feed, the room's record.
		run(t, tab, chromedp.Evaluate[chromedp.Void](`Promise.all(["/api/messages?limit=10", "/api/room", "/rss/all.xml", "/api/push"].map(u => fetch(u).then(r => r.text())))`, chromedp.EvalAwaitPromise))
		caches := call(t, tab, cachestorage.RequestCacheNames, cachestorage.RequestCacheNamesParams{SecurityOrigin: origin})
		if len(caches.Caches) == 0 {
			t.Fatal("the service worker keeps no cache: the page's files are not kept for an instant start")
		}
		n := 0
		for _, c := range caches.Caches {
			entries := call(t, tab, cachestorage.RequestEntries, cachestorage.RequestEntriesParams{CacheID: c.CacheID, PageSize: 1000})
			for _, e := range entries.CacheDataEntries {
				n++
				u, err := url.Parse(e.RequestURL)
				if err != nil || !(strings.HasPrefix(u.Path, "/static/") || u.Path == "/favicon.ico") {
					t.Errorf("cache %s holds %s, which is not one of the page's own files", c.CacheName, e.RequestURL)
				}
			}
		}
		if n == 0 {
			t.Error("the caches are empty")
		}
	})

	t.Run("with the box stopped a reload shows the offline screen", func(t *testing.T) {
		tr.CloseClients()
		tr.srv.Close()
		run(t, tab, chromedp.Reload(), until(`document.getElementById("offline") !== null`))
		text := get(t, tab, chromedp.Text(chromedp.ID("offline")))
		if !strings.Contains(text, "You are offline") || strings.Contains(text, "secret") {
			t.Errorf("offline screen: %q", text)
		}
	})
}

var screenshot = flag.Bool("screenshot", false, "write docs/phone.png from TestBrowserAlertsPanelOnAPhone")

// The Alerts panel on a phone-sized screen: it offers the three modes,
// starts with the device's own choice (nothing yet), and Escape closes
// it. With -screenshot the test writes the README's picture.
func TestBrowserAlertsPanelOnAPhone(t *testing.T) {
	b := newBrowser(t)
	tr, _, _ := newPushRoom(t, nil)
	for _, m := range [][2]string{{"alice", "morning! who's in for lunch at one?"}, {"carol", "me, the usual place"}, {"alice", "/ping bob you too?"}} {
		if m[1] == "/ping bob you too?" {
			tr.dial(t, "bob", nil)
		}
		tr.post(t, m[0], m[1])
	}
	tab := b.page(t, "about:blank")
	run(t, tab, chromedp.EmulateViewport(390, 760, chromedp.EmulateScale(2), chromedp.EmulateMobile), chromedp.Navigate(tr.srv.URL))
	joinAs(t, tab, "dave")
	run(t, tab,
		chromedp.WaitVisible(chromedp.ID("push-button")),
		chromedp.Click(chromedp.ID("push-button")),
		chromedp.WaitVisible(chromedp.ID("push-dialog")),
		until(`[...document.querySelectorAll("input[name=push-mode]")].map(r => r.value + (r.checked ? "*" : "")).join() === "pings,all,none*"`),
		until(`document.getElementById("push-modes").disabled === false`),
	)
	if *screenshot {
		png := get(t, tab, chromedp.CaptureScreenshot())
		if err := os.WriteFile("../../docs/phone.png", png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run(t, tab, chromedp.KeyEvent(kb.Escape), until(`!document.getElementById("push-dialog").open`))
}
