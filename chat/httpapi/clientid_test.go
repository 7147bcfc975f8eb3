package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chatbox-dev/chatbox/chat"
)

// postOnce posts text with a client id and returns the answer, failing
// unless it is 201.
func (tr *testRoom) postOnce(t *testing.T, nick, text, clientID string) chat.Message {
	t.Helper()
	res, raw := tr.do(t, "POST", "/api/messages", map[string]string{"nick": nick, "text": text, "client_id": clientID}, nil)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("post %q with client id %q: %d %s", text, clientID, res.StatusCode, raw)
	}
	return decode[chat.Message](t, raw)
}

// sendOnce sends text with a client id on ws and returns the message its
// ack carries.
func (c *wsClient) sendOnce(text, clientID string) chat.Message {
	c.t.Helper()
	c.send(clientEvent{Type: "message", Text: text, ClientID: clientID})
	ev := c.waitFor("ack "+clientID, func(ev chat.Event) bool {
		if ev.Type == "error" {
			c.t.Fatalf("send %q refused: %s", text, ev.Error)
		}
		return ev.Type == "ack" && ev.ClientID == clientID
	})
	if ev.Message == nil {
		c.t.Fatalf("the ack of %s carries no message", clientID)
	}
	return *ev.Message
}

// countUntil reads ws's events up to the message end and counts the
// messages with text before it.
func countUntil(ws *wsClient, text, end string) int {
	n := 0
	for {
		ev := ws.waitFor("a message", func(ev chat.Event) bool { return ev.Type == "message" })
		switch ev.Message.Text {
		case text:
			n++
		case end:
			return n
		}
	}
}

// A send retried over HTTP (the answer was lost on a slow link) stores one
// message, and both answers are the same 201 with it.
func TestARepeatedPostStoresOneMessage(t *testing.T) {
	tr := newTestRoom(t, nil)
	first := tr.postOnce(t, "alice", "hello", "k1")
	again := tr.postOnce(t, "alice", "hello", "k1")
	if again != first || first.ClientID != "k1" {
		t.Fatalf("the repeat answered %+v, the first %+v", again, first)
	}
	if h := tr.history(t, nil); len(h) != 1 || h[0].ClientID != "k1" {
		t.Fatalf("two sends with one client id left %+v, want one message with it", h)
	}
}

// A send repeated over the WebSocket, on a new connection, or over HTTP
// after the WebSocket (or the other way round), is broadcast once; each
// repeat gets the first message back in its ack or answer.
func TestARepeatedSendIsBroadcastOnce(t *testing.T) {
	tr := newTestRoom(t, nil)
	bob := tr.dial(t, "bob", nil)
	bob.waitFor("bob's presence", func(ev chat.Event) bool { return ev.Type == "presence" })

	alice := tr.dial(t, "alice", nil)
	first := alice.sendOnce("hello", "k1")
	if again := alice.sendOnce("hello", "k1"); again != first {
		t.Fatalf("the repeat's ack carries %+v, the first's %+v", again, first)
	}
	alice.conn.Close()
	alice = tr.dial(t, "alice", nil)
	if again := alice.sendOnce("hello", "k1"); again != first {
		t.Fatalf("after a reconnect the ack carries %+v, want %+v", again, first)
	}
	if again := tr.postOnce(t, "alice", "hello", "k1"); again != first {
		t.Fatalf("over HTTP the repeat answered %+v, want %+v", again, first)
	}

	posted := tr.postOnce(t, "alice", "over http", "k2")
	if again := alice.sendOnce("over http", "k2"); again != posted {
		t.Fatalf("the WebSocket repeat of an HTTP post got %+v, want %+v", again, posted)
	}
	tr.post(t, "alice", "end")
	if n := countUntil(bob, "hello", "end"); n != 1 {
		t.Fatalf("bob saw the message sent four times %d times, want 1", n)
	}
	if h := tr.history(t, nil); len(h) != 3 {
		t.Fatalf("stored %d messages, want 3 (hello, over http, end)", len(h))
	}
}

// A client id is the sender's own: another nickname sending with the same
// id sends a message of its own.
func TestAClientIDIsPerNickname(t *testing.T) {
	tr := newTestRoom(t, nil)
	a := tr.postOnce(t, "alice", "hi", "k1")
	b := tr.postOnce(t, "bob", "hi", "k1")
	if a.ID == b.ID || b.Nick != "bob" {
		t.Fatalf("bob's send with alice's client id got %+v", b)
	}
	if h := tr.history(t, nil); len(h) != 2 {
		t.Fatalf("stored %d messages, want 2", len(h))
	}
}

// A bad client id is refused with the same sentence over HTTP and the
// WebSocket, and nothing is stored.
func TestBadClientIDsReadTheSameOverHTTPAndWebSocket(t *testing.T) {
	tr := newTestRoom(t, nil)
	ws := tr.dial(t, "alice", nil)
	ws.waitFor("alice's own presence", func(ev chat.Event) bool { return ev.Type == "presence" })
	for _, tt := range []struct{ name, id string }{
		{"a space", "a b"},
		{"a letter beyond ASCII", "é"},
		{"a slash", "a/b"},
		{"65 characters", strings.Repeat("x", 65)},
	} {
		t.Run("a client id with "+tt.name+" is refused on both paths", func(t *testing.T) {
			res, raw := tr.do(t, "POST", "/api/messages", map[string]string{"nick": "alice", "text": "hi", "client_id": tt.id}, nil)
			overHTTP := decode[struct{ Error string }](t, raw).Error
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(overHTTP, "client_id") {
				t.Fatalf("HTTP: got %d %s, want 400 naming client_id", res.StatusCode, raw)
			}
			ws.send(clientEvent{Type: "message", Text: "hi", ClientID: tt.id})
			ev := ws.waitFor("an error", func(ev chat.Event) bool { return ev.Type == "error" })
			if ev.Error != overHTTP || ev.Code != chat.CodeInvalid.String() {
				t.Fatalf("WebSocket said %q (%s), HTTP said %q", ev.Error, ev.Code, overHTTP)
			}
		})
	}
	if h := tr.history(t, nil); len(h) != 0 {
		t.Fatalf("refused messages were stored: %+v", h)
	}
}

// A refused send with a good client id names it, so the page can mark
// that send failed.
func TestARefusedSendNamesItsClientID(t *testing.T) {
	tr := newTestRoom(t, nil)
	ws := tr.dial(t, "alice", nil)
	ws.waitFor("alice's own presence", func(ev chat.Event) bool { return ev.Type == "presence" })
	ws.send(clientEvent{Type: "message", Text: "/ping ghost hi", ClientID: "k9"})
	ev := ws.waitFor("an error", func(ev chat.Event) bool { return ev.Type == "error" })
	if ev.ClientID != "k9" || ev.Code != chat.CodeNotPresent.String() {
		t.Fatalf("the refusal was %+v, want not_present naming k9", ev)
	}
}
