package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatbox-dev/chatbox/chat"
)

// aliceToken and bobToken, two browsers' tokens, are in nicks_test.go.

// apiError is an error answer.
type apiError struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// expect checks an answer's status and, when code is set, its code.
func expect(t *testing.T, what string, res *http.Response, raw []byte, status int, code string) {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("%s: %d %s, want %d", what, res.StatusCode, raw, status)
	}
	if code != "" {
		if e := decode[apiError](t, raw); e.Code != code || e.Error == "" {
			t.Errorf("%s: %s, want code %q and a sentence", what, raw, code)
		}
	}
}

// postAs posts text with a token and returns the message.
func (tr *testRoom) postAs(t *testing.T, nick, token, text string, replyTo uint64) chat.Message {
	t.Helper()
	body := map[string]any{"nick": nick, "text": text, "token": token}
	if replyTo != 0 {
		body["reply_to"] = replyTo
	}
	res, raw := tr.do(t, "POST", "/api/messages", body, nil)
	expect(t, "post", res, raw, http.StatusCreated, "")
	return decode[chat.Message](t, raw)
}

// dialToken connects to the event stream as nick with a browser token.
func (tr *testRoom) dialToken(t *testing.T, nick, token string) *wsClient {
	t.Helper()
	url := "ws" + strings.TrimPrefix(tr.srv.URL, "http") + "/ws?nick=" + nick + "&token=" + token
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial as %s: %v", nick, err)
	}
	t.Cleanup(func() { c.Close() })
	return &wsClient{t: t, conn: c}
}

func TestTheRoomTellsTheEditWindowAndTheReactions(t *testing.T) {
	tr := newTestRoom(t, nil)
	res, raw := tr.do(t, "GET", "/api/room", nil, nil)
	expect(t, "room", res, raw, http.StatusOK, "")
	info := decode[struct {
		EditWindow int      `json:"edit_window"`
		Reactions  []string `json:"reactions"`
	}](t, raw)
	if info.EditWindow != 300 || !slices.Equal(info.Reactions, []string{"👍", "❤️", "😂", "😮", "😢", "🎉"}) {
		t.Errorf("room = %s", raw)
	}
}

// The whole life of a message over HTTP: a reply to it, an edit, a
// reaction, refusals with their codes, and a delete, as the history and
// the feed then show it.
func TestMessageOperationsOverHTTP(t *testing.T) {
	clk := newTestClock()
	tr := newTestRoom(t, func(o *testOptions) { o.Now = clk.now })
	m := tr.postAs(t, "alice", aliceToken, "lunch at noon?", 0)
	reply := tr.postAs(t, "bob", bobToken, "yes", m.ID)
	if reply.ReplyTo != m.ID {
		t.Errorf("reply = %+v", reply)
	}
	res, raw := tr.do(t, "POST", "/api/messages", map[string]any{"nick": "bob", "text": "to nothing", "reply_to": 999}, nil)
	expect(t, "reply to a missing message", res, raw, http.StatusBadRequest, "invalid")

	path := fmt.Sprint("/api/messages/", m.ID)
	res, raw = tr.do(t, "PATCH", path, map[string]string{"nick": "alice", "token": bobToken, "text": "mine now"}, nil)
	expect(t, "edit with another token", res, raw, http.StatusForbidden, "forbidden")
	res, raw = tr.do(t, "PATCH", path, map[string]string{"nick": "alice", "text": "mine now"}, nil)
	expect(t, "edit without a token", res, raw, http.StatusForbidden, "forbidden")
	res, raw = tr.do(t, "DELETE", path, map[string]string{"nick": "bob", "token": bobToken}, nil)
	expect(t, "delete someone else's message", res, raw, http.StatusForbidden, "forbidden")
	res, raw = tr.do(t, "PATCH", "/api/messages/x", map[string]string{"nick": "alice", "token": aliceToken, "text": "x"}, nil)
	expect(t, "edit a bad id", res, raw, http.StatusBadRequest, "invalid")
	res, raw = tr.do(t, "PATCH", "/api/messages/999", map[string]string{"nick": "alice", "token": aliceToken, "text": "x"}, nil)
	expect(t, "edit a missing message", res, raw, http.StatusNotFound, "not_found")

	res, raw = tr.do(t, "PATCH", path, map[string]string{"nick": "alice", "token": aliceToken, "text": "lunch at one?"}, nil)
	expect(t, "edit", res, raw, http.StatusOK, "")
	if e := decode[chat.Message](t, raw); e.Text != "lunch at one?" || e.Edited == nil {
		t.Errorf("edited = %s", raw)
	}

	react := func(nick, emoji string, on bool) []byte {
		t.Helper()
		res, raw := tr.do(t, "POST", path+"/reactions", map[string]any{"nick": nick, "emoji": emoji, "on": on}, nil)
		expect(t, "react", res, raw, http.StatusOK, "")
		return raw
	}
	react("bob", "👍", true)
	if raw := react("carol", "👍", true); string(raw) != fmt.Sprintf(`{"id":%d,"reactions":{"👍":["bob","carol"]}}`+"\n", m.ID) {
		t.Errorf("reactions = %s", raw)
	}
	res, raw = tr.do(t, "POST", path+"/reactions", map[string]any{"nick": "bob", "emoji": "👍"}, nil)
	expect(t, "react without on", res, raw, http.StatusBadRequest, "invalid")
	res, raw = tr.do(t, "POST", path+"/reactions", map[string]any{"nick": "bob", "emoji": "🍕", "on": true}, nil)
	expect(t, "react with another emoji", res, raw, http.StatusBadRequest, "invalid")

	hist := tr.history(t, nil)
	if hist[0].Text != "lunch at one?" || hist[0].Reactions == nil || len((*hist[0].Reactions)["👍"]) != 2 || hist[1].ReplyTo != m.ID {
		t.Errorf("history = %+v", hist)
	}
	_, raw = tr.do(t, "GET", "/api/messages", nil, nil)
	if bytes.Contains(raw, []byte(aliceToken)) || bytes.Contains(raw, []byte("owner")) {
		t.Errorf("the history gives away a token: %s", raw)
	}
	_, feed := tr.do(t, "GET", "/rss/all.xml", nil, nil)
	if !bytes.Contains(feed, []byte("lunch at one?")) || bytes.Contains(feed, []byte("lunch at noon?")) {
		t.Errorf("the feed does not show the edited text:\n%s", feed)
	}

	res, raw = tr.do(t, "DELETE", path, map[string]string{"nick": "alice", "token": aliceToken}, nil)
	expect(t, "delete", res, raw, http.StatusOK, "")
	want := fmt.Sprintf(`{"id":%d,"ts":%q,"nick":"alice","text":"","kind":"deleted"}`, m.ID, m.TS.Format(time.RFC3339Nano))
	if strings.TrimSpace(string(raw)) != want {
		t.Errorf("tombstone = %s, want %s", raw, want)
	}
	if hist := tr.history(t, nil); hist[0].Kind != chat.KindDeleted || hist[0].Text != "" || hist[0].Reactions != nil {
		t.Errorf("history after the delete = %+v", hist[0])
	}
	_, feed = tr.do(t, "GET", "/rss/all.xml", nil, nil)
	if bytes.Contains(feed, []byte("lunch at")) || bytes.Contains(feed, []byte(fmt.Sprintf("#m%d<", m.ID))) {
		t.Errorf("the feed still shows the deleted message:\n%s", feed)
	}
	res, raw = tr.do(t, "POST", path+"/reactions", map[string]any{"nick": "bob", "emoji": "👍", "on": true}, nil)
	expect(t, "react to a deleted message", res, raw, http.StatusNotFound, "not_found")

	clk.advance(5*time.Minute + time.Second)
	res, raw = tr.do(t, "PATCH", fmt.Sprint("/api/messages/", reply.ID), map[string]string{"nick": "bob", "token": bobToken, "text": "no"}, nil)
	expect(t, "edit after the window", res, raw, http.StatusConflict, "too_late")
	res, raw = tr.do(t, "DELETE", fmt.Sprint("/api/messages/", reply.ID), map[string]string{"nick": "bob", "token": bobToken}, nil)
	expect(t, "delete after the window", res, raw, http.StatusConflict, "too_late")
}

// A deleted upload's file and thumbnail leave the files folder, and its
// name leaves messages.db.
func TestADeletedUploadLeavesTheDisk(t *testing.T) {
	tr := newTestRoom(t, nil)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("nick", "alice")
	mw.WriteField("token", aliceToken)
	fw, _ := mw.CreateFormFile("file", "secret-plans.png")
	fw.Write(flat16(t, 300, 200))
	mw.Close()
	res, raw := tr.do(t, "POST", "/api/files", body.String(), func(req *http.Request) {
		req.Header.Set("Content-Type", mw.FormDataContentType())
	})
	expect(t, "upload", res, raw, http.StatusCreated, "")
	m := decode[chat.Message](t, raw)
	res, _ = tr.do(t, "GET", m.File.Thumb, nil, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("thumbnail: %d", res.StatusCode)
	}
	res, raw = tr.do(t, "DELETE", fmt.Sprint("/api/messages/", m.ID), map[string]string{"nick": "alice", "token": aliceToken}, nil)
	expect(t, "delete", res, raw, http.StatusOK, "")
	if left := uploadDirs(t, tr.dir); len(left) != 0 {
		t.Errorf("files left after the delete: %v", left)
	}
	db, _ := os.ReadFile(filepath.Join(tr.dir, "messages.db"))
	if bytes.Contains(db, []byte("secret-plans")) {
		t.Errorf("messages.db still holds the file's name")
	}
	for _, u := range []string{m.File.URL, m.File.Thumb} {
		if res, _ := tr.do(t, "GET", u, nil, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s after the delete: %d", u, res.StatusCode)
		}
	}
}

// Over the WebSocket: a message, a reply to it, an edit, a reaction and a
// delete from its sender's connection reach another reader as one event
// each, in order; the same changes from another token are refused with
// the codes HTTP gives.
func TestMessageOperationsOverTheWebSocket(t *testing.T) {
	tr := newTestRoom(t, nil)
	alice := tr.dialToken(t, "alice", aliceToken)
	bob := tr.dialToken(t, "bob", bobToken)
	alice.send(map[string]any{"type": "message", "text": "first"})
	m := bob.waitMessage("first")
	alice.send(map[string]any{"type": "message", "text": "second", "reply_to": m.ID})
	if r := bob.waitMessage("second"); r.ReplyTo != m.ID {
		t.Errorf("reply = %+v", r)
	}
	bob.send(map[string]any{"type": "edit", "id": m.ID, "text": "bob's now"})
	if ev := bob.waitFor("error", func(ev chat.Event) bool { return ev.Type == "error" }); ev.Code != "forbidden" {
		t.Errorf("bob's edit: %+v", ev)
	}
	bob.send(map[string]any{"type": "delete", "id": m.ID})
	if ev := bob.waitFor("error", func(ev chat.Event) bool { return ev.Type == "error" }); ev.Code != "forbidden" {
		t.Errorf("bob's delete: %+v", ev)
	}
	bob.send(map[string]any{"type": "react", "id": m.ID, "emoji": "🎉"})
	if ev := bob.waitFor("error", func(ev chat.Event) bool { return ev.Type == "error" }); ev.Code != "invalid" {
		t.Errorf("a react without on: %+v", ev)
	}
	// Each change is sent once the one before has been heard, so the two
	// connections' events cannot overtake each other.
	nextOp := func() string {
		t.Helper()
		for {
			switch ev := bob.next(); ev.Type {
			case "edit":
				if ev.Message.Edited == nil {
					t.Errorf("the edit event has no edited time")
				}
				return "edit " + ev.Message.Text
			case "react":
				raw, _ := json.Marshal(ev.Reactions)
				return "react " + string(raw)
			case "delete":
				return fmt.Sprint("delete ", ev.ID == m.ID)
			case "error":
				t.Fatalf("refusal: %+v", ev)
			}
		}
	}
	var got []string
	alice.send(map[string]any{"type": "edit", "id": m.ID, "text": "first, edited"})
	got = append(got, nextOp())
	bob.send(map[string]any{"type": "react", "id": m.ID, "emoji": "🎉", "on": true})
	got = append(got, nextOp())
	bob.send(map[string]any{"type": "react", "id": m.ID, "emoji": "🎉", "on": true}) // no change: no event
	bob.send(map[string]any{"type": "react", "id": m.ID, "emoji": "🎉", "on": false})
	got = append(got, nextOp())
	alice.send(map[string]any{"type": "delete", "id": m.ID})
	got = append(got, nextOp())
	want := `[edit first, edited|react {"🎉":["bob"]}|react {}|delete true]`
	if s := "[" + strings.Join(got, "|") + "]"; s != want {
		t.Errorf("bob saw %s, want %s", s, want)
	}
}
