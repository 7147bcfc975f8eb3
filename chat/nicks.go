package chat

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chatbox-dev/chatbox/chat/event"
	"github.com/chatbox-dev/chatbox/chat/fanout"
	"github.com/chatbox-dev/chatbox/chat/nicks"
)

// Typing events: a nickname's typing is told to the room at most once
// every TypingEvery, and not at all in a room of more than MaxTypingRoom
// nicknames, where everyone's typing told to everyone would cost the
// square of the room's size.
const (
	TypingEvery   = 3 * time.Second
	MaxTypingRoom = 50
)

// holding is who holds which nickname (see package nicks), the token
// each connection came with, and when each nickname's typing was last
// told.
type holding struct {
	table *nicks.Table

	mu     sync.Mutex
	tokens map[*fanout.Client]nicks.Token
	typing map[string]time.Time
}

func newHolding(hold time.Duration, maxIdle int) holding {
	return holding{
		table:  nicks.New(hold, maxIdle),
		tokens: make(map[*fanout.Client]nicks.Token),
		typing: make(map[string]time.Time),
	}
}

var errBadToken = invalid("token", fmt.Sprintf("the token is %d to %d base64url characters (A-Z, a-z, 0-9, - and _)", nicks.MinTokenLength, nicks.MaxTokenLength))

// NickHold is how long a nickname stays held after its last connection
// closes.
func (r *Room) NickHold() time.Duration { return r.opts.NickHold }

// CheckNick says whether a request without a connection (an HTTP write)
// may act under nick with token: the nickname follows the rule, and
// nobody holds it, or token is its holder's. A nickname nobody holds
// takes writes without a token, as scripts send them.
func (r *Room) CheckNick(nick, token string) error {
	if err := ValidateNick(nick); err != nil {
		return err
	}
	if !nicks.ValidToken(token) {
		return errBadToken
	}
	if c := r.held.table.Check(nick, nicks.HashToken(token), r.now()); c != nil {
		return r.nickTaken(nick)
	}
	return nil
}

// nickTaken refuses nick, which someone else holds, naming a free
// nickname like it when there is one.
func (r *Room) nickTaken(nick string) *Error {
	if s := r.suggestNick(nick); s != "" {
		return &Error{Code: CodeNickTaken, Field: "nick", Msg: nick + " is taken — try " + s, Suggest: s}
	}
	return &Error{Code: CodeNickTaken, Field: "nick", Msg: nick + " is taken; choose another nickname"}
}

// suggestNick returns nick with the smallest number from 2 on that makes
// a valid nickname nobody holds (alice2, alice3, ...; alice3 for a taken
// alice2), shortened to fit; "" when none of the first hundred is free.
func (r *Room) suggestNick(nick string) string {
	now := r.now()
	base := []rune(strings.TrimRight(nick, "0123456789"))
	if len(base) == 0 {
		base = []rune(nick)
	}
	for n := 2; n < 102; n++ {
		suffix := strconv.Itoa(n)
		b := base[:min(len(base), MaxNickLength-len(suffix))]
		for len(b) > 0 && nickPunct(b[len(b)-1]) {
			b = b[:len(b)-1]
		}
		cand := string(b) + suffix
		if ValidateNick(cand) == nil && r.held.table.Free(cand, now) {
			return cand
		}
	}
	return ""
}

// Join registers a client of the room's event stream under its nickname,
// held for token (empty: none); its first event is the room's presence.
// It is refused when someone else holds the nickname (see CheckNick),
// and when the room, or the client's address, has as many connections as
// it may.
func (r *Room) Join(c *fanout.Client, token string) error {
	if !nicks.ValidToken(token) {
		return errBadToken
	}
	nick, tok, now := r.hub.NickOf(c), nicks.HashToken(token), r.now()
	if conflict := r.held.table.Take(nick, tok, now); conflict != nil {
		return r.nickTaken(nick)
	}
	r.held.mu.Lock()
	r.held.tokens[c] = tok
	r.held.mu.Unlock()
	if refusal := r.hub.Add(c, r.opts.MaxClients, r.opts.MaxClientsPerAddr); refusal != "" {
		r.forgetClient(c)
		r.held.table.Release(nick, tok, now, false)
		return &Error{Code: CodeRateLimited, Msg: refusal}
	}
	return nil
}

// forgetClient drops c's token and reports it, and whether c had one.
func (r *Room) forgetClient(c *fanout.Client) (nicks.Token, bool) {
	r.held.mu.Lock()
	defer r.held.mu.Unlock()
	tok, ok := r.held.tokens[c]
	delete(r.held.tokens, c)
	return tok, ok
}

// tokenOf returns the hash of the token c came with.
func (r *Room) tokenOf(c *fanout.Client) nicks.Token {
	r.held.mu.Lock()
	defer r.held.mu.Unlock()
	return r.held.tokens[c]
}

// Leave unregisters a client; the room hears it left when it was the
// nickname's last connection, and the nickname stays held for
// Options.NickHold.
func (r *Room) Leave(c *fanout.Client) {
	nick := r.hub.NickOf(c)
	r.hub.Remove(c)
	if tok, ok := r.forgetClient(c); ok {
		r.held.table.Release(nick, tok, r.now(), true)
	}
}

// Rename gives a client another nickname, unless it is against the rule
// or someone else holds it; the room hears it once, as a nick event.
func (r *Room) Rename(c *fanout.Client, nick string) error {
	if err := ValidateNick(nick); err != nil {
		return err
	}
	old := r.hub.NickOf(c)
	if old == nick {
		return nil
	}
	// A rename is told to everyone: it costs the room once it is valid.
	if err := r.ChargeRoom(1); err != nil {
		return err
	}
	if conflict := r.held.table.Move(old, nick, r.tokenOf(c), r.now()); conflict != nil {
		return r.nickTaken(nick)
	}
	r.hub.Rename(c, nick)
	return nil
}

// Typing tells the room that c's nickname is typing: at most once every
// TypingEvery for a nickname, never stored, and not at all in a room of
// more than MaxTypingRoom nicknames. The event has been charged to c's
// address already.
func (r *Room) Typing(c *fanout.Client) {
	if r.hub.NickCount() > MaxTypingRoom {
		return
	}
	nick, now := r.hub.NickOf(c), r.now()
	r.held.mu.Lock()
	if last, ok := r.held.typing[nick]; ok && now.Sub(last) < TypingEvery {
		r.held.mu.Unlock()
		return
	}
	r.held.typing[nick] = now
	if len(r.held.typing) > 2*MaxTypingRoom {
		// Only the last TypingEvery matters; what is older is forgotten.
		for n, at := range r.held.typing {
			if now.Sub(at) >= TypingEvery {
				delete(r.held.typing, n)
			}
		}
	}
	r.held.mu.Unlock()
	r.hub.Broadcast(Event{Type: event.TypeTyping, Nick: nick})
}

// HeldNicks returns how many nicknames the room holds, with connections
// or waiting for their holder, and how many of them are waiting.
func (r *Room) HeldNicks() (all, idle int) { return r.held.table.Len() }

// ValidateToken checks a browser's token: empty (none), or 22 to 64
// base64url characters.
func ValidateToken(token string) error {
	if !nicks.ValidToken(token) {
		return errBadToken
	}
	return nil
}

// NickOf returns the nickname a client of the event stream is in the
// room under.
func (r *Room) NickOf(c *fanout.Client) string { return r.hub.NickOf(c) }
