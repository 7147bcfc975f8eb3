package httpapi

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// requireE2E skips a slow end-to-end test unless CHATBOX_E2E=1 is set.
func requireE2E(t *testing.T) {
	t.Helper()
	if os.Getenv("CHATBOX_E2E") != "1" {
		t.Skip("end-to-end test: set CHATBOX_E2E=1 to run it (./test.sh does)")
	}
}

// browser is a real headless Chromium (Debian's package) driven over the
// DevTools protocol.
type browser struct {
	ctx context.Context
}

// newBrowser starts headless Chromium for the test. With CHATBOX_E2E=1 a
// missing chromium fails the test rather than skipping it.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	requireE2E(t)
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("CHATBOX_E2E=1 but chromium is not installed (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		// Keep the browser off the network: only the room on loopback.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() { cancel(); cancelAlloc() })
	return &browser{ctx: ctx}
}

// page opens url in a new tab with its own cookies and storage, as if it
// were another person's browser.
func (b *browser) page(t *testing.T, url string) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first call opens the tab, which lives as long as that call's
	// context: give it the tab's own context, not one with a deadline.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	run(t, ctx, chromedp.Navigate(url))
	return ctx
}

// run runs steps on a page with a deadline.
func run(t *testing.T, page context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(page, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// get runs one action that yields a value on a page.
func get[T any](t *testing.T, page context.Context, action chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(page, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

// until waits for a JavaScript expression to become true on the page.
func until(expr string) chromedp.Action[chromedp.Void] {
	return awaited(expr, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(15*time.Second)))
}

// awaited makes a failed wait say what it waited for.
func awaited(expr string, wait chromedp.Action[chromedp.Void]) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := wait(ctx, tg); err != nil {
			what := strings.Join(strings.Fields(expr), " ")
			if len(what) > 300 {
				what = what[:300] + "…"
			}
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		return nil
	})
}

// joinAs answers the nickname form and waits for the room.
func joinAs(t *testing.T, page context.Context, nick string) {
	t.Helper()
	run(t, page,
		chromedp.WaitVisible(chromedp.ID("nick")),
		chromedp.SendKeys(chromedp.ID("nick"), nick),
		chromedp.Click(chromedp.CSS("#nick-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("room")),
		until(`document.getElementById("status").textContent === ""`),
	)
}

// say types text into the message box and sends it with Enter.
func say(t *testing.T, page context.Context, text string) {
	t.Helper()
	run(t, page,
		chromedp.SetValue(chromedp.ID("text"), text),
		chromedp.Click(chromedp.CSS("#compose button[type=submit]")),
	)
}

// waitForText waits until a message whose text is exactly text shows.
func waitForText(t *testing.T, page context.Context, text string) {
	t.Helper()
	run(t, page, until(`[...document.querySelectorAll("#messages .msg .text")].some(e => e.textContent === `+jsString(text)+`)`))
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "<", `\u003c`)
	return `"` + r.Replace(s) + `"`
}

func TestBrowserTwoPagesChat(t *testing.T) {
	b := newBrowser(t)
	tr := newTestRoom(t, nil)
	alice := b.page(t, tr.srv.URL)
	joinAs(t, alice, "alice")
	bob := b.page(t, tr.srv.URL)
	joinAs(t, bob, "bob")

	run(t, alice, until(`document.getElementById("members").textContent.includes("bob")`),
		until(`document.getElementById("members-heading").textContent === "In the room (2)"`))
	say(t, alice, "hello bob, see https://example.org/x")
	waitForText(t, bob, "hello bob, see https://example.org/x")

	href := get(t, bob, chromedp.AttributeValue(chromedp.CSS(`#messages .msg .text a`), "href")).Value
	nick := get(t, bob, chromedp.Text(chromedp.CSS(`#messages .msg .nick`)))
	if href != "https://example.org/x" || nick != "alice" {
		t.Fatalf("bob sees link %q from %q", href, nick)
	}

	// Markup is shown as text, never run or rendered.
	attack := `<script>window.pwned=1</script><img src=x onerror="window.pwned=2"><b>bold</b>`
	say(t, alice, attack)
	waitForText(t, bob, attack)
	pwned := get(t, bob, chromedp.Evaluate[bool](`window.pwned !== undefined`))
	tags := get(t, bob, chromedp.Evaluate[int](`document.querySelectorAll("#messages script, #messages img, #messages b").length`))
	if pwned || tags != 0 {
		t.Fatalf("markup in a message was executed or rendered (pwned=%v, elements=%d)", pwned, tags)
	}

	// A ping reads as a mention of the person, not as the command typed.
	say(t, alice, "/ping bob lunch?")
	waitForText(t, bob, "@bob lunch?")
	if n := get(t, bob, chromedp.Evaluate[int](`document.querySelectorAll("#messages .msg.ping .mention").length`)); n != 1 {
		t.Fatalf("bob sees %d mentions, want 1", n)
	}

	// Unknown slash commands get a hint and are not sent.
	say(t, alice, "/frobnicate")
	run(t, alice, until(`document.getElementById("hint").textContent.includes("Unknown command")`))
	if h := tr.history(t, nil); len(h) != 3 {
		t.Fatalf("history has %d messages, want 3 (the unknown command must not be sent)", len(h))
	}

	// A reload asks only for what it missed and shows the history once.
	run(t, bob, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("room")))
	waitForText(t, bob, attack)
	count := get(t, bob, chromedp.Evaluate[int](`document.querySelectorAll("#messages .msg[data-id]").length`))
	if count != 3 {
		t.Fatalf("after reload bob sees %d messages, want 3", count)
	}
}

// The member list is kept from the room's deltas: a rename replaces the
// name, a quit removes it, and each is said once in the room.
func TestBrowserMembersFollowRenamesAndLeaves(t *testing.T) {
	b := newBrowser(t)
	tr := newTestRoom(t, nil)
	alice := b.page(t, tr.srv.URL)
	joinAs(t, alice, "alice")
	bob := b.page(t, tr.srv.URL)
	joinAs(t, bob, "bob")
	run(t, alice, until(`document.getElementById("members-heading").textContent === "In the room (2)"`))

	say(t, bob, "/nick robert")
	run(t, alice,
		until(`document.getElementById("members").textContent === "alicerobert"`),
		until(`document.getElementById("members-heading").textContent === "In the room (2)"`))
	run(t, alice, until(`[...document.querySelectorAll("#messages .msg.system")].filter(e => e.textContent === "bob is now robert").length === 1`))

	say(t, bob, "/quit")
	run(t, alice,
		until(`document.getElementById("members").textContent === "alice"`),
		until(`document.getElementById("members-heading").textContent === "In the room (1)"`))
	run(t, alice, until(`[...document.querySelectorAll("#messages .msg.system")].filter(e => e.textContent === "robert left").length === 1`))
}

func TestBrowserPrivateRoomAsksForThePassword(t *testing.T) {
	b := newBrowser(t)
	tr, password := newPrivateRoom(t, nil)
	page := b.page(t, tr.srv.URL)
	run(t, page,
		chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("password"), "not-the-password"),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
		until(`document.getElementById("login-error").textContent.startsWith("That password does not open this room.")`),
		// The wrong one is selected: typing the right one replaces it.
		until(`document.activeElement.id === "password" && document.activeElement.selectionStart === 0 && document.activeElement.selectionEnd === "not-the-password".length`),
		chromedp.KeyEvent(password),
		pressEnter,
	)
	joinAs(t, page, "carol")
	say(t, page, "only for friends")
	waitForText(t, page, "only for friends")
}

func TestBrowserDestroyShowsCountdownThenLauncher(t *testing.T) {
	b := newBrowser(t)
	tr := newTestRoom(t, func(o *testOptions) { o.DestroyCountdown = 2 * time.Second })
	alice := b.page(t, tr.srv.URL)
	joinAs(t, alice, "alice")
	bob := b.page(t, tr.srv.URL)
	joinAs(t, bob, "bob")
	say(t, alice, "last words")
	waitForText(t, bob, "last words")

	dialogs := nativeDialogs(t, alice)
	destroyFromTheBox(t, alice)
	run(t, bob,
		chromedp.WaitVisible(chromedp.ID("countdown")),
		until(`document.getElementById("countdown").textContent.includes("alice dropped the bomb")`),
		chromedp.WaitVisible(chromedp.ID("launcher")),
		until(`document.getElementById("destroyed-note").textContent.startsWith("This room was destroyed by alice on")`),
	)
	// Someone makes a new private room from the launcher and sees its password.
	run(t, bob,
		chromedp.Click(chromedp.ID("create-private")),
		chromedp.WaitVisible(chromedp.ID("created")),
	)
	password := get(t, bob, chromedp.Text(chromedp.ID("created-password")))
	if len(password) != 23 {
		t.Fatalf("the launcher showed password %q", password)
	}
	if !tr.State().Private {
		t.Fatal("the new room is not private")
	}
	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d native dialogs opened", n)
	}
}

// nativeDialogs counts the confirm() and alert() boxes the page opens,
// answering each with OK as a person clicking through would. The room asks
// its questions in the page: a test expects none.
func nativeDialogs(t *testing.T, ctx context.Context) *atomic.Int32 {
	var n atomic.Int32
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			n.Add(1)
			t.Logf("a native dialog opened: %q", ev.Message)
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return &n
}

// destroyFromTheBox types /destroy and answers the page's question with
// "Destroy the room".
func destroyFromTheBox(t *testing.T, p context.Context) {
	t.Helper()
	say(t, p, "/destroy")
	run(t, p, until(`document.getElementById("destroy-ask").open`), chromedp.Click(chromedp.ID("destroy-go")),
		until(`!document.getElementById("destroy-ask").open`))
}

func TestBrowserBigRoomShowsHowManyAreIn(t *testing.T) {
	b := newBrowser(t)
	tr := newTestRoom(t, func(o *testOptions) { o.MaxClientsPerAddr = 200; o.ConnectsPerMinute = 6000 })
	for i := range 120 {
		tr.dial(t, fmt.Sprintf("guest%d", i), nil)
	}
	page := b.page(t, tr.srv.URL)
	joinAs(t, page, "carol")
	run(t, page,
		until(`document.getElementById("members-heading").textContent === "In the room (121)"`),
		until(`document.querySelector("#members li.more") !== null && document.querySelector("#members li.more").textContent === "and " + (121 - document.querySelectorAll("#members li button.nick").length) + " more"`),
	)
}
