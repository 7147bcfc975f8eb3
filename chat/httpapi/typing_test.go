package httpapi

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/chat"
)

// typingUntil reads c's events up to the message text and counts the
// typing events among them, by nickname.
func typingUntil(c *wsClient, text string) map[string]int {
	c.t.Helper()
	seen := map[string]int{}
	for {
		ev := c.next()
		switch {
		case ev.Type == "typing":
			seen[ev.Nick]++
		case ev.Type == "message" && ev.Message.Text == text:
			return seen
		}
	}
}

// A flood of typing from one page reaches the others once every three
// seconds, and is charged to the sender's budget like any event.
func TestTypingIsToldAtMostOnceEveryThreeSeconds(t *testing.T) {
	clock := newTestClock()
	tr := newTestRoom(t, func(o *testOptions) {
		o.Now = clock.now
		o.PostsPerMinute = 600 // a burst of 100; the clock hardly moves
	})
	alice := tr.join(t, "alice", aliceToken)
	bob := tr.join(t, "bob", bobToken)
	alice.waitFor("bob's join", func(ev chat.Event) bool { return ev.Type == "join" && ev.Nick == "bob" })

	flood := func(round int) map[string]int {
		for range 8 {
			alice.send(map[string]string{"type": "typing"})
		}
		text := fmt.Sprintf("round %d", round)
		alice.send(map[string]string{"type": "message", "text": text})
		return typingUntil(bob, text)
	}
	if got := flood(1); got["alice"] != 1 || len(got) != 1 {
		t.Fatalf("8 typing events at once reached bob as %v, want alice once", got)
	}
	clock.advance(chat.TypingEvery - time.Millisecond)
	if got := flood(2); len(got) != 0 {
		t.Fatalf("within 3 s of the last, bob got %v, want nothing", got)
	}
	clock.advance(time.Millisecond)
	if got := flood(3); got["alice"] != 1 {
		t.Fatalf("3 s after the last, bob got %v, want alice once", got)
	}
	// Every typing event is charged: 27 events so far, 30 tokens back in
	// 3 s, so 104 more typing events overrun the budget of 100.
	for range 104 {
		alice.send(map[string]string{"type": "typing"})
	}
	ev := alice.waitFor("the refusal", func(ev chat.Event) bool { return ev.Type == "error" })
	if ev.Code != "rate_limited" {
		t.Fatalf("typing over the budget: %+v, want rate_limited", ev)
	}
	// Typing is never stored.
	for _, m := range tr.history(t, nil) {
		if m.Kind != chat.KindText {
			t.Fatalf("history holds %+v", m)
		}
	}
}

// In a room of 1,000 members nobody's typing is told to anyone: that
// would be a million events for a thousand people typing.
func TestABigRoomGetsNoTyping(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 1,000 connections")
	}
	tr := newTestRoom(t, func(o *testOptions) {
		o.MaxClientsPerAddr = 2000
		o.ConnectsPerMinute = 1 << 20
	})
	alice := tr.join(t, "alice", aliceToken)
	watcher := tr.join(t, "watcher", bobToken)
	for i := range 998 {
		conn, res, err := tr.dialHolding(fmt.Sprintf("m%d", i), "", nil)
		if err != nil {
			t.Fatalf("member %d: %v (%v)", i, err, res)
		}
		t.Cleanup(func() { conn.Close() })
	}
	// A connection is in the room once the server has added it, a little
	// after the upgrade the dial returns from.
	deadline := time.Now().Add(30 * time.Second)
	for len(tr.Members()) < 1000 {
		if time.Now().After(deadline) {
			t.Fatalf("%d members, want 1000", len(tr.Members()))
		}
		time.Sleep(5 * time.Millisecond)
	}
	for range 5 {
		alice.send(map[string]string{"type": "typing"})
	}
	alice.send(map[string]string{"type": "message", "text": "sentinel"})
	if got := typingUntil(watcher, "sentinel"); len(got) != 0 {
		t.Fatalf("a 1,000-member room got typing events: %v", got)
	}
	res, raw := tr.do(t, "GET", "/api/room", nil, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", res.StatusCode, raw)
	}
}

// Up to 50 nicknames typing is told; at 51 it stops.
func TestTypingStopsAboveFiftyMembers(t *testing.T) {
	tr := newTestRoom(t, func(o *testOptions) {
		o.ConnectsPerMinute = 1 << 20
		o.MaxClientsPerAddr = 100
	})
	alice := tr.join(t, "alice", aliceToken)
	watcher := tr.join(t, "watcher", bobToken)
	for i := range chat.MaxTypingRoom - 2 {
		tr.join(t, fmt.Sprintf("m%d", i), "")
	}
	alice.send(map[string]string{"type": "typing"})
	alice.send(map[string]string{"type": "message", "text": "at fifty"})
	if got := typingUntil(watcher, "at fifty"); got["alice"] != 1 {
		t.Fatalf("a room of 50 got typing %v, want alice once", got)
	}
	typingUntil(alice, "at fifty") // what alice saw before
	tr.join(t, "one-more", "")
	// bob types for the first time.
	bob := watcher
	bob.send(map[string]string{"type": "typing"})
	bob.send(map[string]string{"type": "message", "text": "at fifty-one"})
	if got := typingUntil(alice, "at fifty-one"); len(got) != 0 {
		t.Fatalf("a room of 51 got typing %v, want none", got)
	}
}
