package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// tracker is shared by all clients: the phase whose messages they count,
// the clock, the latency histogram and each message's first and last
// arrival.
type tracker struct {
	epoch time.Time
	phase atomic.Uint32
	lat   atomic.Pointer[histogram]
	spans atomic.Pointer[spans]
}

// spans holds the first and last arrival of messages base+1 to
// base+len(arrivals), as offsets from the epoch.
type spans struct {
	base     uint64
	arrivals []span
}

type span struct{ first, last atomic.Int64 }

// startPhase makes clients count messages stamped with phase into a fresh
// histogram, which it returns, and note when each of the n messages after
// id base reaches its first and last client.
func (t *tracker) startPhase(phase uint32, base uint64, n int) *histogram {
	h := &histogram{}
	s := &spans{base: base, arrivals: make([]span, n)}
	for i := range s.arrivals {
		s.arrivals[i].first.Store(math.MaxInt64)
	}
	t.lat.Store(h)
	t.spans.Store(s)
	t.phase.Store(phase)
	return h
}

// fanOut returns, for each message that arrived, the time from its first
// to its last arrival: how long the server took to reach every client,
// whatever storing it cost before.
func (t *tracker) fanOut() *histogram {
	h := &histogram{}
	s := t.spans.Load()
	for i := range s.arrivals {
		a := &s.arrivals[i]
		if last := a.last.Load(); last > 0 {
			h.add(time.Duration(last - a.first.Load()))
		}
	}
	return h
}

// arrived records that message id reached a client at offset at.
func (t *tracker) arrived(id uint64, at time.Duration) {
	s := t.spans.Load()
	if id <= s.base || id > s.base+uint64(len(s.arrivals)) {
		return
	}
	a := &s.arrivals[id-s.base-1]
	storeIf(&a.first, int64(at), func(old, v int64) bool { return v < old })
	storeIf(&a.last, int64(at), func(old, v int64) bool { return v > old })
}

// storeIf stores v in x while better(x, v) holds.
func storeIf(x *atomic.Int64, v int64, better func(old, v int64) bool) {
	for {
		old := x.Load()
		if !better(old, v) || x.CompareAndSwap(old, v) {
			return
		}
	}
}

// wsClient is one simulated person with one WebSocket connection at a time.
type wsClient struct {
	src  netip.Addr
	nick string
	conn *websocket.Conn
	// ready is closed at the first presence event, done when the read loop
	// ends; both are made anew for each connection.
	ready   chan struct{}
	done    chan struct{}
	leaving atomic.Bool
	// closeCode is the close code the server sent (-1: the connection
	// broke without one).
	closeCode atomic.Int32

	got, dup atomic.Int64  // messages of the current phase: unique, repeated
	lastID   atomic.Uint64 // the highest message id seen
}

// resetCounts zeroes the per-phase counters.
func (c *wsClient) resetCounts() {
	c.got.Store(0)
	c.dup.Store(0)
}

// dropped reports whether the server ended the connection (rather than
// the client leaving).
func (c *wsClient) dropped() bool {
	select {
	case <-c.done:
		return !c.leaving.Load()
	default:
		return false
	}
}

// connect opens the client's WebSocket from its own source address and
// waits for the room's presence event.
func (c *wsClient) connect(ctx context.Context, wsURL string, t *tracker) error {
	d := websocket.Dialer{
		NetDialContext:   dialFrom(c.src),
		HandshakeTimeout: 30 * time.Second,
		ReadBufferSize:   1024,
		WriteBufferSize:  512,
	}
	conn, resp, err := d.DialContext(ctx, wsURL+"?nick="+url.QueryEscape(c.nick), nil)
	if err != nil {
		if resp != nil {
			return fmt.Errorf("%w (%s)", err, resp.Status)
		}
		return err
	}
	c.conn = conn
	c.ready = make(chan struct{})
	c.done = make(chan struct{})
	c.leaving.Store(false)
	c.closeCode.Store(0)
	go c.readLoop(t)
	select {
	case <-c.ready:
		return nil
	case <-c.done:
		return fmt.Errorf("closed before the presence event (code %d)", c.closeCode.Load())
	case <-ctx.Done():
		conn.Close()
		return ctx.Err()
	}
}

// leave closes the connection politely and waits (briefly) for the
// server's answer.
func (c *wsClient) leave() {
	if c.conn == nil {
		return
	}
	c.leaving.Store(true)
	c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	select {
	case <-c.done:
	case <-time.After(2 * time.Second):
	}
	c.conn.Close()
	<-c.done
}

func (c *wsClient) readLoop(t *tracker) {
	defer close(c.done)
	var buf bytes.Buffer
	ready := false
	for {
		_, r, err := c.conn.NextReader()
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(r)
		}
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				c.closeCode.Store(int32(ce.Code))
			} else {
				c.closeCode.Store(-1)
			}
			return
		}
		if !ready && bytes.HasPrefix(buf.Bytes(), presencePrefix) {
			ready = true
			close(c.ready)
			continue
		}
		c.handle(buf.Bytes(), t)
	}
}

var (
	presencePrefix = []byte(`{"type":"presence"`)
	messagePrefix  = []byte(`{"type":"message","message":{"id":`)
	textMarker     = []byte(`"text":"lg `)
)

// handle counts one event. Parsing is by hand: at 100,000 deliveries a
// second a JSON decoder would cost the generator more than the server.
func (c *wsClient) handle(b []byte, t *tracker) {
	rest, ok := bytes.CutPrefix(b, messagePrefix)
	if !ok {
		return
	}
	arrived := time.Since(t.epoch)
	id, rest, ok := cutUint(rest)
	if !ok {
		return
	}
	prev := c.lastID.Load()
	if id > prev {
		c.lastID.Store(id)
	}
	_, rest, ok = bytes.Cut(rest, textMarker)
	if !ok {
		return
	}
	phase, rest, ok := cutUint(rest)
	if !ok || uint32(phase) != t.phase.Load() || len(rest) == 0 {
		return
	}
	sent, _, ok := cutUint(rest[1:])
	if !ok {
		return
	}
	if id <= prev {
		c.dup.Add(1)
		return
	}
	c.got.Add(1)
	t.lat.Load().add(arrived - time.Duration(sent))
	t.arrived(id, arrived)
}

// cutUint parses the decimal digits at the start of b.
func cutUint(b []byte) (v uint64, rest []byte, ok bool) {
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		v = v*10 + uint64(b[i]-'0')
		i++
	}
	return v, b[i:], i > 0
}
