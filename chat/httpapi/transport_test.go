package httpapi

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatbox-dev/chatbox/chat"
)

// The same bad message must read the same whichever way it is sent: the
// sentence comes from the room's core, and both transports only carry it.
func TestBadMessagesReadTheSameOverHTTPAndWebSocket(t *testing.T) {
	tr := newTestRoom(t, func(o *testOptions) { o.MaxMessageLength = 20 })
	ws := tr.dial(t, "alice", nil)
	ws.waitFor("alice's own presence", func(ev chat.Event) bool { return ev.Type == "presence" })
	tests := []struct {
		name   string
		text   string
		status int
		code   chat.Code
	}{
		{"an empty message", "   ", http.StatusBadRequest, chat.CodeInvalid},
		{"a control character", "a\x07b", http.StatusBadRequest, chat.CodeInvalid},
		{"a message over the limit", strings.Repeat("x", 21), http.StatusRequestEntityTooLarge, chat.CodeTooLong},
		{"a ping to someone absent", "/ping ghost hi", http.StatusConflict, chat.CodeNotPresent},
		{"a ping to a bad name", "/ping !! hi", http.StatusBadRequest, chat.CodeInvalid},
	}
	// Input the JSON decoder of either path refuses: the same bytes in the
	// text field (or beside it), the same sentence.
	frames := []struct {
		name string
		// rest follows `"text":` in both bodies.
		rest string
	}{
		{"a lone high surrogate", `"\ud800"}`},
		{"a lone low surrogate", `"a\udc00b"}`},
		{"a surrogate pair the wrong way round", `"\udc00\ud800"}`},
		{"bytes that are not UTF-8", "\"\xff\xfe\"}"},
		{"an overlong encoding", "\"\xc0\xaf\"}"},
		{"an unknown field", `"x","extra":1}`},
		{"a field of the wrong type", `5}`},
		{"broken JSON", `"x"`},
		{"two objects", `"x"} {}`},
		{"a field given twice", `"x","text":"y"}`},
		{"a field in another case", `"x","TEXT":"y"}`},
	}
	for _, tt := range frames {
		t.Run(tt.name+" gets one sentence on both paths", func(t *testing.T) {
			res, raw := tr.do(t, "POST", "/api/messages", `{"nick":"alice","text":`+tt.rest, nil)
			overHTTP := decode[struct{ Error string }](t, raw).Error
			if res.StatusCode != http.StatusBadRequest || overHTTP == "" {
				t.Fatalf("HTTP: got %d %s, want 400 with a sentence", res.StatusCode, raw)
			}
			if err := ws.conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"message","text":`+tt.rest)); err != nil {
				t.Fatal(err)
			}
			ev := ws.waitFor("an error", func(ev chat.Event) bool { return ev.Type == "error" })
			if ev.Error != overHTTP || ev.Code != chat.CodeInvalid.String() {
				t.Fatalf("WebSocket said %q (%s), HTTP said %q", ev.Error, ev.Code, overHTTP)
			}
		})
	}
	for _, tt := range tests {
		t.Run(tt.name+" gets one sentence on both paths", func(t *testing.T) {
			res, raw := tr.do(t, "POST", "/api/messages", map[string]string{"nick": "alice", "text": tt.text}, nil)
			overHTTP := decode[struct{ Error string }](t, raw).Error
			if res.StatusCode != tt.status || overHTTP == "" {
				t.Fatalf("HTTP: got %d %s, want %d with a sentence", res.StatusCode, raw, tt.status)
			}
			ws.send(clientEvent{Type: "message", Text: tt.text})
			ev := ws.waitFor("an error", func(ev chat.Event) bool { return ev.Type == "error" })
			if ev.Error != overHTTP || ev.Code != tt.code.String() {
				t.Fatalf("WebSocket said %q (%s), HTTP said %q (%s)", ev.Error, ev.Code, overHTTP, tt.code)
			}
		})
	}
	if h := tr.history(t, nil); len(h) != 0 {
		t.Fatalf("refused messages were stored: %+v", h)
	}
}

// Every frame a client sends is charged to its address, whatever it
// holds: ten frames of any kind spend a bucket of ten, and then a post
// over HTTP from the same address is refused. Each kind waits for the
// server's answer to its frames (or the connection's end), so the post
// comes after they were charged.
func TestEveryWebSocketEventIsCharged(t *testing.T) {
	const bucket = 10 // posts_per_minute 60
	pong := make(chan struct{}, 1)
	oversize := `{"type":"message","text":"` + strings.Repeat("x", 2000) + `"}`
	tests := []struct {
		name string
		// send sends the i-th frame on ws and waits for what it causes.
		send func(t *testing.T, tr *testRoom, ws *wsClient, i int)
	}{
		{"renames", func(t *testing.T, _ *testRoom, ws *wsClient, i int) {
			nick := fmt.Sprint("alice", i)
			ws.send(clientEvent{Type: "nick", Nick: nick})
			ws.waitFor("the rename", func(ev chat.Event) bool { return ev.Type == "nick" && ev.Nick == nick })
		}},
		{"frames that are not JSON", func(t *testing.T, _ *testRoom, ws *wsClient, _ int) {
			ws.send("not an object")
			ws.waitFor("the refusal", func(ev chat.Event) bool { return ev.Type == "error" })
		}},
		{"events of no known type", func(t *testing.T, _ *testRoom, ws *wsClient, _ int) {
			ws.send(map[string]string{"type": "destroy"})
			ws.waitFor("the refusal", func(ev chat.Event) bool { return ev.Type == "error" })
		}},
		{"pings", func(t *testing.T, _ *testRoom, ws *wsClient, i int) {
			if i == 0 {
				// Control frames are handled while reading: read on.
				ws.conn.SetPongHandler(func(string) error { pong <- struct{}{}; return nil })
				go func() {
					for {
						if _, _, err := ws.conn.ReadMessage(); err != nil {
							return
						}
					}
				}()
			}
			if err := ws.conn.WriteControl(websocket.PingMessage, []byte{byte(i)}, time.Now().Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			select {
			case <-pong:
			case <-time.After(5 * time.Second):
				t.Fatalf("no pong for ping %d within the budget", i)
			}
		}},
		{"frames over the size limit", func(t *testing.T, tr *testRoom, _ *wsClient, _ int) {
			ws := tr.dial(t, "big", nil)
			ws.send(oversize)
			if code, err := closeCode(ws.conn, 5*time.Second); code != websocket.CloseMessageTooBig {
				t.Fatalf("an oversize frame ended with %d (%v), want 1009", code, err)
			}
		}},
		{"quits", func(t *testing.T, tr *testRoom, _ *wsClient, _ int) {
			ws := tr.dial(t, "leaver", nil)
			ws.send(clientEvent{Type: "quit"})
			if code, err := closeCode(ws.conn, 5*time.Second); code != websocket.CloseNormalClosure {
				t.Fatalf("a quit ended with %d (%v), want 1000", code, err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" spend the address's budget", func(t *testing.T) {
			tr := newTestRoom(t, func(o *testOptions) {
				o.PostsPerMinute = 6 * bucket
				o.MaxMessageLength, o.MaxPGPLength = 100, 100 // frames over 1,624 bytes are too big
				o.ConnectsPerMinute = 1 << 20
			})
			ws := tr.dial(t, "alice", nil)
			ws.waitFor("the welcome", func(ev chat.Event) bool { return ev.Type == "presence" })
			for i := range bucket {
				tt.send(t, tr, ws, i)
			}
			// The budget is the address's: HTTP from the same address is refused.
			res, raw := tr.do(t, "POST", "/api/messages", map[string]string{"nick": "alice", "text": "hi"}, nil)
			if res.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("a post after %d %s got %d %s, want 429", bucket, tt.name, res.StatusCode, raw)
			}
		})
	}
}

// Over the budget, a client is told how long to wait, and a quit still
// quits.
func TestWebSocketEventsOverTheBudgetAreRefused(t *testing.T) {
	tr := newTestRoom(t, func(o *testOptions) { o.PostsPerMinute = 60 }) // a bucket of 10
	ws := tr.dial(t, "alice", nil)
	for range 12 {
		ws.send("not an object")
	}
	ev := ws.waitFor("a refusal for going over the budget", func(ev chat.Event) bool {
		return ev.Type == "error" && ev.Code == chat.CodeRateLimited.String()
	})
	if ev.RetryAfter <= 0 {
		t.Fatalf("the refusal %+v does not say how long to wait", ev)
	}
	ws.send(clientEvent{Type: "quit"})
	if code, err := closeCode(ws.conn, 5*time.Second); code != websocket.CloseNormalClosure {
		t.Fatalf("a quit over the budget ended with %d (%v), want 1000", code, err)
	}
}

// A refusal names what JSON calls a value, never a Go type.
func TestATypeErrorSpeaksJSON(t *testing.T) {
	tr := newTestRoom(t, func(o *testOptions) { o.CreateOnStart = false })
	res, raw := tr.do(t, "POST", "/api/room", `{"private":"yes"}`, nil)
	got := decode[struct{ Error string }](t, raw).Error
	if res.StatusCode != http.StatusBadRequest || got != `the field "private" must be true or false` {
		t.Fatalf("got %d %q, want 400 saying the field must be true or false", res.StatusCode, got)
	}
}
