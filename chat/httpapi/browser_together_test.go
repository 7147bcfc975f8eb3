package httpapi

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Issue 11's "also expected of a chat page", as people meet it in two
// browsers: coming back to the tab, the sound, the private room's mark,
// "typing…", a rename, a send that waited for the room, and the question
// before destroying the room.

// awayFrom minimizes p's window, as a person switching to another app or
// tab does, and waits until p's page is hidden. The returned func brings
// the window back and waits until the page is visible again.
func awayFrom(t *testing.T, p context.Context) (back func()) {
	t.Helper()
	w := call(t, p, cdpbrowser.GetWindowForTarget, cdpbrowser.GetWindowForTargetParams{})
	state := func(s cdpbrowser.WindowState) {
		call(t, p, cdpbrowser.SetWindowBounds, cdpbrowser.SetWindowBoundsParams{WindowID: w.WindowID, Bounds: &cdpbrowser.Bounds{WindowState: s}})
	}
	state(cdpbrowser.WindowStateMinimized)
	// Animation frames stop in a hidden page: ask on a timer.
	run(t, p, untilEvery(`document.visibilityState === "hidden"`))
	return func() {
		t.Helper()
		state(cdpbrowser.WindowStateNormal)
		run(t, p, untilEvery(`document.visibilityState === "visible"`))
	}
}

// countChimes counts, from the next page load on, every tone the page
// starts: the sound is checked in the page's audio calls, not by ear.
func countChimes(t *testing.T, p context.Context) {
	t.Helper()
	call(t, p, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
		window.chimes = 0;
		const start = OscillatorNode.prototype.start;
		OscillatorNode.prototype.start = function (...a) { window.chimes++; return start.apply(this, a); };`})
}

// Coming back to the tab: the title counted what arrived meanwhile, a
// "New" line marks the first of it, and the sound (off until turned on,
// and kept across a reload) chimed only while it was on.
func TestBrowserUnreadAndSoundWhenYouComeBack(t *testing.T) {
	b := newBrowser(t)
	tr := newTestRoom(t, nil)
	alice := b.page(t, tr.srv.URL)
	joinAs(t, alice, "alice")
	bob := b.page(t, "about:blank")
	countChimes(t, bob)
	run(t, bob, chromedp.Navigate(tr.srv.URL))
	joinAs(t, bob, "bob")
	say(t, alice, "before bob left the tab")
	waitForText(t, bob, "before bob left the tab")

	// The sound is off by default.
	sound := `[document.getElementById("sound-label").textContent, document.getElementById("menu-sound").getAttribute("aria-pressed"), String(localStorage.getItem("chatbox.sound"))]`
	if got := get(t, bob, chromedp.Evaluate[[]string](sound)); fmt.Sprint(got) != "[Sound: off false null]" {
		t.Errorf("before any choice the sound reads %q, want off", got)
	}

	back := awayFrom(t, bob)
	say(t, alice, "first while away")
	say(t, alice, "second while away")
	run(t, bob, untilEvery(`document.title === "(2) chatbox"`))
	back()
	run(t, bob, until(`document.title === "chatbox"`),
		until(`document.querySelectorAll("#messages .first-unread").length === 1`))
	marked := get(t, bob, chromedp.Evaluate[[]string](`(() => { const e = document.querySelector("#messages .first-unread");
		return [e.querySelector(".text").textContent, getComputedStyle(e, "::before").content, getComputedStyle(e, "::before").display]; })()`))
	if fmt.Sprint(marked) != `[first while away "New" block]` {
		t.Errorf("the first unread mark is %q, want a \"New\" line on %q", marked, "first while away")
	}
	if n := get(t, bob, chromedp.Evaluate[int](`window.chimes`)); n != 0 {
		t.Errorf("with the sound off the page chimed %d times", n)
	}

	// Turned on, it says so, plays the tone once to be heard, and stays on
	// after a reload.
	run(t, bob, chromedp.Click(chromedp.ID("menu-button")), chromedp.WaitVisible(chromedp.ID("menu-sound")),
		chromedp.Click(chromedp.ID("menu-sound")))
	if got := get(t, bob, chromedp.Evaluate[[]string](sound)); fmt.Sprint(got) != "[Sound: on true on]" {
		t.Errorf("after turning it on the sound reads %q", got)
	}
	if n := get(t, bob, chromedp.Evaluate[int](`window.chimes`)); n != 1 {
		t.Errorf("turning the sound on played %d tones, want 1 to hear it", n)
	}
	run(t, bob, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("room")), until(`document.getElementById("status").textContent === ""`))
	if got := get(t, bob, chromedp.Evaluate[[]string](sound)); fmt.Sprint(got) != "[Sound: on true on]" {
		t.Errorf("after a reload the sound reads %q, want it still on", got)
	}

	// Away again: one message, one chime, and the mark moves to it.
	back = awayFrom(t, bob)
	say(t, alice, "third while away")
	run(t, bob, untilEvery(`document.title === "(1) chatbox" && window.chimes === 1`))
	back()
	run(t, bob, until(`(() => { const m = document.querySelectorAll("#messages .first-unread");
		return m.length === 1 && m[0].querySelector(".text").textContent === "third while away"; })()`))

	// Turned off, it stays quiet.
	run(t, bob, chromedp.Click(chromedp.ID("menu-button")), chromedp.WaitVisible(chromedp.ID("menu-sound")),
		chromedp.Click(chromedp.ID("menu-sound")))
	back = awayFrom(t, bob)
	say(t, alice, "fourth while away")
	run(t, bob, untilEvery(`document.title === "(1) chatbox"`))
	back()
	if n := get(t, bob, chromedp.Evaluate[int](`window.chimes`)); n != 1 {
		t.Errorf("with the sound turned off again the page chimed %d times in all, want the 1 from before", n)
	}
}

// A private room says so in the header, on a desktop and on a phone; a
// public room does not.
func TestBrowserPrivateRoomIsMarked(t *testing.T) {
	b := newBrowser(t)
	tr, password := newPrivateRoom(t, nil)
	p := b.page(t, tr.srv.URL)
	run(t, p, chromedp.WaitVisible(chromedp.ID("password")), chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")))
	joinAs(t, p, "carol")
	mark := `(() => { const e = document.getElementById("private-mark"); const r = e.getBoundingClientRect();
		const bar = document.querySelector(".bar").getBoundingClientRect();
		return { shown: e.checkVisibility() && r.width >= 16 && r.height >= 16 && r.top >= bar.top && r.bottom <= bar.bottom,
			text: e.innerText.trim(), name: (e.getAttribute("aria-label") || e.textContent).trim(), title: e.title }; })()`
	type markState struct {
		Shown bool   `json:"shown"`
		Text  string `json:"text"`
		Name  string `json:"name"`
		Title string `json:"title"`
	}
	for _, sc := range []screen{screens[0], screens[3]} {
		look(t, p, sc)
		run(t, p, framesDrawn)
		m := get(t, p, chromedp.Evaluate[markState](mark))
		t.Logf("%s: the mark shows %v, reads %q (name %q, title %q)", sc.name, m.Shown, m.Text, m.Name, m.Title)
		if !m.Shown || !strings.Contains(m.Text, "Private") || m.Name != "Private room" {
			t.Errorf("%s: the private room's mark is %+v, want it in the header saying it", sc.name, m)
		}
	}

	public := newTestRoom(t, nil)
	q := b.page(t, public.srv.URL)
	joinAs(t, q, "dave")
	if get(t, q, chromedp.Evaluate[bool](`document.getElementById("private-mark").checkVisibility()`)) {
		t.Error("a public room is marked private")
	}
}

// "typing…" shows to the other browser, goes the moment the message
// arrives (not seconds later), comes back when the next one is begun, and
// fades a few seconds after the person stops.
func TestBrowserTypingEndsWithTheMessage(t *testing.T) {
	tr := newTestRoom(t, nil)
	needRoomFields(t, tr, "nick_hold")
	alice, bob := peopleIn(t, tr)
	run(t, alice, chromedp.Focus(chromedp.ID("text")), chromedp.SendKeys(chromedp.ID("text"), "hel"))
	run(t, bob, until(`document.getElementById("typing").textContent === "alice is typing…"`))
	run(t, alice, chromedp.SendKeys(chromedp.ID("text"), "lo"), pressEnter)
	// What the typing line said when the message came in.
	run(t, bob, until(`(() => { if (![...document.querySelectorAll("#messages .msg .text")].some(e => e.textContent === "hello")) return false;
		if (window.typingAtMessage === undefined) window.typingAtMessage = document.getElementById("typing").textContent; return true; })()`))
	if s := get(t, bob, chromedp.Evaluate[string](`window.typingAtMessage`)); s != "" {
		t.Errorf("when alice's message arrived bob still read %q", s)
	}

	// She begins the next one (typing is passed on once every 3 s: she
	// types on until it shows), then stops.
	shown := `document.getElementById("typing").textContent === "alice is typing…"`
	for keys := 1; ; keys++ {
		run(t, alice, chromedp.SendKeys(chromedp.ID("text"), "a"))
		// A key, then up to 400 ms for bob's line, as a person types on.
		ctx, cancel := context.WithTimeout(bob, 5*time.Second)
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](shown, chromedp.WithPollingTimeout(400*time.Millisecond)))
		cancel()
		if err == nil {
			t.Logf("alice's next message showed as typing after %d keys", keys)
			break
		}
		if keys == 40 {
			t.Fatalf("alice typed %d keys of her next message and bob never saw her typing", keys)
		}
	}
	stopped := time.Now()
	run(t, bob, chromedp.Poll[chromedp.Void](`document.getElementById("typing").textContent === ""`, chromedp.WithPollingTimeout(12*time.Second)))
	t.Logf("after alice stopped typing, bob's line went within %s", time.Since(stopped).Round(100*time.Millisecond))
}

// A rename is said once, as "alice is now alicia", in the other browser
// and her own, and never as a leave and a join.
func TestBrowserRenameIsSaidOnce(t *testing.T) {
	tr := newTestRoom(t, nil)
	alice, bob := peopleIn(t, tr)
	run(t, alice, until(`document.getElementById("members").textContent === "alicebob"`))
	say(t, alice, "/nick alicia")
	say(t, alice, "still me")
	for _, p := range []context.Context{bob, alice} {
		waitForText(t, p, "still me")
		run(t, p, until(`document.getElementById("members").textContent === "aliciabob"`))
		lines := get(t, p, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#messages .msg.system")].map(e => e.textContent).filter(s => /alic/.test(s))`))
		if fmt.Sprint(lines) != "[alice is now alicia]" {
			t.Errorf("the room says %q about the rename, want it once as \"alice is now alicia\"", lines)
		}
		from := get(t, p, chromedp.Evaluate[string](`(() => { const li = [...document.querySelectorAll("#messages li.msg[data-id]")].pop();
			let e = li; while (e && e.classList.contains("grouped")) e = e.previousElementSibling; return e ? e.querySelector(".nick").textContent : ""; })()`))
		if from != "alicia" {
			t.Errorf("her next message shows as from %q, want alicia", from)
		}
	}
}

// Sends made while the room could not be reached go by themselves once it
// is back, each stored once: one the room never saw, and one it stored
// but whose answer was lost (its client id makes the second send the
// first message).
func TestBrowserResendsAfterReconnectOnce(t *testing.T) {
	b := newBrowser(t)
	tr := newTestRoom(t, nil)
	g, url := gated(t, tr)
	alice := b.page(t, url)
	joinAs(t, alice, "alice")
	say(t, alice, "before the outage")
	waitForText(t, alice, "before the outage")

	g.set(func(g *gate) { g.wsDown = true; g.failPosts = 1 << 20 })
	tr.CloseClients()
	run(t, alice, until(`document.getElementById("banner").textContent === "Connection lost — reconnecting…"`))
	run(t, alice, typeLine("text", "never reached the room"),
		until(`document.querySelectorAll("#outbox .msg.failed").length === 1`))
	g.set(func(g *gate) { g.failPosts = 0; g.losePosts = 1 << 20 })
	run(t, alice, typeLine("text", "stored but not answered"),
		until(`document.querySelectorAll("#outbox .msg.failed").length === 2`))
	ids := get(t, alice, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#outbox .msg.failed")].map(e => e.dataset.clientId)`))

	g.set(func(g *gate) { g.losePosts = 0; g.wsDown = false })
	run(t, alice, until(`document.getElementById("banner").textContent === "Back: connected again."`),
		until(`document.querySelectorAll("#outbox .msg").length === 0`),
		until(`(() => { const t = [...document.querySelectorAll("#messages .msg .text")].map(e => e.textContent);
			return t.filter(s => s === "never reached the room").length === 1 && t.filter(s => s === "stored but not answered").length === 1; })()`))
	stored := map[string][]string{}
	for _, m := range tr.history(t, nil) {
		stored[m.Text] = append(stored[m.Text], m.ClientID)
	}
	for i, text := range []string{"never reached the room", "stored but not answered"} {
		if got := stored[text]; len(got) != 1 || got[0] != ids[i] {
			t.Errorf("the room holds %q with client ids %q, want once with %q", text, got, ids[i])
		}
	}
}

// Destroying the room is asked in the page: a modal dialog that takes
// focus, closes on Escape or "Keep the room" with focus back where it was,
// destroys on "Destroy the room", and closes by itself when someone else
// starts the countdown first.
func TestBrowserDestroyAsksInThePage(t *testing.T) {
	tr := newTestRoom(t, func(o *testOptions) { o.DestroyCountdown = 10 * time.Minute })
	alice, bob := peopleIn(t, tr)
	dialogs := nativeDialogs(t, alice)
	asked := `(() => { const d = document.getElementById("destroy-ask"); const label = document.getElementById(d.getAttribute("aria-labelledby"));
		return d.open && d.matches(":modal") && d.contains(document.activeElement) && label.textContent === "Destroy the room?" &&
			d.checkVisibility() && d.getBoundingClientRect().width > 200; })()`
	fromMenu := func(p context.Context) {
		run(t, p, chromedp.Click(chromedp.ID("menu-button")), chromedp.WaitVisible(chromedp.ID("menu-destroy")),
			chromedp.Click(chromedp.ID("menu-destroy")), until(asked))
	}
	stays := func(how string) {
		t.Helper()
		if st := tr.State(); !st.Exists || !st.DestroyAt.IsZero() {
			t.Errorf("after %s the room is %+v", how, st)
		}
		if get(t, bob, chromedp.Evaluate[bool](`document.getElementById("countdown").checkVisibility()`)) {
			t.Errorf("after %s bob sees a countdown", how)
		}
	}

	// Escape: no, and focus back on the menu button.
	fromMenu(alice)
	run(t, alice, pressEscape, until(`!document.getElementById("destroy-ask").open && document.activeElement.id === "menu-button"`))
	stays("Escape")
	// "Keep the room": no, likewise.
	fromMenu(alice)
	run(t, alice, chromedp.Click(chromedp.ID("destroy-keep")),
		until(`!document.getElementById("destroy-ask").open && document.activeElement.id === "menu-button"`))
	stays("Keep the room")

	// Bob is asked too; alice answers yes first: bob's question goes, he
	// sees her countdown.
	fromMenu(bob)
	say(t, alice, "/destroy")
	run(t, alice, until(asked), chromedp.Click(chromedp.ID("destroy-go")),
		until(`!document.getElementById("destroy-ask").open && document.activeElement.id === "text"`),
		until(`document.getElementById("countdown-text").textContent.startsWith("You dropped the bomb")`))
	run(t, bob, until(`document.getElementById("countdown").checkVisibility() && document.getElementById("countdown-text").textContent.startsWith("alice dropped the bomb")`),
		until(`!document.getElementById("destroy-ask").open`))
	if tr.State().DestroyAt.IsZero() {
		t.Error("the room's countdown did not start")
	}
	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d native dialogs opened", n)
	}
}
