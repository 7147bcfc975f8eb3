package httpapi

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/chatbox-dev/chatbox/internal/testpics"
)

// screen is one way of looking at the page: a size and a colour scheme.
type screen struct {
	name          string
	width, height int64
	phone, dark   bool
}

var screens = []screen{
	{"desktop-light", 1280, 800, false, false},
	{"desktop-dark", 1280, 800, false, true},
	{"phone-light", 390, 844, true, false},
	{"phone-dark", 390, 844, true, true},
}

// look sets a page's viewport and colour scheme as sc says. A phone is a
// touch device with a mobile viewport.
func look(t *testing.T, page context.Context, sc screen) {
	t.Helper()
	var opts []chromedp.EmulateViewportOption
	if sc.phone {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	scheme := "light"
	if sc.dark {
		scheme = "dark"
	}
	run(t, page,
		chromedp.EmulateViewport(sc.width, sc.height, opts...),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
			})
			return err
		}),
	)
}

// screenshotDir is where the suite saves its screenshots: CHATBOX_SCREENSHOTS
// when set, else a temporary directory named in the log.
func screenshotDir(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("CHATBOX_SCREENSHOTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

// TestBrowserScreenshots fills a room with a conversation and saves what
// two people see, on a desktop and a phone, light and dark.
func TestBrowserScreenshots(t *testing.T) {
	tr, alice, bob := aliceAndBob(t)
	dir := screenshotDir(t)

	pic := filepath.Join(t.TempDir(), "harbour.png")
	if err := os.WriteFile(pic, testpics.PNG(800, 500), 0o600); err != nil {
		t.Fatal(err)
	}
	say(t, alice, "morning! is the boat still leaving at 10?")
	waitForText(t, bob, "morning! is the boat still leaving at 10?")
	say(t, bob, "yes, from pier 3")
	waitForText(t, alice, "yes, from pier 3")
	say(t, bob, "bring the `tide table` please")
	waitForText(t, alice, "bring the tide table please")
	say(t, alice, "/ping bob will do")
	run(t, alice,
		chromedp.SetUploadFiles(chromedp.ID("file-input"), []string{pic}),
		chromedp.WaitVisible(chromedp.ID("upload-send")),
		chromedp.Click(chromedp.ID("upload-send")),
		chromedp.WaitNotVisible(chromedp.ID("upload-preview")),
	)
	run(t, bob, until(`(() => { const i = document.querySelector("#messages .msg.file img");
		return i && i.complete && i.naturalWidth > 0; })()`))
	say(t, alice, "here is the view from the pier\nsecond line")
	waitForText(t, bob, "here is the view from the pier\nsecond line")
	_ = tr

	for _, sc := range screens {
		look(t, bob, sc)
		// The pointer rests on the header, not on a message (whose tools
		// would show as on hover).
		run(t, bob, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Call(ctx, input.DispatchMouseEvent, input.DispatchMouseEventParams{Type: input.DispatchMouseEventTypeMouseMoved, X: 2, Y: 2})
			return err
		}), until(`document.fonts.status === "loaded" && !document.querySelector("#messages .msg:hover")`))
		png := get(t, bob, chromedp.CaptureScreenshot())
		name := filepath.Join(dir, "room-"+sc.name+".png")
		if err := os.WriteFile(name, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("saved %s (%d bytes)", name, len(png))
	}
}
