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

	// In a small room, a join is announced at once, as a delta.
	for i := range 3 {
		nick := fmt.Sprint("n", i)
		tr.dial(t, nick, nil).next() // its welcome: it is in
		ev := watcher.waitFor("join of "+nick, func(ev chat.Event) bool { return ev.Type == "join" })
		if ev.Nick != nick || ev.Count != i+2 || len(ev.Members) != 0 {
			t.Fatalf("got %+v, want the join of %s counting %d and listing no one", ev, nick, i+2)
		}
	}

	// Once the room is big, a presence event lists fanout.PresenceFull
	// nicknames and counts them all.
	for i := 3; i < fanout.PresenceFull; i++ {
		tr.dial(t, fmt.Sprint("n", i), nil).next()
	}
	ev := watcher.waitFor("presence of the big room", func(ev chat.Event) bool {
		return ev.Type == "presence" && ev.Count == fanout.PresenceFull+1
	})
	if len(ev.Members) != fanout.PresenceFull {
		t.Fatalf("presence counting %d lists %d members, want %d", ev.Count, len(ev.Members), fanout.PresenceFull)
	}

	// A newcomer to the big room is welcomed the same way.
	newcomer := tr.dial(t, "newcomer", nil)
	if ev := newcomer.next(); ev.Type != "presence" || ev.Count < fanout.PresenceFull+1 || len(ev.Members) != fanout.PresenceFull {
		t.Fatalf("newcomer's first event is %s with count %d and %d members", ev.Type, ev.Count, len(ev.Members))
	}
}

// A burst of membership changes in a small room (here 40 renames in one
// write) is summed up in a presence event that lists everyone, instead of
// an event each; once the watcher knows the room again, a single change
// is announced as a delta.
func TestChurnIsSummedUpThenDeltasResume(t *testing.T) {
	tr := newTestRoom(t, nil)
	watcher := tr.dial(t, "watcher", nil)
	watcher.next() // welcome
	renamer := tr.dial(t, "r0", nil)
	renamer.next() // its welcome: it is in
	const renames = 40
	frames := make([][]byte, renames)
	for i := range frames {
		frames[i] = fmt.Appendf(nil, `{"type":"nick","nick":"r%d"}`, i+1)
	}
	if err := burst(renamer.conn, frames); err != nil {
		t.Fatal(err)
	}
	want := members{"watcher": true, fmt.Sprint("r", renames): true}
	seen, deltas, presences := members{"watcher": true}, 0, 0
	for seen.String() != want.String() {
		ev := watcher.next()
		seen.apply(ev)
		switch ev.Type {
		case "nick":
			deltas++
		case "presence":
			presences++
		}
	}
	if presences == 0 || deltas >= renames {
		t.Fatalf("the watcher learnt of %d renames from %d rename events and %d presence events; the burst was not summed up", renames, deltas, presences)
	}
	tr.dial(t, "late", nil)
	ev := watcher.next()
	if ev.Type != "join" || ev.Nick != "late" || ev.Count != 3 {
		t.Fatalf("after the summing-up the watcher got %+v, want late's join counting 3", ev)
	}
}
