package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/chatbox-dev/chatbox/internal/testpics"
)

// phonePage opens url in a new browser context that is a phone: 390×844,
// touch, mobile viewport.
func phonePage(t *testing.T, b *browser, url string) context.Context {
	t.Helper()
	p := b.page(t, "about:blank")
	look(t, p, screen{"phone", 390, 844, true, false})
	run(t, p, chromedp.Navigate(url))
	return p
}

// Point 8: on a touch device Return makes a new line and Send sends; a
// counter shows near the limit the room states; the box grows to a few
// lines, then scrolls, and the buttons beside it keep their size.
func TestBrowserComposerOnAPhone(t *testing.T) {
	b := newBrowser(t)
	tr := newTestRoom(t, func(o *testOptions) { o.MaxMessageLength = 120 })
	alice := phonePage(t, b, tr.srv.URL)
	joinAs(t, alice, "alice")

	run(t, alice, chromedp.Focus(chromedp.ID("text")), chromedp.SendKeys(chromedp.ID("text"), "line one"), pressEnter,
		chromedp.SendKeys(chromedp.ID("text"), "line two"))
	if v := get(t, alice, chromedp.Evaluate[string](`document.getElementById("text").value`)); v != "line one\nline two" {
		t.Fatalf("on a phone, Return made the box %q, want two lines", v)
	}
	if n := len(tr.history(t, nil)); n != 0 {
		t.Fatalf("on a phone, Return sent %d messages", n)
	}
	run(t, alice, chromedp.Click(chromedp.ID("send")))
	waitForText(t, alice, "line one\nline two")

	// The placeholder fits the box.
	fit := get(t, alice, chromedp.Evaluate[[]float64](`(() => { const b = document.getElementById("text"); const cs = getComputedStyle(b);
		const c = document.createElement("canvas").getContext("2d"); c.font = cs.font;
		return [c.measureText(b.placeholder).width, b.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight)]; })()`))
	t.Logf("placeholder %.0f px in a box of %.0f px", fit[0], fit[1])
	if fit[0] > fit[1] {
		t.Errorf("the placeholder is %.0f px wide in a box of %.0f px: it is cut off", fit[0], fit[1])
	}

	// The counter, from the room's limit of 120.
	run(t, alice, setText(strings.Repeat("x", 95)), chromedp.SendKeys(chromedp.ID("text"), "yy"),
		until(`(() => { const c = document.getElementById("counter"); return c && !c.hidden && c.textContent === "23 characters left"; })()`))
	run(t, alice, setText(strings.Repeat("x", 125)), chromedp.SendKeys(chromedp.ID("text"), "z"),
		until(`document.getElementById("counter").textContent === "6 characters over the limit of 120"`))
	run(t, alice, setText(""), chromedp.SendKeys(chromedp.ID("text"), "a"),
		until(`document.getElementById("counter").hidden`))

	// Growing, then scrolling.
	size := func(lines int) []float64 {
		return get(t, alice, chromedp.Evaluate[[]float64](fmt.Sprintf(`(() => { const b = document.getElementById("text");
			b.value = Array.from({length: %d}, (_, i) => "line " + i).join("\n");
			b.dispatchEvent(new Event("input", {bubbles: true}));
			const s = document.getElementById("send").getBoundingClientRect(), f = document.getElementById("attach").getBoundingClientRect();
			return [b.getBoundingClientRect().height, b.scrollHeight, b.clientHeight, s.height, s.width, f.height, parseFloat(getComputedStyle(document.documentElement).fontSize)]; })()`, lines)))
	}
	one, three, many := size(1), size(3), size(30)
	t.Logf("box height: 1 line %.0f px, 3 lines %.0f px, 30 lines %.0f px (scrolls %.0f px); Send %.0fx%.0f px", one[0], three[0], many[0], many[1], many[4], many[3])
	if three[0] <= one[0] {
		t.Errorf("the box did not grow: %.0f px for 1 line, %.0f px for 3", one[0], three[0])
	}
	if maxH := 10*many[6] + 4; many[0] > maxH || many[1] <= many[2] {
		t.Errorf("with 30 lines the box is %.0f px (at most %.0f) and scrolls %v", many[0], maxH, many[1] > many[2])
	}
	if many[3] > 50 || many[5] > 50 || many[4] > 60 {
		t.Errorf("the buttons stretched with the box: Send %.0fx%.0f, File height %.0f", many[4], many[3], many[5])
	}
}

// setText puts text in the message box, as a paste would (no key events).
func setText(text string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`document.getElementById("text").value = ` + jsString(text))
}

// Point 4: a phone shows who is in the room one tap away, with the count
// in the header.
func TestBrowserMembersOnAPhone(t *testing.T) {
	b := newBrowser(t)
	tr := newTestRoom(t, nil)
	alice := phonePage(t, b, tr.srv.URL)
	joinAs(t, alice, "alice")
	bob := b.page(t, tr.srv.URL)
	joinAs(t, bob, "bob")

	run(t, alice, until(`(() => { const b = document.getElementById("members-button"); return b && b.offsetParent !== null && b.textContent.trim().startsWith("2"); })()`))
	run(t, alice, chromedp.Click(chromedp.ID("members-button")),
		until(`(() => { const p = document.getElementById("members-panel"); const r = p.getBoundingClientRect();
			return p.checkVisibility() && r.top >= 0 && r.bottom <= innerHeight + 1 && r.height > 50 && p.textContent.includes("bob"); })()`))
	run(t, alice, pressEscape,
		until(`!document.getElementById("members-panel").checkVisibility() && document.activeElement.id === "members-button"`))
	targetsAtLeast44(t, alice)
}

// targetsAtLeast44 checks every visible button and field of the room's
// frame (not links inside the text of messages) is at least 44×44 px.
func targetsAtLeast44(t *testing.T, p context.Context) {
	t.Helper()
	small := get(t, p, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#room .bar button, #room .compose button, #room .compose textarea, #room .reply-bar button, #room .upload-preview button, #room .members-close, #room .jump, #room .countdown button")]
		.filter(e => e.checkVisibility())
		.map(e => [e, e.getBoundingClientRect()])
		.filter(([e, r]) => r.width < 44 || r.height < 44)
		.map(([e, r]) => (e.id || e.className) + " " + Math.round(r.width) + "x" + Math.round(r.height))`))
	if len(small) > 0 {
		t.Errorf("touch targets under 44×44 px on the phone: %v", small)
	}
}

// Point 10: one person's consecutive messages are grouped, your own are
// marked, days are divided, files say their kind and size, code is in a
// monospace font, and pictures open in the page.
func TestBrowserConversationIsEasyToScan(t *testing.T) {
	tr, alice, bob := aliceAndBob(t)
	for _, s := range []string{"one", "two", "three"} {
		say(t, alice, s)
		waitForText(t, alice, s)
	}
	say(t, bob, "bob here")
	waitForText(t, alice, "bob here")
	say(t, alice, "run `make test` now")
	say(t, alice, "```\ngo test ./...\n```")
	// A script shares the files: bob's browser holds his name.
	tr.shared(t, "carol", "notes.txt", []byte("some notes"))
	first := tr.shared(t, "carol", "first.png", testpics.PNG(640, 480))
	tr.shared(t, "carol", "second.png", testpics.PNG(480, 640))
	run(t, alice, until(`document.querySelectorAll("#messages .msg.file .picture img").length === 2`))

	got := get(t, alice, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#messages li.msg[data-id]")].slice(0, 4).map(e =>
		(e.classList.contains("grouped") ? "grouped" : "head") + "/" + (e.classList.contains("mine") ? "mine" : "theirs") + "/" + (e.querySelector(".meta").checkVisibility() ? "meta" : "nometa"))`))
	want := []string{"head/mine/meta", "grouped/mine/nometa", "grouped/mine/nometa", "head/theirs/meta"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("alice sees %v, want %v", got, want)
	}
	bg := get(t, alice, chromedp.Evaluate[[]string](`[getComputedStyle(document.querySelector("#messages .msg.mine")).backgroundColor,
		getComputedStyle(document.querySelector("#messages .msg:not(.mine)[data-id]")).backgroundColor]`))
	if bg[0] == bg[1] {
		t.Errorf("alice's own messages look like bob's (background %s)", bg[0])
	}
	if days := get(t, alice, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#messages .day")].map(e => e.textContent)`)); fmt.Sprint(days) != "[Today]" {
		t.Errorf("day dividers %q, want one for today", days)
	}
	fonts := get(t, alice, chromedp.Evaluate[[]string](`[getComputedStyle(document.querySelector("#messages .text code")).fontFamily, getComputedStyle(document.querySelector("#messages pre.code")).fontFamily, document.querySelector("#messages pre.code").textContent]`))
	if !strings.Contains(fonts[0], "monospace") || !strings.Contains(fonts[1], "monospace") || fonts[2] != "go test ./..." {
		t.Errorf("code is in %q, a fenced block in %q holding %q", fonts[0], fonts[1], fonts[2])
	}
	run(t, alice, until(`[...document.querySelectorAll("#messages .file-info")].some(e => e.textContent === "Text file · 10 B")`))
	if n := get(t, alice, chromedp.Evaluate[int](`[...document.querySelectorAll("#messages .file-info")].filter(e => e.textContent.includes("/")).length`)); n != 0 {
		t.Errorf("%d files are described by their MIME type", n)
	}

	// The picture viewer: open, next with →, close with Escape, focus back.
	run(t, alice, chromedp.Click(chromedp.CSS(`#messages a.picture`)),
		until(`document.getElementById("viewer").open && document.getElementById("viewer-img").src.endsWith(`+jsString(first.File.URL)+`)`),
		pressRight,
		until(`document.getElementById("viewer-img").src.includes("second.png")`),
		pressEscape,
		until(`!document.getElementById("viewer").open && document.activeElement === document.querySelector("#messages a.picture")`))
	if n := get(t, alice, chromedp.Evaluate[int](`document.querySelectorAll("#messages .msg.file").length`)); n != 3 {
		t.Errorf("alice sees %d files", n)
	}
}

// jsContrast lists every visible text on the page whose contrast with what
// is behind it is under 4.5:1 (3:1 for large text), from computed styles.
const jsContrast = `(() => {
	const parse = (c) => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return [0, 0, 0, 0];
		const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
	const over = (top, bottom) => { const a = top[3]; return [0, 1, 2].map(i => top[i] * a + bottom[i] * (1 - a)).concat([1]); };
	const lum = (c) => { const [r, g, b] = c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
	const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
	const background = (el) => { const layers = []; for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor); if (c[3] > 0) layers.push(c); if (c[3] >= 1) break; }
		let bg = [255, 255, 255, 1]; if (!layers.length || layers[layers.length - 1][3] < 1) bg = matchMedia("(prefers-color-scheme: dark)").matches ? [0, 0, 0, 1] : [255, 255, 255, 1];
		for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg); return bg; };
	const bad = []; let checked = 0;
	const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
	for (let n = walker.nextNode(); n; n = walker.nextNode()) {
		const el = n.parentElement; if (!n.textContent.trim() || !el) continue;
		if (!el.checkVisibility({ opacityProperty: true, visibilityProperty: true })) continue;
		if (el.closest("button:disabled, .sr-only, dialog:not([open])")) continue;
		const r = el.getBoundingClientRect(); if (r.width === 0 || r.height === 0 || r.bottom < 0 || r.top > innerHeight) continue;
		const cs = getComputedStyle(el); let fg = parse(cs.color);
		let alpha = 1; for (let e = el; e; e = e.parentElement) alpha *= Number(getComputedStyle(e).opacity);
		const bg = background(el); fg = over([fg[0], fg[1], fg[2], fg[3] * alpha], bg);
		const size = parseFloat(cs.fontSize), bold = Number(cs.fontWeight) >= 700;
		const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
		const got = ratio(fg, bg); checked++;
		if (got < need) bad.push(n.textContent.trim().slice(0, 40) + " " + got.toFixed(2) + ":1 (" + cs.color + " on " + bg.slice(0, 3).join(",") + ")");
	}
	const box = document.getElementById("text");
	if (box && box.checkVisibility()) { checked++; const ph = over(parse(getComputedStyle(box, "::placeholder").color), background(box)); const got = ratio(ph, background(box));
		if (got < 4.5) bad.push("placeholder " + got.toFixed(2) + ":1"); }
	return {checked, bad};
})()`

type contrastResult struct {
	Checked int      `json:"checked"`
	Bad     []string `json:"bad"`
}

// Point 9: WCAG 2.2 AA. Every text at least 4.5:1 in both themes, sizes
// that follow the browser's font size, Escape closes what opened and
// focus returns, the message box a few Tab presses away, the countdown
// said once.
func TestBrowserReadableByEveryone(t *testing.T) {
	b := newBrowser(t)
	tr := newTestRoom(t, func(o *testOptions) { o.DestroyCountdown = 10 * time.Minute; o.MaxMessageLength = 200 })
	for i := range 22 {
		tr.post(t, "carol", fmt.Sprintf("message %d with a link https://example.org/%d", i, i))
	}
	alice := b.page(t, tr.srv.URL)
	joinAs(t, alice, "alice")
	bob := b.page(t, tr.srv.URL)
	joinAs(t, bob, "bob")

	// The message box within 5 Tab presses of the top of the page, on a
	// desktop and on a phone (where the header has one button more).
	for _, sc := range []screen{screens[0], screens[2]} {
		look(t, bob, sc)
		presses, path := tabsToComposer(t, bob)
		t.Logf("%s: the message box is %d Tab presses from the top (%s)", sc.name, presses, strings.Join(path, " → "))
		if presses > 5 {
			t.Errorf("%s: reaching the message box took %d Tab presses (or more), want at most 5: %s", sc.name, presses, strings.Join(path, " → "))
		}
	}
	look(t, bob, screens[0])

	// Escape closes the menu and focus returns; so does a click outside.
	run(t, bob, chromedp.Click(chromedp.ID("menu-button")), chromedp.WaitVisible(chromedp.ID("menu")), pressEscape,
		until(`document.getElementById("menu").hidden && document.activeElement.id === "menu-button"`))
	run(t, bob, chromedp.Click(chromedp.ID("menu-button")), chromedp.WaitVisible(chromedp.ID("menu")),
		chromedp.Click(chromedp.CSS(".bar .title")), until(`document.getElementById("menu").hidden`))

	// The countdown is said once to a screen reader, not every second.
	run(t, bob, chromedp.Evaluate[chromedp.Void](`window.said = 0;
		new MutationObserver((ms) => { for (const m of ms) { const t = m.target.nodeType === 3 ? m.target.parentElement : m.target;
			if (t.closest("[aria-live]:not([aria-live=off]), [role=alert], [role=status], [role=log]") && !t.closest("#scroller, [role=log]")) window.said++; } })
		.observe(document.body, { subtree: true, childList: true, characterData: true });`))
	if res, raw := tr.do(t, "POST", "/api/destroy", map[string]string{"nick": "carol"}, nil); res.StatusCode >= 300 {
		t.Fatalf("destroy: %d %s", res.StatusCode, raw)
	}
	run(t, bob, until(`document.getElementById("countdown").checkVisibility()`))
	seconds := `Number((document.getElementById("countdown").textContent.match(/(\d+) s\./) || [])[1])`
	from := get(t, bob, chromedp.Evaluate[int](seconds))
	run(t, bob, chromedp.Poll[chromedp.Void](fmt.Sprintf(`%s <= %d`, seconds, from-2), chromedp.WithPollingTimeout(10*time.Second)))
	said := get(t, bob, chromedp.Evaluate[int](`window.said`))
	t.Logf("while the countdown ran from %d s to %d s, live regions changed %d time(s)", from, from-2, said)
	if said != 1 {
		t.Errorf("live regions changed %d times during the countdown, want it said once", said)
	}

	// Things that show in a room: a ping to bob, a refused message.
	say(t, alice, "/ping bob look `here`")
	run(t, bob, until(`document.querySelector("#messages .msg.pinged") !== null`))
	say(t, bob, strings.Repeat("y", 201))
	run(t, bob, until(`document.getElementById("hint").classList.contains("error")`))

	for _, sc := range screens {
		look(t, bob, sc)
		run(t, bob, framesDrawn)
		raw := get(t, bob, chromedp.Evaluate[json.RawMessage](jsContrast))
		var res contrastResult
		if err := json.Unmarshal(raw, &res); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d visible texts checked, %d under AA", sc.name, res.Checked, len(res.Bad))
		if res.Checked < 20 {
			t.Errorf("%s: only %d texts were checked", sc.name, res.Checked)
		}
		for _, s := range res.Bad {
			t.Errorf("%s: %s", sc.name, s)
		}
		if sc.phone {
			targetsAtLeast44(t, bob)
		}
	}

	// Sizes follow the browser's font size (here 24 px instead of 16).
	run(t, bob, chromedp.EmulateViewport(1280, 800), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.SetFontSizes, page.SetFontSizesParams{FontSizes: &page.FontSizes{Standard: 24}})
		return err
	}), framesDrawn)
	sizes := get(t, bob, chromedp.Evaluate[[]float64](`[document.querySelector("#messages .msg .text"), document.getElementById("text"), document.querySelector(".members h2")].map(e => parseFloat(getComputedStyle(e).fontSize))`))
	t.Logf("with a 24 px default: message %.1f px, box %.1f px, member heading %.1f px", sizes[0], sizes[1], sizes[2])
	if sizes[0] < 23.5 || sizes[1] < 23.5 || sizes[2] < 20 {
		t.Errorf("with the browser's font at 24 px the page's text is %v px: sizes are fixed, not rem", sizes)
	}
}

// tabsToComposer clicks the room's title, which puts the start of Tab
// navigation at the top, and presses Tab until the message box has focus
// (at most 12 times). It returns the presses and what each one reached.
func tabsToComposer(t *testing.T, p context.Context) (int, []string) {
	t.Helper()
	run(t, p, chromedp.Click(chromedp.CSS(".bar .title")))
	var path []string
	for len(path) < 12 {
		run(t, p, pressTab)
		at := get(t, p, chromedp.Evaluate[string](`(() => { const e = document.activeElement; return e.id || (e.tagName.toLowerCase() + "." + e.className); })()`))
		path = append(path, at)
		if at == "text" {
			break
		}
	}
	return len(path), path
}

// Point 6: every screen follows the room's real state, and there is no
// native alert.
func TestBrowserScreensFollowTheRoom(t *testing.T) {
	b := newBrowser(t)
	tr := newTestRoom(t, func(o *testOptions) { o.CreateOnStart = false })
	bob := b.page(t, tr.srv.URL)
	var dialogs atomic.Int32
	go func() {
		for ev, err := range chromedp.Events(bob, page.JavascriptDialogOpening) {
			if err != nil {
				return
			}
			dialogs.Add(1)
			t.Logf("a native dialog opened: %q", ev.Message)
			chromedp.Call(bob, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	run(t, bob, chromedp.WaitVisible(chromedp.ID("launcher")))

	// Someone else makes the room; bob clicks Create a moment later.
	if _, err := tr.Create(false); err != nil {
		t.Fatal(err)
	}
	run(t, bob, chromedp.Evaluate[chromedp.Void](`document.getElementById("create-public").click()`),
		until(`document.getElementById("pick-nick").checkVisibility()`))
	joinAs(t, bob, "bob")
	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d native dialogs opened", n)
	}

	// The room is reset as a private one: bob is asked for the password,
	// never offered to create a room that exists.
	if _, err := tr.Reset(true); err != nil {
		t.Fatal(err)
	}
	run(t, bob, until(`document.getElementById("login").checkVisibility()`))
	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d native dialogs opened", n)
	}

	// A fresh launcher that creates a private room keeps no create button.
	tr2 := newTestRoom(t, func(o *testOptions) { o.CreateOnStart = false })
	carol := b.page(t, tr2.srv.URL)
	run(t, carol, chromedp.WaitVisible(chromedp.ID("launcher")), chromedp.Click(chromedp.ID("create-private")),
		chromedp.WaitVisible(chromedp.ID("created")))
	if n := get(t, carol, chromedp.Evaluate[int](`[...document.querySelectorAll("#create-public, #create-private")].filter(e => e.checkVisibility()).length`)); n != 0 {
		t.Errorf("after creating a private room, %d create buttons stay", n)
	}

	// A screen waiting on no room moves on when a room appears.
	tr3 := newTestRoom(t, func(o *testOptions) { o.CreateOnStart = false })
	dave := b.page(t, tr3.srv.URL)
	run(t, dave, chromedp.WaitVisible(chromedp.ID("launcher")))
	if _, err := tr3.Create(false); err != nil {
		t.Fatal(err)
	}
	run(t, dave, until(`document.getElementById("pick-nick").checkVisibility()`))
}

// Drawing history costs time in proportion to its length: the page's own
// modules draw 1000 and then 4000 messages, the way the first page of
// history is drawn, and 4000 may take at most 8 times as long as 1000
// (linear is 4 times; quadratic would be 16).
func TestBrowserDrawsHistoryInLinearTime(t *testing.T) {
	b := newBrowser(t)
	tr := newTestRoom(t, nil)
	p := b.page(t, tr.srv.URL)
	joinAs(t, p, "alice")
	ctx, cancel := context.WithTimeout(p, 90*time.Second)
	defer cancel()
	ms, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(async () => {
		const { Model } = await import("/static/js/model.js");
		const render = await import("/static/js/render.js");
		const ctx = { me: "alice", features: { reply: true, react: true, edit: true }, reactions: ["👍"], lookup: () => null,
			canChange: () => true, onNick() {}, onReply() {}, onReact() {}, onEdit() {}, onDelete() {}, onJump() {}, copy() {} };
		const draw = (n) => {
			const m = new Model(); m.nick = "alice";
			const list = document.createElement("ol"); document.body.append(list);
			const t0 = performance.now();
			const frag = document.createDocumentFragment(); let prev = null;
			for (let i = 1; i <= n; i++) {
				const msg = { id: i, ts: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), nick: i % 3 ? "bob" : "alice", kind: "text",
					text: "message " + i + " with a link https://example.org/" + i + " and `+"`code`"+`" };
				m.add(msg); frag.append(render.message(msg, prev, ctx)); prev = msg;
			}
			list.append(frag); list.getBoundingClientRect();
			const took = performance.now() - t0; list.remove(); return took;
		};
		draw(200); // warm up
		return [draw(1000), draw(4000)];
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	// Absolute times depend on the machine; the ratio does not.
	t.Logf("drawing 1000 messages took %.0f ms, 4000 took %.0f ms (%.1f times)", ms[0], ms[1], ms[1]/ms[0])
	if ms[1] > 8*ms[0]+50 {
		t.Errorf("4000 messages took %.0f ms against %.0f ms for 1000: drawing is worse than linear", ms[1], ms[0])
	}
}

// The box keeps a draft across a reload, and Tab completes a name of
// someone in the room.
func TestBrowserComposerKeepsTheDraftAndCompletesNames(t *testing.T) {
	_, alice, _ := aliceAndBob(t)
	run(t, alice, until(`document.getElementById("members").textContent.includes("bob")`),
		chromedp.SendKeys(chromedp.ID("text"), "half a thought"),
		chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("room")),
		until(`document.getElementById("text").value === "half a thought"`),
		setText(""), chromedp.Focus(chromedp.ID("text")), chromedp.SendKeys(chromedp.ID("text"), "bo"), pressTab,
		until(`document.getElementById("text").value === "bob: " && document.activeElement.id === "text"`))
}

// A reaction made from the keyboard leaves the focus on the button that
// made it, though the message is drawn again: a second Enter takes it
// back, and Tab goes on from there.
func TestBrowserReactingFromTheKeyboardKeepsFocus(t *testing.T) {
	tr, alice, _ := aliceAndBob(t)
	tr.post(t, "carol", "react to me from the keyboard")
	waitForText(t, alice, "react to me from the keyboard")
	// The person has come to the message with the arrow keys.
	run(t, alice, chromedp.Evaluate[chromedp.Void](`(() => { const li = document.querySelector("#messages li.msg:last-child"); li.tabIndex = -1; li.focus(); })()`))
	for i := 0; ; i++ {
		if i == 4 {
			t.Fatal("4 Tab presses from the message did not reach a reaction button")
		}
		run(t, alice, pressTab)
		if get(t, alice, chromedp.Evaluate[bool](`document.activeElement.classList.contains("tool") && document.activeElement.title.startsWith("React ")`)) {
			break
		}
	}
	title := get(t, alice, chromedp.Evaluate[string](`document.activeElement.title`))
	focusedThere := `document.activeElement.title === ` + jsString(title) + ` && document.activeElement.closest("#messages li.msg:last-child") !== null`
	count := `(document.querySelector("#messages li.msg:last-child .reaction .count") || {}).textContent`
	run(t, alice, pressEnter, until(count+` === "1"`))
	if !get(t, alice, chromedp.Evaluate[bool](focusedThere)) {
		t.Fatalf("after Enter on %q the focus is on %s, want the same button", title, get(t, alice, chromedp.Evaluate[string](`document.activeElement.outerHTML.slice(0, 120)`)))
	}
	run(t, alice, pressEnter, until(count+` === undefined`))
	if !get(t, alice, chromedp.Evaluate[bool](focusedThere)) {
		t.Fatalf("after taking the reaction back the focus is on %s, want %q", get(t, alice, chromedp.Evaluate[string](`document.activeElement.outerHTML.slice(0, 120)`)), title)
	}
}
