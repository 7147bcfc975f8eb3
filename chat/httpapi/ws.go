package httpapi

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/chat/event"
	"github.com/chatbox-dev/chatbox/chat/fanout"
)

// newUpgrader returns the WebSocket upgrader: small read buffers, pooled
// write buffers held only while writing, and the room's origin check.
func (s *Server) newUpgrader() *websocket.Upgrader {
	return &websocket.Upgrader{
		// Clients send little; a bigger frame is read past the buffer,
		// straight into the message.
		ReadBufferSize:  512,
		WriteBufferSize: 4096,
		WriteBufferPool: &sync.Pool{},
		CheckOrigin:     s.sameOrigin,
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
	// To is whom a message of an encrypted room pings.
	To       string `json:"to,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	// ReplyTo is the message a message answers; ID the message an edit,
	// delete or react is about; Emoji and On a reaction given or taken
	// back.
	ReplyTo uint64 `json:"reply_to,omitempty"`
	ID      uint64 `json:"id,omitempty"`
	Emoji   string `json:"emoji,omitempty"`
	On      *bool  `json:"on,omitempty"`
	// Visible is whether the page is visible (a "visible" event), for
	// the decision to send its person push notifications.
	Visible *bool `json:"visible,omitempty"`
}

// decodeClientEvent reads one frame from a client: the same checks, and
// the same sentences, as a JSON body over HTTP (decodeObject), and an
// event type the room knows.
func decodeClientEvent(raw []byte) (clientEvent, error) {
	var ev clientEvent
	if err := decodeObject(raw, &ev); err != nil {
		return clientEvent{}, err
	}
	switch ev.Type {
	case "message", "nick", "quit", "edit", "delete", "react", "typing", "cancel_destroy":
		return ev, nil
	case "visible":
		if ev.Visible == nil {
			return clientEvent{}, &chat.Error{Code: chat.CodeInvalid, Field: "visible", Msg: `a visible event says "visible":true or false`}
		}
		return ev, nil
	}
	return clientEvent{}, &chat.Error{Code: chat.CodeInvalid, Field: "type", Msg: "unknown event type; send message, edit, delete, react, nick, typing, cancel_destroy, visible or quit"}
}

func (s *Server) handleWS(upgrader *websocket.Upgrader) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		if !s.requireRoom(w, req) {
			return
		}
		if !s.sameOrigin(req) {
			s.writeError(w, &chat.Error{Code: chat.CodeForbidden, Msg: "WebSocket connections from other sites are refused"})
			return
		}
		nick, token := req.URL.Query().Get("nick"), req.URL.Query().Get("token")
		if err := chat.ValidateNick(nick); err != nil {
			s.writeError(w, err)
			return
		}
		if err := chat.ValidateToken(token); err != nil {
			s.writeError(w, err)
			return
		}
		addr := s.addrs.clientAddr(req)
		if err := s.room.ChargeConnect(addr); err != nil {
			s.writeError(w, err)
			return
		}
		conn, err := upgrader.Upgrade(coarseDeadlines{w}, req, nil)
		if err != nil {
			return // the upgrader has answered.
		}
		c := fanout.NewClient(conn, addr, nick)
		if err := s.room.Join(c, token); err != nil {
			s.refuseConn(conn, err)
			return
		}
		// Read on a goroutine of its own and let this one end: the HTTP
		// server's call stack is deep, and an idle client should cost no
		// more than one small stack.
		go s.readLoop(c, token)
	}
}

// CloseNickTaken is the close code of a connection refused because
// someone else holds its nickname; an error event with the code
// "nick_taken" and a free nickname to try comes before the close.
const CloseNickTaken = 4409

// refuseConn ends a connection the room would not take. A nickname held
// by someone else is told in an error event first, as a refused rename
// is, and closed with CloseNickTaken; a full room with "try again later".
func (s *Server) refuseConn(conn *websocket.Conn, err error) {
	defer conn.Close()
	e := s.refusal(err)
	deadline := time.Now().Add(fanout.WriteWait)
	code, reason := fanout.CloseTryAgainLater, e.Msg
	if e.Code == chat.CodeNickTaken {
		// The event says it all; a close frame's reason holds at most 123
		// bytes, fewer than two long nicknames in a sentence.
		code, reason = CloseNickTaken, "the nickname is taken"
		conn.SetWriteDeadline(deadline)
		if conn.WriteJSON(errorEvent(e, "")) != nil {
			return
		}
	}
	conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), deadline)
}

// readLoop reads c's events until the connection ends, then removes c
// from the room. Every frame c sends is charged to its address: data
// frames (handleClientEvent), pings (answered only within the budget),
// and a frame over the size limit, which also ends the connection.
func (s *Server) readLoop(c *fanout.Client, token string) {
	defer func() {
		c.Close(fanout.CloseNormal, "")
		s.room.Leave(c)
		if s.opts.Push != nil {
			s.opts.Push.Gone(c)
		}
	}()
	conn := c.Conn()
	// The size limit is kept here rather than by the WebSocket library,
	// which would send its own close frame before this loop could charge
	// the frame to the sender: a client must not see the close before its
	// budget shows the cost. Only limit+1 bytes of a frame are ever read.
	limit := int64(s.room.MaxPGPLength())*6 + 1024
	conn.SetReadDeadline(time.Now().Add(fanout.PongWait))
	conn.SetPongHandler(func(string) error {
		return conn.SetReadDeadline(time.Now().Add(fanout.PongWait))
	})
	conn.SetPingHandler(func(data string) error {
		if s.room.ChargeAddr(c.Addr(), 1) != nil {
			return nil // over budget: no pong
		}
		// As gorilla's own handler: a failed pong is the writer's to notice.
		err := conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(fanout.WriteWait))
		var ne net.Error
		if errors.Is(err, websocket.ErrCloseSent) || errors.As(err, &ne) {
			return nil
		}
		return err
	})
	for {
		raw, err := readFrame(conn, limit)
		if err != nil {
			if errors.Is(err, errFrameTooBig) {
				s.room.ChargeAddr(c.Addr(), 1)
				c.Close(fanout.CloseTooBig, "the message is too large")
			}
			return
		}
		conn.SetReadDeadline(time.Now().Add(fanout.PongWait))
		if quit := s.handleClientEvent(c, token, raw); quit {
			return
		}
	}
}

// handleClientEvent acts on one event from c, whose connection carried
// token (the browser's, "" for none). It reports whether c quit.
// Every frame, whatever it holds, is charged to c's address first (the
// room's operations charge the room's budget for what they do once it
// passed their checks, so a flood of refused frames from many addresses
// spends only their own budgets). A quit is honoured over the budget too,
// since closing the socket does the same. A frame is decoded with the
// checks and words of an HTTP body, and a message goes through the same
// core call, charge and words as POST /api/messages.
func (s *Server) handleClientEvent(c *fanout.Client, token string, raw []byte) (quit bool) {
	chargeErr := s.room.ChargeAddr(c.Addr(), 1)
	if chargeErr != nil && len(raw) > refuseUndecoded {
		// Decoding a large frame only to refuse it would cost the box
		// more than the sender (an encrypted room's envelope of OpenPGP
		// size is 87 KB, decoded twice): its client id is found by a scan.
		s.tellRefusal(c, chargeErr, scanClientID(raw))
		return false
	}
	ev, err := decodeClientEvent(raw)
	if err == nil && ev.Type == "quit" {
		return true
	}
	if chargeErr != nil {
		// The refusal names the send it refuses, so a client that retries
		// knows which one to retry.
		s.tellRefusal(c, chargeErr, ev.ClientID)
		return false
	}
	if err != nil {
		s.sendRefusal(c, err)
		return false
	}
	switch ev.Type {
	case "message":
		from := s.room.From(c)
		from.ClientID, from.Token = ev.ClientID, token
		m, err := s.room.Send(s.ctx, from, chat.Draft{Text: ev.Text, ReplyTo: ev.ReplyTo, To: ev.To})
		if err != nil {
			s.tellRefusal(c, err, ev.ClientID)
		} else if ev.ClientID != "" {
			// The sender learns its send is stored, the first time from
			// the broadcast too, and a repeat from this alone.
			s.room.Tell(c, chat.Event{Type: event.TypeAck, ClientID: ev.ClientID, Message: &m})
		}
	case "nick":
		if err := s.room.Rename(c, ev.Nick); err != nil {
			s.sendRefusal(c, err)
		} else if s.opts.Push != nil {
			s.opts.Push.Renamed(c, s.room.NickOf(c))
		}
	case "visible":
		if s.opts.Push != nil {
			s.opts.Push.SetVisible(c, s.room.NickOf(c), *ev.Visible)
		}
	case "edit", "delete", "react":
		from := s.room.From(c)
		from.Token = token
		if err := s.handleMessageOp(from, ev); err != nil {
			s.sendRefusal(c, err)
		}
	case "typing":
		s.room.Typing(c)
	case "cancel_destroy":
		if err := s.room.CancelDestroy(s.room.NickOf(c)); err != nil {
			s.sendRefusal(c, err)
		}
	}
	return false
}

// sendRefusal tells c why its event was refused, in the words and with the
// wait an HTTP client would get for the same refusal.
func (s *Server) sendRefusal(c *fanout.Client, err error) {
	s.tellRefusal(c, err, "")
}

// tellRefusal is sendRefusal for the send with a client id, which the
// error event names so the client knows which send failed. An invalid id
// is not repeated back.
// refuseUndecoded is the size past which a frame over its sender's
// budget is refused without being decoded; a quit is far smaller.
const refuseUndecoded = 4 << 10

// scanClientID finds the client id of a frame without decoding it: the
// first "client_id":"…" in it (the sequence cannot occur inside a JSON
// string, where a quote is escaped), or "" when there is none or it is
// not a client id.
func scanClientID(raw []byte) string {
	const key = `"client_id":"`
	i := bytes.Index(raw, []byte(key))
	if i < 0 {
		return ""
	}
	rest := raw[i+len(key):]
	end := bytes.IndexByte(rest[:min(len(rest), chat.MaxClientIDLength+1)], '"')
	if end < 0 || chat.ValidateClientID(string(rest[:end])) != nil {
		return ""
	}
	return string(rest[:end])
}

func (s *Server) tellRefusal(c *fanout.Client, err error, clientID string) {
	s.room.Tell(c, errorEvent(s.refusal(err), clientID))
}

// errorEvent is the error event of refusal e, naming the send's client
// id (an invalid one is not repeated back).
func errorEvent(e *chat.Error, clientID string) chat.Event {
	ev := chat.Event{Type: event.TypeError, Error: e.Msg, Code: e.Code.String(), Suggest: e.Suggest}
	if chat.ValidateClientID(clientID) == nil {
		ev.ClientID = clientID
	}
	if e.RetryAfter > 0 {
		ev.RetryAfter = retrySeconds(e.RetryAfter)
	}
	return ev
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

var errFrameTooBig = errors.New("the frame is over the size limit")

// readFrame reads the next message of conn, of at most limit bytes; past
// that it stops reading and returns errFrameTooBig.
func readFrame(conn *websocket.Conn, limit int64) ([]byte, error) {
	_, r, err := conn.NextReader()
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) > limit {
		return nil, errFrameTooBig
	}
	return raw, nil
}
