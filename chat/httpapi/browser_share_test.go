package httpapi

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/chat/uploads"
	"github.com/chatbox-dev/chatbox/internal/testpics"
)

// aliceAndBob opens a public room with alice and bob in it, each in a
// browser of their own.
func aliceAndBob(t *testing.T) (tr *testRoom, alice, bob context.Context) {
	t.Helper()
	b := newBrowser(t)
	tr = newTestRoom(t, nil)
	alice = b.page(t, tr.srv.URL)
	joinAs(t, alice, "alice")
	bob = b.page(t, tr.srv.URL)
	joinAs(t, bob, "bob")
	return tr, alice, bob
}

func TestBrowserSharesAPicture(t *testing.T) {
	tr, alice, bob := aliceAndBob(t)

	path := filepath.Join(t.TempDir(), "cat.png")
	if err := os.WriteFile(path, testpics.PNG(900, 600), 0o600); err != nil {
		t.Fatal(err)
	}
	// Alice chooses the picture and sees it before anything is sent.
	run(t, alice,
		chromedp.SetUploadFiles(chromedp.ID("file-input"), []string{path}),
		chromedp.WaitVisible(chromedp.ID("upload-preview")),
		until(`(() => { const i = document.getElementById("upload-thumb");
			return !i.hidden && i.src.startsWith("blob:") && i.complete && i.naturalWidth === 900; })()`),
	)
	if name := get(t, alice, chromedp.Text(chromedp.ID("upload-name"))); name != "cat.png" {
		t.Fatalf("the preview names %q", name)
	}
	if n := len(tr.history(t, nil)); n != 0 {
		t.Fatalf("the preview already sent %d messages", n)
	}
	run(t, alice,
		chromedp.Click(chromedp.ID("upload-send")),
		chromedp.WaitNotVisible(chromedp.ID("upload-preview")),
	)

	// Bob sees the thumbnail, which links to the full picture.
	run(t, bob, until(`(() => { const i = document.querySelector("#messages .msg.file .picture img");
		return i && i.complete && i.naturalWidth > 0; })()`))
	thumb := get(t, bob, chromedp.Evaluate[[]int](`(() => { const i = document.querySelector("#messages .msg.file .picture img");
		return [i.naturalWidth, i.naturalHeight]; })()`))
	if thumb[0] != uploads.ThumbWidth || thumb[1] != 200 {
		t.Errorf("bob's thumbnail is %dx%d, want %dx200", thumb[0], thumb[1], uploads.ThumbWidth)
	}
	h := tr.history(t, nil)
	if len(h) != 1 || h[0].File == nil {
		t.Fatalf("history after the upload: %+v", h)
	}
	href := get(t, bob, chromedp.AttributeValue(chromedp.CSS(`#messages .msg.file .picture`), "href")).Value
	if href != h[0].File.URL {
		t.Errorf("the thumbnail opens %q, want the picture %q", href, h[0].File.URL)
	}

	// A link to that picture, pasted in a message, shows it inline.
	say(t, alice, "look: "+tr.srv.URL+h[0].File.URL)
	run(t, bob, until(`(() => { const i = document.querySelector("#messages .msg.text .text .picture img");
		return i && i.complete && i.naturalWidth > 0; })()`))

	// A file dropped on the room is previewed by name and size, then sent.
	run(t, alice,
		chromedp.Evaluate[chromedp.Void](`(() => {
			const dt = new DataTransfer();
			dt.items.add(new File(["some notes"], "notes.txt", { type: "text/plain" }));
			document.getElementById("room").dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
		})()`),
		chromedp.WaitVisible(chromedp.ID("upload-preview")),
		until(`document.getElementById("upload-thumb").hidden && document.getElementById("upload-size").textContent === "10 B"`),
		chromedp.Click(chromedp.ID("upload-send")),
		chromedp.WaitNotVisible(chromedp.ID("upload-preview")),
	)
	run(t, bob, until(`[...document.querySelectorAll("#messages .msg.file .file a")].some(a => a.textContent === "notes.txt" && a.hasAttribute("download"))`))
}

func TestBrowserPingNotifiesAfterPermission(t *testing.T) {
	tr, alice, bob := aliceAndBob(t)

	// Loading the page must not ask for anything.
	if p := get(t, bob, chromedp.Evaluate[string](`Notification.permission`)); p != "default" {
		t.Fatalf("after loading, the notification permission is %q, want default (never asked)", p)
	}
	// Record the notifications bob's page makes, across reloads too.
	recorder := `if (!window.shown) {
		window.shown = [];
		const Real = window.Notification;
		window.Notification = class extends Real {
			constructor(title, opts) { window.shown.push(title + "|" + ((opts && opts.body) || "")); super(title, opts); }
		};
	}`
	yes := true
	if _, err := chromedp.Call(bob, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: recorder, RunImmediately: &yes}); err != nil {
		t.Fatal(err)
	}
	// Bob's browser grants the permission when the page asks for it.
	_, err := chromedp.CallBrowser(bob, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
		Permission:       &cdpbrowser.PermissionDescriptor{Name: "notifications"},
		Setting:          cdpbrowser.PermissionSettingGranted,
		Origin:           tr.srv.URL,
		BrowserContextID: chromedp.FromContext(bob).BrowserContextID,
	})
	if err != nil {
		t.Fatalf("grant notifications: %v", err)
	}
	run(t, bob,
		chromedp.WaitVisible(chromedp.ID("notify-button")),
		chromedp.Click(chromedp.ID("notify-button")),
		until(`document.getElementById("notify-label").textContent === "Notifications on"`),
		until(`document.getElementById("hint").textContent.includes("notification when someone pings you")`),
	)

	// Alice clicks bob's name to start a ping, and learns it arrived.
	run(t, alice,
		until(`[...document.querySelectorAll("#members button.nick")].some(b => b.textContent === "bob")`),
		chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll("#members button.nick")].find(b => b.textContent === "bob").click()`),
	)
	if v := get(t, alice, chromedp.Evaluate[string](`document.getElementById("text").value`)); v != "/ping bob " {
		t.Fatalf("clicking bob filled in %q", v)
	}
	run(t, alice,
		chromedp.SendKeys(chromedp.ID("text"), "wake up"),
		chromedp.Click(chromedp.CSS("#compose button[type=submit]")),
		until(`document.getElementById("hint").textContent === "Pinged bob: they are in the room."`),
	)
	run(t, bob,
		until(`window.shown.length === 1`),
		until(`document.querySelector("#messages .msg.pinged .ping-mark") !== null`),
	)
	if got := get(t, bob, chromedp.Evaluate[string](`window.shown[0]`)); got != "alice pinged you|wake up" {
		t.Errorf("bob's notification was %q", got)
	}

	// A ping to someone absent is not sent, and the sender is told.
	// Its words come back to the box, to send again or change.
	say(t, alice, "/ping ghost hello?")
	run(t, alice,
		until(`document.getElementById("hint").textContent.startsWith("ghost is not in the room right now.")`),
		until(`document.getElementById("text").value === "/ping ghost hello?"`),
	)
	run(t, alice, chromedp.Evaluate[chromedp.Void](`document.getElementById("text").value = ""`))

	// History never notifies again: after a reload the mark is there, and
	// no notification.
	run(t, bob,
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.ID("room")),
		until(`document.querySelector("#messages .msg.pinged .ping-mark") !== null`),
	)
	if n := get(t, bob, chromedp.Evaluate[int](`window.shown.length`)); n != 0 {
		t.Errorf("reloading showed %d notifications for an old ping", n)
	}
}

func TestBrowserShowsOpenPGPFolded(t *testing.T) {
	b := newBrowser(t)
	tr := newTestRoom(t, nil)
	armored := chat.PGPBegin + "\r\n\r\nhQEMA1234\r\n=abcd\r\n-----END PGP MESSAGE-----\r\n"
	alice := b.page(t, tr.srv.URL)
	joinAs(t, alice, "alice")
	tr.post(t, "bob", armored)
	run(t, alice, until(`document.querySelector("#messages .msg details.pgp") !== null`))
	state := get(t, alice, chromedp.Evaluate[[]any](`(() => { const d = document.querySelector("#messages .msg details.pgp");
		return [d.open, d.querySelector("pre").textContent, getComputedStyle(d.querySelector("pre")).fontFamily,
			!!d.parentElement.querySelector("button.copy-pgp")]; })()`))
	if open, _ := state[0].(bool); open {
		t.Error("the OpenPGP block is open; it should start folded")
	}
	if text, _ := state[1].(string); text != armored {
		t.Errorf("the block holds %q, want the message as sent", text)
	}
	if font, _ := state[2].(string); !strings.Contains(font, "monospace") {
		t.Errorf("the block's font is %q, want a monospace one", font)
	}
	if copyButton, _ := state[3].(bool); !copyButton {
		t.Error("the OpenPGP block has no copy button")
	}
}
