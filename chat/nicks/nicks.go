// Package nicks keeps who holds which nickname in a room without
// accounts: a browser's token (only its hash is kept) holds a nickname
// while it is connected and for a while after, and names that look alike
// (another case, Cyrillic "а" for Latin "a", full-width letters) count as
// the same name.
package nicks

import (
	"container/list"
	"crypto/sha256"
	"crypto/subtle"
	"strings"
	"sync"
	"time"

	"github.com/mtibben/confusables"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Fold returns the form under which nicknames count as the same: NFKC
// (full-width and mathematical letters become plain ones), case folded,
// then Unicode's confusable skeleton (UTS #39: Cyrillic and Greek
// look-alikes become Latin), folded again. Two nicknames with the same
// fold cannot both be held.
func Fold(nick string) string {
	if s, ok := foldASCII(nick); ok {
		return s
	}
	return foldSlow(nick)
}

// asciiFold holds foldSlow(string(c)) for each ASCII character c whose
// fold is ASCII too, and "" for the others. Folding ASCII text is then
// done a character at a time: NFKC, case folding and the skeleton leave
// ASCII text ASCII and map each character on its own.
var asciiFold = func() (t [128]string) {
	for c := range t {
		if f := foldSlow(string(rune(c))); isASCII(f) {
			t[c] = f
		}
	}
	return t
}()

// foldASCII folds an ASCII nickname through asciiFold; ok is false when
// nick holds anything else.
func foldASCII(nick string) (_ string, ok bool) {
	var b strings.Builder
	b.Grow(len(nick))
	for i := 0; i < len(nick); i++ {
		c := nick[i]
		if c >= 128 || asciiFold[c] == "" {
			return "", false
		}
		b.WriteString(asciiFold[c])
	}
	return b.String(), true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 128 {
			return false
		}
	}
	return s != ""
}

// foldSlow is Fold for any text.
func foldSlow(nick string) string {
	f := cases.Fold()
	x := f.String(norm.NFKC.String(nick))
	x = confusables.Skeleton(x)
	return f.String(norm.NFKC.String(x))
}

// Token is the hash of a browser's token; the zero Token is no token.
type Token [sha256.Size]byte

// MinTokenLength and MaxTokenLength bound a token, in characters.
const (
	MinTokenLength = 22
	MaxTokenLength = 64
)

// ValidToken reports whether token is empty (none) or 22 to 64 base64url
// characters (A-Z, a-z, 0-9, '-' and '_').
func ValidToken(token string) bool {
	if token == "" {
		return true
	}
	if len(token) < MinTokenLength || len(token) > MaxTokenLength {
		return false
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// HashToken returns the hash of token that the table keeps; the zero
// Token for none.
func HashToken(token string) Token {
	if token == "" {
		return Token{}
	}
	return sha256.Sum256([]byte(token))
}

// hold is one held nickname.
type hold struct {
	key   string // Fold(nick)
	nick  string // as its holder spells it
	token Token  // zero: held by connections without a token
	conns int    // the connections open under it
	// released is when the last connection closed; idle is its place in
	// Table.idle while conns is 0.
	released time.Time
	idle     *list.Element
}

// Table holds nicknames. Its methods are safe for concurrent use and do
// no slow work under its lock: a nickname's fold is computed before it.
//
// Its size is bounded: a hold with connections counts against the
// room's connections (one hold per connection at most), and at most
// maxIdle holds wait for their holder to come back; past that, the one
// released first is let go early.
type Table struct {
	holdFor time.Duration
	maxIdle int

	mu    sync.Mutex
	byKey map[string]*hold
	idle  list.List // of *hold with no connection, released first at the front
}

// New returns a table that keeps a nickname for holdFor after its last
// connection closes, and at most maxIdle such nicknames at once.
func New(holdFor time.Duration, maxIdle int) *Table {
	return &Table{holdFor: holdFor, maxIdle: max(maxIdle, 1), byKey: make(map[string]*hold)}
}

// Conflict describes why a nickname cannot be used: Holder is the
// nickname as its holder spells it.
type Conflict struct {
	Holder string
}

// Take counts one more connection under nick for token (zero: none). It
// returns nil when the nickname is free, expired, or held by the same
// token and spelled the same; else the Conflict. A nickname used by
// connections without a token is theirs while one is open; it is not
// kept after.
func (t *Table) Take(nick string, token Token, now time.Time) *Conflict {
	key := Fold(nick)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expireLocked(now)
	return t.takeLocked(key, nick, token)
}

func (t *Table) takeLocked(key, nick string, token Token) *Conflict {
	h := t.byKey[key]
	switch {
	case h == nil:
		h = &hold{key: key, nick: nick, token: token}
		t.byKey[key] = h
	case !sameToken(h.token, token):
		return &Conflict{Holder: h.nick}
	case h.nick != nick && h.conns > 0:
		// The same browser in another tab under another spelling: the room
		// would show two members for one name.
		return &Conflict{Holder: h.nick}
	}
	h.nick = nick
	if h.idle != nil {
		t.idle.Remove(h.idle)
		h.idle = nil
	}
	h.conns++
	return nil
}

// Move moves one connection of token from the nickname from to to, in
// one step: it takes to as Take does (another spelling of from is fine
// when this is its only connection), then releases from as Release does.
func (t *Table) Move(from, to string, token Token, now time.Time) *Conflict {
	keyFrom, keyTo := Fold(from), Fold(to)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expireLocked(now)
	if keyFrom == keyTo {
		h := t.byKey[keyTo]
		if h != nil && sameToken(h.token, token) && h.conns == 1 {
			h.nick = to
			return nil
		}
		if h != nil {
			return &Conflict{Holder: h.nick}
		}
	}
	if c := t.takeLocked(keyTo, to, token); c != nil {
		return c
	}
	t.releaseLocked(keyFrom, token, now, true)
	return nil
}

// Release counts one connection under nick fewer. When it was the last,
// a token's nickname stays held until holdFor has passed (keep) or is let
// go at once (!keep: the connection never got in); one without a token
// is let go.
func (t *Table) Release(nick string, token Token, now time.Time, keep bool) {
	key := Fold(nick)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.releaseLocked(key, token, now, keep)
}

func (t *Table) releaseLocked(key string, token Token, now time.Time, keep bool) {
	h := t.byKey[key]
	if h == nil || h.conns == 0 || !sameToken(h.token, token) {
		return
	}
	h.conns--
	if h.conns > 0 {
		return
	}
	if !keep || h.token == (Token{}) || t.holdFor <= 0 {
		delete(t.byKey, key)
		return
	}
	h.released = now
	h.idle = t.idle.PushBack(h)
	for t.idle.Len() > t.maxIdle {
		t.dropLocked(t.idle.Front())
	}
	t.expireLocked(now)
}

// Check reports whether a request under nick with token may write: nil
// when nobody holds nick with a token, or token is the holder's.
func (t *Table) Check(nick string, token Token, now time.Time) *Conflict {
	key := Fold(nick)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expireLocked(now)
	h := t.byKey[key]
	if h == nil || h.token == (Token{}) || sameToken(h.token, token) {
		return nil
	}
	return &Conflict{Holder: h.nick}
}

// Free reports whether nobody holds nick or a name that looks like it.
func (t *Table) Free(nick string, now time.Time) bool {
	key := Fold(nick)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expireLocked(now)
	return t.byKey[key] == nil
}

// Len returns how many nicknames are held, with connections or waiting
// for their holder; Idle how many of them are waiting.
func (t *Table) Len() (all, idle int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.byKey), t.idle.Len()
}

// Expire lets go the nicknames whose hold has passed.
func (t *Table) Expire(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expireLocked(now)
}

// expireLocked lets go, oldest first, the idle holds released more than
// holdFor before now.
func (t *Table) expireLocked(now time.Time) {
	for e := t.idle.Front(); e != nil; e = t.idle.Front() {
		if now.Sub(e.Value.(*hold).released) < t.holdFor {
			return
		}
		t.dropLocked(e)
	}
}

func (t *Table) dropLocked(e *list.Element) {
	h := t.idle.Remove(e).(*hold)
	h.idle = nil
	delete(t.byKey, h.key)
}

// sameToken compares two hashes in constant time.
func sameToken(a, b Token) bool {
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}
