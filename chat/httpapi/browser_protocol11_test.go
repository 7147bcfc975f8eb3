package httpapi

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// needRoomFields skips a test until the room's GET /api/room states the
// fields of the protocol pieces it exercises (issue 11's nickname holding,
// typing and countdown cancel; edits, deletes and reactions), which are
// built beside the page.
func needRoomFields(t *testing.T, tr *testRoom, fields ...string) {
	t.Helper()
	_, raw := tr.do(t, "GET", "/api/room", nil, nil)
	var info map[string]json.RawMessage
	if err := json.Unmarshal(raw, &info); err != nil {
		t.Fatal(err)
	}
	for _, f := range fields {
		if _, ok := info[f]; !ok {
			t.Skipf("this server's /api/room has no %q yet", f)
		}
	}
}

// Two browsers cannot both be alice, nor "Аlice" with a Cyrillic А: the
// second is told beside the nickname field, with a suggestion.
func TestBrowserTwoBrowsersCannotBothBeAlice(t *testing.T) {
	requireE2E(t)
	tr := newTestRoom(t, nil)
	needRoomFields(t, tr, "nick_hold")
	b := newBrowser(t)
	alice := b.page(t, tr.srv.URL)
	joinAs(t, alice, "alice")
	for _, name := range []string{"alice", "ALICE", "\u0410lice"} {
		other := b.page(t, tr.srv.URL)
		run(t, other, chromedp.WaitVisible(chromedp.ID("nick")),
			chromedp.SendKeys(chromedp.ID("nick"), name),
			chromedp.Click(chromedp.CSS("#nick-form button[type=submit]")),
			until(`document.getElementById("pick-nick").checkVisibility() && document.getElementById("nick-error").textContent.includes("is taken")`),
			until(`!document.getElementById("nick-suggest").hidden`))
	}
	if got := get(t, alice, chromedp.Evaluate[string](`document.getElementById("members").textContent`)); got != "alice" {
		t.Errorf("alice's member list reads %q, want only her", got)
	}
}

// During a countdown anyone in the room may cancel it, and everyone sees
// who did.
func TestBrowserAnyoneCancelsTheCountdown(t *testing.T) {
	requireE2E(t)
	tr := newTestRoom(t, func(o *testOptions) { o.DestroyCountdown = 10 * time.Minute })
	needRoomFields(t, tr, "nick_hold")
	b := newBrowser(t)
	alice := b.page(t, tr.srv.URL)
	joinAs(t, alice, "alice")
	bob := b.page(t, tr.srv.URL)
	joinAs(t, bob, "bob")
	destroyFromTheBox(t, alice)
	run(t, bob, chromedp.WaitVisible(chromedp.ID("cancel-destroy")), chromedp.Click(chromedp.ID("cancel-destroy")))
	run(t, alice,
		until(`[...document.querySelectorAll("#messages .msg.system")].some(e => e.textContent === "bob cancelled the countdown: the room stays.")`),
		until(`!document.getElementById("countdown").checkVisibility()`))
	if !tr.State().Exists {
		t.Fatal("the room is gone")
	}
}

// Typing shows to the others for a while, never to the one typing.
func TestBrowserShowsWhoIsTyping(t *testing.T) {
	requireE2E(t)
	tr := newTestRoom(t, nil)
	needRoomFields(t, tr, "nick_hold")
	alice, bob := peopleIn(t, tr)
	run(t, alice, chromedp.SendKeys(chromedp.ID("text"), "hel"))
	run(t, bob, until(`document.getElementById("typing").textContent === "alice is typing…"`))
	if s := get(t, alice, chromedp.Evaluate[string](`document.getElementById("typing").textContent`)); s != "" {
		t.Errorf("alice sees %q about herself", s)
	}
	run(t, bob, chromedp.Poll[chromedp.Void](`document.getElementById("typing").textContent === ""`, chromedp.WithPollingTimeout(10*time.Second)))
}

// peopleIn opens alice and bob in tr, each in a browser of their own.
func peopleIn(t *testing.T, tr *testRoom) (alice, bob context.Context) {
	t.Helper()
	b := newBrowser(t)
	alice = b.page(t, tr.srv.URL)
	joinAs(t, alice, "alice")
	bob = b.page(t, tr.srv.URL)
	joinAs(t, bob, "bob")
	return alice, bob
}

// Reactions, edits, replies and deletes, as people use them.
func TestBrowserReactsRepliesEditsAndDeletes(t *testing.T) {
	requireE2E(t)
	tr := newTestRoom(t, nil)
	needRoomFields(t, tr, "edit_window", "reactions")
	alice, bob := peopleIn(t, tr)
	say(t, alice, "lunch at noon?")
	waitForText(t, bob, "lunch at noon?")

	// Bob reacts with the first emoji of the set.
	// The pointer rests on the message (again and again: an event may
	// draw the message afresh, without its tools, meanwhile) and clicks
	// once the tool is there.
	run(t, bob, until(`(() => { const li = [...document.querySelectorAll("#messages .msg")].pop();
		li.dispatchEvent(new PointerEvent("pointerover", { bubbles: true }));
		const b = li.querySelector(".tools .tool[title^='React']"); if (!b) return false; b.click(); return true; })()`))
	run(t, alice, until(`(() => { const r = document.querySelector("#messages .msg .reaction .count"); return r && r.textContent === "1"; })()`))

	// Bob replies; the reply quotes alice and jumps to her message.
	run(t, bob, until(`(() => { const li = [...document.querySelectorAll("#messages .msg")].pop();
		li.dispatchEvent(new PointerEvent("pointerover", { bubbles: true }));
		const b = li.querySelector(".tools .tool[title='Reply']"); if (!b) return false; b.click(); return true; })()`),
		chromedp.WaitVisible(chromedp.ID("reply-bar")))
	say(t, bob, "yes!")
	run(t, alice, until(`(() => { const q = document.querySelector("#messages .msg .quote"); return q && q.textContent.includes("lunch at noon?"); })()`))

	// Alice edits her message with ↑ in the empty box, then deletes it.
	run(t, alice, chromedp.Focus(chromedp.ID("text")), pressKey("ArrowUp", "ArrowUp", 38, ""),
		until(`document.getElementById("text").value === "lunch at noon?"`),
		setText("lunch at one?"), pressEnter)
	run(t, bob, until(`[...document.querySelectorAll("#messages .msg")].some(e => e.querySelector(".text").textContent === "lunch at one?" && e.querySelector(".edited"))`))
	// Bob's reply quotes the message as it is now, on both pages.
	quote := `(document.querySelector("#messages .msg .quote") || {}).textContent`
	for _, p := range []context.Context{alice, bob} {
		run(t, p, until(quote+` === "alice lunch at one?"`))
	}
	run(t, alice, chromedp.Evaluate[chromedp.Void](`(() => { const li = document.querySelector("#messages .msg.mine");
		li.dispatchEvent(new PointerEvent("pointerover", { bubbles: true })); li.querySelector(".tool[title='Delete']").click(); })()`))
	run(t, bob, until(`document.querySelector("#messages .msg.deleted") !== null`))
	for _, p := range []context.Context{alice, bob} {
		run(t, p, until(quote+` === "alice a deleted message"`))
	}
}
