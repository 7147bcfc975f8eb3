package chat

import (
	"bufio"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// newUpgrader returns the WebSocket upgrader: small read buffers, pooled
// write buffers held only while writing, and the room's origin check.
func (r *Room) newUpgrader() *websocket.Upgrader {
	return &websocket.Upgrader{
		// Clients send little; a bigger frame is read past the buffer,
		// straight into the message.
		ReadBufferSize:  512,
		WriteBufferSize: 4096,
		WriteBufferPool: &sync.Pool{},
		CheckOrigin:     r.sameOrigin,
		Error: func(w http.ResponseWriter, _ *http.Request, status int, reason error) {
			writeJSON(w, status, map[string]string{"error": reason.Error()})
		},
	}
}

// clientEvent is what a client may send on the WebSocket.
type clientEvent struct {
	Type string `json:"type"`
	Text string `json:"text,omitempty"`
	Nick string `json:"nick,omitempty"`
}

func (r *Room) handleWS(upgrader *websocket.Upgrader) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		if !r.requireRoom(w, req) {
			return
		}
		if !r.sameOrigin(req) {
			r.writeError(w, &Error{Code: CodeForbidden, Msg: "WebSocket connections from other sites are refused"})
			return
		}
		nick := req.URL.Query().Get("nick")
		if err := ValidateNick(nick); err != nil {
			r.writeError(w, invalid("", err.Error()))
			return
		}
		addr := r.addrs.clientAddr(req)
		if ok, retry := r.joins.allow(addr, 1, r.now()); !ok {
			r.writeError(w, &Error{Code: CodeRateLimited, Msg: "you are connecting too often; wait a moment", RetryAfter: retry})
			return
		}
		conn, err := upgrader.Upgrade(coarseDeadlines{w}, req, nil)
		if err != nil {
			return // the upgrader has answered.
		}
		c := newClient(conn, addr, nick)
		if refusal := r.hub.add(c, r.opts.MaxClients, r.opts.MaxClientsPerAddr); refusal != "" {
			conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseTryAgainLater, refusal), time.Now().Add(writeWait))
			conn.Close()
			return
		}
		// Read on a goroutine of its own and let this one end: the HTTP
		// server's call stack is deep, and an idle client should cost no
		// more than one small stack.
		go r.readLoop(c)
	}
}

// readLoop reads c's events until the connection ends, then removes c
// from the room.
func (r *Room) readLoop(c *client) {
	defer func() {
		c.close(websocket.CloseNormalClosure, "")
		if leave := r.hub.remove(c); leave != nil {
			r.hub.broadcastPrepared(leave)
		}
	}()
	c.conn.SetReadLimit(int64(r.opts.MaxPGPLength)*6 + 1024)
	c.conn.SetReadDeadline(time.Now().Add(pongWait))
	c.conn.SetPongHandler(func(string) error {
		return c.conn.SetReadDeadline(time.Now().Add(pongWait))
	})
	for {
		_, raw, err := c.conn.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				c.close(websocket.CloseMessageTooBig, "the message is too large")
			}
			return
		}
		c.conn.SetReadDeadline(time.Now().Add(pongWait))
		if quit := r.handleClientEvent(c, raw); quit {
			return
		}
	}
}

// handleClientEvent acts on one event from c. It reports whether c quit.
// Every event, whatever its type, is charged to c's address first.
func (r *Room) handleClientEvent(c *client, raw []byte) (quit bool) {
	var ev clientEvent
	decodeErr := json.Unmarshal(raw, &ev)
	if decodeErr == nil && ev.Type == "quit" {
		return true
	}
	if err := r.Charge(c.addr, 1); err != nil {
		r.sendRefusal(c, err)
		return false
	}
	if decodeErr != nil {
		r.sendRefusal(c, invalid("", "send events as JSON objects"))
		return false
	}
	switch ev.Type {
	case "message":
		if _, err := r.Post(r.ctx, Sender{Addr: c.addr, Nick: r.hub.nickOf(c)}, ev.Text); err != nil {
			r.sendRefusal(c, err)
		}
	case "nick":
		if err := ValidateNick(ev.Nick); err != nil {
			r.sendRefusal(c, err)
			return false
		}
		leave, join := r.hub.rename(c, ev.Nick)
		for _, pm := range []*websocket.PreparedMessage{leave, join} {
			if pm != nil {
				r.hub.broadcastPrepared(pm)
			}
		}
	default:
		r.sendRefusal(c, invalid("type", "unknown event type; send message, nick or quit"))
	}
	return false
}

// sendRefusal tells c why its event was refused, in the words and with the
// wait an HTTP client would get for the same refusal.
func (r *Room) sendRefusal(c *client, err error) {
	e := r.refusal(err)
	ev := Event{Type: "error", Error: e.Msg, Code: e.Code.String()}
	if e.RetryAfter > 0 {
		ev.RetryAfter = retrySeconds(e.RetryAfter)
	}
	r.hub.sendTo(c, ev)
}

// coarseDeadlines hands the WebSocket upgrader a connection whose write
// deadline moves only in steps of deadlineStep.
type coarseDeadlines struct{ http.ResponseWriter }

func (w coarseDeadlines) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	return &coarseConn{Conn: conn}, brw, nil
}

// deadlineStep is how much later a new write deadline must be than the
// one set before for the socket's timer to be moved.
const deadlineStep = time.Second

// coarseConn keeps the write deadline gorilla sets before every frame
// without resetting the socket's timer each time: at 100,000 frames a
// second those resets cost about 7% of the server's CPU. A write still
// times out, between writeWait-deadlineStep and writeWait after it began.
type coarseConn struct {
	net.Conn
	wd atomic.Int64 // the deadline set on Conn, Unix nanoseconds; 0 for none
}

func (c *coarseConn) SetWriteDeadline(t time.Time) error {
	var next int64
	if !t.IsZero() {
		next = t.UnixNano()
	}
	cur := c.wd.Load()
	if next != 0 && cur != 0 && next >= cur && next-cur < int64(deadlineStep) {
		return nil
	}
	c.wd.Store(next)
	return c.Conn.SetWriteDeadline(t)
}

func (c *coarseConn) SetDeadline(t time.Time) error {
	c.wd.Store(0) // unknown: the next SetWriteDeadline applies
	return c.Conn.SetDeadline(t)
}
