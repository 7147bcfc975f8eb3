package httpapi

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/internal/testpics"
)

// testEnvelope makes an envelope with a ct of n bytes: the box cannot
// tell it from a real one, and does not try.
func testEnvelope(n int, seed byte) string {
	iv := make([]byte, chat.EnvelopeIVBytes)
	ct := make([]byte, n)
	for i := range iv {
		iv[i] = seed + byte(i)
	}
	for i := range ct {
		ct[i] = seed ^ byte(i)
	}
	enc := base64.RawURLEncoding
	return fmt.Sprintf(`{"v":1,"iv":%q,"ct":%q}`, enc.EncodeToString(iv), enc.EncodeToString(ct))
}

// newEncryptedRoom serves an encrypted room created at start.
func newEncryptedRoom(t *testing.T, change func(*testOptions)) *testRoom {
	t.Helper()
	return newTestRoom(t, func(o *testOptions) {
		o.Encrypted = true
		if change != nil {
			change(o)
		}
	})
}

type roomJSON struct {
	Exists     bool      `json:"exists"`
	Authorized bool      `json:"authorized"`
	Encrypted  bool      `json:"encrypted"`
	RoomID     string    `json:"room_id"`
	KeyCheck   *string   `json:"key_check"`
	KDF        *chat.KDF `json:"kdf"`
}

func TestAnEncryptedRoomIsGivenItsKeyOnceOverHTTP(t *testing.T) {
	tr := newEncryptedRoom(t, nil)
	_, raw := tr.do(t, "GET", "/api/room", nil, nil)
	info := decode[roomJSON](t, raw)
	if !info.Encrypted || len(info.RoomID) != 22 || info.KeyCheck == nil || *info.KeyCheck != "" || info.KDF != nil {
		t.Fatalf("GET /api/room of a new encrypted room: %s", raw)
	}
	kdf := map[string]any{"name": "PBKDF2-SHA-256", "iterations": 600000, "salt": "wMHCw8TFxsfIycrLzM3Ozw"}
	for _, bad := range []map[string]any{
		{"key_check": "chatbox key check"},
		{"key_check": testEnvelope(33, 1), "kdf": map[string]any{"name": "PBKDF2-SHA-256", "iterations": 1000, "salt": "wMHCw8TFxsfIycrLzM3Ozw"}},
	} {
		if res, raw := tr.do(t, "PUT", "/api/room/key", bad, nil); res.StatusCode != http.StatusBadRequest {
			t.Errorf("PUT /api/room/key %v: %d %s, want 400", bad, res.StatusCode, raw)
		}
	}
	kc := testEnvelope(33, 1)
	res, raw := tr.do(t, "PUT", "/api/room/key", map[string]any{"key_check": kc, "kdf": kdf}, nil)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("PUT /api/room/key: %d %s", res.StatusCode, raw)
	}
	res, raw = tr.do(t, "PUT", "/api/room/key", map[string]any{"key_check": testEnvelope(33, 2)}, nil)
	if res.StatusCode != http.StatusConflict || !strings.Contains(string(raw), "this room already has a key") {
		t.Errorf("a second PUT /api/room/key: %d %s, want 409", res.StatusCode, raw)
	}
	_, raw = tr.do(t, "GET", "/api/room", nil, nil)
	info = decode[roomJSON](t, raw)
	if info.KeyCheck == nil || *info.KeyCheck != kc || info.KDF == nil || info.KDF.Iterations != 600000 || info.KDF.Salt != "wMHCw8TFxsfIycrLzM3Ozw" {
		t.Errorf("GET /api/room after the key: %s", raw)
	}
	// The welcome says the same.
	ws := tr.dial(t, "alice", nil)
	welcome := ws.next()
	if welcome.Type != "presence" || welcome.Room == nil || welcome.Room.KeyCheck != kc || welcome.Room.RoomID != info.RoomID || welcome.Room.KDF == nil {
		t.Errorf("the welcome of an encrypted room: %+v (room %+v)", welcome, welcome.Room)
	}
}

func TestAPlainRoomSaysItIsNotEncrypted(t *testing.T) {
	tr := newTestRoom(t, nil)
	_, raw := tr.do(t, "GET", "/api/room", nil, nil)
	if info := decode[roomJSON](t, raw); info.Encrypted || info.KeyCheck != nil || info.KDF != nil || !strings.Contains(string(raw), `"encrypted":false`) {
		t.Errorf("GET /api/room of a plain room: %s", raw)
	}
	if res, raw := tr.do(t, "PUT", "/api/room/key", map[string]any{"key_check": testEnvelope(33, 1)}, nil); res.StatusCode != http.StatusConflict {
		t.Errorf("PUT /api/room/key in a plain room: %d %s, want 409", res.StatusCode, raw)
	}
	ws := tr.dial(t, "alice", nil)
	if welcome := ws.next(); welcome.Room != nil {
		t.Errorf("the welcome of a plain room carries %+v", welcome.Room)
	}
}

func TestAPrivateEncryptedRoomShowsItsKeyOnlyToThoseLetIn(t *testing.T) {
	tr := newEncryptedRoom(t, func(o *testOptions) { o.Private = true })
	password, _ := tr.TakeInitialPassword()
	basic := func(r *http.Request) { r.SetBasicAuth("", password) }
	if res, raw := tr.do(t, "PUT", "/api/room/key", map[string]any{"key_check": testEnvelope(33, 1)}, nil); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("PUT /api/room/key without the password: %d %s", res.StatusCode, raw)
	}
	if res, raw := tr.do(t, "PUT", "/api/room/key", map[string]any{"key_check": testEnvelope(33, 1)}, basic); res.StatusCode != http.StatusCreated {
		t.Fatalf("PUT /api/room/key with the password: %d %s", res.StatusCode, raw)
	}
	_, raw := tr.do(t, "GET", "/api/room", nil, nil)
	if info := decode[roomJSON](t, raw); info.Authorized || info.RoomID != "" || info.KeyCheck != nil || strings.Contains(string(raw), "key_check") {
		t.Errorf("GET /api/room without the password: %s", raw)
	}
	_, raw = tr.do(t, "GET", "/api/room", nil, basic)
	if info := decode[roomJSON](t, raw); !info.Authorized || info.RoomID == "" || info.KeyCheck == nil || *info.KeyCheck != testEnvelope(33, 1) {
		t.Errorf("GET /api/room with the password: %s", raw)
	}
}

func TestTheLauncherMakesAnEncryptedRoom(t *testing.T) {
	for _, private := range []bool{false, true} {
		tr := newTestRoom(t, func(o *testOptions) { o.CreateOnStart = false })
		res, raw := tr.do(t, "POST", "/api/room", map[string]any{"private": private, "encrypted": true}, nil)
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("create (private %v): %d %s", private, res.StatusCode, raw)
		}
		out := decode[map[string]string](t, raw)
		st := tr.State()
		if !st.Encrypted || st.Private != private || out["room_id"] != st.RoomID || len(out["room_id"]) != 22 || (out["password"] != "") != private {
			t.Errorf("created (private %v): %s; state %+v", private, raw, st)
		}
	}
	tr := newTestRoom(t, func(o *testOptions) { o.CreateOnStart, o.LauncherPrivate = false, false })
	if res, raw := tr.do(t, "POST", "/api/room", map[string]any{"private": true, "encrypted": true}, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("a private encrypted room where only public ones may be made: %d %s", res.StatusCode, raw)
	}
}

func TestPlainTextIsRefusedInAnEncryptedRoomOnEveryPath(t *testing.T) {
	tr := newEncryptedRoom(t, nil)
	res, raw := tr.do(t, "POST", "/api/messages", map[string]string{"nick": "alice", "text": "hello"}, nil)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(raw), chat.SayEncrypted) {
		t.Errorf("a plain post: %d %s, want 400 %q", res.StatusCode, raw, chat.SayEncrypted)
	}
	m := tr.post(t, "alice", testEnvelope(20, 1))
	ws := tr.dial(t, "bob", nil)
	ws.send(map[string]any{"type": "message", "text": "hello over the socket"})
	ev := ws.waitFor("error", func(ev chat.Event) bool { return ev.Type == "error" })
	if ev.Error != chat.SayEncrypted || ev.Code != "invalid" {
		t.Errorf("a plain message over the WebSocket: %+v", ev)
	}
	ws.send(map[string]any{"type": "message", "text": testEnvelope(30, 2), "to": "alice", "client_id": "c1"})
	ws.waitFor("error", func(ev chat.Event) bool {
		// alice posted over HTTP and is not in the room: the ping is refused
		// as to anyone absent, which says the "to" was read.
		return ev.Type == "error" && ev.Code == "not_present"
	})
	ws.send(map[string]any{"type": "message", "text": testEnvelope(30, 2), "to": "bob", "client_id": "c2"})
	got := ws.waitFor("ack", func(ev chat.Event) bool { return ev.Type == "ack" })
	if got.Message.Kind != chat.KindPing || got.Message.To != "bob" {
		t.Errorf("a ping sent with to: %+v", got.Message)
	}
	// Reactions: an envelope, over HTTP.
	res, raw = tr.do(t, "POST", fmt.Sprintf("/api/messages/%d/reactions", m.ID), map[string]any{"nick": "bob", "emoji": "👍", "on": true}, nil)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(raw), chat.SayEncrypted) {
		t.Errorf("a plain reaction: %d %s", res.StatusCode, raw)
	}
	res, raw = tr.do(t, "POST", fmt.Sprintf("/api/messages/%d/reactions", m.ID), map[string]any{"nick": "bob", "emoji": testEnvelope(20, 3), "on": true}, nil)
	if res.StatusCode != http.StatusOK {
		t.Errorf("an encrypted reaction: %d %s", res.StatusCode, raw)
	}
	// "to" is for encrypted rooms.
	plain := newTestRoom(t, nil)
	if res, raw := plain.do(t, "POST", "/api/messages", map[string]string{"nick": "alice", "text": "hi", "to": "bob"}, nil); res.StatusCode != http.StatusBadRequest {
		t.Errorf("to in a plain room: %d %s", res.StatusCode, raw)
	}
}

// shareEncrypted uploads an encrypted room's file: the fields nick, text
// (the envelope), file and, unless thumb is nil, thumb.
func (tr *testRoom) shareEncrypted(t *testing.T, nick, text string, data, thumb []byte) (*http.Response, []byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("nick", nick)
	if text != "" {
		mw.WriteField("text", text)
	}
	part := func(field string, b []byte) {
		h := make(textproto.MIMEHeader)
		h.Set("Content-Disposition", `form-data; name="`+field+`"; filename="blob"`)
		h.Set("Content-Type", "application/octet-stream")
		pw, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		pw.Write(b)
	}
	part("file", data)
	if thumb != nil {
		part("thumb", thumb)
	}
	mw.Close()
	return tr.do(t, "POST", "/api/files", body.String(), func(r *http.Request) {
		r.Header.Set("Content-Type", mw.FormDataContentType())
	})
}

func TestAnEncryptedRoomsFilesAreKeptAndServedAsTheyCame(t *testing.T) {
	const maxFile = 200 << 10
	tr := newEncryptedRoom(t, func(o *testOptions) { o.MaxFileSize = maxFile; o.Quota = 10 * maxFile })
	// A real PNG, as if a browser had sent it in the clear: the box must
	// not notice, strip, decode or thumbnail it.
	pic := testpics.PNG(320, 240)
	desc := testEnvelope(120, 5)
	thumb := bytes.Repeat([]byte{0xee, 0x01}, 3000)
	res, raw := tr.shareEncrypted(t, "alice", desc, pic, thumb)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", res.StatusCode, raw)
	}
	m := decode[chat.Message](t, raw)
	if m.Kind != chat.KindFile || m.Text != desc || m.File == nil || m.File.Name != "encrypted" || m.File.Type != "application/octet-stream" || m.File.Size != int64(len(pic)) || m.File.Thumb == "" {
		t.Fatalf("the file's message: %s", raw)
	}
	res, got := tr.do(t, "GET", m.File.URL, nil, nil)
	if res.StatusCode != http.StatusOK || !bytes.Equal(got, pic) {
		t.Fatalf("GET %s: %d, %d bytes, want the %d bytes sent", m.File.URL, res.StatusCode, len(got), len(pic))
	}
	if ct, cd := res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"); ct != "application/octet-stream" || !strings.HasPrefix(cd, "attachment") {
		t.Errorf("the file is served as %q, %q", ct, cd)
	}
	res, got = tr.do(t, "GET", m.File.Thumb, nil, nil)
	if res.StatusCode != http.StatusOK || !bytes.Equal(got, thumb) || res.Header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("GET %s: %d %q, %d bytes, want the %d bytes sent", m.File.Thumb, res.StatusCode, res.Header.Get("Content-Type"), len(got), len(thumb))
	}
	// On disk: the bytes as sent, and no thumbnail the box made.
	dirs := uploadDirs(t, tr.dir)
	if len(dirs) != 1 {
		t.Fatalf("%d upload folders", len(dirs))
	}
	onDisk, err := os.ReadFile(filepath.Join(tr.dir, "files", dirs[0], "original"))
	if err != nil || !bytes.Equal(onDisk, pic) {
		t.Errorf("the stored file differs from what was sent (%v)", err)
	}
	if th, _ := os.ReadFile(filepath.Join(tr.dir, "files", dirs[0], "thumb")); !bytes.Equal(th, thumb) {
		t.Errorf("the stored thumbnail is not the one sent")
	}

	// Without a description, with plain text, or too big: refused.
	if res, raw := tr.shareEncrypted(t, "alice", "", pic, nil); res.StatusCode != http.StatusBadRequest || !strings.Contains(string(raw), chat.SayEncrypted) {
		t.Errorf("no text: %d %s", res.StatusCode, raw)
	}
	if res, raw := tr.shareEncrypted(t, "alice", "holiday.jpg", pic, nil); res.StatusCode != http.StatusBadRequest || !strings.Contains(string(raw), chat.SayEncrypted) {
		t.Errorf("plain text: %d %s", res.StatusCode, raw)
	}
	// max_file_size plus a tag for each of its chunks fits; a byte more
	// does not.
	most := chat.MaxEncryptedFileSize(maxFile)
	if most != maxFile+4*16 {
		t.Fatalf("the most of a %d-byte file is %d, want %d", maxFile, most, maxFile+4*16)
	}
	if res, raw := tr.shareEncrypted(t, "alice", desc, bytes.Repeat([]byte{1}, int(most)), nil); res.StatusCode != http.StatusCreated {
		t.Errorf("a file of %d bytes: %d %s", most, res.StatusCode, raw)
	}
	if res, raw := tr.shareEncrypted(t, "alice", desc, bytes.Repeat([]byte{1}, int(most)+1), nil); res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a file of %d bytes: %d %s", most+1, res.StatusCode, raw)
	}
	if res, raw := tr.shareEncrypted(t, "alice", desc, pic, make([]byte, chat.MaxEncryptedThumb+1)); res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a thumbnail over 256 KiB: %d %s", res.StatusCode, raw)
	}
	// A room that is not encrypted takes neither text nor thumb.
	plain := newTestRoom(t, nil)
	if res, raw := plain.shareEncrypted(t, "alice", desc, pic, nil); res.StatusCode != http.StatusBadRequest {
		t.Errorf("text in a plain room's upload: %d %s", res.StatusCode, raw)
	}
}

func TestAnEncryptedRoomsFeedSaysOnlyWhoAndWhen(t *testing.T) {
	tr := newEncryptedRoom(t, nil)
	bob := tr.dial(t, "bob", nil)
	bob.next()
	tr.post(t, "alice", testEnvelope(30, 1))
	res, raw := tr.do(t, "POST", "/api/messages", map[string]string{"nick": "alice", "text": testEnvelope(30, 2), "to": "bob"}, nil)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("ping: %d %s", res.StatusCode, raw)
	}
	if res, raw := tr.shareEncrypted(t, "alice", testEnvelope(60, 3), []byte("ciphertext bytes, really"), nil); res.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", res.StatusCode, raw)
	}
	for _, path := range []string{"/rss/all.xml", "/rss/ping/bob.xml"} {
		res, raw := tr.do(t, "GET", path, nil, nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, res.StatusCode)
		}
		f := tr.feed(t, path, nil)
		if len(f.Channel.Items) == 0 {
			t.Fatalf("%s has no items", path)
		}
		for _, it := range f.Channel.Items {
			if it.Title != "alice: encrypted message" || it.Description != "encrypted message" || it.Enclosure != nil || it.PubDate == "" {
				t.Errorf("%s: item %+v", path, it)
			}
		}
		for _, leak := range []string{`"ct"`, "ct&#34;", "encrypted/", "/files/"} {
			if strings.Contains(string(raw), leak) {
				t.Errorf("%s holds %q:\n%s", path, leak, raw)
			}
		}
	}
}
