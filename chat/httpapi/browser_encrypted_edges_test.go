package httpapi

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// shootAll saves what a page shows, on a phone and on a desktop (light),
// as encrypted-NAME-SCREEN.png in the screenshot folder, and leaves the
// page at the desktop size.
func shootAll(t *testing.T, p context.Context, name string) {
	t.Helper()
	dir := screenshotDir(t)
	for _, sc := range []screen{screens[2], screens[0]} {
		look(t, p, sc)
		run(t, p, until(`document.fonts.status === "loaded"`), framesDrawn)
		path := filepath.Join(dir, "encrypted-"+name+"-"+sc.name+".png")
		if err := os.WriteFile(path, get(t, p, chromedp.CaptureScreenshot()), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("saved %s", path)
	}
}

// makePrivateEncrypted has a page make a private encrypted room from the
// launcher, enter it as nick, and returns the link and the password.
func makePrivateEncrypted(t *testing.T, p context.Context, nick string) (link, password string) {
	t.Helper()
	run(t, p,
		chromedp.WaitVisible(chromedp.ID("launcher")),
		chromedp.Click(chromedp.ID("create-encrypted")),
		chromedp.Click(chromedp.ID("create-private")),
		chromedp.WaitVisible(chromedp.ID("ready")),
		chromedp.WaitVisible(chromedp.ID("ready-password")),
	)
	link = get(t, p, chromedp.Text(chromedp.ID("ready-link")))
	password = get(t, p, chromedp.Text(chromedp.ID("ready-password-text")))
	if !strings.Contains(link, "#k=") || password == "" {
		t.Fatalf("the ready screen shows the link %q and the password %q", link, password)
	}
	run(t, p, chromedp.Click(chromedp.ID("ready-enter")))
	joinAs(t, p, nick)
	return link, password
}

// typePassphrase types into the passphrase form and sends it with Enter.
func typePassphrase(text string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		return chromedp.Do(ctx,
			chromedp.WaitVisible(chromedp.ID("passphrase-input")),
			chromedp.SendKeys(chromedp.ID("passphrase-input"), text+"\r"),
		)
	})
}

// A private encrypted room whose password the owner changes afterwards
// (`chatbox room password`): its key was made with the first password, so
// a member who opens the link after the change logs in with the new
// password, is told in plain words to type the first one, and reads the
// room with it. Wrong guesses ask again, as often as needed.
func TestBrowserEncryptedPasswordChanged(t *testing.T) {
	br := newBrowser(t)
	box := newBoxAt(t, nil)
	alice := br.page(t, box.url)
	link, first := makePrivateEncrypted(t, alice, "alice")
	say(t, alice, "said before the password changed")
	waitForText(t, alice, "said before the password changed")

	// What `chatbox room password` does, through the admin socket.
	second, err := box.room.SetPassword()
	if err != nil {
		t.Fatalf("change the room's password: %v", err)
	}
	if second == first {
		t.Fatalf("the new password is the first one")
	}

	// Bob opens the link: the box asks for its password, the new one.
	bob := br.page(t, link)
	run(t, bob,
		chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("password"), second+"\r"),
		chromedp.WaitVisible(chromedp.ID("passphrase")),
	)
	// Then the key asks for the first password, and says so in its
	// heading; bob typed nothing wrong, so nothing is shown as an error.
	said := get(t, bob, chromedp.Evaluate[[]string](`[document.querySelector("#passphrase h1").textContent, document.getElementById("passphrase-error").textContent, document.getElementById("passphrase").innerText]`))
	t.Logf("bob reads:\n%s", said[2])
	if !strings.Contains(said[0], "first password") || said[1] != "" {
		t.Errorf("after the new password the page's heading is %q and its error %q: want a heading asking for the room's first password, and no error", said[0], said[1])
	}
	if f := get(t, bob, chromedp.Evaluate[string](`document.activeElement.id`)); f != "passphrase-input" {
		t.Errorf("the focus is on %q, not the passphrase field", f)
	}
	shootAll(t, bob, "passphrase-after-change")

	// Two wrong guesses: each is said, the field is empty and ready again,
	// and the box does not shut bob out.
	for i, guess := range []string{"not-the-first-one", second} {
		was := get(t, bob, chromedp.Text(chromedp.ID("passphrase-error")))
		run(t, bob, typePassphrase(guess),
			until(`!document.getElementById("passphrase").hidden && !["", `+jsString(was)+`].includes(document.getElementById("passphrase-error").textContent)`))
		got := get(t, bob, chromedp.Evaluate[[]any](`[document.getElementById("passphrase-error").textContent, document.getElementById("passphrase-input").value, document.activeElement.id]`))
		t.Logf("wrong guess %d: %q", i+1, got[0])
		if got[1] != "" || got[2] != "passphrase-input" {
			t.Errorf("after wrong guess %d the field holds %q and the focus is on %q", i+1, got[1], got[2])
		}
	}
	shootAll(t, bob, "passphrase-wrong-twice")
	run(t, bob, typePassphrase(first))
	joinAs(t, bob, "bob")
	waitForText(t, bob, "said before the password changed")

	// Alice was logged out by the change: the new password lets her back
	// in, and her tab still holds the key.
	run(t, alice,
		chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("password"), second+"\r"),
		chromedp.WaitVisible(chromedp.ID("room")),
	)
	say(t, bob, "read with the first password")
	waitForText(t, alice, "read with the first password")
}
