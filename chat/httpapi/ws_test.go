package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/chat/fanout"
)

func TestTwoClientsExchangeMessages(t *testing.T) {
	tr := newTestRoom(t, nil)
	alice := tr.dial(t, "alice", nil)
	// Once alice has her welcome she is in the room: bob's join reaches her.
	if ev := alice.next(); ev.Type != "presence" {
		t.Fatalf("alice's first event is %+v, want her welcome presence", ev)
	}
	bob := tr.dial(t, "bob", nil)
	alice.waitFor("bob's join", func(ev chat.Event) bool { return ev.Type == "join" && ev.Nick == "bob" })

	alice.send(clientEvent{Type: "message", Text: "hi bob"})
	got := bob.waitMessage("hi bob")
	if got.Nick != "alice" || got.Kind != chat.KindText || got.ID == 0 {
		t.Fatalf("bob got %+v", got)
	}
	tr.post(t, "bob", "hi alice, from curl")
	alice.waitMessage("hi alice, from curl")

	if h := tr.history(t, nil); len(h) != 2 {
		t.Fatalf("history has %d messages, want 2", len(h))
	}
}

func TestClientsSeeMessagesInIDOrder(t *testing.T) {
	tr := newTestRoom(t, nil)
	c := tr.dial(t, "watcher", nil)
	c.next() // presence
	c.next() // own join
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := tr.Post(context.Background(), chat.Sender{Nick: "p"}, fmt.Sprint(i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	var last uint64
	for range n {
		ev := c.waitFor("message", func(ev chat.Event) bool { return ev.Type == "message" })
		if ev.Message.ID != last+1 {
			t.Fatalf("got message %d after %d; events must arrive in id order without gaps", ev.Message.ID, last)
		}
		last = ev.Message.ID
	}
}

func TestSlowClientIsDroppedWhileOthersKeepReceiving(t *testing.T) {
	tr := newTestRoom(t, func(o *testOptions) { o.MaxMessageLength = 64 << 10; o.MaxPGPLength = 64 << 10 })
	slow := tr.dial(t, "slow", nil) // never reads
	fast := tr.dial(t, "fast", nil)

	big := strings.Repeat("x", 60<<10)
	const n = 600 // 36 MB: more than loopback socket buffers and the queue hold
	received := make(chan int, 1)
	go func() {
		count := 0
		for count < n {
			fast.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
			var ev chat.Event
			if err := fast.conn.ReadJSON(&ev); err != nil {
				break
			}
			if ev.Type == "message" {
				count++
			}
		}
		received <- count
	}()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 4 {
				if _, err := tr.Post(context.Background(), chat.Sender{Nick: "p"}, big+fmt.Sprint(i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := <-received; got != n {
		t.Fatalf("the fast client received %d of %d messages", got, n)
	}

	// The slow client finds a 1008 close after whatever was buffered. The
	// server can only put the close frame behind the data the client has
	// not read; when the client waits longer than the server's write
	// deadline to read any of it (the posting above took that long, as
	// under the race detector), the server gives up on the socket and the
	// client sees the connection end without the frame (1006). Either way
	// it was dropped; a client the server kept would read every message
	// and then wait, which closeCode reports as -1.
	posting := time.Since(start) // until the slow client starts reading
	code, err := closeCode(slow.conn, 10*time.Second)
	switch {
	case code == websocket.ClosePolicyViolation:
	case code == websocket.CloseAbnormalClosure && posting > fanout.WriteWait-time.Second:
		t.Logf("posting took %v, past the server's write deadline: the slow client saw 1006", posting)
	default:
		t.Fatalf("slow client ended with %d (%v) after %v of posting, want close %d", code, err, posting, websocket.ClosePolicyViolation)
	}
}

// closeCode reads from conn until it ends and returns the close code the
// server sent, or -1 and the error when it ended without a close frame.
func closeCode(conn *websocket.Conn, wait time.Duration) (int, error) {
	for {
		conn.SetReadDeadline(time.Now().Add(wait))
		_, _, err := conn.ReadMessage()
		if err == nil {
			continue
		}
		var closeErr *websocket.CloseError
		if errors.As(err, &closeErr) {
			return closeErr.Code, err
		}
		return -1, err
	}
}

// Membership travels as small deltas after the welcome: a join, a leave
// or a rename carries nicknames and the count, never the member list.
func TestPresenceJoinLeaveRenameAndQuit(t *testing.T) {
	tr := newTestRoom(t, nil)
	alice := tr.dial(t, "alice", nil)
	if ev := alice.next(); ev.Type != "presence" || strings.Join(ev.Members, ",") != "alice" {
		t.Fatalf("first event %+v, want presence with alice", ev)
	}
	expect := func(what, want string) {
		t.Helper()
		alice.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, raw, err := alice.conn.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if string(raw) != want {
			t.Fatalf("%s: alice got %s, want %s", what, raw, want)
		}
	}
	expect("her own join", `{"type":"join","nick":"alice","count":1}`)

	bob := tr.dial(t, "bob", nil)
	expect("bob's join", `{"type":"join","nick":"bob","count":2}`)
	// A second tab of bob's is no new join.
	bob2 := tr.dial(t, "bob", nil)
	bob2.next() // its welcome: the room is as it joins
	// bob renames one tab while the other stays: carol came, bob is still in.
	bob2.send(clientEvent{Type: "nick", Nick: "carol"})
	expect("carol's arrival", `{"type":"join","nick":"carol","count":3}`)
	// carol renames to bob, who is in already: carol left.
	bob2.send(clientEvent{Type: "nick", Nick: "bob"})
	expect("carol's departure", `{"type":"leave","nick":"carol","count":2}`)
	// Closing one of bob's two tabs is no leave; quitting the last is.
	bob2.conn.Close()
	bob.send(clientEvent{Type: "quit"})
	expect("bob's leave", `{"type":"leave","nick":"bob","count":1}`)

	// A plain rename is one event.
	alice.send(clientEvent{Type: "nick", Nick: "alicia"})
	expect("alice's rename", `{"type":"nick","nick":"alicia","from":"alice","count":1}`)
	res, raw := tr.do(t, "GET", "/api/room", nil, nil)
	if res.StatusCode != 200 || !strings.Contains(string(raw), `"members":["alicia"]`) {
		t.Fatalf("room after rename: %s", raw)
	}
}

func TestWebSocketRefusesOtherSitesAndBadNicks(t *testing.T) {
	tr := newTestRoom(t, nil)
	tests := []struct {
		name   string
		nick   string
		origin string
		status int
	}{
		{"a page of another site is refused", "alice", "https://evil.example", http.StatusForbidden},
		{"a nick with markup is refused", "<b>", "", http.StatusBadRequest},
		{"no nick is refused", "", "", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			_, res, err := tr.tryDial(tt.nick, h)
			if err == nil {
				t.Fatal("the connection was accepted")
			}
			if res == nil || res.StatusCode != tt.status {
				t.Fatalf("got %v, want status %d", res, tt.status)
			}
		})
	}
	t.Run("the room's own page is accepted", func(t *testing.T) {
		h := http.Header{}
		h.Set("Origin", tr.srv.URL)
		tr.dial(t, "alice", h)
	})
}

func TestWebSocketConnectionLimits(t *testing.T) {
	tr := newTestRoom(t, func(o *testOptions) { o.MaxClientsPerAddr = 2 })
	// The 101 comes before the server registers a client; its welcome
	// comes after. Only a client that has its welcome counts for sure.
	for _, nick := range []string{"a", "b"} {
		c := tr.dial(t, nick, nil)
		c.waitFor(nick+"'s welcome", func(ev chat.Event) bool { return ev.Type == "presence" })
	}
	c, _, err := tr.tryDial("c", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if code, err := closeCode(c, 5*time.Second); code != websocket.CloseTryAgainLater {
		t.Fatalf("third connection from one address ended with %d (%v), want close 1013", code, err)
	}
}

func TestShutdownSendsCloseFrames(t *testing.T) {
	tr := newTestRoom(t, nil)
	c := tr.dial(t, "alice", nil)
	c.next()
	tr.CloseClients()
	if code, err := closeCode(c.conn, 5*time.Second); code != websocket.CloseGoingAway {
		t.Fatalf("got %d (%v), want close 1001", code, err)
	}
}

func TestOversizeFrameClosesTheConnection(t *testing.T) {
	tr := newTestRoom(t, func(o *testOptions) { o.MaxMessageLength = 100; o.MaxPGPLength = 100 })
	c := tr.dial(t, "alice", nil)
	// The server may hang up before the whole frame is written, so a
	// failed write is one of the expected outcomes.
	writeErr := c.conn.WriteJSON(clientEvent{Type: "message", Text: strings.Repeat("x", 10000)})
	code, err := closeCode(c.conn, 5*time.Second)
	if code != websocket.CloseMessageTooBig && !(code == -1 && writeErr != nil) {
		t.Fatalf("got %d (%v), want close 1009", code, err)
	}
	if n, _ := messageCount(tr.Room); n != 0 {
		t.Fatalf("%d messages stored from an oversize frame", n)
	}
}

// A client's first event is always its own welcome presence, however busy
// the room is as it joins: it is queued under the lock that registers the
// client, so no message or join can overtake it.
func TestWelcomeComesBeforeAnyOtherEvent(t *testing.T) {
	tr := newTestRoom(t, func(o *testOptions) { o.MaxClientsPerAddr, o.ConnectsPerMinute = 200, 60000 })
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // a steady stream of broadcasts while people join
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := tr.Post(context.Background(), chat.Sender{Nick: "bot"}, fmt.Sprint(i)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, _, err := tr.tryDial(fmt.Sprint("p", i), nil)
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			var ev chat.Event
			if err := conn.ReadJSON(&ev); err != nil {
				t.Error(err)
				return
			}
			if ev.Type != "presence" {
				t.Errorf("p%d's first event is %s, want its welcome presence", i, ev.Type)
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-done
}
