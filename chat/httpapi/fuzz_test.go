package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/chatbox-dev/chatbox/chat"
)

// FuzzPostMessageBody sends arbitrary bodies to POST /api/messages. Every
// answer is a 201 with a valid stored message or a 4xx with one sentence;
// never a 5xx, and nothing is stored from a refused body.
func FuzzPostMessageBody(f *testing.F) {
	for _, s := range []string{
		`{"nick":"alice","text":"hi"}`,
		`{"nick":"alice","text":"/ping bob hi"}`,
		`{"nick":"a","text":"` + chat.PGPBegin + `\n\nx\n-----END PGP MESSAGE-----"}`,
		`{"nick":"a","text":"\ud83d\ude00"}`,
		`{"nick":"a","text":"\ud800"}`,
		"{\"nick\":\"a\",\"text\":\"\xc0\xaf\"}",
		`{"nick":"a","text":"x","extra":1}`,
		`[]`, `null`, ``, `{"nick":"a","text":"x"} {}`,
	} {
		f.Add([]byte(s))
	}
	room, err := chat.Open(context.Background(), withOptions(roomOptions(f.TempDir()), func(o *chat.Options) {
		o.PostsPerMinute = 1 << 30
		o.MaxMessageLength = 50
		o.MaxPGPLength = 500
	}))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { room.Close() })
	h := New(context.Background(), room, Options{})
	f.Fuzz(func(t *testing.T, body []byte) {
		before, _ := messageCount(room)
		req := httptest.NewRequest("POST", "/api/messages", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		after, _ := messageCount(room)
		switch {
		case rec.Code == http.StatusCreated:
			var m chat.Message
			if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
				t.Fatalf("201 with a body that is not a message: %q", rec.Body)
			}
			if chat.ValidateNick(m.Nick) != nil || chat.ValidateText(m.Text, chat.TextLimits{Max: 50, MaxPGP: 500}) != nil {
				t.Fatalf("stored an invalid message %+v", m)
			}
			if after != before+1 {
				t.Fatalf("201 but %d messages were stored", after-before)
			}
		case rec.Code >= 400 && rec.Code < 500:
			var e struct{ Error string }
			if json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error == "" {
				t.Fatalf("%d without an error sentence: %q", rec.Code, rec.Body)
			}
			if after != before {
				t.Fatalf("a refused body stored %d messages", after-before)
			}
		default:
			t.Fatalf("status %d for body %q", rec.Code, body)
		}
	})
}

// FuzzWebSocketFrame sends an arbitrary frame on a real WebSocket, then a
// message as a marker. Both go through the whole path of a client's frame:
// the charge to its address, decodeClientEvent and the room. The server
// must either act on both (the marker comes back) or close the connection
// with a proper code, must never crash, and must store only valid messages.
func FuzzWebSocketFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"message","text":"hi"}`,
		`{"type":"message","text":"/ping fuzzer hi"}`,
		`{"type":"nick","nick":"bob"}`,
		`{"type":"nick","nick":"<b>"}`,
		`{"type":"quit"}`,
		`{"type":"message","text":""}`,
		`{"type":"message","text":"\u0000"}`,
		`{"type":"destroy"}`,
		`{"type":"edit","id":1,"text":"x"}`,
		`{"type":"delete","id":1}`,
		`{"type":"react","id":1,"emoji":"🎉","on":true}`,
		`{"type":"message","text":"re","reply_to":1}`,
		`{"type":1}`, `[`, ``, `{"type":"message","text":"` + strings.Repeat("x", 2000) + `"}`,
	} {
		f.Add([]byte(s))
	}
	room, err := chat.Open(context.Background(), withOptions(roomOptions(f.TempDir()), func(o *chat.Options) {
		o.MaxMessageLength, o.MaxPGPLength = 50, 500
		o.PostsPerMinute, o.ConnectsPerMinute, o.MaxClientsPerAddr = 1<<30, 1<<30, 1<<30
	}))
	if err != nil {
		f.Fatal(err)
	}
	tr := &testRoom{Room: room, srv: httptest.NewServer(New(context.Background(), room, Options{}))}
	f.Cleanup(func() { room.CloseClients(); tr.srv.Close(); room.Close() })
	marker := 0
	f.Fuzz(func(t *testing.T, frame []byte) {
		before, _ := messageCount(tr.Room)
		conn, _, err := tr.tryDial("fuzzer", nil)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer conn.Close()
		marker++
		want := fmt.Sprintf("marker%d", marker)
		conn.WriteMessage(websocket.TextMessage, frame)
		marked := false
		conn.WriteJSON(clientEvent{Type: "message", Text: want})
		for {
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			var ev chat.Event
			err := conn.ReadJSON(&ev)
			var closeErr *websocket.CloseError
			if errors.As(err, &closeErr) {
				switch closeErr.Code {
				case websocket.CloseNormalClosure, websocket.CloseMessageTooBig:
				default:
					t.Fatalf("closed with %d after frame %q", closeErr.Code, frame)
				}
				break
			}
			if err != nil {
				var se *json.SyntaxError
				if errors.As(err, &se) {
					t.Fatalf("the server sent a frame that is not JSON after %q", frame)
				}
				t.Fatalf("read after frame %q: %v", frame, err)
			}
			if ev.Type == "message" && ev.Message.Text == want {
				marked = true
				break
			}
		}
		after, _ := messageCount(tr.Room)
		if marked {
			after-- // the marker
		}
		if after > before+1 {
			t.Fatalf("one frame stored %d messages", after-before)
		}
		if after == before+1 {
			msgs, _ := tr.Messages(-1, 2)
			m := msgs[len(msgs)-1]
			if marked {
				m = msgs[0]
			}
			if chat.ValidateNick(m.Nick) != nil || chat.ValidateText(m.Text, chat.TextLimits{Max: 50, MaxPGP: 500}) != nil {
				t.Fatalf("stored an invalid message %+v from frame %q", m, frame)
			}
		}
	})
}

// FuzzDecodeClientEvent feeds arbitrary frames to the WebSocket's decoder.
// It either refuses a frame with one sentence, as the HTTP path would
// (decodeObject), or returns an event of a known type whose text is valid
// UTF-8 and is exactly what the frame said: nothing is quietly replaced
// with U+FFFD. Seeds, and any failures found, live in
// testdata/fuzz/FuzzDecodeClientEvent.
func FuzzDecodeClientEvent(f *testing.F) {
	for _, s := range []string{
		`{"type":"message","text":"hi"}`,
		`{"type":"nick","nick":"bob"}`,
		`{"type":"quit"}`,
		`{"type":"message","text":"\ud83d\ude00"}`,
		`{"type":"message","text":"\ud800"}`,
		`{"type":"message","text":"\udc00\ud800"}`,
		"{\"type\":\"message\",\"text\":\"\xff\"}",
		`{"type":"message","text":"x","extra":1}`,
		`{"type":"destroy"}`, `{"type":1}`, `[]`, `null`, ``, ` `, `{} {}`,
		`{"type":"message","text":"re","reply_to":1}`,
		`{"type":"edit","id":1,"text":"new"}`,
		`{"type":"delete","id":1}`,
		`{"type":"react","id":1,"emoji":"👍","on":true}`,
		`{"type":"react","id":-1,"emoji":"\ud83d","on":"yes"}`,
		`{"type":"react","id":1e30,"on":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := decodeClientEvent(raw)
		if err != nil {
			e := chat.Refusal(err)
			if e.Code != chat.CodeInvalid || e.Msg == "" {
				t.Fatalf("frame %q refused with %v, want one sentence saying it is invalid", raw, err)
			}
			// Broken text is refused as the HTTP path refuses it, whatever
			// else is wrong with the frame.
			if !utf8.Valid(raw) || !pairedSurrogates(raw) {
				var body struct{ Nick, Text string }
				if httpErr := decodeObject(raw, &body); httpErr == nil || httpErr.Error() != err.Error() {
					t.Fatalf("frame %q: the WebSocket says %q, HTTP %v", raw, err, httpErr)
				}
			}
			return
		}
		switch ev.Type {
		case "message", "nick", "quit", "edit", "delete", "react":
		default:
			t.Fatalf("frame %q decoded to unknown type %q", raw, ev.Type)
		}
		if !utf8.Valid(raw) || !pairedSurrogates(raw) || !json.Valid(raw) {
			t.Fatalf("accepted frame %q, which is not valid UTF-8 JSON", raw)
		}
		for _, s := range []string{ev.Type, ev.Text, ev.Nick, ev.Emoji} {
			if !utf8.ValidString(s) {
				t.Fatalf("frame %q decoded to invalid UTF-8 %q", raw, s)
			}
		}
		// What was accepted says exactly what the frame said: encoding/json
		// decodes the same bytes into the same strings with no repair.
		var plain map[string]any
		if err := json.Unmarshal(raw, &plain); err != nil {
			t.Fatalf("frame %q: %v", raw, err)
		}
		for k, v := range plain {
			if s, ok := v.(string); ok && strings.ContainsRune(s, utf8.RuneError) && !bytes.Contains(bytes.ToLower(raw), []byte(`\ufffd`)) && !bytes.ContainsRune(raw, utf8.RuneError) {
				t.Fatalf("frame %q: field %s was repaired to %q", raw, k, s)
			}
		}
	})
}

// FuzzMessageOpBody sends arbitrary bodies to the routes that change a
// message (edit, delete, react), on a message whose sender's token the
// fuzzer may or may not guess. The answer is 200 or a 4xx with a sentence
// and a code, never a failure of the server's; nothing is ever added to
// the history; and the message changes only when the answer is 200.
func FuzzMessageOpBody(f *testing.F) {
	token := "fuzz-owner-token-0123456789"
	for _, s := range []string{
		`{"nick":"alice","token":"` + token + `","text":"edited"}`,
		`{"nick":"alice","token":"` + token + `"}`,
		`{"nick":"bob","emoji":"👍","on":true}`,
		`{"nick":"bob","emoji":"👍","on":false}`,
		`{"nick":"bob","emoji":"👍"}`,
		`{"nick":"bob","emoji":"\ud83d","on":true}`,
		`{"nick":"alice","token":"x","text":"/ping bob hi"}`,
		`{"nick":"alice","token":"` + token + `","text":"","on":1}`,
		`{"on":true,"on":false}`, `[]`, `null`, ``,
	} {
		for op := range byte(3) {
			f.Add(op, []byte(s))
		}
	}
	room, err := chat.Open(context.Background(), withOptions(roomOptions(f.TempDir()), func(o *chat.Options) {
		o.PostsPerMinute = 1 << 30
		o.MaxMessageLength, o.MaxPGPLength = 50, 500
	}))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { room.Close() })
	h := New(context.Background(), room, Options{})
	m, err := room.Post(context.Background(), chat.Sender{Nick: "alice", Token: token}, "the original")
	if err != nil {
		f.Fatal(err)
	}
	path := fmt.Sprint("/api/messages/", m.ID)
	f.Fuzz(func(t *testing.T, op byte, body []byte) {
		method, target := [3]string{"PATCH", "DELETE", "POST"}[op%3], path
		if op%3 == 2 {
			target += "/reactions"
		}
		before, _ := room.Messages(-1, 10)
		req := httptest.NewRequest(method, target, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		after, _ := room.Messages(-1, 10)
		if len(after) != len(before) {
			t.Fatalf("%s %q: %d messages became %d", method, body, len(before), len(after))
		}
		switch {
		case rec.Code == http.StatusOK:
		case rec.Code >= 400 && rec.Code < 500:
			var e struct{ Error, Code string }
			if json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error == "" || e.Code == "" {
				t.Fatalf("%d without an error sentence and code: %q", rec.Code, rec.Body)
			}
			a, _ := json.Marshal(after[0])
			b, _ := json.Marshal(before[0])
			if !bytes.Equal(a, b) {
				t.Fatalf("%s %q was refused (%d) but changed the message to %+v", method, body, rec.Code, after[0])
			}
		default:
			t.Fatalf("status %d for %s %q: %s", rec.Code, method, body, rec.Body)
		}
	})
}
