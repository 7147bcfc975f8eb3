package fanout

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/chat/event"
	"github.com/gorilla/websocket"
)

// An event about a message (an edit, a delete, a reaction) never reaches
// a client before the message: while the message waits for an earlier
// one, the event waits behind it.
func TestEventsAboutAMessageFollowIt(t *testing.T) {
	hub := New(0)
	added := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		conn, err := (&websocket.Upgrader{}).Upgrade(w, req, nil)
		if err != nil {
			return
		}
		if refusal := hub.Add(NewClient(conn, "127.0.0.1", "reader"), 10, 10); refusal != "" {
			t.Errorf("add: %s", refusal)
		}
		close(added)
	}))
	defer srv.Close()
	defer hub.CloseAll(CloseGoingAway, "", time.Second)
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	<-added
	read := func() event.Event {
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		var ev event.Event
		if err := conn.ReadJSON(&ev); err != nil {
			t.Fatalf("read: %v", err)
		}
		return ev
	}
	if ev := read(); ev.Type != event.TypePresence {
		t.Fatalf("first event %q, want presence", ev.Type)
	}
	msg := func(id uint64) event.Message {
		return event.Message{ID: id, Nick: "a", Text: "t", Kind: event.KindText}
	}
	// Message 2 is stored before message 1 is published: it waits, and so
	// do the events about it.
	hub.Publish(msg(2))
	edited := msg(2)
	edited.Text = "edited"
	hub.PublishAfter(2, event.Event{Type: event.TypeEdit, Message: &edited})
	hub.PublishAfter(2, event.Event{Type: event.TypeDelete, ID: 2})
	hub.Publish(msg(1))
	hub.PublishAfter(1, event.Event{Type: event.TypeReact, ID: 1, Reactions: event.Reactions{}})
	var got []string
	for len(got) < 5 {
		ev := read()
		if ev.Type == event.TypeJoin {
			continue
		}
		id := ev.ID
		if ev.Message != nil {
			id = ev.Message.ID
		}
		got = append(got, string(ev.Type)+" "+string(rune('0'+id)))
	}
	want := "[message 1 message 2 edit 2 delete 2 react 1]"
	if s := "[" + strings.Join(got, " ") + "]"; s != want {
		t.Errorf("events %s, want %s", s, want)
	}
}
