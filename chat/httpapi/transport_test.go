package httpapi

import (
	"net/http"
	"strings"
	"testing"

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

// Every event a client sends is charged to its address, whatever its type:
// renames and garbage cost the same budget as a post over HTTP.
func TestEveryWebSocketEventIsCharged(t *testing.T) {
	tr := newTestRoom(t, func(o *testOptions) { o.PostsPerMinute = 60 }) // a bucket of 10
	ws := tr.dial(t, "alice", nil)
	for i := range 12 {
		if i%2 == 0 {
			ws.send(clientEvent{Type: "nick", Nick: "alice"})
		} else {
			ws.send("not an object")
		}
	}
	ev := ws.waitFor("a refusal for going over the budget", func(ev chat.Event) bool {
		return ev.Type == "error" && ev.Code == chat.CodeRateLimited.String()
	})
	if ev.RetryAfter <= 0 {
		t.Fatalf("the refusal %+v does not say how long to wait", ev)
	}
	// The budget is the address's: HTTP from the same address is refused too.
	res, _ := tr.do(t, "POST", "/api/messages", map[string]string{"nick": "alice", "text": "hi"}, nil)
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a post after 12 WebSocket events got %d, want 429", res.StatusCode)
	}
}
