package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/gorilla/websocket"

	"github.com/chatbox-dev/chatbox/internal/testpics"
)

// gate stands between the browsers and a test room, to make the network
// slow or broken on purpose: a delay on posts, posts that lose their
// connection, a WebSocket that is refused, thumbnails held back.
type gate struct {
	mu        sync.Mutex
	holdPosts chan struct{}
	failPosts int
	// losePosts posts reach the room, which stores them, and then lose
	// their connection before the answer.
	losePosts  int
	wsDown     bool
	holdThumbs chan struct{}
	posts      int
	// roomExtra is added to GET /api/room's answer (fields a newer server
	// states); takenNick is answered on /ws as a nickname held by another
	// browser; tokens records the token each /ws request carried.
	roomExtra map[string]any
	takenNick string
	tokens    []string
}

func (g *gate) set(change func(g *gate)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	change(g)
}

// gated serves tr through a gate and returns the gate and its URL.
func gated(t *testing.T, tr *testRoom) (*gate, string) {
	t.Helper()
	g := &gate{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		g.mu.Lock()
		held, wsDown, hold, extra, taken := g.holdPosts, g.wsDown, g.holdThumbs, g.roomExtra, g.takenNick
		if req.URL.Path == "/ws" {
			g.tokens = append(g.tokens, req.URL.Query().Get("token"))
		}
		fail, lose := false, false
		post := req.Method == "POST" && req.URL.Path == "/api/messages"
		if post {
			g.posts++
			if g.failPosts > 0 {
				g.failPosts--
				fail = true
			} else if g.losePosts > 0 {
				g.losePosts--
				lose = true
			}
		}
		g.mu.Unlock()
		switch {
		case req.URL.Path == "/ws" && taken != "" && req.URL.Query().Get("nick") == taken:
			// As the protocol says a server answers a held nickname.
			up := websocket.Upgrader{}
			conn, err := up.Upgrade(w, req, nil)
			if err != nil {
				return
			}
			conn.WriteJSON(map[string]string{"type": "error", "code": "nick_taken", "error": taken + " is taken — try " + taken + "2", "suggest": taken + "2"})
			conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4409, "nickname taken"))
			conn.Close()
			return
		case req.Method == "GET" && req.URL.Path == "/api/room" && extra != nil:
			rec := httptest.NewRecorder()
			tr.web.ServeHTTP(rec, req)
			var info map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &info); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			for k, v := range extra {
				info[k] = v
			}
			writeJSON(w, rec.Code, info)
			return
		case req.URL.Path == "/ws" && wsDown:
			http.Error(w, "down for the test", http.StatusServiceUnavailable)
			return
		case lose:
			// The room stores the message; its answer is lost on the way.
			tr.web.ServeHTTP(httptest.NewRecorder(), req)
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		case fail:
			// The connection breaks before any answer.
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		case post && held != nil:
			// The server is slow to answer (the case people hit on a bad
			// link): the request waits, as long as the test says, before
			// the room sees it.
			select {
			case <-held:
			case <-req.Context().Done():
				return
			}
		case hold != nil && strings.HasSuffix(req.URL.Path, "/thumb"):
			select {
			case <-hold:
			case <-req.Context().Done():
				return
			}
		}
		tr.web.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	return g, srv.URL
}

// pressKey presses a key on the focused element the way a keyboard does
// (Puppeteer's way): one keyDown that carries the key's text, so a page
// that prevents the keydown's default also prevents the text; then keyUp.
func pressKey(key, code string, keyCode int64, text string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		down := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: key, Code: code, WindowsVirtualKeyCode: keyCode, NativeVirtualKeyCode: keyCode, Text: text, UnmodifiedText: text}
		if text == "" {
			down.Type = input.DispatchKeyEventTypeRawKeyDown
		}
		if _, err := cdp.Call(ctx, tg, input.DispatchKeyEvent, down); err != nil {
			return err
		}
		up := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyUp, Key: key, Code: code, WindowsVirtualKeyCode: keyCode, NativeVirtualKeyCode: keyCode}
		_, err := cdp.Call(ctx, tg, input.DispatchKeyEvent, up)
		return err
	})
}

var (
	pressEnter  = pressKey("Enter", "Enter", 13, "\r")
	pressTab    = pressKey("Tab", "Tab", 9, "")
	pressEscape = pressKey("Escape", "Escape", 27, "")
	pressRight  = pressKey("ArrowRight", "ArrowRight", 39, "")
)

// typeLine types text into an element and presses Enter.
func typeLine(sel, text string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := chromedp.SendKeys(chromedp.ID(sel), text)(ctx, tg); err != nil {
			return err
		}
		_, err := pressEnter(ctx, tg)
		return err
	})
}

// jsScroller is the element that scrolls the conversation.
const jsScroller = `(document.getElementById("scroller") || document.getElementById("messages"))`

// jsBelow is how many pixels the newest message's bottom is below the
// bottom of the visible conversation (0 or less: it is in view).
const jsBelow = `(() => { const s = ` + jsScroller + `;
	const all = document.querySelectorAll("#messages li.msg, #outbox li.msg");
	const last = all[all.length - 1];
	return Math.round(last.getBoundingClientRect().bottom - s.getBoundingClientRect().bottom); })()`

// framesDrawn waits for two animation frames, so layout and observers ran.
var framesDrawn = chromedp.Evaluate[chromedp.Void](`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r())))`, chromedp.EvalAwaitPromise)

// Point 1: while you are at the bottom you stay there, whatever arrives and
// whenever pictures finish loading; while you read history nothing moves
// you, and a "new messages" control appears.
func TestBrowserFollowsTheConversation(t *testing.T) {
	b := newBrowser(t)
	tr := newTestRoom(t, nil)
	g, url := gated(t, tr)
	for i := range 40 {
		tr.post(t, "carol", fmt.Sprintf("earlier message %d", i))
	}
	bob := b.page(t, url)
	joinAs(t, bob, "bob")
	waitForText(t, bob, "earlier message 39")
	run(t, bob, framesDrawn)
	if below := get(t, bob, chromedp.Evaluate[int](jsBelow)); below > 1 {
		t.Fatalf("after loading, the newest message is %d px below the view", below)
	}

	// A tall picture arrives, then a message; the thumbnail loads last.
	hold := make(chan struct{})
	g.set(func(g *gate) { g.holdThumbs = hold })
	tr.shared(t, "carol", "tall.png", testpics.PNG(300, 2000))
	tr.post(t, "carol", "after the picture")
	waitForText(t, bob, "after the picture")
	close(hold)
	run(t, bob, until(`(() => { const i = document.querySelector("#messages .msg.file img"); return i && i.complete && i.naturalHeight > 0; })()`), framesDrawn)
	below := get(t, bob, chromedp.Evaluate[int](jsBelow))
	t.Logf("after the picture loaded, the newest message is %d px below the view", below)
	if below > 1 {
		t.Errorf("after a tall picture loaded, the newest message is %d px below the view", below)
	}

	// Bob's own five-line message.
	run(t, bob, chromedp.SetValue(chromedp.ID("text"), "one\ntwo\nthree\nfour\nfive"),
		chromedp.Click(chromedp.CSS("#compose button[type=submit]")))
	waitForText(t, bob, "one\ntwo\nthree\nfour\nfive")
	run(t, bob, framesDrawn)
	if below := get(t, bob, chromedp.Evaluate[int](jsBelow)); below > 1 {
		t.Errorf("after bob's five-line message, it is %d px below the view", below)
	}

	// A phone keyboard shrinks the view from 844 to 450 px.
	run(t, bob, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch), framesDrawn)
	run(t, bob, chromedp.EmulateViewport(390, 450, chromedp.EmulateMobile, chromedp.EmulateTouch), framesDrawn)
	below = get(t, bob, chromedp.Evaluate[int](jsBelow))
	t.Logf("after the keyboard opened, the newest message is %d px below the view", below)
	if below > 1 {
		t.Errorf("after the view shrank, the newest message is %d px below it", below)
	}
	run(t, bob, chromedp.EmulateViewport(1280, 800), framesDrawn)

	// Reading history: new messages do not move the view, and a control
	// counts them.
	run(t, bob, chromedp.Evaluate[chromedp.Void](jsScroller+`.scrollTop = 200`), framesDrawn)
	top := get(t, bob, chromedp.Evaluate[int](`Math.round(`+jsScroller+`.scrollTop)`))
	for i := range 3 {
		tr.post(t, "carol", fmt.Sprintf("while bob reads %d", i))
	}
	waitForText(t, bob, "while bob reads 2")
	run(t, bob, framesDrawn)
	if now := get(t, bob, chromedp.Evaluate[int](`Math.round(`+jsScroller+`.scrollTop)`)); now != top {
		t.Errorf("new messages moved the view from %d to %d while bob read history", top, now)
	}
	run(t, bob, until(`(() => { const j = document.getElementById("jump"); return j && !j.hidden && j.textContent === "3 new messages ↓"; })()`),
		chromedp.Click(chromedp.ID("jump")), framesDrawn)
	if below := get(t, bob, chromedp.Evaluate[int](jsBelow)); below > 1 {
		t.Errorf("after the jump, the newest message is %d px below the view", below)
	}
	if hidden := get(t, bob, chromedp.Evaluate[bool](`document.getElementById("jump").hidden`)); !hidden {
		t.Error("the new-messages control stays after jumping to them")
	}
}

// Point 2: the message leaves the box at once and shows as "sending";
// what is typed meanwhile survives; a double Enter stores one message; a
// failed send says so and is sent again, once, with its client id.
func TestBrowserSendsOnceAndKeepsWhatIsTyped(t *testing.T) {
	b := newBrowser(t)
	tr := newTestRoom(t, nil)
	g, url := gated(t, tr)
	alice := b.page(t, url)
	joinAs(t, alice, "alice")

	// The server holds the send (longer than the 1.5 s people hit), and
	// alice goes on typing meanwhile.
	held := make(chan struct{})
	g.set(func(g *gate) { g.holdPosts = held })
	run(t, alice, typeLine("text", "first words"))
	run(t, alice,
		until(`[...document.querySelectorAll("#outbox .msg.pending")].some(e => e.textContent.includes("Sending…") && e.textContent.includes("first words"))`),
		chromedp.SendKeys(chromedp.ID("text"), "typed while it was sent"),
	)
	if n := len(tr.history(t, nil)); n != 0 {
		t.Fatalf("the held send is already stored (%d messages)", n)
	}
	close(held)
	waitForText(t, alice, "first words")
	run(t, alice, until(`document.querySelectorAll("#outbox .msg").length === 0`))
	if v := get(t, alice, chromedp.Evaluate[string](`document.getElementById("text").value`)); v != "typed while it was sent" {
		t.Errorf("after the answer the box holds %q, want what was typed meanwhile", v)
	}
	run(t, alice, chromedp.Evaluate[chromedp.Void](`document.getElementById("text").value = ""`))

	// Enter twice on a slow link.
	held = make(chan struct{})
	g.set(func(g *gate) { g.holdPosts = held })
	run(t, alice, typeLine("text", "only once"), pressEnter,
		until(`document.querySelectorAll("#outbox .msg").length > 0`))
	close(held)
	waitForText(t, alice, "only once")
	run(t, alice, until(`document.querySelectorAll("#outbox .msg").length === 0`))
	count := 0
	for _, m := range tr.history(t, nil) {
		if m.Text == "only once" {
			count++
		}
		if m.ClientID == "" {
			t.Errorf("message %d (%q) was sent without a client id", m.ID, m.Text)
		}
	}
	t.Logf("a double Enter stored %d message(s)", count)
	if count != 1 {
		t.Errorf("a double Enter stored %d messages, want 1", count)
	}

	// The link breaks during a send: the message says so and offers Retry.
	// (Every post fails while it is broken: a browser tries a POST again
	// by itself when a kept-alive connection closes under it.)
	g.set(func(g *gate) { g.holdPosts = nil; g.failPosts = 1 << 20 })
	run(t, alice, typeLine("text", "through a broken link"))
	run(t, alice, until(`(() => { const e = document.querySelector("#outbox .msg.failed");
		return e && e.textContent.includes("Not sent") && e.textContent.includes("could not be reached") && !e.textContent.includes("Failed to fetch"); })()`))
	clientID := get(t, alice, chromedp.Evaluate[string](`document.querySelector("#outbox .msg.failed").dataset.clientId`))
	g.set(func(g *gate) { g.failPosts = 0 })
	run(t, alice, chromedp.Click(chromedp.CSS("#outbox .msg.failed button.retry")))
	waitForText(t, alice, "through a broken link")
	run(t, alice, until(`document.querySelectorAll("#outbox .msg").length === 0`))
	var found []string
	for _, m := range tr.history(t, nil) {
		if m.Text == "through a broken link" {
			found = append(found, m.ClientID)
		}
	}
	if len(found) != 1 || found[0] != clientID {
		t.Errorf("after Retry the room holds %q with client ids %q, want one with %q", "through a broken link", found, clientID)
	}
}

// Point 5: a lost connection is said in a banner, the member list is
// greyed, "back" is said when it returns; a refused message's reason stays
// beside the box until the person acts on it.
func TestBrowserSaysWhatFailedAndWhenTheRoomIsBack(t *testing.T) {
	b := newBrowser(t)
	tr := newTestRoom(t, func(o *testOptions) { o.MaxMessageLength = 50 })
	g, url := gated(t, tr)
	alice := b.page(t, url)
	joinAs(t, alice, "alice")
	bob := b.page(t, url)
	joinAs(t, bob, "bob")
	run(t, alice, until(`document.getElementById("members").textContent.includes("bob")`))
	online := get(t, alice, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("#members li:not(.me)")).color`))

	g.set(func(g *gate) { g.wsDown = true })
	tr.CloseClients()
	run(t, alice, until(`(() => { const b = document.getElementById("banner"); return b && !b.hidden && b.textContent === "Connection lost — reconnecting…"; })()`))
	offline := get(t, alice, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("#members li:not(.me)")).color`))
	if offline == online {
		t.Errorf("while disconnected the member list keeps its colour %s", offline)
	}
	g.set(func(g *gate) { g.wsDown = false })
	run(t, alice,
		until(`document.getElementById("banner").textContent === "Back: connected again."`),
		until(`!document.getElementById("room").classList.contains("offline")`))

	// Too long: the room's own sentence, beside the box, and the words back.
	long := strings.Repeat("x", 60)
	run(t, alice, chromedp.SetValue(chromedp.ID("text"), long), chromedp.Click(chromedp.CSS("#compose button[type=submit]")))
	run(t, alice, until(`document.getElementById("hint").classList.contains("error") && document.getElementById("hint").textContent.includes("50")`),
		until(`document.getElementById("text").value === `+jsString(long)))
	// Something else happening does not wipe it.
	tr.post(t, "carol", "meanwhile")
	waitForText(t, alice, "meanwhile")
	if h := get(t, alice, chromedp.Evaluate[string](`document.getElementById("hint").textContent`)); !strings.Contains(h, "50") {
		t.Errorf("the reason went away on its own: hint is %q", h)
	}
	// Changing the words resolves it.
	run(t, alice, chromedp.SendKeys(chromedp.ID("text"), kb.Backspace),
		until(`document.getElementById("hint").textContent === ""`))
}

// Point 7: scrolling up loads older pages until the start of the room,
// and what is on screen does not jump.
func TestBrowserScrollsBackThroughHistory(t *testing.T) {
	b := newBrowser(t)
	tr := newTestRoom(t, nil)
	const total = 260
	for i := range total {
		tr.post(t, "carol", fmt.Sprintf("history %03d", i))
	}
	bob := b.page(t, tr.srv.URL)
	joinAs(t, bob, "bob")
	waitForText(t, bob, fmt.Sprintf("history %03d", total-1))
	for step := 0; ; step++ {
		if step > 10 {
			t.Fatal("the start of the room was never reached")
		}
		before := get(t, bob, chromedp.Evaluate[[]float64](`(() => { const first = document.querySelector("#messages li.msg[data-id]");
			return [Number(first.dataset.id), first.getBoundingClientRect().top, document.querySelectorAll("#messages li.msg[data-id]").length]; })()`))
		if get(t, bob, chromedp.Evaluate[bool](`(() => { const s = document.getElementById("start-of-room"); return !!s && !s.hidden; })()`)) {
			break
		}
		// Scroll so the first message is just in view, and wait for more.
		run(t, bob, chromedp.Evaluate[chromedp.Void](jsScroller+`.scrollTop = 0`),
			until(fmt.Sprintf(`document.querySelectorAll("#messages li.msg[data-id]").length > %d`, int(before[2]))), framesDrawn)
		after := get(t, bob, chromedp.Evaluate[float64](fmt.Sprintf(`document.getElementById("m%d").getBoundingClientRect().top`, int(before[0]))))
		// The scroll to 0 moved it; measure against where it is after
		// that scroll, which is the top of the list.
		top := get(t, bob, chromedp.Evaluate[float64](jsScroller+`.getBoundingClientRect().top`))
		shown := get(t, bob, chromedp.Evaluate[int](`document.querySelectorAll("#messages li.msg[data-id]").length`))
		t.Logf("page %d: %d messages shown; the old first message sits %.0f px below the list's top", step+1, shown, after-top)
		if after-top < 0 {
			t.Errorf("after loading older messages, the message that was first jumped to %.0f px above the view", after-top)
		}
		if jump := get(t, bob, chromedp.Evaluate[float64](jsScroller+`.scrollTop`)); jump < 100 {
			t.Errorf("after loading older messages the view is at scrollTop %.0f: it jumped to the new top", jump)
		}
	}
	ids := get(t, bob, chromedp.Evaluate[[]int](`[...document.querySelectorAll("#messages li.msg[data-id]")].map(e => Number(e.dataset.id))`))
	if len(ids) != total {
		t.Fatalf("bob sees %d messages, want all %d", len(ids), total)
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("messages out of order at %d: %d after %d", i, ids[i], ids[i-1])
		}
	}
}

// Issue 11's nicknames, as the page meets them (the server's side is
// stood in for by the gate until it exists): a server that holds
// nicknames is sent this browser's token, and a held name is refused
// beside the nickname field with the server's suggestion, one click away.
func TestBrowserNicknameTakenIsToldByTheField(t *testing.T) {
	b := newBrowser(t)
	tr := newTestRoom(t, nil)
	g, url := gated(t, tr)
	g.set(func(g *gate) {
		g.roomExtra = map[string]any{"nick_hold": 600, "nick_max_length": 25, "nick_rule": "A nickname is 1 to 25 letters or digits, with -, _ or . inside."}
		g.takenNick = "alice"
	})
	p := b.page(t, url)
	run(t, p, chromedp.WaitVisible(chromedp.ID("nick")),
		until(`document.getElementById("nick-rule").textContent === "A nickname is 1 to 25 letters or digits, with -, _ or . inside."`),
		chromedp.SendKeys(chromedp.ID("nick"), "bad name"),
		chromedp.Click(chromedp.CSS("#nick-form button[type=submit]")),
		until(`document.getElementById("nick-error").textContent === "A nickname is 1 to 25 letters or digits, with -, _ or . inside."`),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("nick").value = ""`),
		chromedp.SendKeys(chromedp.ID("nick"), "alice"),
		chromedp.Click(chromedp.CSS("#nick-form button[type=submit]")),
		until(`document.getElementById("pick-nick").checkVisibility() && document.getElementById("nick-error").textContent === "alice is taken — try alice2"`),
		until(`document.getElementById("nick-suggest").textContent === "Use alice2"`),
		chromedp.Click(chromedp.ID("nick-suggest")),
		chromedp.Click(chromedp.CSS("#nick-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("room")),
		until(`document.getElementById("members").textContent.includes("alice2")`),
	)
	g.mu.Lock()
	tokens := append([]string(nil), g.tokens...)
	g.mu.Unlock()
	if len(tokens) < 2 || len(tokens[0]) < 22 || tokens[0] != tokens[len(tokens)-1] {
		t.Errorf("the /ws requests carried tokens %q, want one token of 22 or more characters, the same each time", tokens)
	}
}
