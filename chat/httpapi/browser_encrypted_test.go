package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	bolt "go.etcd.io/bbolt"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/internal/testpics"
)

// requestLog keeps every request the box was sent, as it arrived: its
// line, its headers and its body.
type requestLog struct {
	mu   sync.Mutex
	reqs [][]byte
}

// wrap records each request, then hands it to next.
func (l *requestLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rec bytes.Buffer
		fmt.Fprintf(&rec, "%s %s %s\n", r.Method, r.RequestURI, r.Proto)
		_ = r.Header.Write(&rec)
		if r.Body != nil {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, "read body", http.StatusBadRequest)
				return
			}
			rec.Write(body)
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		l.mu.Lock()
		l.reqs = append(l.reqs, rec.Bytes())
		l.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// find returns the first recorded request holding needle, or nil.
func (l *requestLog) find(needle []byte) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.reqs {
		if bytes.Contains(r, needle) {
			return r
		}
	}
	return nil
}

func (l *requestLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.reqs)
}

// boxAt is a room served at one address that outlives the room: the box
// can be stopped, its store changed, and started again where the browsers
// expect it.
type boxAt struct {
	dir  string
	addr string
	// change sets the room's options (it starts with none).
	change func(*chat.Options)
	url    string
	log    *requestLog
	room   *chat.Room
	srv    *httptest.Server
}

func (b *boxAt) start(t *testing.T) {
	t.Helper()
	opts := roomOptions(b.dir)
	opts.CreateOnStart = false
	if b.change != nil {
		b.change(&opts)
	}
	room, err := chat.Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("open room: %v", err)
	}
	srv := httptest.NewUnstartedServer(b.log.wrap(New(context.Background(), room, Options{})))
	var ln net.Listener
	for try := 0; ; try++ {
		ln, err = net.Listen("tcp", b.addr)
		if err == nil || try == 50 {
			break
		}
		time.Sleep(100 * time.Millisecond) // the old listener's port, being released
	}
	if err != nil {
		t.Fatalf("listen on %s again: %v", b.addr, err)
	}
	srv.Listener = ln
	srv.Start()
	b.addr = ln.Addr().String()
	b.url = srv.URL
	b.room, b.srv = room, srv
}

func (b *boxAt) stop() {
	if b.room == nil {
		return
	}
	b.room.CloseClients()
	b.srv.Close()
	b.room.Close()
	b.room, b.srv = nil, nil
}

func newBoxAt(t *testing.T, change func(*chat.Options)) *boxAt {
	t.Helper()
	b := &boxAt{dir: t.TempDir(), addr: "127.0.0.1:0", log: &requestLog{}, change: change}
	b.start(t)
	t.Cleanup(b.stop)
	return b
}

// storedMessages reads the box's messages as the API returns them.
func (b *boxAt) storedMessages(t *testing.T) []chat.Message {
	t.Helper()
	res, err := http.Get(b.url + "/api/messages?limit=1000")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out []chat.Message
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatalf("decode messages: %v", err)
	}
	return out
}

var b64url = base64.RawURLEncoding

type envelope struct {
	V  int    `json:"v"`
	IV string `json:"iv"`
	CT string `json:"ct"`
}

// scanNone scans the data directory (scanDataDir) and fails the test for
// each needle found.
func scanNone(t *testing.T, dir string, needles map[string][]byte) {
	t.Helper()
	list := make([][]byte, 0, len(needles))
	for _, n := range needles {
		list = append(list, n)
	}
	found := scanDataDir(t, dir, list...)
	for what, n := range needles {
		if where := found[string(n)]; len(where) > 0 {
			t.Errorf("the data directory holds %s in the clear, in %v", what, where)
		}
	}
	files := 0
	_ = filepath.WalkDir(filepath.Join(dir, "files"), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files++
		}
		return nil
	})
	if files < 2 {
		t.Errorf("the data directory's files/ holds %d files: the uploads are missing from the scan", files)
	}
}

// tamper flips a bit of a stored message's ciphertext, in the store itself
// (the box must be stopped).
func tamper(t *testing.T, dir string, id int64) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, "messages.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("open the store: %v", err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("messages"))
		key := binary.BigEndian.AppendUint64(nil, uint64(id))
		var m map[string]any
		if err := json.Unmarshal(b.Get(key), &m); err != nil {
			return err
		}
		var e envelope
		if err := json.Unmarshal([]byte(m["text"].(string)), &e); err != nil {
			return err
		}
		ct, err := b64url.DecodeString(e.CT)
		if err != nil {
			return err
		}
		ct[0] ^= 0x01
		e.CT = b64url.EncodeToString(ct)
		text, _ := json.Marshal(e)
		m["text"] = string(text)
		raw, _ := json.Marshal(m)
		return b.Put(key, raw)
	})
	if err != nil {
		t.Fatalf("change message %d in the store: %v", id, err)
	}
}

// pointAndClick rests the pointer on the last message whose own text
// (not a quote of it) includes text, and clicks its tool once the tool is there.
func pointAndClick(text, tool string) chromedp.Action[chromedp.Void] {
	return until(`(() => { const li = [...document.querySelectorAll("#messages .msg")].filter(e => { const t = e.querySelector(".text"); return t && t.textContent.includes(` + jsString(text) + `); }).pop();
		if (!li) return false;
		li.dispatchEvent(new PointerEvent("pointerover", { bubbles: true }));
		const b = li.querySelector(".tools .tool[title^='` + tool + `']"); if (!b) return false; b.click(); return true; })()`)
}

// allowDownloads lets a page's browser save downloads into dir.
func allowDownloads(t *testing.T, p context.Context, dir string) {
	t.Helper()
	if _, err := chromedp.CallBrowser(p, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir,
		BrowserContextID: chromedp.FromContext(p).BrowserContextID,
	}); err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
}

// waitForDownload waits until the browser has saved name in dir (it
// renames a download to its name once complete) with size bytes (any,
// when size is negative), and returns what it saved.
func waitForDownload(t *testing.T, dir, name string, size int) []byte {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil && (len(got) == size || size < 0 && len(got) > 0) {
			return got
		}
		if time.Now().After(deadline) {
			names, _ := os.ReadDir(dir)
			t.Fatalf("waited 20 s for the browser to save %s (%d bytes); the folder holds %v, the file %d bytes (%v)", name, size, names, len(got), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// saveURL has the page save a URL (a blob: URL: the page's CSP keeps
// fetch to the box) as name into the downloads folder dir, and returns its
// bytes. size is the length expected (negative: any).
func saveURL(t *testing.T, p context.Context, urlExpr, dir, name string, size int) []byte {
	t.Helper()
	run(t, p, chromedp.Evaluate[chromedp.Void](`(() => { const a = document.createElement("a"); a.href = `+urlExpr+`; a.download = `+jsString(name)+`;
		document.body.append(a); a.click(); a.remove(); })()`))
	return waitForDownload(t, dir, name, size)
}

// An encrypted room, as issue 13 asks to show it: two people chat and
// share through it, and each reads everything; a link without the key or
// with another key is told so; the box never sees the key, keeps none of
// the words or bytes, and a message it changes is marked, not garbled.
func TestBrowserEncryptedRoom(t *testing.T) {
	br := newBrowser(t)
	box := newBoxAt(t, nil)
	shots := screenshotDir(t)
	shoot := func(p context.Context, name string, sc screen) {
		t.Helper()
		look(t, p, sc)
		run(t, p, until(`document.fonts.status === "loaded"`), framesDrawn)
		png := get(t, p, chromedp.CaptureScreenshot())
		path := filepath.Join(shots, "encrypted-"+name+"-"+sc.name+".png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("saved %s", path)
	}

	// Alice makes the room from the launcher, encrypted, and is shown the
	// link to share.
	alice := br.page(t, box.url)
	run(t, alice, chromedp.WaitVisible(chromedp.ID("launcher")))
	shoot(alice, "launcher", screens[2])
	look(t, alice, screens[0])
	run(t, alice,
		chromedp.Click(chromedp.ID("create-encrypted")),
		chromedp.Click(chromedp.ID("create-public")),
		chromedp.WaitVisible(chromedp.ID("ready")),
	)
	link := get(t, alice, chromedp.Text(chromedp.ID("ready-link")))
	m := regexp.MustCompile(`^` + regexp.QuoteMeta(box.url) + `/#k=([A-Za-z0-9_-]{43})$`).FindStringSubmatch(link)
	if m == nil {
		t.Fatalf("the link to share is %q, want %s/#k= and 43 characters", link, box.url)
	}
	key, err := b64url.DecodeString(m[1])
	if err != nil || len(key) != 32 {
		t.Fatalf("the link's key %q is not 32 bytes of base64url: %v", m[1], err)
	}
	shoot(alice, "ready", screens[0])
	shoot(alice, "ready", screens[3])
	look(t, alice, screens[0])
	run(t, alice, chromedp.Click(chromedp.ID("ready-enter")))
	joinAs(t, alice, "alice")
	run(t, alice, chromedp.WaitVisible(chromedp.ID("encrypted-mark")))

	var room struct {
		Encrypted bool            `json:"encrypted"`
		RoomID    string          `json:"room_id"`
		KeyCheck  string          `json:"key_check"`
		KDF       json.RawMessage `json:"kdf"`
	}
	res, err := http.Get(box.url + "/api/room")
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(res.Body).Decode(&room)
	res.Body.Close()
	if err != nil || !room.Encrypted || room.RoomID == "" {
		t.Fatalf("GET /api/room after creating: %+v (%v)", room, err)
	}
	if plain, err := docDecrypt(key, room.RoomID, "keycheck", "", room.KeyCheck); err != nil || string(plain) != "chatbox key check" {
		t.Fatalf("the key check the browser made does not open by the document (%q, %v)", plain, err)
	}

	// Bob opens the link: the key leaves the address bar, and he is told
	// where the link may still be.
	bob := br.page(t, link)
	joinAs(t, bob, "bob")
	run(t, bob, chromedp.WaitVisible(chromedp.ID("key-note")), chromedp.WaitVisible(chromedp.ID("encrypted-mark")))
	if h := get(t, bob, chromedp.Evaluate[string](`location.href`)); strings.Contains(h, "#") {
		t.Errorf("bob's address bar still shows %q", h)
	}

	// They talk: texts, a ping, a reply, OpenPGP armor.
	words := map[string]string{
		"first":  "the harbour meeting moves to thursday",
		"second": "bring the blue folder with the tide tables",
		"third":  "and the spare oars from the shed",
		"ping":   "are you reading this, periwinkle",
		"reply":  "yes, thursday suits me fine",
		"edited": "the harbour meeting moves to friday",
	}
	say(t, alice, words["first"])
	waitForText(t, bob, words["first"])
	say(t, alice, words["second"])
	waitForText(t, bob, words["second"])
	say(t, alice, words["third"])
	waitForText(t, bob, words["third"])
	say(t, alice, "/ping bob "+words["ping"])
	waitForText(t, bob, "@bob "+words["ping"])
	run(t, bob, until(`document.querySelector("#messages .msg.pinged .ping-mark") !== null`))
	armor := chat.PGPBegin + "\n\nhQEMA1234periwinkle\n=abcd\n-----END PGP MESSAGE-----\n"
	say(t, bob, armor)
	run(t, alice, until(`(() => { const d = document.querySelector("#messages .msg details.pgp pre"); return d && d.textContent === `+jsString(armor)+`; })()`))

	run(t, bob, pointAndClick(words["first"], "Reply"), chromedp.WaitVisible(chromedp.ID("reply-bar")))
	say(t, bob, words["reply"])
	run(t, alice, until(`(() => { const q = [...document.querySelectorAll("#messages .msg .quote")].pop(); return q && q.textContent.includes(`+jsString(words["first"])+`); })()`))
	waitForText(t, alice, words["reply"])

	// Bob reacts, takes it back, reacts again; alice sees it each time.
	reactions := `[...document.querySelectorAll("#messages .msg")].find(e => e.textContent.includes(` + jsString(words["second"]) + `)).querySelectorAll(".reaction").length`
	run(t, bob, pointAndClick(words["second"], "React"))
	run(t, alice, until(reactions+` === 1`))
	emoji := get(t, alice, chromedp.Evaluate[string](`[...document.querySelectorAll("#messages .msg")].find(e => e.textContent.includes(`+jsString(words["second"])+`)).querySelector(".reaction .emoji").textContent`))
	run(t, bob, until(`(() => { const li = [...document.querySelectorAll("#messages .msg")].find(e => e.textContent.includes(`+jsString(words["second"])+`));
		const r = li.querySelector(".reaction[aria-pressed=true]"); if (!r) return false; r.click(); return true; })()`))
	run(t, alice, until(reactions+` === 0`))
	run(t, bob, pointAndClick(words["second"], "React"))
	run(t, alice, until(reactions+` === 1`))

	// Alice edits her first message.
	run(t, alice, pointAndClick(words["first"], "Edit"), until(`document.getElementById("text").value === `+jsString(words["first"])),
		setText(words["edited"]), pressEnter)
	run(t, bob, until(`[...document.querySelectorAll("#messages .msg")].some(e => e.querySelector(".text").textContent === `+jsString(words["edited"])+` && e.querySelector(".edited"))`))

	// Alice shares a picture and a PDF.
	picture := testpics.PNG(900, 600)
	pdf := []byte("%PDF-1.4\n% minutes of the harbour committee: the lighthouse keeper resigns\n" + strings.Repeat("0123456789abcdef", 9000) + "\n%%EOF\n")
	dir := t.TempDir()
	picPath, pdfPath := filepath.Join(dir, "lighthouse.png"), filepath.Join(dir, "committee-minutes.pdf")
	if err := os.WriteFile(picPath, picture, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pdfPath, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{picPath, pdfPath} {
		run(t, alice,
			chromedp.SetUploadFiles(chromedp.ID("file-input"), []string{path}),
			chromedp.WaitVisible(chromedp.ID("upload-send")),
			chromedp.Click(chromedp.ID("upload-send")),
			chromedp.WaitNotVisible(chromedp.ID("upload-preview")),
		)
	}
	// Alice sees her picture, decrypted, as everyone does.
	run(t, alice, until(`(() => { const i = document.querySelector("#messages .msg.file .picture img");
		return i && i.src.startsWith("blob:") && i.complete && i.naturalWidth === 300; })()`),
		until(`[...document.querySelectorAll("#messages .msg.file .file a")].map(a => a.textContent).join() === "lighthouse.png,committee-minutes.pdf"`))
	// Bob sees the thumbnail, decrypted, and the whole picture in the
	// viewer, byte for byte.
	run(t, bob, until(`(() => { const i = document.querySelector("#messages .msg.file .picture img");
		return i && i.src.startsWith("blob:") && i.complete && i.naturalWidth === 300; })()`))
	downloads := t.TempDir()
	allowDownloads(t, bob, downloads)
	thumbPlain := saveURL(t, bob, `document.querySelector("#messages .msg.file .picture img").src`, downloads, "thumb.bin", -1)
	run(t, bob, chromedp.Click(chromedp.CSS("#messages .msg.file .picture")),
		until(`(() => { const i = document.getElementById("viewer-img"); return i.src.startsWith("blob:") && i.complete && i.naturalWidth === 900; })()`))
	if got := saveURL(t, bob, `document.getElementById("viewer-img").src`, downloads, "lighthouse-seen.png", len(picture)); !bytes.Equal(got, picture) {
		t.Errorf("bob's picture is %d bytes, not the %d alice shared", len(got), len(picture))
	}
	run(t, bob, chromedp.Click(chromedp.ID("viewer-close")), chromedp.WaitNotVisible(chromedp.ID("viewer")))

	// Bob saves the PDF: his browser saves it under its name, decrypted.
	run(t, bob, until(`[...document.querySelectorAll("#messages .msg.file .file a")].some(a => a.textContent === "committee-minutes.pdf")`),
		chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll("#messages .msg.file .file a")].find(a => a.textContent === "committee-minutes.pdf").click()`))
	if got := waitForDownload(t, downloads, "committee-minutes.pdf", len(pdf)); !bytes.Equal(got, pdf) {
		t.Errorf("bob's browser saved committee-minutes.pdf, but not the bytes alice shared")
	}

	// The envelopes and the files open by the document alone.
	stored := box.storedMessages(t)
	var sawText, sawPing, sawFiles int
	var second, first, third int64
	for _, msg := range stored {
		switch msg.Kind {
		case "text", "ping":
			plain, err := docDecrypt(key, room.RoomID, string(msg.Kind), msg.Nick, msg.Text)
			if err != nil {
				t.Errorf("message %d (%s from %s) does not open by the document: %v", msg.ID, msg.Kind, msg.Nick, err)
				continue
			}
			switch string(plain) {
			case words["edited"]:
				first = int64(msg.ID)
			case words["second"]:
				second = int64(msg.ID)
			case words["third"]:
				third = int64(msg.ID)
			}
			if msg.Kind == "ping" {
				sawPing++
				if msg.To != "bob" || string(plain) != words["ping"] {
					t.Errorf("the ping is to %q, saying %q", msg.To, plain)
				}
			}
			sawText++
		case "file":
			plain, err := docDecrypt(key, room.RoomID, "file", msg.Nick, msg.Text)
			if err != nil {
				t.Fatalf("file message %d's description does not open: %v", msg.ID, err)
			}
			var d docFile
			if err := json.Unmarshal(plain, &d); err != nil || msg.File == nil {
				t.Fatalf("file message %d: description %q (%v), file %+v", msg.ID, plain, err, msg.File)
			}
			res, err := http.Get(box.url + msg.File.URL)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if ct := res.Header.Get("Content-Type"); ct != "application/octet-stream" {
				t.Errorf("%s is served as %q", msg.File.URL, ct)
			}
			got, err := docDecryptFile(key, room.RoomID, msg.Nick, d, raw)
			want := map[string][]byte{"lighthouse.png": picture, "committee-minutes.pdf": pdf}[d.Name]
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s does not decrypt by the document to what was shared (%v)", d.Name, err)
			}
			if d.Name == "lighthouse.png" {
				// The thumbnail too, as bob's browser decrypted it.
				if d.Thumb == nil || msg.File.Thumb == "" {
					t.Fatalf("the picture has no thumbnail: description %+v, file %+v", d, msg.File)
				}
				res, err := http.Get(box.url + msg.File.Thumb)
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := io.ReadAll(res.Body)
				res.Body.Close()
				got, err := docDecryptThumb(key, room.RoomID, msg.Nick, d, raw)
				if err != nil || !bytes.Equal(got, thumbPlain) || d.Thumb.W != 300 || d.Thumb.H != 200 {
					t.Errorf("the thumbnail does not decrypt by the document to what bob saw (%v), or is not 300x200 (%dx%d)", err, d.Thumb.W, d.Thumb.H)
				}
			}
			sawFiles++
		}
	}
	if sawText != 6 || sawPing != 1 || sawFiles != 2 || first == 0 || second == 0 || third == 0 {
		t.Fatalf("the box holds %d texts, %d pings and %d files (want 6, 1, 2)", sawText, sawPing, sawFiles)
	}

	// A third person: the link without its key, then with another key.
	carol := br.page(t, box.url+"/")
	run(t, carol, chromedp.WaitVisible(chromedp.ID("nokey")))
	if h := get(t, carol, chromedp.Text(chromedp.CSS("#nokey h1"))); h != "This link has no key" {
		t.Errorf("without a key carol reads %q", h)
	}
	shoot(carol, "nokey", screens[2])
	wrong := make([]byte, 32)
	if _, err := rand.Read(wrong); err != nil {
		t.Fatal(err)
	}
	dave := br.page(t, box.url+"/#k="+b64url.EncodeToString(wrong))
	run(t, dave, chromedp.WaitVisible(chromedp.ID("badkey")))
	if h := get(t, dave, chromedp.Text(chromedp.CSS("#badkey h1"))); h != "This key does not open this room" {
		t.Errorf("with a wrong key dave reads %q", h)
	}
	if n := get(t, dave, chromedp.Evaluate[int](`document.querySelectorAll("#messages .msg").length`)); n != 0 {
		t.Errorf("with a wrong key dave's page drew %d messages", n)
	}
	shoot(dave, "badkey", screens[1])

	// Screenshots of the conversation, as bob sees it.
	for _, sc := range screens {
		shoot(bob, "room", sc)
	}
	look(t, bob, screens[0])

	// The box changes a message in its store: bob reads it as "could not
	// be decrypted", and the messages around it as they were.
	box.stop()
	scanNone(t, box.dir, map[string][]byte{
		"the link's key":                   key,
		"the link's key (base64url)":       []byte(m[1]),
		"a word of a message":              []byte("thursday"),
		"the edited message":               []byte(words["edited"]),
		"the second message":               []byte(words["second"]),
		"the ping's words":                 []byte("periwinkle"),
		"the reply":                        []byte("suits me fine"),
		"the picture's name":               []byte("lighthouse"),
		"the PDF's name":                   []byte("committee-minutes"),
		"the PDF's words":                  []byte("lighthouse keeper resigns"),
		"the picture's bytes":              picture[len(picture)/2 : len(picture)/2+64],
		"the picture's start":              picture[:64],
		"the thumbnail's bytes":            thumbPlain[len(thumbPlain)/2 : len(thumbPlain)/2+64],
		"the reaction":                     []byte(emoji),
		"the PDF's body":                   []byte(strings.Repeat("0123456789abcdef", 4)),
		"the OpenPGP armor inside":         []byte("BEGIN PGP"),
		"the file's type":                  []byte("image/png"),
		"a thumbnail's type (webp / jpeg)": []byte("image/webp"),
	})
	tamper(t, box.dir, second)
	box.start(t)
	run(t, bob, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("room")),
		until(`document.querySelector("#m`+strconv.FormatInt(second, 10)+`.undecryptable") !== null`))
	if got := get(t, bob, chromedp.Text(chromedp.CSS("#m"+strconv.FormatInt(second, 10)+" .text"))); got != "This message could not be decrypted." {
		t.Errorf("the changed message reads %q", got)
	}
	for _, id := range []int64{first, third} {
		txt := get(t, bob, chromedp.Text(chromedp.CSS("#m"+strconv.FormatInt(id, 10)+" .text")))
		if txt != words["edited"] && txt != words["third"] {
			t.Errorf("message %d beside the changed one reads %q", id, txt)
		}
	}
	// The reload opened the room with the key this tab kept.
	run(t, bob, chromedp.WaitVisible(chromedp.ID("encrypted-mark")),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("m`+strconv.FormatInt(second, 10)+`").scrollIntoView({ block: "center" })`))
	shoot(bob, "tampered", screens[0])

	// No request ever carried the key, in any form, nor the words.
	if box.log.count() < 20 {
		t.Fatalf("the request log holds only %d requests", box.log.count())
	}
	for what, needle := range map[string][]byte{
		"the key (base64url)":   []byte(m[1]),
		"the key (bytes)":       key,
		"the key (base64)":      []byte(base64.StdEncoding.EncodeToString(key)[:40]),
		"the wrong key":         []byte(b64url.EncodeToString(wrong)),
		"a fragment":            []byte("#k="),
		"a fragment (escaped)":  []byte("%23k%3D"),
		"a message's words":     []byte("thursday"),
		"the ping's words":      []byte("periwinkle"),
		"the PDF's words":       []byte("lighthouse keeper"),
		"the picture's name":    []byte("lighthouse.png"),
		"the picture's content": picture[len(picture)/2 : len(picture)/2+64],
	} {
		if r := box.log.find(needle); r != nil {
			t.Errorf("a request carried %s:\n%.600s", what, r)
		}
	}
}

// barOffScreen is a script naming what of the room's bar is drawn past
// the edges of a screen width pixels wide, and the page when it is wider.
// (A phone's layout viewport grows to fit what overflows it, so the
// screen's width is the test's own, not the page's innerWidth.)
func barOffScreen(width int64) string {
	return fmt.Sprintf(`(() => {
	const off = [];
	for (const el of document.querySelectorAll("#room .bar > *")) {
		const r = el.getBoundingClientRect();
		if (r.width === 0) continue;
		if (r.left < 0 || r.right > %[1]d) off.push((el.id || el.className) + " at " + Math.round(r.left) + "-" + Math.round(r.right));
	}
	if (document.documentElement.scrollWidth > %[1]d) off.push("the page, " + document.documentElement.scrollWidth + "px wide");
	return off;
})()`, width)
}

// A private encrypted room: its key is made from the link's key and the
// room's password together (PBKDF2, 600,000 iterations), so the link alone
// does not open it; whoever has both reads it.
func TestBrowserEncryptedPrivateRoom(t *testing.T) {
	br := newBrowser(t)
	box := newBoxAt(t, nil)
	alice := br.page(t, box.url)
	run(t, alice,
		chromedp.WaitVisible(chromedp.ID("launcher")),
		chromedp.Click(chromedp.ID("create-encrypted")),
		chromedp.Click(chromedp.ID("create-private")),
		chromedp.WaitVisible(chromedp.ID("ready")),
		chromedp.WaitVisible(chromedp.ID("ready-password")),
	)
	link := get(t, alice, chromedp.Text(chromedp.ID("ready-link")))
	password := get(t, alice, chromedp.Text(chromedp.ID("ready-password-text")))
	if !strings.Contains(link, "#k=") || password == "" {
		t.Fatalf("the ready screen shows the link %q and the password %q", link, password)
	}
	// Copying says so where the person looks: on the button pressed.
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(alice, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: name}, Setting: cdpbrowser.PermissionSettingGranted,
			Origin: box.url, BrowserContextID: chromedp.FromContext(alice).BrowserContextID,
		}); err != nil {
			t.Fatalf("grant %s: %v", name, err)
		}
	}
	for id, want := range map[string]string{"copy-ready-link": link, "copy-ready-password": password} {
		run(t, alice, chromedp.Click(chromedp.ID(id)), until(`document.getElementById("`+id+`").textContent === "Copied"`))
		if got := get(t, alice, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise)); got != want {
			t.Errorf("%s put %q on the clipboard, want %q", id, got, want)
		}
	}
	shot := filepath.Join(screenshotDir(t), "encrypted-ready-private-desktop-light.png")
	if err := os.WriteFile(shot, get(t, alice, chromedp.CaptureScreenshot()), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, alice, chromedp.Click(chromedp.ID("ready-enter")))
	joinAs(t, alice, "alice")
	say(t, alice, "the password and the link, together")

	// The room's record says how the key is derived.
	res, err := http.Get(box.url + "/api/room")
	if err != nil {
		t.Fatal(err)
	}
	var room struct {
		Encrypted bool `json:"encrypted"`
	}
	_ = json.NewDecoder(res.Body).Decode(&room)
	res.Body.Close()
	if !room.Encrypted {
		t.Fatal("the room is not encrypted")
	}

	// Bob has the link and the password: he reads the room.
	bob := br.page(t, link)
	run(t, bob, chromedp.WaitVisible(chromedp.ID("login")), chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")))
	joinAs(t, bob, "bob")
	waitForText(t, bob, "the password and the link, together")

	// On a phone, the room's bar says both marks and keeps every button
	// on the screen: the menu is how a phone copies the link or leaves.
	look(t, bob, screen{"phone", 390, 844, true, false})
	if off := get(t, bob, chromedp.Evaluate[[]string](barOffScreen(390))); len(off) > 0 {
		t.Errorf("on a phone the room's bar puts %v off the screen", off)
	}
	if err := os.WriteFile(filepath.Join(screenshotDir(t), "encrypted-private-room-phone-light.png"), get(t, bob, chromedp.CaptureScreenshot()), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, bob, chromedp.Click(chromedp.ID("menu-button")), chromedp.WaitVisible(chromedp.ID("copy-link")))
	kdf := get(t, bob, chromedp.Evaluate[[]any](`fetch("/api/room").then(r => r.json()).then(r => [r.kdf.name, r.kdf.iterations, r.kdf.salt.length])`, chromedp.EvalAwaitPromise))
	if kdf[0] != "PBKDF2-SHA-256" || kdf[1].(float64) != 600000 || kdf[2].(float64) != 22 {
		t.Errorf("the room's kdf is %v, want PBKDF2-SHA-256, 600000 iterations and a 16-byte salt", kdf)
	}

	// Carol has the password and a link cut of its key: she is told.
	carol := br.page(t, box.url)
	run(t, carol, chromedp.WaitVisible(chromedp.ID("login")), chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("nokey")))
}

// A room the command line made encrypted has no key yet: the first
// browser makes it and is shown the link; the room's bare address then
// says it has no key.
func TestBrowserEncryptedRoomFromTheCommandLine(t *testing.T) {
	br := newBrowser(t)
	box := newBoxAt(t, func(o *chat.Options) { o.CreateOnStart, o.Encrypted = true, true })
	alice := br.page(t, box.url)
	run(t, alice, chromedp.WaitVisible(chromedp.ID("ready")))
	link := get(t, alice, chromedp.Text(chromedp.ID("ready-link")))
	if !regexp.MustCompile(`/#k=[A-Za-z0-9_-]{43}$`).MatchString(link) {
		t.Fatalf("the first browser is shown the link %q", link)
	}
	run(t, alice, chromedp.Click(chromedp.ID("ready-enter")))
	joinAs(t, alice, "alice")
	say(t, alice, "first words in a fresh room")
	waitForText(t, alice, "first words in a fresh room")

	bare := br.page(t, box.url)
	run(t, bare, chromedp.WaitVisible(chromedp.ID("nokey")))
	bob := br.page(t, link)
	joinAs(t, bob, "bob")
	waitForText(t, bob, "first words in a fresh room")
}
