package httpapi

import (
	"net/http"
	"strconv"

	"github.com/chatbox-dev/chatbox/chat"
)

// opBodyLimit bounds the body of a delete or a reaction.
const opBodyLimit = 1 << 10

// messageID reads the {id} of a message's path.
func messageID(req *http.Request) (uint64, error) {
	id, err := strconv.ParseUint(req.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		return 0, invalid("the message id in the path must be a whole number, 1 or more")
	}
	return id, nil
}

// handleEditMessage is PATCH /api/messages/{id}: a new text for the
// sender's own message.
func (s *Server) handleEditMessage(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Nick  string `json:"nick"`
		Token string `json:"token"`
		Text  string `json:"text"`
	}
	if !s.acceptWrite(w, req, 1, int64(s.room.MaxPGPLength())*6+1024, &body) {
		return
	}
	id, err := messageID(req)
	if err != nil {
		s.writeError(w, err)
		return
	}
	from := chat.Sender{Addr: s.addrs.clientAddr(req), Nick: body.Nick, Token: body.Token}
	m, err := s.room.Edit(req.Context(), from, id, body.Text)
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

// handleDeleteMessage is DELETE /api/messages/{id}: the sender's own
// message becomes a tombstone.
func (s *Server) handleDeleteMessage(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Nick  string `json:"nick"`
		Token string `json:"token"`
	}
	if !s.acceptWrite(w, req, 1, opBodyLimit, &body) {
		return
	}
	id, err := messageID(req)
	if err != nil {
		s.writeError(w, err)
		return
	}
	from := chat.Sender{Addr: s.addrs.clientAddr(req), Nick: body.Nick, Token: body.Token}
	m, err := s.room.Delete(req.Context(), from, id)
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

// reactionsReply is the answer to a reaction: the message's whole set.
type reactionsReply struct {
	ID        uint64         `json:"id"`
	Reactions chat.Reactions `json:"reactions"`
}

// handleReact is POST /api/messages/{id}/reactions: a reaction given
// (on) or taken back.
func (s *Server) handleReact(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Nick  string `json:"nick"`
		Token string `json:"token"`
		Emoji string `json:"emoji"`
		On    *bool  `json:"on"`
	}
	if !s.acceptWrite(w, req, 1, opBodyLimit, &body) {
		return
	}
	id, err := messageID(req)
	if err != nil {
		s.writeError(w, err)
		return
	}
	if body.On == nil {
		s.writeError(w, errNoOn)
		return
	}
	from := chat.Sender{Addr: s.addrs.clientAddr(req), Nick: body.Nick, Token: body.Token}
	rs, err := s.room.React(req.Context(), from, id, body.Emoji, *body.On)
	if err != nil {
		s.writeError(w, err)
		return
	}
	if rs == nil {
		rs = chat.Reactions{}
	}
	writeJSON(w, http.StatusOK, reactionsReply{ID: id, Reactions: rs})
}

var errNoOn = invalid(`say "on": true to give the reaction or "on": false to take it back`)

// handleMessageOp acts on a WebSocket client's edit, delete or react with
// the same core calls as the HTTP routes. ev has been charged already.
func (s *Server) handleMessageOp(from chat.Sender, ev clientEvent) error {
	if ev.ID == 0 {
		return invalid(`say which message with "id"`)
	}
	switch ev.Type {
	case "edit":
		_, err := s.room.Edit(s.ctx, from, ev.ID, ev.Text)
		return err
	case "delete":
		_, err := s.room.Delete(s.ctx, from, ev.ID)
		return err
	default: // "react"
		if ev.On == nil {
			return errNoOn
		}
		_, err := s.room.React(s.ctx, from, ev.ID, ev.Emoji, *ev.On)
		return err
	}
}
