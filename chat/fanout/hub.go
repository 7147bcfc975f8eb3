// Package fanout delivers a room's events to its WebSocket clients: one
// encoding per event for everyone, a bounded queue per client, a small
// pool of writers instead of a goroutine per delivery, messages in id
// order, and presence that stays small in a big room. It never blocks on
// a slow client: one whose queue is full is dropped and catches up from
// history when it reconnects.
package fanout

import (
	"encoding/json"
	"net"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatbox-dev/chatbox/chat/event"
)

// Timings of the WebSocket keep-alive.
const (
	WriteWait = 10 * time.Second
	PongWait  = 60 * time.Second
	// pingPeriod leaves half of PongWait for the ping to get out and the
	// pong back: on a busy machine a ping waits behind the events queued
	// for everyone (seconds, at 10,000 clients on a shared core), and a
	// pong that comes late ends a healthy connection.
	pingPeriod = PongWait / 2
	// sendQueue is how many events a client may fall behind before it is
	// dropped; it reconnects and catches up from history.
	sendQueue = 256
	// tickEvery is how often the hub looks for clients due a ping and for
	// presence changes to announce.
	tickEvery = time.Second
)

// Presence. A newcomer's welcome lists the room (up to PresenceFull
// nicknames); after it, membership travels as small deltas: join and
// leave carry the nickname and the count, a rename the old and the new
// nickname and the count, never the member list. Deltas stop, and changes
// are summed up in one presence event at most every presenceEvery, which
// lists the first PresenceFull nicknames (in order) and counts them all:
//   - in a big room (more than PresenceFull nicknames), where announcing
//     each change to everyone would cost the square of the room's size;
//   - when more than maxDeltas changes come within presenceEvery, so that
//     churn (one client renaming as fast as its budget allows, or many
//     joining at once) costs each reader at most maxDeltas small events
//     and a presence event every presenceEvery, far below its queue.
//
// Deltas resume after a presence event that lists the whole room.
const (
	PresenceFull  = 100
	presenceEvery = 2 * time.Second
	maxDeltas     = 32
)

// client is one WebSocket connection. An idle client has no goroutine
// writing to it: when its queue gets an event (or a ping or a close is
// due) it is handed to the room's writer pool until the queue is empty.
type Client struct {
	conn *websocket.Conn
	// nc is the socket under conn, which events are written to, and
	// deadline the write deadline last set on it (Unix nanoseconds), both
	// used only by the writer that holds the client.
	nc       net.Conn
	deadline int64
	addr     string
	nick     string // guarded by hub.mu
	// nextPing is when the client is next pinged (Unix nanoseconds); set in
	// hub.add, then read and written only by the hub's ticker.
	nextPing int64

	// writers is the room's writer pool; set in hub.add.
	writers *writerPool

	mu      sync.Mutex
	queue   []frame
	inline  [2]frame // the queue's first storage
	writing bool     // the client is with the writers
	pingDue bool
	closing bool
	// closeCode and closeText are what the close frame says; closeNow
	// sends it before the events still queued.
	closeCode int
	closeText string
	closeNow  bool
	// gone is closed once the connection is closed.
	gone chan struct{}
}

// NewClient returns the room's side of the WebSocket conn, from addr, as
// nick. From then on the hub is the connection's only writer of data and
// close frames (its reader may still answer pings): a close frame from the
// peer is answered by the hub, which sends nothing after it.
func NewClient(conn *websocket.Conn, addr, nick string) *Client {
	c := &Client{conn: conn, nc: conn.UnderlyingConn(), addr: addr, nick: nick, gone: make(chan struct{})}
	c.queue = c.inline[:0]
	conn.SetCloseHandler(func(code int, _ string) error {
		if code == websocket.CloseNoStatusReceived {
			code = websocket.CloseNormalClosure
		}
		c.closeWith(code, "", true)
		return nil
	})
	return c
}

// send queues f. It reports false when the queue is full: the caller
// drops the client.
func (c *Client) send(f frame) bool {
	ok, start := c.enqueue(f)
	if start {
		c.writers.push(c)
	}
	return ok
}

// enqueue queues f. ok is false when the queue is full; start is true
// when the caller must hand c to the writers.
func (c *Client) enqueue(f frame) (ok, start bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return true, false
	}
	if len(c.queue) >= sendQueue {
		return false, false
	}
	c.queue = append(c.queue, f)
	return true, c.startLocked()
}

// ping asks for a ping frame.
func (c *Client) ping() {
	c.mu.Lock()
	c.pingDue = true
	start := c.startLocked()
	c.mu.Unlock()
	if start {
		c.writers.push(c)
	}
}

// Close asks for a close frame (none for CloseAbnormalClosure) and for the
// connection to be closed. Events queued before are sent first, except to
// a client dropped for being too slow (ClosePolicyViolation), which gets
// the close frame after the write in progress. Only the first call counts.
func (c *Client) Close(code int, text string) {
	c.closeWith(code, text, code == websocket.ClosePolicyViolation || code == websocket.CloseAbnormalClosure)
}

// closeWith is Close; now sends the close frame before the events still
// queued, as the answer to the peer's close frame must be.
func (c *Client) closeWith(code int, text string, now bool) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.closing, c.closeCode, c.closeText, c.closeNow = true, code, text, now
	start := c.startLocked()
	c.mu.Unlock()
	if start {
		c.writers.push(c)
	}
}

// startLocked reports whether the caller must hand c to the writers.
func (c *Client) startLocked() bool {
	if c.writing {
		return false
	}
	c.writing = true
	return true
}

// drainBatch is how many events a writer sends to one client before it
// serves the next.
const drainBatch = 8

// drain writes up to drainBatch queued events (and a due ping) to c's
// socket, without holding c.mu; while it runs it is the socket's only
// writer of data. Queued events go out in one write(2), straight to the
// connection under gorilla: each is a complete frame already, and
// gorilla's per-frame lock and deadline would cost more than the frame.
// It closes the connection when asked to (see Close). It reports whether c
// has more to write.
func (c *Client) drain(w *writer) (more bool) {
	var batch [drainBatch]frame
	c.mu.Lock()
	if c.closing && (len(c.queue) == 0 || c.closeNow) {
		code, text := c.closeCode, c.closeText
		c.queue = nil
		c.mu.Unlock() // writing stays true: c never goes to the writers again.
		w.begin(time.Now())
		if code != websocket.CloseAbnormalClosure {
			c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(WriteWait))
		}
		c.conn.Close()
		w.end()
		close(c.gone)
		return false
	}
	ping := c.pingDue
	c.pingDue = false
	n := copy(batch[:], c.queue)
	clear(c.queue[:n])
	c.queue = c.queue[n:]
	if len(c.queue) == 0 {
		c.queue = c.inline[:0] // let a grown queue go
	}
	c.mu.Unlock()

	now := time.Now()
	w.begin(now)
	if ping {
		if err := c.conn.WriteControl(websocket.PingMessage, nil, now.Add(WriteWait)); err != nil {
			c.Close(websocket.CloseAbnormalClosure, "")
			n = 0
		}
	}
	if n > 0 {
		if err := c.write(w, now, batch[:n]); err != nil {
			c.Close(websocket.CloseAbnormalClosure, "")
		}
	}
	w.end()

	c.mu.Lock()
	defer c.mu.Unlock()
	more = len(c.queue) > 0 || c.pingDue || c.closing
	c.writing = more
	return more
}

// Writer pool sizes and the time after which a writer blocked on one
// socket no longer counts as available.
const (
	maxWriters = 4096
	stallAfter = 20 * time.Millisecond
)

// writerPool is the room's goroutines that write queued events to
// clients' sockets. A few serve every client, so a delivery costs no
// goroutine of its own, and an idle client none at all. A writer blocked
// for more than stallAfter on a socket that does not drain (it may block
// for up to WriteWait) stops counting as available and is replaced as soon
// as work arrives, or at the hub's next tick, so a client that stops
// reading does not hold up the others.
type writerPool struct {
	mu      sync.Mutex
	cond    sync.Cond // signalled when ready gets clients or the pool stops
	ready   []*Client // clients with something to write, in order
	writers []*writer
	idle    int  // writers waiting on cond
	stopped bool // the room is empty: idle writers end
	base    int  // writers kept available
}

// writer is one goroutine of the pool.
type writer struct {
	// busySince is when the socket write in progress began (Unix
	// nanoseconds), 0 between writes.
	busySince atomic.Int64
	// buf joins the frames of one write.
	buf []byte
}

func (w *writer) begin(now time.Time) { w.busySince.Store(now.UnixNano()) }
func (w *writer) end()                { w.busySince.Store(0) }

// keepBuf is the largest join buffer a writer keeps between writes.
const keepBuf = 64 << 10

// deadlineStep is how much later than the one set before a write
// deadline must be for the socket's to be moved: a write times out between
// WriteWait-deadlineStep and WriteWait after it began, and a client that
// gets ten events a second costs a deadline once in ten writes.
const deadlineStep = time.Second

// write sends frames to c's socket in one write, with w's buffer, timing
// out WriteWait after now (give or take deadlineStep).
func (c *Client) write(w *writer, now time.Time, frames []frame) error {
	if d := now.Add(WriteWait).UnixNano(); d-c.deadline >= int64(deadlineStep) {
		if err := c.nc.SetWriteDeadline(time.Unix(0, d)); err != nil {
			return err
		}
		c.deadline = d
	}
	if len(frames) == 1 {
		_, err := c.nc.Write(frames[0])
		return err
	}
	b := w.buf[:0]
	for _, f := range frames {
		b = append(b, f...)
	}
	_, err := c.nc.Write(b)
	if cap(b) <= keepBuf {
		w.buf = b[:0]
	} else {
		w.buf = nil
	}
	return err
}

func newWriterPool() *writerPool {
	p := &writerPool{base: 2 * runtime.GOMAXPROCS(0)}
	p.cond.L = &p.mu
	return p
}

// push hands clients with something to write to the writers.
func (p *writerPool) push(cs ...*Client) {
	if len(cs) == 0 {
		return
	}
	p.mu.Lock()
	p.ready = append(p.ready, cs...)
	p.stopped = false
	p.staffLocked()
	p.mu.Unlock()
}

// staffLocked wakes idle writers for the ready clients and starts new ones
// while fewer than base writers are not blocked.
func (p *writerPool) staffLocked() {
	if len(p.ready) == 0 {
		return
	}
	if p.idle > 0 {
		p.cond.Broadcast()
	}
	for p.availableLocked() < p.base && len(p.writers) < maxWriters {
		w := &writer{}
		p.writers = append(p.writers, w)
		go p.run(w)
	}
}

// availableLocked counts the writers not blocked on a socket.
func (p *writerPool) availableLocked() int {
	now := time.Now().UnixNano()
	n := 0
	for _, w := range p.writers {
		if since := w.busySince.Load(); since == 0 || now-since < int64(stallAfter) {
			n++
		}
	}
	return n
}

// check replaces blocked writers if clients are waiting.
func (p *writerPool) check() {
	p.mu.Lock()
	p.staffLocked()
	p.mu.Unlock()
}

// stop lets idle writers end; push starts them again.
func (p *writerPool) stop() {
	p.mu.Lock()
	p.stopped = true
	p.cond.Broadcast()
	p.mu.Unlock()
}

// run serves ready clients one at a time (a client whose socket blocks
// holds up no other), until the pool has writers to spare or is stopped.
func (p *writerPool) run(w *writer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		for len(p.ready) == 0 {
			if p.stopped || p.availableLocked() > p.base {
				p.writers = slices.DeleteFunc(p.writers, func(x *writer) bool { return x == w })
				return
			}
			p.idle++
			p.cond.Wait()
			p.idle--
		}
		c := p.ready[0]
		p.ready[0] = nil
		p.ready = p.ready[1:]
		if len(p.ready) == 0 {
			p.ready = nil
		}
		p.mu.Unlock()
		more := c.drain(w)
		p.mu.Lock()
		if more {
			p.ready = append(p.ready, c)
		}
	}
}

// hub fans events out to the connected clients. It never writes to a
// socket itself and never blocks on a slow client.
type Hub struct {
	// announceMu orders membership events: each is prepared and handed
	// to every client before the next one is prepared, so deltas reach
	// everyone in the order they happened.
	announceMu sync.Mutex

	mu      sync.RWMutex
	clients map[*Client]struct{}
	nicks   map[string]int
	perAddr map[string]int
	writers *writerPool
	ticking bool // the ticker goroutine runs (while there are clients)
	// summing is set while membership changes are summed up in presence
	// events instead of announced as deltas; then presenceDirty says
	// whether presence changed since the last presence event, presenceAt
	// when that was, and presence is that event, which newcomers to a big
	// room get too.
	summing       bool
	presenceDirty bool
	presenceAt    time.Time
	presence      frame
	// deltasSince is when the current window of deltas began, and deltas
	// how many were announced in it.
	deltasSince time.Time
	deltas      int
	// room is what the welcome of an encrypted room carries about it
	// (nil for a room that is not encrypted).
	room *event.Encryption

	// seqMu orders message events by id: a message stored after another
	// never reaches clients before it.
	seqMu   sync.Mutex
	nextID  uint64
	pending map[uint64]frame
	// after holds the events about a message (an edit, a delete, a
	// reaction) that is still pending, to follow it once it is sent.
	after map[uint64][]frame
}

func New(lastID uint64) *Hub {
	return &Hub{
		clients: make(map[*Client]struct{}),
		nicks:   make(map[string]int),
		perAddr: make(map[string]int),
		writers: newWriterPool(),
		nextID:  lastID + 1,
		pending: make(map[uint64]frame),
		after:   make(map[uint64][]frame),
	}
}

// frame is one event as a complete WebSocket text frame from a server
// (RFC 6455, 5.2: unmasked, uncompressed), encoded once for every client.
type frame []byte

func prepare(ev event.Event) frame {
	raw, err := json.Marshal(ev)
	if err != nil {
		panic("chat: encode event: " + err.Error()) // Event always encodes.
	}
	return textFrame(raw)
}

// textFrame wraps payload in one final text frame.
func textFrame(payload []byte) frame {
	n := len(payload)
	var head []byte
	switch {
	case n < 126:
		head = []byte{0x81, byte(n)}
	case n < 1<<16:
		head = []byte{0x81, 126, byte(n >> 8), byte(n)}
	default:
		head = []byte{0x81, 127, byte(n >> 56), byte(n >> 48), byte(n >> 40), byte(n >> 32), byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	}
	f := make(frame, 0, len(head)+n)
	return append(append(f, head...), payload...)
}

// tooSlow is what a client whose queue is full is told as it is dropped.
const tooSlow = "too slow: reconnect and catch up from history"

// broadcast sends ev to every client, encoded once.
func (h *Hub) Broadcast(ev event.Event) { h.broadcastPrepared(prepare(ev)) }

func (h *Hub) broadcastPrepared(pm frame) {
	var slow, start []*Client
	h.mu.RLock()
	for c := range h.clients {
		switch ok, st := c.enqueue(pm); {
		case !ok:
			slow = append(slow, c)
		case st:
			start = append(start, c)
		}
	}
	h.mu.RUnlock()
	h.writers.push(start...)
	for _, c := range slow {
		c.Close(websocket.ClosePolicyViolation, tooSlow)
	}
}

// publish broadcasts a stored message in id order.
func (h *Hub) Publish(m event.Message) {
	pm := prepare(event.Event{Type: "message", Message: &m})
	h.seqMu.Lock()
	defer h.seqMu.Unlock()
	if m.ID < h.nextID {
		return
	}
	h.pending[m.ID] = pm
	for {
		next, ok := h.pending[h.nextID]
		if !ok {
			break
		}
		delete(h.pending, h.nextID)
		h.nextID++
		h.broadcastPrepared(next)
		if len(h.after) > 0 {
			h.flushAfterLocked(h.nextID - 1)
		}
	}
}

// PublishAfter broadcasts ev, an event about message id, once message
// id has been broadcast: at once when it has, else right after it, so
// nobody hears of a change to a message before the message.
func (h *Hub) PublishAfter(id uint64, ev event.Event) {
	pm := prepare(ev)
	h.seqMu.Lock()
	defer h.seqMu.Unlock()
	if id < h.nextID {
		h.broadcastPrepared(pm)
		return
	}
	h.after[id] = append(h.after[id], pm)
}

// flushAfterLocked broadcasts, in order, the events held for message id.
func (h *Hub) flushAfterLocked(id uint64) {
	for _, pm := range h.after[id] {
		h.broadcastPrepared(pm)
	}
	delete(h.after, id)
}

// resetSequence forgets pending messages and expects lastID+1 next, after
// a destroy.
func (h *Hub) ResetSequence(lastID uint64) {
	h.seqMu.Lock()
	defer h.seqMu.Unlock()
	clear(h.pending)
	clear(h.after)
	h.nextID = lastID + 1
}

// sendTo queues ev for one client, dropping the client if it is too slow.
func (h *Hub) SendTo(c *Client, ev event.Event) { h.sendPrepared(c, prepare(ev)) }

func (h *Hub) sendPrepared(c *Client, pm frame) {
	if !c.send(pm) {
		c.Close(websocket.ClosePolicyViolation, tooSlow)
	}
}

// Add registers c, unless a limit is reached, and announces it. c's first
// event is its welcome presence: it is queued under the same lock that
// registers c, so no broadcast can reach c before it, and a client that
// has read its welcome knows every later event will reach it. When c's
// nick is new, everyone (c too) then gets its join, unless changes are
// being summed up (see PresenceFull).
func (h *Hub) Add(c *Client, maxTotal, maxPerAddr int) (refusal string) {
	h.announceMu.Lock()
	defer h.announceMu.Unlock()
	h.mu.Lock()
	if len(h.clients) >= maxTotal {
		h.mu.Unlock()
		return "the room is full; try again later"
	}
	if h.perAddr[c.addr] >= maxPerAddr {
		h.mu.Unlock()
		return "too many connections from your address"
	}
	c.writers = h.writers
	h.clients[c] = struct{}{}
	h.perAddr[c.addr]++
	c.nextPing = time.Now().Add(pingPeriod).UnixNano()
	if !h.ticking {
		h.ticking = true
		go h.tick()
	}
	var join frame
	h.nicks[c.nick]++
	if h.nicks[c.nick] == 1 {
		join = h.announceLocked(event.Event{Type: event.TypeJoin, Nick: c.nick})
	}
	_, start := c.enqueue(h.welcomeLocked()) // an empty queue has room
	h.mu.Unlock()
	if start {
		h.writers.push(c)
	}
	if join != nil {
		h.broadcastPrepared(join)
	}
	return ""
}

// Remove unregisters c and tells the room when its nick has left.
func (h *Hub) Remove(c *Client) {
	h.announceMu.Lock()
	defer h.announceMu.Unlock()
	if leave := h.remove(c); leave != nil {
		h.broadcastPrepared(leave)
	}
}

// Rename changes c's nick and tells the room in one small event.
func (h *Hub) Rename(c *Client, nick string) {
	h.announceMu.Lock()
	defer h.announceMu.Unlock()
	if pm := h.rename(c, nick); pm != nil {
		h.broadcastPrepared(pm)
	}
}

// Addr is the client's address, as rate budgets count it.
func (c *Client) Addr() string { return c.addr }

// Conn is the client's connection, for its reader.
func (c *Client) Conn() *websocket.Conn { return c.conn }

// The close codes a room ends connections with (RFC 6455, 7.4.1).
const (
	CloseNormal        = websocket.CloseNormalClosure
	CloseGoingAway     = websocket.CloseGoingAway
	ClosePolicy        = websocket.ClosePolicyViolation
	CloseTooBig        = websocket.CloseMessageTooBig
	CloseTryAgainLater = websocket.CloseTryAgainLater
)

// remove unregisters c. It returns the leave event for everyone when c's
// nick has no connection left in a small room.
func (h *Hub) remove(c *Client) (leave frame) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c]; !ok {
		return nil
	}
	delete(h.clients, c)
	if h.perAddr[c.addr]--; h.perAddr[c.addr] <= 0 {
		delete(h.perAddr, c.addr)
	}
	if h.dropNickLocked(c.nick) {
		return h.announceLocked(event.Event{Type: event.TypeLeave, Nick: c.nick})
	}
	return nil
}

// rename changes c's nick. It returns the one event that tells the room
// what changed, or nil when nothing is announced: a nick event when the
// old nick left and the new one came, a leave when the new nick was
// already in (another tab), a join when the old one stays.
func (h *Hub) rename(c *Client, nick string) frame {
	h.mu.Lock()
	defer h.mu.Unlock()
	old := c.nick
	if old == nick {
		return nil
	}
	gone := h.dropNickLocked(old)
	c.nick = nick
	h.nicks[nick]++
	came := h.nicks[nick] == 1
	switch {
	case gone && came:
		return h.announceLocked(event.Event{Type: event.TypeNick, From: old, Nick: nick})
	case gone:
		return h.announceLocked(event.Event{Type: event.TypeLeave, Nick: old})
	case came:
		return h.announceLocked(event.Event{Type: event.TypeJoin, Nick: nick})
	}
	return nil
}

// announceLocked prepares a membership delta (ev with the room's count,
// never its member list), or returns nil and leaves the change to the
// next presence event while changes are summed up (see PresenceFull).
func (h *Hub) announceLocked(ev event.Event) frame {
	now := time.Now()
	if len(h.nicks) > PresenceFull {
		h.summing = true
	}
	if !h.summing {
		if now.Sub(h.deltasSince) >= presenceEvery {
			h.deltasSince, h.deltas = now, 0
		}
		h.deltas++
		h.summing = h.deltas > maxDeltas
	}
	if h.summing {
		h.presenceDirty = true
		return nil
	}
	h.presence = nil // a big room's presence event is out of date
	ev.Count = len(h.nicks)
	return prepare(ev)
}

// SetWelcomeRoom sets what the welcomes of an encrypted room say about
// it from now on; nil for a room that is not encrypted. The hub keeps e
// as it is: the caller does not change it afterwards.
func (h *Hub) SetWelcomeRoom(e *event.Encryption) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.room = e
}

// welcomeLocked returns the presence event a newcomer gets: exact in a
// small room; in a big one, the last presence event announced.
func (h *Hub) welcomeLocked() frame {
	if len(h.nicks) <= PresenceFull {
		return prepare(event.Event{Type: "presence", Members: h.membersLocked(), Count: len(h.nicks), Room: h.room})
	}
	if h.room != nil {
		// The shared presence event carries no room: this welcome is the
		// newcomer's own.
		members := h.membersLocked()
		return prepare(event.Event{Type: "presence", Members: members[:min(len(members), PresenceFull)], Count: len(members), Room: h.room})
	}
	if h.presence == nil {
		h.presence = h.presenceLocked()
	}
	return h.presence
}

// presenceLocked prepares a presence event listing up to PresenceFull
// nicks.
func (h *Hub) presenceLocked() frame {
	members := h.membersLocked()
	return prepare(event.Event{Type: "presence", Members: members[:min(len(members), PresenceFull)], Count: len(members)})
}

// tick pings clients when due and announces a big room's presence
// changes, until the room is empty.
func (h *Hub) tick() {
	t := time.NewTicker(tickEvery)
	defer t.Stop()
	for now := range t.C {
		h.announceMu.Lock()
		h.mu.Lock()
		if len(h.clients) == 0 {
			h.ticking = false
			h.mu.Unlock()
			h.announceMu.Unlock()
			h.writers.stop()
			return
		}
		var announce frame
		if h.presenceDirty && now.Sub(h.presenceAt) >= presenceEvery {
			h.presenceDirty, h.presenceAt = false, now
			h.presence = h.presenceLocked()
			announce = h.presence
			if len(h.nicks) <= PresenceFull {
				// This presence lists everyone: deltas can follow it.
				h.summing = false
				h.deltasSince, h.deltas = now, 0
			}
		}
		h.mu.Unlock()
		if announce != nil {
			h.broadcastPrepared(announce)
		}
		h.announceMu.Unlock()
		h.pingDue(now.UnixNano())
		h.writers.check()
	}
}

// pingDue pings the clients whose ping time has come.
func (h *Hub) pingDue(now int64) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.clients {
		if c.nextPing <= now {
			c.nextPing = now + int64(pingPeriod)
			c.ping()
		}
	}
}

func (h *Hub) dropNickLocked(nick string) bool {
	h.nicks[nick]--
	if h.nicks[nick] <= 0 {
		delete(h.nicks, nick)
		return true
	}
	return false
}

func (h *Hub) NickOf(c *Client) string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return c.nick
}

func (h *Hub) membersLocked() []string {
	out := make([]string, 0, len(h.nicks))
	for n := range h.nicks {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// members returns the nicks in the room now, sorted.
func (h *Hub) Members() []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.membersLocked()
}

// present reports whether nick has a connection open.
func (h *Hub) Present(nick string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.nicks[nick] > 0
}

// closeAll sends every client a close frame and waits (up to wait) until
// their connections are closed.
func (h *Hub) CloseAll(code int, text string, wait time.Duration) {
	h.mu.RLock()
	clients := make([]*Client, 0, len(h.clients))
	for c := range h.clients {
		clients = append(clients, c)
	}
	h.mu.RUnlock()
	for _, c := range clients {
		c.Close(code, text)
	}
	timeout := time.After(wait)
	for _, c := range clients {
		select {
		case <-c.gone:
		case <-timeout:
			return
		}
	}
}

// count returns how many clients are connected.
func (h *Hub) Count() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.clients)
}

// NickCount returns how many nicknames are in the room.
func (h *Hub) NickCount() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.nicks)
}
