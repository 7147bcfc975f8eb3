package httpapi

import (
	"bytes"
	"errors"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatbox-dev/chatbox/chat"
)

// Tokens of three browsers.
const (
	aliceToken = "aliceBrowserToken_0123456789"
	bobToken   = "bobBrowserToken_0123456789ab"
	eveToken   = "eveBrowserToken_0123456789ab"
)

// dialHolding connects as nick with a browser's token ("" for none).
func (tr *testRoom) dialHolding(nick, token string, header http.Header) (*websocket.Conn, *http.Response, error) {
	q := url.Values{"nick": {nick}}
	if token != "" {
		q.Set("token", token)
	}
	return websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(tr.srv.URL, "http")+"/ws?"+q.Encode(), header)
}

// join connects as nick with token and reads the welcome, failing the
// test unless the room takes it.
func (tr *testRoom) join(t *testing.T, nick, token string) *wsClient {
	t.Helper()
	conn, res, err := tr.dialHolding(nick, token, nil)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		t.Fatalf("dial as %s: %v (status %d)", nick, err, status)
	}
	t.Cleanup(func() { conn.Close() })
	c := &wsClient{t: t, conn: conn}
	if ev := c.next(); ev.Type != "presence" {
		t.Fatalf("%s's first event is %+v, want presence", nick, ev)
	}
	return c
}

// refusedAsTaken connects as nick with token and checks the room says it
// is taken, suggests suggest, and closes with 4409.
func (tr *testRoom) refusedAsTaken(t *testing.T, nick, token, suggest string) {
	t.Helper()
	conn, res, err := tr.dialHolding(nick, token, nil)
	if err != nil {
		t.Fatalf("dial as %q: %v (%v); want an upgrade, an error event and a close", nick, err, res)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var ev chat.Event
	if err := conn.ReadJSON(&ev); err != nil {
		t.Fatalf("as %q: read the refusal: %v", nick, err)
	}
	want := nick + " is taken — try " + suggest
	if ev.Type != "error" || ev.Code != "nick_taken" || ev.Suggest != suggest || ev.Error != want {
		t.Fatalf("as %q: first event %+v, want error nick_taken %q suggesting %q", nick, ev, want, suggest)
	}
	_, _, err = conn.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != CloseNickTaken {
		t.Fatalf("as %q: after the error: %v, want close %d", nick, err, CloseNickTaken)
	}
}

func TestTwoBrowsersCannotBothBeAlice(t *testing.T) {
	tr := newTestRoom(t, nil)
	tr.join(t, "alice", aliceToken)
	for _, tc := range []struct{ nick, token, suggest string }{
		{"alice", bobToken, "alice2"},
		{"ALICE", bobToken, "ALICE2"},
		{"Аlice", bobToken, "Аlice2"}, // a Cyrillic А
		{"ａｌｉｃｅ", bobToken, "ａｌｉｃｅ2"}, // full-width
		{"аlісе", bobToken, "аlісе2"}, // all Cyrillic look-alikes
		{"alice", "", "alice2"},       // no token at all
	} {
		t.Run(tc.nick+" with token "+tc.token, func(t *testing.T) {
			tr.refusedAsTaken(t, tc.nick, tc.token, tc.suggest)
		})
	}
	t.Run("the holder's second tab joins", func(t *testing.T) {
		tr.join(t, "alice", aliceToken)
	})
	t.Run("the suggestion is free under the fold", func(t *testing.T) {
		tr.join(t, "alice2", eveToken)
		tr.refusedAsTaken(t, "alice", bobToken, "alice3")
		tr.refusedAsTaken(t, "ALICE2", bobToken, "ALICE3")
	})
	t.Run("a long name's refusal still closes with 4409", func(t *testing.T) {
		long := strings.Repeat("李", 25) // 75 bytes: the sentence is over a close frame's 123
		tr.join(t, long, eveToken)
		tr.refusedAsTaken(t, long, bobToken, strings.Repeat("李", 24)+"2")
	})
	t.Run("a Greek omicron is an o", func(t *testing.T) {
		tr.join(t, "bob", bobToken)
		tr.refusedAsTaken(t, "bοb", eveToken, "bοb2")
	})
}

func TestANicknameIsHeldAfterItsBrowserLeaves(t *testing.T) {
	clock := newTestClock()
	tr := newTestRoom(t, func(o *testOptions) {
		o.Now = clock.now
		o.NickHold = 10 * time.Minute
	})
	leaveAndWait := func(c *wsClient) {
		t.Helper()
		c.conn.Close()
		deadline := time.Now().Add(5 * time.Second)
		for {
			if all, idle := tr.HeldNicks(); all == 1 && idle == 1 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("the room did not see the connection close")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	leaveAndWait(tr.join(t, "alice", aliceToken))
	clock.advance(10*time.Minute - time.Second)
	tr.refusedAsTaken(t, "alice", bobToken, "alice2")
	// A reload within the hold keeps the name, and the hold starts again
	// when it closes.
	leaveAndWait(tr.join(t, "alice", aliceToken))
	clock.advance(9 * time.Minute)
	tr.refusedAsTaken(t, "Alice", bobToken, "Alice2")
	clock.advance(time.Minute)
	tr.join(t, "Alice", bobToken)
	if all, idle := tr.HeldNicks(); all != 1 || idle != 0 {
		t.Fatalf("%d held, %d idle; want only bob's Alice", all, idle)
	}
}

func TestARenameToAHeldOrBadNameIsRefusedAndTheConnectionStays(t *testing.T) {
	tr := newTestRoom(t, func(o *testOptions) { o.NickHold = time.Hour })
	alice := tr.join(t, "alice", aliceToken)
	bob := tr.join(t, "bob", bobToken)
	alice.waitFor("bob's join", func(ev chat.Event) bool { return ev.Type == "join" && ev.Nick == "bob" })

	bob.send(map[string]string{"type": "nick", "nick": "Аlice"})
	ev := bob.waitFor("the refusal", func(ev chat.Event) bool { return ev.Type == "error" })
	if ev.Code != "nick_taken" || ev.Suggest != "Аlice2" || ev.Error != "Аlice is taken — try Аlice2" {
		t.Fatalf("a rename to a held name: %+v", ev)
	}
	bob.send(map[string]string{"type": "nick", "nick": "bad name"})
	ev = bob.waitFor("the refusal", func(ev chat.Event) bool { return ev.Type == "error" })
	if ev.Code != "invalid" || ev.Error != chat.NickRule {
		t.Fatalf("a rename to a bad name: %+v, want the rule", ev)
	}
	bob.send(map[string]string{"type": "message", "text": "still here"})
	if m := bob.waitMessage("still here"); m.Nick != "bob" {
		t.Fatalf("after the refusals bob speaks as %q", m.Nick)
	}

	// A rename is one event, never a leave and a join.
	bob.send(map[string]string{"type": "nick", "nick": "bob.the-builder"})
	bob.send(map[string]string{"type": "message", "text": "renamed"})
	var seen []chat.Event
	for {
		ev := alice.next()
		if ev.Type == "message" && ev.Message.Text == "renamed" {
			break
		}
		if ev.Type != "message" {
			seen = append(seen, ev)
		}
	}
	if len(seen) != 1 || seen[0].Type != "nick" || seen[0].From != "bob" || seen[0].Nick != "bob.the-builder" || seen[0].Count != 2 {
		t.Fatalf("alice saw %+v, want one nick event from bob to bob.the-builder", seen)
	}
	// The old name stays bob's browser's for a while.
	tr.refusedAsTaken(t, "bob", eveToken, "bob2")
}

func TestHTTPWritesToAHeldNicknameNeedItsToken(t *testing.T) {
	tr := newTestRoom(t, nil)
	tr.join(t, "alice", aliceToken)
	post := func(nick, token string) (int, map[string]string) {
		t.Helper()
		body := map[string]string{"nick": nick, "text": "hi"}
		if token != "" {
			body["token"] = token
		}
		res, raw := tr.do(t, "POST", "/api/messages", body, nil)
		if res.StatusCode == http.StatusCreated {
			return res.StatusCode, nil
		}
		return res.StatusCode, decode[map[string]string](t, raw)
	}
	for _, tc := range []struct {
		name, nick, token string
		status            int
		suggest           string
	}{
		{"no token is refused", "alice", "", 409, "alice2"},
		{"another browser's token is refused", "alice", bobToken, 409, "alice2"},
		{"a look-alike without the token is refused", "ＡＬＩＣＥ", "", 409, "ＡＬＩＣＥ2"},
		{"the holder's token is accepted", "alice", aliceToken, 201, ""},
		{"a name nobody holds takes a post without a token", "backupbot", "", 201, ""},
		{"a name nobody holds takes a post with a token", "carol", eveToken, 201, ""},
		{"a malformed token is refused", "carol", "short", 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(tc.nick, tc.token)
			if status != tc.status {
				t.Fatalf("%d %v, want %d", status, body, tc.status)
			}
			if status == 409 && (body["code"] != "nick_taken" || body["suggest"] != tc.suggest || body["error"] != tc.nick+" is taken — try "+tc.suggest) {
				t.Fatalf("409 %v, want nick_taken suggesting %s", body, tc.suggest)
			}
		})
	}

	upload := func(token string) int {
		t.Helper()
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("nick", "alice")
		if token != "" {
			mw.WriteField("token", token)
		}
		fw, _ := mw.CreateFormFile("file", "notes.txt")
		fw.Write([]byte("hello"))
		mw.Close()
		res, raw := tr.do(t, "POST", "/api/files", buf.String(), func(r *http.Request) { r.Header.Set("Content-Type", mw.FormDataContentType()) })
		if res.StatusCode != http.StatusCreated && res.StatusCode != http.StatusConflict {
			t.Fatalf("upload: %d %s", res.StatusCode, raw)
		}
		return res.StatusCode
	}
	if got := upload(""); got != http.StatusConflict {
		t.Errorf("an upload as alice without her token: %d, want 409", got)
	}
	if got := upload(aliceToken); got != http.StatusCreated {
		t.Errorf("an upload as alice with her token: %d, want 201", got)
	}
}

func TestTheRoomTellsTheNicknameRules(t *testing.T) {
	tr := newTestRoom(t, func(o *testOptions) { o.NickHold = 10 * time.Minute })
	res, raw := tr.do(t, "GET", "/api/room", nil, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", res.StatusCode, raw)
	}
	info := decode[map[string]any](t, raw)
	if info["nick_max_length"] != 25.0 || info["nick_rule"] != chat.NickRule || info["nick_hold"] != 600.0 {
		t.Fatalf("nick_max_length %v, nick_rule %v, nick_hold %v", info["nick_max_length"], info["nick_rule"], info["nick_hold"])
	}
}

// The new characters of a nickname reach a ping and a ping feed, and no
// nickname can name a directory in a feed's path.
func TestPingsAndPingFeedsTakeTheNewNames(t *testing.T) {
	tr := newTestRoom(t, nil)
	tr.join(t, "jean-luc.p_2", "")
	m := tr.post(t, "alice", "/ping jean-luc.p_2 tea?")
	if m.Kind != chat.KindPing || m.To != "jean-luc.p_2" {
		t.Fatalf("the ping is %+v", m)
	}
	feed := tr.feed(t, "/rss/ping/jean-luc.p_2.xml", nil)
	if len(feed.Channel.Items) != 1 {
		t.Fatalf("the ping feed has %d items, want 1", len(feed.Channel.Items))
	}
	for _, path := range []string{"/rss/ping/..xml", "/rss/ping/...xml", "/rss/ping/.alice.xml", "/rss/ping/alice..xml"} {
		if res, raw := tr.do(t, "GET", path, nil, nil); res.StatusCode != http.StatusBadRequest {
			t.Errorf("GET %s: %d %s, want 400", path, res.StatusCode, raw)
		}
	}
}

func TestABadTokenIsRefusedBeforeTheUpgrade(t *testing.T) {
	tr := newTestRoom(t, nil)
	for _, token := range []string{"short", strings.Repeat("a", 65), "padded+token/with=base64chars"} {
		_, res, err := tr.dialHolding("alice", token, nil)
		if err == nil || res == nil || res.StatusCode != http.StatusBadRequest {
			t.Fatalf("token %q: %v (%v), want 400", token, err, res)
		}
	}
	if all, _ := tr.HeldNicks(); all != 0 {
		t.Fatalf("%d names held after refused connections", all)
	}
}
