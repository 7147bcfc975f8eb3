package httpapi

import (
	"fmt"
	"testing"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/chat/fanout"
)

func TestBigRoomSumsUpPresenceInsteadOfAnnouncingEachJoin(t *testing.T) {
	tr := newTestRoom(t, func(o *testOptions) {
		o.MaxClientsPerAddr = 1000
		o.ConnectsPerMinute = 1 << 20 // every client dials from 127.0.0.1
	})
	watcher := tr.dial(t, "watcher", nil)
	if ev := watcher.next(); ev.Type != "presence" || ev.Count != 1 {
		t.Fatalf("first event %+v, want presence counting 1", ev)
	}
	watcher.next() // its own join

	// Up to fanout.PresenceFull nicknames, each join is announced with everyone.
	for i := range fanout.PresenceFull - 1 {
		nick := fmt.Sprint("n", i)
		tr.dial(t, nick, nil)
		ev := watcher.waitFor("join of "+nick, func(ev chat.Event) bool { return ev.Type == "join" })
		if ev.Nick != nick || ev.Count != i+2 || len(ev.Members) != i+2 {
			t.Fatalf("got %+v, want the join of %s with %d members", ev, nick, i+2)
		}
	}

	// One more makes the room big: no join, but a presence event that
	// lists fanout.PresenceFull nicknames and counts them all.
	tr.dial(t, "late", nil)
	ev := watcher.waitFor("presence", func(ev chat.Event) bool { return ev.Type == "presence" || ev.Type == "join" })
	if ev.Type != "presence" || ev.Count != fanout.PresenceFull+1 || len(ev.Members) != fanout.PresenceFull {
		t.Fatalf("got %s with count %d and %d members, want presence counting %d and listing %d",
			ev.Type, ev.Count, len(ev.Members), fanout.PresenceFull+1, fanout.PresenceFull)
	}

	// A newcomer to the big room is welcomed the same way.
	newcomer := tr.dial(t, "newcomer", nil)
	if ev := newcomer.next(); ev.Type != "presence" || ev.Count < fanout.PresenceFull+1 || len(ev.Members) != fanout.PresenceFull {
		t.Fatalf("newcomer's first event is %s with count %d and %d members", ev.Type, ev.Count, len(ev.Members))
	}
}
