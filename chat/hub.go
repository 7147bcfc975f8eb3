package chat

import (
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Timings of the WebSocket keep-alive.
const (
	writeWait  = 10 * time.Second
	pongWait   = 60 * time.Second
	pingPeriod = pongWait * 9 / 10
	// sendQueue is how many events a client may fall behind before it is
	// dropped; it reconnects and catches up from history.
	sendQueue = 256
)

// Event is what the WebSocket stream carries.
type Event struct {
	Type    string   `json:"type"`
	Message *Message `json:"message,omitempty"`
	Nick    string   `json:"nick,omitempty"`
	Members []string `json:"members,omitempty"`
	// For "destroy": who dropped the bomb, when the room will be (or was)
	// wiped, and whether it is done.
	By   string    `json:"by,omitempty"`
	At   time.Time `json:"at,omitzero"`
	Done bool      `json:"done,omitempty"`
	// For "error".
	Error string `json:"error,omitempty"`
}

// client is one WebSocket connection.
type client struct {
	conn *websocket.Conn
	addr string
	send chan *websocket.PreparedMessage
	done chan struct{}
	once sync.Once
	// closeCode and closeText are set once, before done is closed.
	closeCode int
	closeText string
	nick      string // guarded by hub.mu
}

// close asks the client's writer to send a close frame and hang up.
func (c *client) close(code int, text string) {
	c.once.Do(func() {
		c.closeCode, c.closeText = code, text
		close(c.done)
	})
}

// hub fans events out to the connected clients. It never writes to a
// socket itself and never blocks on a slow client.
type hub struct {
	mu      sync.RWMutex
	clients map[*client]struct{}
	nicks   map[string]int
	perAddr map[string]int
	writers sync.WaitGroup

	// seqMu orders message events by id: a message stored after another
	// never reaches clients before it.
	seqMu   sync.Mutex
	nextID  uint64
	pending map[uint64]*websocket.PreparedMessage
}

func newHub(lastID uint64) *hub {
	return &hub{
		clients: make(map[*client]struct{}),
		nicks:   make(map[string]int),
		perAddr: make(map[string]int),
		nextID:  lastID + 1,
		pending: make(map[uint64]*websocket.PreparedMessage),
	}
}

func prepare(ev Event) *websocket.PreparedMessage {
	raw, err := json.Marshal(ev)
	if err != nil {
		panic("chat: encode event: " + err.Error()) // Event always encodes.
	}
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, raw)
	if err != nil {
		panic("chat: prepare event: " + err.Error())
	}
	return pm
}

// broadcast sends ev to every client, encoded once.
func (h *hub) broadcast(ev Event) { h.broadcastPrepared(prepare(ev)) }

func (h *hub) broadcastPrepared(pm *websocket.PreparedMessage) {
	var slow []*client
	h.mu.RLock()
	for c := range h.clients {
		select {
		case c.send <- pm:
		default:
			slow = append(slow, c)
		}
	}
	h.mu.RUnlock()
	for _, c := range slow {
		c.close(websocket.ClosePolicyViolation, "too slow: reconnect and catch up from history")
	}
}

// publish broadcasts a stored message in id order.
func (h *hub) publish(m Message) {
	pm := prepare(Event{Type: "message", Message: &m})
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
	}
}

// resetSequence forgets pending messages and expects lastID+1 next, after
// a destroy.
func (h *hub) resetSequence(lastID uint64) {
	h.seqMu.Lock()
	defer h.seqMu.Unlock()
	clear(h.pending)
	h.nextID = lastID + 1
}

// sendTo queues ev for one client, dropping the client if it is too slow.
func (h *hub) sendTo(c *client, ev Event) {
	select {
	case c.send <- prepare(ev):
	default:
		c.close(websocket.ClosePolicyViolation, "too slow: reconnect and catch up from history")
	}
}

// add registers c, unless a limit is reached. It returns the members after
// the join and whether the nick is new in the room.
func (h *hub) add(c *client, maxTotal, maxPerAddr int) (members []string, joined bool, refusal string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.clients) >= maxTotal {
		return nil, false, "the room is full; try again later"
	}
	if h.perAddr[c.addr] >= maxPerAddr {
		return nil, false, "too many connections from your address"
	}
	h.clients[c] = struct{}{}
	h.perAddr[c.addr]++
	h.nicks[c.nick]++
	return h.membersLocked(), h.nicks[c.nick] == 1, ""
}

// remove unregisters c. left is true when its nick has no connection left.
func (h *hub) remove(c *client) (members []string, left bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c]; !ok {
		return nil, false
	}
	delete(h.clients, c)
	if h.perAddr[c.addr]--; h.perAddr[c.addr] <= 0 {
		delete(h.perAddr, c.addr)
	}
	left = h.dropNickLocked(c.nick)
	return h.membersLocked(), left
}

// rename changes c's nick. It reports whether the old nick left and the
// new one joined.
func (h *hub) rename(c *client, nick string) (members []string, oldLeft, newJoined bool, old string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	old = c.nick
	if old == nick {
		return h.membersLocked(), false, false, old
	}
	oldLeft = h.dropNickLocked(old)
	c.nick = nick
	h.nicks[nick]++
	return h.membersLocked(), oldLeft, h.nicks[nick] == 1, old
}

func (h *hub) dropNickLocked(nick string) bool {
	h.nicks[nick]--
	if h.nicks[nick] <= 0 {
		delete(h.nicks, nick)
		return true
	}
	return false
}

func (h *hub) nickOf(c *client) string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return c.nick
}

func (h *hub) membersLocked() []string {
	out := make([]string, 0, len(h.nicks))
	for n := range h.nicks {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// members returns the nicks in the room now, sorted.
func (h *hub) members() []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.membersLocked()
}

// present reports whether nick has a connection open.
func (h *hub) present(nick string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.nicks[nick] > 0
}

// closeAll sends every client a close frame and waits (up to wait) for
// their writers to finish.
func (h *hub) closeAll(code int, text string, wait time.Duration) {
	h.mu.RLock()
	for c := range h.clients {
		c.close(code, text)
	}
	h.mu.RUnlock()
	done := make(chan struct{})
	go func() { h.writers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(wait):
	}
}

// count returns how many clients are connected.
func (h *hub) count() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.clients)
}
