package fanout

import (
	"bufio"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatbox-dev/chatbox/chat/event"
)

// gatedConn counts the writes on a server's socket and holds write number
// holdAt (from 1; 0 for none) until it is let go.
type gatedConn struct {
	net.Conn
	holdAt    int
	held      chan struct{} // closed when the write is held
	letGo     chan struct{} // closed to let it go
	mu        sync.Mutex
	writes    int
	deadlines int // SetWriteDeadline calls
}

func (c *gatedConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadlines++
	c.mu.Unlock()
	return c.Conn.SetWriteDeadline(t)
}

func newGatedConn(holdAt int) *gatedConn {
	return &gatedConn{holdAt: holdAt, held: make(chan struct{}), letGo: make(chan struct{})}
}

func (c *gatedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes++
	hold := c.writes == c.holdAt
	c.mu.Unlock()
	if hold {
		close(c.held)
		<-c.letGo
	}
	return c.Conn.Write(p)
}

func (c *gatedConn) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}

type hijacker struct {
	http.ResponseWriter
	wrap func(net.Conn) net.Conn
}

func (h hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	return h.wrap(conn), brw, nil
}

// serveOne starts a hub with one client whose socket is gc; it returns the
// hub, the client and the peer's end.
func serveOne(t *testing.T, gc *gatedConn) (*Hub, *websocket.Conn) {
	t.Helper()
	hub := New(0)
	upgrader := websocket.Upgrader{}
	joined := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		conn, err := upgrader.Upgrade(hijacker{w, func(c net.Conn) net.Conn { gc.Conn = c; return gc }}, req, nil)
		if err != nil {
			return
		}
		c := NewClient(conn, "127.0.0.1", "alice")
		if refusal := hub.Add(c, 10, 10); refusal != "" {
			t.Error(refusal)
		}
		close(joined)
		for {
			if _, _, err := conn.NextReader(); err != nil {
				hub.Remove(c)
				return
			}
		}
	}))
	t.Cleanup(func() {
		hub.CloseAll(CloseGoingAway, "", 5*time.Second)
		srv.Close()
	})
	peer, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	<-joined
	return hub, peer
}

// readWelcome reads what a newcomer gets first: the room's presence, then
// its own join.
func readWelcome(t *testing.T, peer *websocket.Conn) {
	t.Helper()
	for _, want := range []event.Type{"presence", event.TypeJoin} {
		if ev := readEvent(t, peer); ev.Type != want {
			t.Fatalf("event %q, want %q", ev.Type, want)
		}
	}
}

func readEvent(t *testing.T, peer *websocket.Conn) event.Event {
	t.Helper()
	peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	var ev event.Event
	_, raw, err := peer.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("%q is not an event: %v", raw, err)
	}
	return ev
}

// A client that fell behind gets what it missed in one system call, not
// one per event: when the machine is busy, that is what lets the room
// catch up.
func TestEventsQueuedMeanwhileGoOutInOneWrite(t *testing.T) {
	gc := newGatedConn(2) // 1: the upgrade's answer; 2: the welcome
	hub, peer := serveOne(t, gc)
	select {
	case <-gc.held:
	case <-time.After(10 * time.Second):
		t.Fatal("the welcome was never written")
	}
	const queued = 5
	for i := range queued {
		hub.Broadcast(event.Event{Type: event.TypeMessage, Message: &event.Message{ID: uint64(i + 1), Text: strings.Repeat("x", 100*i)}})
	}
	close(gc.letGo)
	readWelcome(t, peer)
	for i := range queued {
		if ev := readEvent(t, peer); ev.Message == nil || ev.Message.ID != uint64(i+1) || len(ev.Message.Text) != 100*i {
			t.Fatalf("event %d: %+v, want message %d", i, ev, i+1)
		}
	}
	if got := gc.count(); got != 3 {
		t.Errorf("%d writes on the socket, want 3: the answer, the welcome, then the join and the %d messages queued meanwhile together", got, queued)
	}
}

// Frames of every length class decode as the same event (RFC 6455, 5.2:
// 7-bit, 16-bit and 64-bit payload lengths).
func TestFramesOfEveryLengthDecode(t *testing.T) {
	hub, peer := serveOne(t, newGatedConn(0))
	readWelcome(t, peer)
	for _, n := range []int{0, 60, 125, 126, 65535, 70000} {
		hub.Broadcast(event.Event{Type: event.TypeMessage, Message: &event.Message{ID: 1, Text: strings.Repeat("y", n)}})
		if ev := readEvent(t, peer); ev.Message == nil || len(ev.Message.Text) != n {
			t.Fatalf("text of %d bytes arrived as %+v", n, ev)
		}
	}
}

// The hub answers the peer's close frame with the same code, and nothing
// follows it.
func TestThePeersCloseIsAnswered(t *testing.T) {
	_, peer := serveOne(t, newGatedConn(0))
	readWelcome(t, peer)
	if err := peer.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, ""), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err := peer.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
		t.Fatalf("after our close: %v, want the close frame back with code 1001", err)
	}
}

// Moving a socket's write deadline resets a runtime timer; at 100,000
// deliveries a second that showed in the profile. A client's writes within
// a second share one deadline.
func TestWritesWithinASecondShareADeadline(t *testing.T) {
	gc := newGatedConn(0)
	hub, peer := serveOne(t, gc)
	readWelcome(t, peer)
	gc.mu.Lock()
	before := gc.deadlines
	gc.mu.Unlock()
	start := time.Now()
	const events = 10
	for i := range events {
		hub.Broadcast(event.Event{Type: event.TypeMessage, Message: &event.Message{ID: uint64(i + 1)}})
		readEvent(t, peer) // one write each
	}
	gc.mu.Lock()
	got := gc.deadlines - before
	gc.mu.Unlock()
	if time.Since(start) < time.Second && got > 0 {
		t.Errorf("%d write deadlines set for %d writes within a second of the welcome's, want none", got, events)
	}
}

// A ping waits in the client's queue behind the events for everyone; in a
// 10,000-client room on a busy machine that was seconds, and with a ping
// at 54 s and the pong due at 60 s, 41 healthy clients of one benchmark run
// were closed for a late pong. Half of the pong wait is left for it now.
func TestAPingHasHalfThePongWaitToComeBack(t *testing.T) {
	if slack := PongWait - pingPeriod; slack < PongWait/2 {
		t.Errorf("a ping every %v leaves %v for the pong, want at least %v", pingPeriod, slack, PongWait/2)
	}
}
