package chat

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/chatbox-dev/chatbox/chat/fanout"
)

// Charge takes cost from addr's budget of events and from the room's, or
// says when to come back. Every event a client sends is charged to its
// address, on every transport; what writes to the room or is told to
// everyone in it (a message, a rename, an upload, a destroy) is charged to
// the room's budget too.
func (r *Room) Charge(addr string, cost int) error {
	if err := r.ChargeAddr(addr, cost); err != nil {
		return err
	}
	return r.ChargeRoom(cost)
}

// ChargeRoom takes cost from the room's budget, which all addresses
// share: for what writes to the room or is told to everyone in it.
func (r *Room) ChargeRoom(cost int) error {
	if ok, retry := r.roomPosts.allow("", cost, r.now()); !ok {
		return &Error{Code: CodeRateLimited, Msg: "the room is busier than it allows; wait a moment", RetryAfter: retry}
	}
	return nil
}

// ChargeAddr takes cost from addr's budget alone. Transports charge it
// for every request and frame; the room's own budget is then charged by
// the room's operations (Post, Rename) once what they were asked passed
// their checks, so that refused requests from many addresses do not spend
// the budget the room's writers share.
func (r *Room) ChargeAddr(addr string, cost int) error {
	if ok, retry := r.posts.allow(addr, cost, r.now()); !ok {
		return &Error{Code: CodeRateLimited, Msg: "you are posting too fast; wait a moment", RetryAfter: retry}
	}
	return nil
}

// ChargeConnect takes one connection from addr's budget of connections.
func (r *Room) ChargeConnect(addr string) error {
	if ok, retry := r.joins.allow(addr, 1, r.now()); !ok {
		return &Error{Code: CodeRateLimited, Msg: "you are connecting too often; wait a moment", RetryAfter: retry}
	}
	return nil
}

// textCost is what a message costs against its sender's write budget: 1,
// plus 1 for every 332 characters, so a wall of text counts as several
// messages (hack.chat charges the same way). It is never more than a full
// budget, so that every message the limits allow can be sent from a quiet
// address, on any transport.
func (r *Room) textCost(text string) int {
	return min(1+utf8.RuneCountInString(text)/332, r.posts.burst)
}

var errPrivate = &Error{Code: CodeUnauthorized, Msg: "this room is private; log in with its password"}

// Credentials are what a request offers to enter a private room: a
// session token, a password, or neither.
type Credentials struct {
	// Addr is the address wrong passwords are counted against.
	Addr    string
	Session string
	// Password counts only when HasPassword is set (an empty one is a
	// guess like any other).
	Password    string
	HasPassword bool
}

// Enter lets c into the room: a public room lets anyone in; a private one
// wants a live session or the password.
func (r *Room) Enter(c Credentials) error {
	st := r.State()
	if !st.Exists {
		return errNoRoom
	}
	if !st.Private {
		return nil
	}
	if c.Session != "" {
		ok, err := r.sessionGood(c.Session, st)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
	}
	if c.HasPassword {
		return r.checkLogin(c.Addr, st, c.Password)
	}
	return errPrivate
}

// sessionTouchEvery is how stale a session's record of its last use may
// get: using a session writes to the store at most this often.
const sessionTouchEvery = time.Hour

// sessionGood reports whether token is a live session of the room as st
// describes it, and refreshes its last use.
func (r *Room) sessionGood(token string, st RoomState) (bool, error) {
	hash := sessionHash(token)
	sess, ok, err := r.store.Session(hash)
	if err != nil || !ok {
		return false, err
	}
	now := r.now()
	if !sess.good(now, r.opts.SessionIdle, st.Generation) {
		return false, nil
	}
	if now.Sub(sess.Used) >= sessionTouchEvery {
		// A failure to note the use costs the holder nothing now.
		if err := r.store.TouchSession(hash, now); err != nil {
			r.log.Error("refresh a session", "err", err)
		}
	}
	return true, nil
}

var errBusyHashing = &Error{Code: CodeRateLimited, Msg: "the server is busy checking other passwords; try again in a moment", RetryAfter: time.Second}

// checkLogin verifies password against the room as st describes it. An
// address that has guessed too often is refused before anything else,
// even with the right password; the slow hash runs only within the
// address's budget and with a free slot of Options.PasswordChecks, so
// guesses from many addresses cannot exhaust the memory it takes.
func (r *Room) checkLogin(addr string, st RoomState, password string) error {
	now := r.now()
	if retry := r.logins.wait(addr, now); retry > 0 {
		return loginsThrottled(retry)
	}
	if r.pw.known(password, st.Generation) {
		return nil
	}
	select {
	case r.hashing <- struct{}{}:
		defer func() { <-r.hashing }()
	default:
		return errBusyHashing
	}
	if ok, retry := r.logins.allow(addr, 1, now); !ok {
		return loginsThrottled(retry)
	}
	if r.opts.BeforePasswordCheck != nil {
		r.opts.BeforePasswordCheck()
	}
	ok, err := checkPassword(st.PasswordHash, password)
	if err != nil {
		return err
	}
	if !ok {
		return &Error{Code: CodeUnauthorized, Msg: "wrong password"}
	}
	if r.State().Generation != st.Generation {
		return errStaleLogin
	}
	r.pw.remember(password, st.Generation)
	return nil
}

func loginsThrottled(retry time.Duration) error {
	return &Error{Code: CodeRateLimited, Msg: "too many password attempts; wait a moment", RetryAfter: retry}
}

// SessionLifetime is how long a session lasts at most, used or not.
const SessionLifetime = 30 * 24 * time.Hour

// Login checks a private room's password, as Enter does, and starts a
// session for it. It returns the session's token, which the client keeps
// (a cookie); only its hash is stored. A public room needs no session: the
// token is empty. A password that changes while it is checked starts no
// session.
func (r *Room) Login(addr, password string) (string, error) {
	st := r.State()
	if !st.Exists {
		return "", errNoRoom
	}
	if !st.Private {
		return "", nil
	}
	if err := r.checkLogin(addr, st, password); err != nil {
		return "", err
	}
	return r.startSession(st.Generation)
}

// startSession stores a new session of password generation gen.
func (r *Room) startSession(gen uint64) (string, error) {
	token, hash, err := newSessionToken()
	if err != nil {
		return "", err
	}
	now := r.now()
	if err := r.store.AddSession(hash, Session{Expires: now.Add(SessionLifetime), Used: now, Generation: gen}); err != nil {
		return "", err
	}
	return token, nil
}

// Logout ends the session of token; an unknown token is no error.
func (r *Room) Logout(token string) error {
	if token == "" {
		return nil
	}
	return r.store.DeleteSession(sessionHash(token))
}

// Members returns the nicknames in the room now, sorted.
func (r *Room) Members() []string { return r.hub.Members() }

// Messages returns up to limit messages after id, oldest first; with
// after < 0, the newest limit messages. It is for the box itself; clients
// read through History, which bounds a page in bytes and charges them.
func (r *Room) Messages(after int64, limit int) ([]Message, error) {
	return r.store.List(after, limit)
}

// HistoryPageBytes bounds one page of history: the stored bytes of its
// messages, beside its count. A page always holds at least one message
// when there is one, so a single message is never too large to read.
const HistoryPageBytes = 1 << 20

// MaxHistoryLimit is the most messages one page of history holds.
const MaxHistoryLimit = 1000

// HistoryQuery asks for one page of history: the messages after After
// (oldest first; after=0 is the start) when HasAfter is set, else the
// ones before Before (0: the newest), at most Limit of them.
type HistoryQuery struct {
	After    uint64
	HasAfter bool
	Before   uint64
	Limit    int
}

// History reads one page of history for addr, charged to its budget of
// reads (an empty addr is the box itself). A page holds at most q.Limit
// messages and HistoryPageBytes of them; its NextAfter or NextBefore says
// where the next one starts.
func (r *Room) History(addr string, q HistoryQuery) (Page, error) {
	if q.Limit < 1 || q.Limit > MaxHistoryLimit {
		return Page{}, invalid("limit", fmt.Sprintf("limit must be a whole number from 1 to %d", MaxHistoryLimit))
	}
	if q.HasAfter && q.Before > 0 {
		return Page{}, invalid("before", "ask for messages after an id or before one, not both")
	}
	if addr != "" {
		if ok, retry := r.reads.allow(addr, 1, r.now()); !ok {
			return Page{}, &Error{Code: CodeRateLimited, Msg: "you are reading the history too fast; wait a moment", RetryAfter: retry}
		}
	}
	return r.store.Page(PageQuery{
		After: q.After, HasAfter: q.HasAfter, Before: q.Before,
		Limit: q.Limit, MaxBytes: HistoryPageBytes,
	})
}

// Newest returns up to limit messages that keep accepts, newest first,
// their texts at most HistoryPageBytes; it is charged to addr's reading
// budget like a page of history (an empty addr is the box itself). A
// deleted message is never among them.
func (r *Room) Newest(addr string, limit int, keep func(Message) bool) ([]Message, error) {
	if addr != "" {
		if ok, retry := r.reads.allow(addr, 1, r.now()); !ok {
			return nil, &Error{Code: CodeRateLimited, Msg: "you are reading the history too fast; wait a moment", RetryAfter: retry}
		}
	}
	return r.store.Newest(limit, HistoryPageBytes, func(m Message) bool { return m.Kind != KindDeleted && keep(m) })
}

// Limits the transports need to size what they read.
func (r *Room) MaxMessageLength() int { return r.opts.MaxMessageLength }

// MaxPGPLength is the longest OpenPGP message, in characters.
func (r *Room) MaxPGPLength() int { return r.opts.MaxPGPLength }

// MaxFileSize is the largest file, in bytes.
func (r *Room) MaxFileSize() int64 { return r.opts.MaxFileSize }

// PostFrom posts text from a client of the event stream, under its
// nickname, with the id its client chose for the send ("" for none).
func (r *Room) PostFrom(ctx context.Context, c *fanout.Client, text, clientID string) (Message, error) {
	return r.Post(ctx, Sender{Addr: c.Addr(), Nick: r.hub.NickOf(c), ClientID: clientID, connected: true}, text)
}

// Tell sends one client an event of its own (a refusal).
func (r *Room) Tell(c *fanout.Client, ev Event) { r.hub.SendTo(c, ev) }

// CloseClients ends every event stream ("going away") and waits briefly
// for the close frames to be sent.
func (r *Room) CloseClients() {
	r.hub.CloseAll(fanout.CloseGoingAway, "the server is restarting", 5*time.Second)
}
