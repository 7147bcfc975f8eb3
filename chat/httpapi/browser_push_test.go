package httpapi

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cachestorage"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/security"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/cdproto/target"
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

// attachWorker attaches to the running service worker of origin, so that
// a test can run script in the worker's own scope. While DevTools is
// attached the browser does not stop the worker for being idle.
func attachWorker(t *testing.T, tab context.Context, origin string) context.Context {
	t.Helper()
	var id target.ID
	waitUntil(t, "the service worker runs", func() bool {
		infos, err := chromedp.Targets(tab)
		if err != nil {
			t.Fatalf("list targets: %v", err)
		}
		for _, ti := range infos {
			if ti.Type == "service_worker" && ti.URL == origin+"/sw.js" {
				id = ti.TargetID
				return true
			}
		}
		return false
	})
	// Leave the worker running when the test lets go of it.
	w, cancel := chromedp.NewContext(tab, chromedp.WithTargetID(id), chromedp.WithDetachOnCancel())
	t.Cleanup(cancel)
	if err := chromedp.Do(w); err != nil {
		t.Fatalf("attach to the service worker: %v", err)
	}
	return w
}

// workerWatch follows the service worker of origin in a tab whose
// notifications are allowed, as a person's click on "Allow" would.
type workerWatch struct {
	tab    context.Context
	origin string
	regs   chan *serviceworker.Registration
}

// watchWorker allows notifications for origin in tab's browser context and
// starts hearing of its service worker registrations; call it before the
// tab opens the room.
func watchWorker(t *testing.T, tab context.Context, origin string) *workerWatch {
	t.Helper()
	ctxID := chromedp.FromContext(tab).BrowserContextID
	if _, err := chromedp.CallBrowser(tab, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
		Permission: &cdpbrowser.PermissionDescriptor{Name: "notifications"}, Setting: cdpbrowser.PermissionSettingGranted,
		Origin: origin, BrowserContextID: ctxID,
	}); err != nil {
		t.Fatalf("grant notifications: %v", err)
	}
	w := &workerWatch{tab: tab, origin: origin, regs: make(chan *serviceworker.Registration, 64)}
	go func() {
		for ev, err := range chromedp.Events(tab, serviceworker.WorkerRegistrationUpdated) {
			if err != nil {
				return
			}
			for _, r := range ev.Registrations {
				w.regs <- r
			}
		}
	}()
	call(t, tab, serviceworker.Enable, cdp.Empty{})
	return w
}

// attach attaches to the running worker (see attachWorker) and returns it
// with its registration, once DevTools has told of it.
func (w *workerWatch) attach(t *testing.T) (context.Context, *serviceworker.Registration) {
	t.Helper()
	worker := attachWorker(t, w.tab, w.origin)
	for {
		select {
		case r := <-w.regs:
			if !r.IsDeleted && strings.HasPrefix(r.ScopeURL, w.origin) {
				return worker, r
			}
		case <-time.After(10 * time.Second):
			t.Fatal("DevTools told of no service worker registration")
		}
	}
}

// deliverPushes hands each of data to the service worker as the browser's
// push service would, and returns once the worker has handled them all.
//
// It waits on the worker's own queue of pushes being shown (sw.js's
// "showing"), never by asking for the notifications meanwhile: Chromium
// drops a notification from what getNotifications answers, for good, when
// that call starts before the notification is displayed and ends after it
// was stored. That is why the first push seemed now and then to show
// nothing while the test polled getNotifications every 100 ms.
func deliverPushes(t *testing.T, tab, worker context.Context, origin string, regID serviceworker.RegistrationID, data ...string) {
	t.Helper()
	run(t, worker, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`void (self.testPushes = new Promise((done) => {
		let left = %d;
		const handled = [];
		// Added after sw.js's listener, this one runs after it, when
		// "showing" holds the push just queued.
		self.addEventListener("push", function seen() {
			handled.push(showing);
			if (--left === 0) {
				self.removeEventListener("push", seen);
				done(Promise.all(handled));
			}
		});
	}))`, len(data))))
	for _, d := range data {
		call(t, tab, serviceworker.DeliverPushMessage, serviceworker.DeliverPushMessageParams{Origin: origin, RegistrationID: regID, Data: d})
	}
	run(t, worker, chromedp.Evaluate[chromedp.Void](`self.testPushes.then(() => undefined)`, chromedp.EvalAwaitPromise))
}

// notifications lists the notifications the worker shows, as
// "title|body|url" each, asked once.
func notifications(t *testing.T, tab context.Context) []string {
	t.Helper()
	return get(t, tab, chromedp.Evaluate[[]string](`navigator.serviceWorker.getRegistration().then(r => r.getNotifications()).then(ns => ns.map(n => [n.title, n.body, n.data.url].join("|")))`, chromedp.EvalAwaitPromise))
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
	sw := watchWorker(t, tab, origin)

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
	worker, reg := sw.attach(t)

	t.Run("a push while the room is in front shows nothing", func(t *testing.T) {
		// The box sends no push to a visible page; the worker checks again,
		// for a push that was on its way when the page came to the front.
		if inFront := get(t, worker, chromedp.Evaluate[bool](`self.clients.matchAll({type: "window"}).then(ws => ws.some(c => new URL(c.url).pathname === "/" && c.focused && c.visibilityState === "visible"))`, chromedp.EvalAwaitPromise)); !inFront {
			t.Fatal("the worker does not see bob's page as focused and visible")
		}
		deliverPushes(t, tab, worker, origin, reg.RegistrationID, `{"title":"chat.example.com","body":"carol: hi","count":1,"id":1,"url":"/#m1","tag":"chatbox-room"}`)
		if ns := notifications(t, tab); len(ns) != 0 {
			t.Errorf("a push over the open room showed %q", ns)
		}
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

	// Messages after the ping: in the room it is out of sight at first.
	for i := range 40 {
		res, raw := tr.do(t, "POST", "/api/messages", map[string]string{"nick": "carol", "text": fmt.Sprintf("later message %d", i)},
			func(r *http.Request) { r.SetBasicAuth("", password) })
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("carol's message: %d %s", res.StatusCode, raw)
		}
	}

	// This page is not the room: the worker shows the push.
	t.Run("a push shows a notification", func(t *testing.T) {
		deliverPushes(t, tab, worker, origin, reg.RegistrationID, string(p.Plain))
		got := notifications(t, tab)
		want := fmt.Sprintf("chat.example.com|alice: the meeting moved to three|/#m%d", m.ID)
		if len(got) != 1 || got[0] != want {
			t.Fatalf("notifications %q, want [%q]", got, want)
		}
		// The same ping again replaces it; the room's other messages share
		// one notification that counts them.
		other := fmt.Sprintf(`{"title":"chat.example.com","body":"carol: hi","count":1,"id":%d,"url":"/#m%d","tag":"chatbox-room"}`, m.ID+1, m.ID+1)
		deliverPushes(t, tab, worker, origin, reg.RegistrationID, string(p.Plain), other, other)
		got = notifications(t, tab)
		slices.Sort(got)
		want2 := []string{fmt.Sprintf("chat.example.com|2 new messages|/#m%d", m.ID+1), want}
		if strings.Join(got, "\n") != strings.Join(want2, "\n") {
			t.Errorf("notifications %q, want %q", got, want2)
		}
	})
	// A click on a notification cannot be made over DevTools: the browser
	// shows notifications outside any page. The test runs the worker's own
	// notificationclick listener with the notification the push showed, in
	// a NotificationEvent made in the worker's scope. A click the person
	// makes lets the worker open or focus one window; an event made by a
	// script does not, so the browser refuses openWindow and focus here.
	// The test checks what the worker asked of the browser (which window,
	// at which address), that the browser refused only for want of a
	// click, and then what follows in the page.
	click := func(t *testing.T, notification string) []string {
		t.Helper()
		return get(t, worker, chromedp.Evaluate[[]string](`(async () => {
			const n = `+notification+`;
			const asked = [];
			const watch = (what, p) => { asked.push(p.then(() => what + " done", (e) => what + " refused: " + e.name + ": " + e.message)); return p; };
			const openWindow = Clients.prototype.openWindow, focus = WindowClient.prototype.focus;
			Clients.prototype.openWindow = function (url) { return watch("open " + url, openWindow.call(this, url)); };
			WindowClient.prototype.focus = function () { return watch("focus " + this.url, focus.call(this)); };
			try {
				// sw.js's listener calls waitUntil, which throws for an event
				// made by a script, after its work has begun.
				self.dispatchEvent(new NotificationEvent("notificationclick", { notification: n }));
				for (let i = 0; i < 200 && asked.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
				return await Promise.all(asked);
			} finally {
				Clients.prototype.openWindow = openWindow;
				WindowClient.prototype.focus = focus;
			}
		})()`, chromedp.EvalAwaitPromise))
	}
	refused := func(answer string) bool {
		return strings.Contains(answer, "refused: InvalidAccessError: Not allowed to")
	}
	roomURL := fmt.Sprintf("%s/#m%d", origin, m.ID)
	t.Run("a click with no page of the room open opens the room at the message", func(t *testing.T) {
		run(t, worker, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`self.registration.getNotifications({tag: "chatbox-ping-%d"}).then(([n]) => { self.testPing = n; })`, m.ID), chromedp.EvalAwaitPromise))
		got := click(t, "self.testPing")
		t.Logf("the worker asked the browser: %q", got)
		if len(got) != 1 || !strings.HasPrefix(got[0], "open "+roomURL+" ") {
			t.Fatalf("the click asked the browser for %q, want to open %s", got, roomURL)
		}
		if !refused(got[0]) {
			// A browser that lets it open the window: the room is there.
			t.Logf("the browser opened the window: %s", got[0])
			waitUntil(t, "a tab at "+roomURL, func() bool {
				infos, _ := chromedp.Targets(tab)
				return slices.ContainsFunc(infos, func(ti *target.Info) bool { return ti.Type == "page" && ti.URL == roomURL })
			})
		}
		// The notification clicked goes.
		run(t, tab, untilEvery(fmt.Sprintf(`navigator.serviceWorker.getRegistration().then(r => r.getNotifications({tag: "chatbox-ping-%d"})).then(ns => ns.length === 0)`, m.ID)))
	})

	t.Run("the room opened at the message shows it", func(t *testing.T) {
		// The page remembers bob: it enters the room at once.
		run(t, tab, chromedp.Navigate(roomURL), chromedp.WaitVisible(chromedp.ID("room")))
		run(t, tab, until(fmt.Sprintf(`document.getElementById("m%d") !== null`, m.ID)))
		run(t, tab, until(inSight(m.ID)))
		// The page, visible again, clears the room's notifications.
		run(t, tab, untilEvery(`navigator.serviceWorker.getRegistration().then(r => r.getNotifications()).then(ns => ns.length === 0)`))
	})

	t.Run("a click with the room open shows the message in that page", func(t *testing.T) {
		// bob reads on: the newest message, the ping out of sight.
		run(t, tab, chromedp.Evaluate[chromedp.Void](`history.replaceState(null, "", "/"); document.getElementById("scroller").scrollTop = 1e9`),
			until(`!(`+inSight(m.ID)+`)`))
		got := click(t, "self.testPing")
		t.Logf("the worker asked the browser: %q", got)
		if len(got) != 1 || !strings.HasPrefix(got[0], "focus "+origin+"/") || !(strings.HasSuffix(got[0], " done") || refused(got[0])) {
			t.Fatalf("the click asked the browser for %q, want to focus bob's page", got)
		}
		// The worker told the page before it asked for the focus.
		run(t, tab, until(fmt.Sprintf(`location.hash === "#m%d" && (%s)`, m.ID, inSight(m.ID))))
		if infos, _ := chromedp.Targets(tab); slices.ContainsFunc(infos, func(ti *target.Info) bool {
			return ti.Type == "page" && ti.URL == roomURL && ti.TargetID != chromedp.FromContext(tab).Target.TargetID
		}) {
			t.Error("the click opened a second page of the room")
		}
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
		// Its stylesheet comes from the worker's cache and passes the
		// integrity the box wrote into the worker: a sheet that failed it
		// would not be applied at all.
		run(t, tab, until(`document.readyState === "complete"`))
		styled := get(t, tab, chromedp.Evaluate[string](`[...document.styleSheets].map(s => s.href.replace(location.origin, "") + " " + s.cssRules.length + " " + (document.querySelector("link[rel=stylesheet]").integrity || "none").slice(0, 7)).join(",")`))
		if !regexp.MustCompile(`^/static/style\.css [1-9][0-9]* sha256-$`).MatchString(styled) {
			t.Errorf("the offline screen's stylesheets: %q, want /static/style.css applied with its integrity", styled)
		}
	})
}

// inSight is a JavaScript test of whether message id is within the
// message list's visible part.
func inSight(id uint64) string {
	return fmt.Sprintf(`(() => { const m = document.getElementById("m%d"), s = document.getElementById("scroller"); if (!m) return false; const a = m.getBoundingClientRect(), b = s.getBoundingClientRect(); return a.top >= b.top && a.bottom <= b.bottom; })()`, id)
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
			// A ping needs bob in the room: the handshake's answer comes
			// before the join.
			tr.dial(t, "bob", nil)
			waitUntil(t, "bob is in the room", func() bool { return slices.Contains(tr.Members(), "bob") })
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

// A box still on its own certificate authority: the browser refuses the
// service worker, and so notifications, and the page says why and how to
// fix it. The room is served over HTTPS with a certificate of a CA the
// browser does not know, and the browser is told to go on past the
// warning, as a person does who clicks "Proceed"; the box says it serves
// its local CA's certificate, as box/ does until it has one from Let's
// Encrypt.
func TestBrowserPushExplainsTheLocalCA(t *testing.T) {
	b := newBrowser(t)
	const trust = "http://203.0.113.7/trust"
	tr, _, _ := newPushRoom(t, func(o *testOptions, _ *push.Options) {
		o.Web.LocalCA = func() bool { return true }
		o.Web.TrustURL = func() string { return trust }
	})
	srv := httptest.NewUnstartedServer(tr.web)
	// The browser's refusals of the certificate are expected.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)

	tab := b.page(t, "about:blank")
	call(t, tab, security.SetIgnoreCertificateErrors, security.SetIgnoreCertificateErrorsParams{Ignore: true})
	run(t, tab, chromedp.Navigate(srv.URL))
	joinAs(t, tab, "dave")
	run(t, tab,
		chromedp.WaitVisible(chromedp.ID("push-button")),
		chromedp.Click(chromedp.ID("push-button")),
		chromedp.WaitVisible(chromedp.ID("push-problem")),
		until(`document.getElementById("push-modes").disabled`))
	text := get(t, tab, chromedp.Text(chromedp.ID("push-problem")))
	for _, want := range []string{"certificate your browser trusts", "its own certificate authority", "domain name", "Let's Encrypt", trust} {
		if !strings.Contains(text, want) {
			t.Errorf("the page says %q, without %q", text, want)
		}
	}
	// What the page says is what happened: the browser refused the worker.
	if reg := get(t, tab, chromedp.Evaluate[bool](`navigator.serviceWorker.getRegistration().then(r => r !== undefined)`, chromedp.EvalAwaitPromise)); reg {
		t.Error("the browser registered the service worker of a site whose certificate it does not trust")
	}
}

// On iOS Safari, notifications come only to a room added to the Home
// Screen: a tab has neither Notification nor PushManager. The page says
// so and how to add it. Chromium plays Safari on an iPhone: it names
// itself and its platform as Safari does there, navigator.standalone is
// false, and those two are gone.
func TestBrowserPushOnIOSExplainsTheHomeScreen(t *testing.T) {
	b := newBrowser(t)
	tr, _, _ := newPushRoom(t, nil)
	tab := b.page(t, "about:blank")
	call(t, tab, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
		UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
		Platform:  "iPhone",
	})
	call(t, tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
		Object.defineProperty(Navigator.prototype, "standalone", { get: () => false, configurable: true });
		delete window.PushManager;
		delete window.Notification;`})
	run(t, tab, chromedp.EmulateViewport(390, 760, chromedp.EmulateScale(2), chromedp.EmulateMobile), chromedp.Navigate(tr.srv.URL))
	if got := get(t, tab, chromedp.Evaluate[string](`[navigator.platform, navigator.standalone, "PushManager" in window, "Notification" in window].join()`)); got != "iPhone,false,false,false" {
		t.Fatalf("the page is not the one Safari shows on an iPhone: %s", got)
	}
	joinAs(t, tab, "erin")
	run(t, tab,
		chromedp.WaitVisible(chromedp.ID("push-button")),
		chromedp.Click(chromedp.ID("push-button")),
		chromedp.WaitVisible(chromedp.ID("push-problem")),
		chromedp.WaitVisible(chromedp.ID("push-install-hint")),
		until(`document.getElementById("push-modes").disabled`))
	problem := get(t, tab, chromedp.Text(chromedp.ID("push-problem")))
	hint := get(t, tab, chromedp.Text(chromedp.ID("push-install-hint")))
	if !strings.Contains(problem, "Home Screen") || !strings.Contains(hint, "tap Share, then Add to Home Screen") {
		t.Errorf("the page says %q and %q", problem, hint)
	}
}

// A browser without a working push service: the Alerts dialog says at
// once that it is turning notifications on, then why it could not, and
// the choice stays as it was. Debian's Chromium, as the tests start it,
// refuses the subscription at once ("Registration failed"); started
// otherwise it was seen never to answer, which the second case plays by
// replacing pushManager.subscribe with a promise that never settles (a
// stand-in: no build here hangs on purpose).
func TestBrowserPushSaysWhenTheBrowserCannotSubscribe(t *testing.T) {
	for _, c := range []struct{ name, script, want string }{
		{"refused", "", "this browser's push service refused it"},
		{"no answer", `PushManager.prototype.subscribe = () => new Promise(() => {});`, "this browser's push service did not answer"},
	} {
		t.Run(c.name, func(t *testing.T) { pushCannotSubscribe(t, c.script, c.want) })
	}
}

func pushCannotSubscribe(t *testing.T, script, want string) {
	b := newBrowser(t)
	tr, _, _ := newPushRoom(t, nil)
	tab := b.page(t, "about:blank")
	if script != "" {
		call(t, tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: script})
	}
	run(t, tab, chromedp.Navigate(tr.srv.URL))
	if _, err := chromedp.CallBrowser(tab, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
		Permission: &cdpbrowser.PermissionDescriptor{Name: "notifications"}, Setting: cdpbrowser.PermissionSettingGranted,
		Origin: tr.srv.URL, BrowserContextID: chromedp.FromContext(tab).BrowserContextID,
	}); err != nil {
		t.Fatalf("grant notifications: %v", err)
	}
	joinAs(t, tab, "dave")
	status := `document.getElementById("push-status").textContent`
	run(t, tab,
		chromedp.WaitVisible(chromedp.ID("push-button")),
		chromedp.Click(chromedp.ID("push-button")),
		chromedp.WaitVisible(chromedp.ID("push-dialog")),
		until(`document.getElementById("push-modes").disabled === false`),
		// Everything the status line says, in order: the browser may
		// refuse at once, so "Turning…" is seen only on its way.
		chromedp.Evaluate[chromedp.Void](`window.statuses = [];
			new MutationObserver(() => window.statuses.push(`+status+`)).observe(document.getElementById("push-status"), { childList: true, characterData: true, subtree: true });`),
		chromedp.Click(chromedp.CSS(`input[name=push-mode][value=all]`)),
	)
	// The page gives the browser 15 s.
	ctx, cancel := context.WithTimeout(tab, 40*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](status+`.startsWith("Could not change notifications: `+want+`")`, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("the dialog still says %q: %v", get(t, tab, chromedp.Evaluate[string](status)), err)
	}
	said := get(t, tab, chromedp.Evaluate[[]string](`window.statuses.filter(s => s !== "")`))
	t.Logf("the dialog said, in order: %q", said)
	if len(said) < 2 || said[0] != "Turning notifications on…" {
		t.Errorf("the dialog did not say it was turning notifications on before the outcome: %q", said)
	}
	if mode := get(t, tab, chromedp.Evaluate[string](`document.querySelector("input[name=push-mode]:checked").value`)); mode != "none" {
		t.Errorf("after the failure the dialog shows %q chosen, want none", mode)
	}
}
