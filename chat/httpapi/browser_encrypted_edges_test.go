package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/heapprofiler"
	"github.com/chromedp/cdproto/page"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/chatbox-dev/chatbox/chat"
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

// makePublicEncrypted has a page make a public encrypted room from the
// launcher, enter it as nick, and returns the link to share.
func makePublicEncrypted(t *testing.T, p context.Context, nick string) string {
	t.Helper()
	run(t, p,
		chromedp.WaitVisible(chromedp.ID("launcher")),
		chromedp.Click(chromedp.ID("create-encrypted")),
		chromedp.Click(chromedp.ID("create-public")),
		chromedp.WaitVisible(chromedp.ID("ready")),
	)
	link := get(t, p, chromedp.Text(chromedp.ID("ready-link")))
	if !strings.Contains(link, "#k=") {
		t.Fatalf("the ready screen shows the link %q", link)
	}
	run(t, p, chromedp.Click(chromedp.ID("ready-enter")))
	joinAs(t, p, nick)
	return link
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

	// Bob opens the link again in another tab of his browser: it has his
	// login cookie, not the password, so it asks for "the room's password".
	// The new one does not open the key, and the page says to try the
	// first; the first opens the room.
	tab, closeTab := chromedp.NewContext(bob)
	defer closeTab()
	// The tab lives as long as its first call's context: one without a deadline.
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	run(t, tab, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("passphrase")))
	if h := get(t, tab, chromedp.Text(chromedp.CSS("#passphrase h1"))); h != "Type the room's password" {
		t.Errorf("a tab logged in but with no password reads %q", h)
	}
	run(t, tab, typePassphrase(second), until(`document.getElementById("passphrase-error").textContent.includes("type its first password")`))
	t.Logf("the current password typed in the form: %q", get(t, tab, chromedp.Text(chromedp.ID("passphrase-error"))))
	shootAll(t, tab, "passphrase-new-tab-miss")
	run(t, tab, typePassphrase(first))
	waitForText(t, tab, "said before the password changed")

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

// pasteLink does what typing a link into the address bar and pressing
// Enter does: a browser-initiated navigation (Page.navigate, as the
// address bar's), without waiting for a load, since a link that differs
// only by its fragment loads nothing. It answers whether the page stayed
// the same document (Chromium then fires hashchange, and no load).
func pasteLink(t *testing.T, p context.Context, link string) bool {
	t.Helper()
	run(t, p, chromedp.Evaluate[chromedp.Void](`window.__before = true`),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			res, err := chromedp.Call(ctx, page.Navigate, page.NavigateParams{URL: link})
			if err == nil && res.ErrorText != "" {
				err = fmt.Errorf("navigate: %s", res.ErrorText)
			}
			return err
		}))
	return get(t, p, chromedp.Evaluate[bool](`window.__before === true`))
}

// A link pasted into a tab that already shows the room: the address is the
// same but for the #k= fragment, so the browser does not load the page
// again, and the page must read the key from the hashchange. A tab on the
// room's bare address ("This link has no key") opens it; a tab in a room
// that was made again since follows the new room's link.
func TestBrowserEncryptedLinkPastedIntoTheTab(t *testing.T) {
	br := newBrowser(t)
	box := newBoxAt(t, nil)
	alice := br.page(t, box.url)
	link := makePublicEncrypted(t, alice, "alice")
	say(t, alice, "the first room's words")
	waitForText(t, alice, "the first room's words")

	// Bob opens the room's bare address, then pastes the whole link.
	bob := br.page(t, box.url+"/")
	run(t, bob, chromedp.WaitVisible(chromedp.ID("nokey")))
	if !pasteLink(t, bob, link) {
		t.Logf("Chromium loaded the page again for a link that differs by its fragment")
	} else {
		t.Logf("Chromium kept the document (a same-document navigation)")
	}
	run(t, bob, until(`!document.getElementById("pick-nick").hidden`))
	joinAs(t, bob, "bob")
	waitForText(t, bob, "the first room's words")
	if h := get(t, bob, chromedp.Evaluate[string](`location.href`)); strings.Contains(h, "#") {
		t.Errorf("after the pasted link bob's address bar shows %q", h)
	}
	run(t, bob, chromedp.WaitVisible(chromedp.ID("key-note")))

	// The room is made again while the box is down (`chatbox room reset
	// --encrypted`), and someone gives it its key: bob's tab, which holds
	// the old key, is told the key does not open the room.
	box.stop()
	newKey := make([]byte, 32)
	if _, err := rand.Read(newKey); err != nil {
		t.Fatal(err)
	}
	resetWithKey(t, box, newKey)
	box.start(t)
	run(t, bob, chromedp.WaitVisible(chromedp.ID("badkey")))
	if said := get(t, bob, chromedp.Text(chromedp.ID("badkey-text"))); !strings.Contains(said, "made again since this tab opened it") || !strings.Contains(said, "open it here") {
		t.Errorf("the tab that was in the room reads %q: it does not say the room was made again, nor where to open its new link", said)
	}
	shootAll(t, bob, "badkey-after-reset")

	// Bob pastes the new room's link into that tab: it opens the new room.
	newLink := box.url + "/#k=" + b64url.EncodeToString(newKey)
	sameDoc := pasteLink(t, bob, newLink)
	run(t, bob, chromedp.WaitVisible(chromedp.ID("room")), chromedp.WaitVisible(chromedp.ID("encrypted-mark")))
	say(t, bob, "the second room's first words")
	waitForText(t, bob, "the second room's first words")
	if h := get(t, bob, chromedp.Evaluate[string](`location.href`)); strings.Contains(h, "#") {
		t.Errorf("after the new link bob's address bar shows %q", h)
	}
	if n := get(t, bob, chromedp.Evaluate[int](`[...document.querySelectorAll("#messages .msg .text")].filter(e => e.textContent === "the first room's words").length`)); n != 0 {
		t.Errorf("the new room shows the old room's message")
	}
	if !sameDoc {
		t.Errorf("Chromium loaded the page again for the new link: the hashchange path was not the one tested")
	}
	// What bob wrote opens with the new key, by the document.
	var room struct {
		RoomID string `json:"room_id"`
	}
	res, err := http.Get(box.url + "/api/room")
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(res.Body).Decode(&room)
	res.Body.Close()
	found := false
	for _, m := range box.storedMessages(t) {
		if m.Kind == "text" {
			plain, err := docDecrypt(newKey, room.RoomID, "text", m.Nick, m.Text)
			found = found || err == nil && string(plain) == "the second room's first words"
		}
	}
	if !found {
		t.Errorf("the new room holds no message that opens with the new link's key")
	}

	// The room is made again while the box runs, with no key yet (`chatbox
	// room reset --encrypted`). Bob's tab, which was in the room, does not
	// make the new key by itself: it would be shown a link to share for a
	// room he did not make, and whoever made it would find no key. It says
	// what happened and waits; carol, who made the room again, makes the
	// key from her tab; bob opens the link she sends.
	carol := br.page(t, newLink)
	joinAs(t, carol, "carol")
	if _, err := box.room.ResetKind(chat.RoomKind{Encrypted: true}); err != nil {
		t.Fatalf("reset the room: %v", err)
	}
	waitScreen(t, bob, "remade")
	waitScreen(t, carol, "remade")
	shootAll(t, bob, "remade")
	// A reload does not make the key either.
	run(t, bob, chromedp.Reload())
	waitScreen(t, bob, "remade")
	if kc := roomKeyCheck(t, box); kc != "" {
		t.Fatalf("a tab that was in the room made the new room's key by itself")
	}
	run(t, carol, chromedp.Click(chromedp.ID("remade-make")), chromedp.WaitVisible(chromedp.ID("ready")))
	third := get(t, carol, chromedp.Text(chromedp.ID("ready-link")))
	run(t, carol, chromedp.Click(chromedp.ID("ready-enter")), chromedp.WaitVisible(chromedp.ID("room")))
	say(t, carol, "the third room's first words")
	// Bob's tab learns the room has a key, and still asks for the link.
	run(t, bob, chromedp.WaitVisible(chromedp.ID("badkey")))
	pasteLink(t, bob, third)
	run(t, bob, chromedp.WaitVisible(chromedp.ID("room")))
	waitForText(t, bob, "the third room's first words")
}

// waitScreen waits until the page shows the screen id, and fails saying
// which screen it shows instead.
func waitScreen(t *testing.T, p context.Context, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p, 20*time.Second)
	defer cancel()
	shown := `[...document.querySelectorAll("section[id]")].filter(e => !e.hidden && e.offsetParent !== null).map(e => e.id).join(" ")`
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](`(() => { const e = document.getElementById(`+jsString(id)+`); return !!e && !e.hidden; })()`, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Fatalf("waited for the %q screen; the page shows %q (%v)", id, get(t, p, chromedp.Evaluate[string](shown)), err)
	}
}

// roomKeyCheck is the room's key check as GET /api/room says it.
func roomKeyCheck(t *testing.T, box *boxAt) string {
	t.Helper()
	res, err := http.Get(box.url + "/api/room")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var room struct {
		KeyCheck string `json:"key_check"`
	}
	if err := json.NewDecoder(res.Body).Decode(&room); err != nil {
		t.Fatalf("decode the room: %v", err)
	}
	return room.KeyCheck
}

// resetWithKey makes the stopped box's room again, encrypted and public,
// and gives it key (no passphrase), as the first browser would.
func resetWithKey(t *testing.T, box *boxAt, key []byte) {
	t.Helper()
	opts := roomOptions(box.dir)
	opts.CreateOnStart = false
	if box.change != nil {
		box.change(&opts)
	}
	room, err := chat.Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("open the room to reset it: %v", err)
	}
	defer room.Close()
	if _, err := room.ResetKind(chat.RoomKind{Encrypted: true}); err != nil {
		t.Fatalf("reset the room: %v", err)
	}
	roomID := room.State().RoomID
	iv := make([]byte, 12)
	if _, err := rand.Read(iv); err != nil {
		t.Fatal(err)
	}
	ct := docSeal(t, key, iv, []byte("chatbox key check"), docAD("chatbox/v1", roomID, "keycheck", ""))
	check, _ := json.Marshal(envelope{V: 1, IV: b64url.EncodeToString(iv), CT: b64url.EncodeToString(ct)})
	if _, err := room.SetKey(context.Background(), chat.Sender{Addr: "127.0.0.1"}, string(check), nil); err != nil {
		t.Fatalf("give the new room its key: %v", err)
	}
}

// heapPeak samples a page's JavaScript heap (Runtime.getHeapUsage: the
// heap, and the memory behind its ArrayBuffers) until stopped, and keeps
// the highest of each. With collect, each reading follows a full garbage
// collection, so it counts only what the page still holds.
type heapPeak struct {
	stop chan struct{}
	done chan struct{}
	// used: the JS heap; backing: ArrayBuffers' memory; both: their sum,
	// at one moment. samples counts the readings.
	used, backing, both float64
	samples             int
	err                 error
}

func sampleHeap(p context.Context, collect bool) *heapPeak {
	h := &heapPeak{stop: make(chan struct{}), done: make(chan struct{})}
	every := 25 * time.Millisecond
	if collect {
		every = 100 * time.Millisecond
	}
	go func() {
		defer close(h.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			if collect {
				if _, err := chromedp.Call(p, heapprofiler.CollectGarbage, cdp.Empty{}); err != nil {
					h.err = err
					return
				}
			}
			u, err := chromedp.Call(p, cdpruntime.GetHeapUsage, cdp.Empty{})
			if err != nil {
				h.err = err
				return
			}
			h.samples++

			h.used = max(h.used, u.UsedSize)
			h.backing = max(h.backing, u.BackingStorageSize)
			h.both = max(h.both, u.UsedSize+u.BackingStorageSize)
			select {
			case <-h.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return h
}

// end stops the sampling and fails the test when it could not sample.
func (h *heapPeak) end(t *testing.T) {
	t.Helper()
	close(h.stop)
	<-h.done
	if h.err != nil || h.samples < 5 {
		t.Fatalf("the heap was read %d times (%v)", h.samples, h.err)
	}
}

func (h *heapPeak) String() string {
	return fmt.Sprintf("at most %s heap, %s buffers, %s together (%d readings)", mib(h.used), mib(h.backing), mib(h.both), h.samples)
}

func mib(n float64) string { return fmt.Sprintf("%.1f MiB", n/(1<<20)) }

// runFor runs steps on a page with a longer deadline than run's, for a
// large file on a busy machine.
func runFor(t *testing.T, p context.Context, d time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p, d)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// heapAtRest collects a page's garbage and reads its heap and buffers.
func heapAtRest(t *testing.T, p context.Context) float64 {
	t.Helper()
	u := get(t, p, chromedp.Action[cdpruntime.GetHeapUsageResult](func(ctx context.Context, tg *chromedp.Target) (cdpruntime.GetHeapUsageResult, error) {
		if _, err := chromedp.Call(ctx, heapprofiler.CollectGarbage, cdp.Empty{}); err != nil {
			return cdpruntime.GetHeapUsageResult{}, err
		}
		return chromedp.Call(ctx, cdpruntime.GetHeapUsage, cdp.Empty{})
	}))
	return u.UsedSize + u.BackingStorageSize
}

// shareLarge has a page share the file at path through the upload form,
// reading its heap meanwhile, and waits until the room shows it.
func shareLarge(t *testing.T, p context.Context, path string, collect bool) *heapPeak {
	t.Helper()
	name := filepath.Base(path)
	rest := heapAtRest(t, p)
	h := sampleHeap(p, collect)
	began := time.Now()
	run(t, p,
		chromedp.SetUploadFiles(chromedp.ID("file-input"), []string{path}),
		chromedp.WaitVisible(chromedp.ID("upload-send")),
		chromedp.Click(chromedp.ID("upload-send")),
	)
	if !collect {
		// What the person sees meanwhile (whichever step it is at).
		runFor(t, p, time.Minute, until(`/^(Encrypting|Uploading)/.test(document.getElementById("upload-size").textContent) || document.getElementById("upload-preview").hidden`))
		shootAll(t, p, "large-sharing")
	}
	runFor(t, p, 3*time.Minute, until(`document.getElementById("upload-preview").hidden`),
		until(`[...document.querySelectorAll("#messages .msg.file .file a")].some(a => a.textContent === `+jsString(name)+`)`))
	took := time.Since(began)
	h.end(t)
	t.Logf("sharing %s (collected at each reading: %v) took %v: at rest %s; %v; after it, collected: %s",
		name, collect, took.Round(time.Millisecond), mib(rest), h, mib(heapAtRest(t, p)))
	return h
}

// saved is what saveLarge found: the SHA-256 of the file the browser
// saved, and the page's heap meanwhile.
type saved struct {
	sum  [32]byte
	heap *heapPeak
}

// saveLarge has a page save a shared file by clicking it, reading its heap
// meanwhile.
func saveLarge(t *testing.T, p context.Context, name string, size int, collect bool) saved {
	t.Helper()
	downloads := t.TempDir()
	allowDownloads(t, p, downloads)
	runFor(t, p, time.Minute, until(`[...document.querySelectorAll("#messages .msg.file .file a")].some(a => a.textContent === `+jsString(name)+`)`))
	rest := heapAtRest(t, p)
	h := sampleHeap(p, collect)
	began := time.Now()
	run(t, p, chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll("#messages .msg.file .file a")].find(a => a.textContent === `+jsString(name)+`).click()`))
	if !collect {
		// The note follows the download; it is shot as it is then.
		runFor(t, p, time.Minute, until(`/^Decrypting .*%$/.test(document.getElementById("hint").textContent) || document.getElementById("hint").textContent === `+jsString(name+" decrypted.")))
		shootAll(t, p, "large-saving")
	}
	runFor(t, p, 3*time.Minute, until(`document.getElementById("hint").textContent === `+jsString(name+" decrypted.")))
	var got []byte
	for deadline := time.Now().Add(2 * time.Minute); ; {
		b, err := os.ReadFile(filepath.Join(downloads, name))
		if err == nil && len(b) == size {
			got = b
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 2 minutes for the browser to save %s (%d bytes): it has %d bytes (%v)", name, size, len(b), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	took := time.Since(began)
	h.end(t)
	t.Logf("saving %s (collected at each reading: %v) took %v: at rest %s; %v; after it, collected: %s",
		name, collect, took.Round(time.Millisecond), mib(rest), h, mib(heapAtRest(t, p)))
	return saved{sha256.Sum256(got), h}
}

// A file near the room's size limit goes through an encrypted room byte for
// byte, and neither page holds it whole in memory: it is encrypted and
// decrypted in chunks, gathered into Blobs (which the browser keeps out of
// the page). The test reads each page's heap as it works: once as it is
// (what the device pays, garbage included, until the engine collects it),
// once collecting the garbage before each reading (what the page holds).
func TestBrowserEncryptedLargeFile(t *testing.T) {
	const limit = 64 << 20
	size := limit
	br := newBrowser(t)
	box := newBoxAt(t, func(o *chat.Options) { o.MaxFileSize = limit })
	alice := br.page(t, box.url)
	link := makePublicEncrypted(t, alice, "alice")
	bob := br.page(t, link)
	joinAs(t, bob, "bob")

	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(data)
	dir := t.TempDir()
	first, second := filepath.Join(dir, "survey-raw.bin"), filepath.Join(dir, "survey-raw-again.bin")
	for _, path := range []string{first, second} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	data = nil

	// As it is: alice shares, bob saves.
	up := shareLarge(t, alice, first, false)
	down := saveLarge(t, bob, filepath.Base(first), size, false)
	if down.sum != want {
		t.Fatalf("bob's browser saved survey-raw.bin, but not the bytes alice shared (SHA-256 differs)")
	}
	// Collecting before each reading: bob shares, alice saves.
	upHeld := shareLarge(t, bob, second, true)
	downHeld := saveLarge(t, alice, filepath.Base(second), size, true)
	if downHeld.sum != want {
		t.Fatalf("alice's browser saved survey-raw-again.bin, but not the bytes bob shared (SHA-256 differs)")
	}

	// What a page holds is a read of the file or a piece of the download
	// (1 and 2 MiB), a few chunks and up to 4 MiB of parts on their way into
	// a Blob: a few megabytes whatever the file's size (measured: 3 to 11
	// MiB), never the file whole.
	for who, h := range map[string]*heapPeak{"bob's page while sharing": upHeld, "alice's page while saving": downHeld.heap} {
		if h.both > float64(size)/2 {
			t.Errorf("%s held up to %s (heap and buffers, garbage collected) for a file of %s", who, mib(h.both), mib(float64(size)))
		}
	}
	// Garbage included, a page never has as much as the file twice over
	// (the engine collects dropped buffers past some tens of megabytes).
	for who, h := range map[string]*heapPeak{"alice's page while sharing": up, "bob's page while saving": down.heap} {
		if h.both > float64(size)*2 {
			t.Errorf("%s had up to %s (heap and buffers) for a file of %s", who, mib(h.both), mib(float64(size)))
		}
	}
}

// A tab showing the launcher when someone else makes an encrypted room
// does not make that room's key: whoever made the room would then find
// its key taken, and this tab would be shown a link to share for a room
// it did not make. It says a room was just made, and waits for the link.
func TestBrowserEncryptedRoomMadeWhileALauncherIsOpen(t *testing.T) {
	br := newBrowser(t)
	box := newBoxAt(t, func(o *chat.Options) { o.CreateOnStart = false })
	bob := br.page(t, box.url)
	waitScreen(t, bob, "launcher")
	// Someone makes an encrypted room; their page has not made its key
	// yet (it is between its two requests, or it is the command line's).
	res, err := http.Post(box.url+"/api/room", "application/json", strings.NewReader(`{"encrypted":true}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated && res.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/room: %d", res.StatusCode)
	}
	waitScreen(t, bob, "remade")
	if title := get(t, bob, chromedp.Text(chromedp.ID("remade-title"))); title != "A room was just made here" {
		t.Errorf("bob's tab says %q", title)
	}
	if kc := roomKeyCheck(t, box); kc != "" {
		t.Fatalf("the tab on the launcher made the new room's key")
	}
	// The maker's page makes it, and bob opens the link.
	alice := br.page(t, box.url)
	run(t, alice, chromedp.WaitVisible(chromedp.ID("ready")))
	link := get(t, alice, chromedp.Text(chromedp.ID("ready-link")))
	run(t, alice, chromedp.Click(chromedp.ID("ready-enter")))
	joinAs(t, alice, "alice")
	say(t, alice, "made it")
	pasteLink(t, bob, link)
	joinAs(t, bob, "bob")
	waitForText(t, bob, "made it")
}

// A tab with the room's bare address (a notification's, or the room's tab
// closed and opened again) says it has no key, and takes the whole link
// pasted on the screen (so does the wrong-key screen): another box's link or one without its key is
// named as such; the room's link opens the room, and no address ever
// holds the key.
func TestBrowserEncryptedNoKeyTakesAPastedLink(t *testing.T) {
	br := newBrowser(t)
	box := newBoxAt(t, nil)
	alice := br.page(t, box.url)
	link := makePublicEncrypted(t, alice, "alice")
	say(t, alice, "read with a pasted link")
	waitForText(t, alice, "read with a pasted link")

	bob := br.page(t, box.url+"/#m1")
	run(t, bob, chromedp.WaitVisible(chromedp.ID("nokey")))
	for _, c := range []struct{ paste, want string }{
		{"https://elsewhere.example/#k=" + strings.SplitN(link, "#k=", 2)[1], "That link is for another box (elsewhere.example)"},
		{box.url + "/", "That link has no key either"},
	} {
		run(t, bob, chromedp.SendKeys(chromedp.ID("paste-link"), c.paste), chromedp.Click(chromedp.CSS("#paste-form button[type=submit]")),
			until(`document.getElementById("paste-error").textContent.startsWith(`+jsString(c.want)+`)`),
			chromedp.Evaluate[chromedp.Void](`document.getElementById("paste-link").value = ""`))
		if !get(t, bob, chromedp.Evaluate[bool](`!document.getElementById("nokey").hidden`)) {
			t.Fatalf("after pasting %q bob is not on the no-key screen", c.paste)
		}
	}
	shootAll(t, bob, "nokey-paste")
	run(t, bob, chromedp.SendKeys(chromedp.ID("paste-link"), link), pressEnter, until(`!document.getElementById("pick-nick").hidden`))
	joinAs(t, bob, "bob")
	waitForText(t, bob, "read with a pasted link")
	if h := get(t, bob, chromedp.Evaluate[string](`location.href`)); strings.Contains(h, "#k=") {
		t.Errorf("after the pasted link bob's address bar shows %q", h)
	}

	// Carol's link has another key: the wrong-key screen takes the right
	// link the same way.
	carol := br.page(t, box.url+"/#k="+strings.Repeat("A", 43))
	run(t, carol, chromedp.WaitVisible(chromedp.ID("badkey")),
		chromedp.SendKeys(chromedp.ID("paste-link"), link), pressEnter, until(`!document.getElementById("pick-nick").hidden`))
	joinAs(t, carol, "carol")
	waitForText(t, carol, "read with a pasted link")

	if r := box.log.find([]byte(strings.SplitN(link, "#k=", 2)[1])); r != nil {
		t.Errorf("a request carried the key:\n%.600s", r)
	}
}
