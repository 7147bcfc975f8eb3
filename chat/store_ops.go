package chat

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	// bucketReactions keeps each message's reactions under its id, apart
	// from the message, so that they never count against retention.
	bucketReactions = []byte("reactions")
	// bucketOwners keeps, under a message's id, the hash of the token it
	// was sent with; it never leaves the store.
	bucketOwners = []byte("owners")
)

// deleteApart deletes what the store keeps apart from the message under
// key: its reactions and its owner.
func deleteApart(tx *bolt.Tx, key []byte) error {
	if err := tx.Bucket(bucketReactions).Delete(key); err != nil {
		return err
	}
	return tx.Bucket(bucketOwners).Delete(key)
}

// withReactions returns a copy of the stored message raw (a JSON object)
// with its reactions (stored JSON, nil for none) added as "reactions".
func withReactions(raw, reactions []byte) []byte {
	if len(reactions) == 0 || len(raw) < 2 {
		return bytes.Clone(raw)
	}
	out := make([]byte, 0, len(raw)+len(reactions)+14)
	out = append(out, raw[:len(raw)-1]...)
	out = append(out, `,"reactions":`...)
	out = append(out, reactions...)
	return append(out, '}')
}

// getMessage reads message id in tx, with its reactions; ok is false when
// there is none.
func getMessage(tx *bolt.Tx, id uint64) (m Message, ok bool, err error) {
	raw := tx.Bucket(bucketMessages).Get(idKey(id))
	if raw == nil {
		return m, false, nil
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, false, fmt.Errorf("decode message %d: %w", id, err)
	}
	rs, err := getReactions(tx, id)
	if rs != nil {
		m.Reactions = &rs
	}
	return m, true, err
}

// getReactions reads message id's reactions in tx (nil for none).
func getReactions(tx *bolt.Tx, id uint64) (Reactions, error) {
	raw := tx.Bucket(bucketReactions).Get(idKey(id))
	if raw == nil {
		return nil, nil
	}
	var rs Reactions
	if err := json.Unmarshal(raw, &rs); err != nil {
		return nil, fmt.Errorf("decode the reactions to message %d: %w", id, err)
	}
	return rs, nil
}

// putMessage stores m (without its reactions and owner, which are kept
// apart) under its id.
func putMessage(tx *bolt.Tx, m Message) error {
	m.Reactions, m.Owner = nil, ""
	raw, err := marshal(m)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketMessages).Put(idKey(m.ID), raw)
}

// ownChange is an edit or a delete: who asks (the hash of their token),
// when, and how long after its sending a message may be changed.
type ownChange struct {
	owner  string
	now    time.Time
	window time.Duration
}

// check finds message id in tx and checks that the change may be made to
// it: it exists and is not deleted, it was sent with the token whose hash
// is c.owner, and it is still within the window.
func (c ownChange) check(tx *bolt.Tx, id uint64) (Message, error) {
	m, ok, err := getMessage(tx, id)
	if err != nil {
		return m, err
	}
	if !ok {
		return m, noMessage(id)
	}
	if m.Kind == KindDeleted {
		return m, deletedMessage(id)
	}
	owner := tx.Bucket(bucketOwners).Get(idKey(id))
	if len(owner) == 0 || c.owner == "" || subtle.ConstantTimeCompare(owner, []byte(c.owner)) != 1 {
		return m, errNotYours
	}
	if c.now.Sub(m.TS) > c.window {
		return m, tooLate(c.window)
	}
	return m, nil
}

// Edit gives message id the text edit(m) makes of it, when c may change
// it, and returns it as stored, with its reactions.
func (s *Store) Edit(id uint64, c ownChange, edit func(*Message) error) (Message, error) {
	var m Message
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		if m, err = c.check(tx, id); err != nil {
			return err
		}
		if err := edit(&m); err != nil {
			return err
		}
		at := c.now.UTC().Truncate(time.Millisecond)
		m.Edited = &at
		return putMessage(tx, m)
	})
	return m, storeRefusal("edit message", err)
}

// Delete leaves in message id's place, when c may change it, a tombstone:
// its id, time, nickname (and client id, so a repeated send is answered
// with it), kind "deleted" and no text. Its reactions and owner go with
// it. It returns the message as it was, for its file. The words stay in
// pages bbolt has freed until Scrub clears them.
func (s *Store) Delete(id uint64, c ownChange) (old Message, err error) {
	err = s.update(func(tx *bolt.Tx) error {
		if old, err = c.check(tx, id); err != nil {
			return err
		}
		if err := putMessage(tx, Tombstone(old)); err != nil {
			return err
		}
		return deleteApart(tx, idKey(id))
	})
	return old, storeRefusal("delete message", err)
}

// Tombstone is what a deleted message m leaves in the history.
func Tombstone(m Message) Message {
	return Message{ID: m.ID, TS: m.TS, Nick: m.Nick, Kind: KindDeleted, ClientID: m.ClientID}
}

// React gives message id the reaction emoji from nick (on) or takes it
// back (!on). A nickname gives each emoji once; a message holds the
// reactions of at most maxReactors nicknames, and at most perNick of each. changed is false when the
// reaction already was as asked; rs is the message's whole set after it.
func (s *Store) React(id uint64, nick, emoji string, on bool, maxReactors, perNick int) (rs Reactions, changed bool, err error) {
	err = s.update(func(tx *bolt.Tx) error {
		m, ok, err := getMessage(tx, id)
		if err != nil {
			return err
		}
		switch {
		case !ok:
			return noMessage(id)
		case m.Kind == KindDeleted:
			return deletedMessage(id)
		}
		rs = Reactions{}
		if m.Reactions != nil {
			rs = *m.Reactions
		}
		has := slices.Contains(rs[emoji], nick)
		if has == on {
			return nil
		}
		if on {
			if !reacted(rs, nick) && reactors(rs) >= maxReactors {
				return &Error{Code: CodeTooLong, Limit: int64(maxReactors), Msg: fmt.Sprintf("message %d has the reactions of %d people, as many as it may hold", id, maxReactors)}
			}
			if given(rs, nick) >= perNick {
				return &Error{Code: CodeTooLong, Limit: int64(perNick), Msg: fmt.Sprintf("you gave message %d %d reactions, as many as one person may", id, perNick)}
			}
			rs[emoji] = append(rs[emoji], nick)
		} else {
			rs[emoji] = slices.DeleteFunc(rs[emoji], func(n string) bool { return n == nick })
			if len(rs[emoji]) == 0 {
				delete(rs, emoji)
			}
		}
		changed = true
		b := tx.Bucket(bucketReactions)
		if len(rs) == 0 {
			return b.Delete(idKey(id))
		}
		raw, err := marshal(rs)
		if err != nil {
			return err
		}
		return b.Put(idKey(id), raw)
	})
	if err != nil {
		return nil, false, storeRefusal("store a reaction", err)
	}
	return rs, changed, nil
}

// given counts the reactions of rs that nick gave.
func given(rs Reactions, nick string) int {
	n := 0
	for _, nicks := range rs {
		if slices.Contains(nicks, nick) {
			n++
		}
	}
	return n
}

// reacted reports whether nick gave any of the reactions rs.
func reacted(rs Reactions, nick string) bool {
	for _, nicks := range rs {
		if slices.Contains(nicks, nick) {
			return true
		}
	}
	return false
}

// reactors counts the nicknames that gave the reactions rs.
func reactors(rs Reactions) int {
	seen := make(map[string]bool)
	for _, nicks := range rs {
		for _, n := range nicks {
			seen[n] = true
		}
	}
	return len(seen)
}

// CheckChange says, reading only, whether c may change message id now:
// the check Edit and Delete make again when they write.
func (s *Store) CheckChange(id uint64, c ownChange) error {
	err := s.view(func(tx *bolt.Tx) error {
		_, err := c.check(tx, id)
		return err
	})
	return storeRefusal("check message", err)
}

// Current returns message id as stored now, with its reactions.
func (s *Store) Current(id uint64) (m Message, ok bool, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		m, ok, err = getMessage(tx, id)
		return err
	})
	return m, ok, err
}

// Scrub overwrites with zeros every page of the store's file that bbolt
// holds free (or pending, freed by the last write): bbolt writes each
// change to new pages and leaves the old ones as they were until it
// reuses them, so the words of a deleted or edited message would stay in
// the file. It holds the store to itself meanwhile: no transaction is
// open, so no reader can be looking at a page it clears, and a freed page
// is referred to at most by the older of bbolt's two meta pages, which
// bbolt reads only when the newer one is torn (and bbolt itself reuses
// those pages in the next write). Pages already zero are only read, so a
// scrub writes about as much as the changes since the last one freed. It
// returns how many bytes it cleared.
func (s *Store) Scrub() (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.OpenFile(s.layout.Messages(), os.O_RDWR, 0)
	if err != nil {
		return 0, fmt.Errorf("clear freed pages: %w", err)
	}
	defer f.Close()
	pageSize := s.db.Info().PageSize
	type run struct{ first, n int }
	var runs []run
	err = s.db.View(func(tx *bolt.Tx) error {
		pages := int(tx.Size() / int64(pageSize))
		for id := 2; id < pages; id++ {
			info, err := tx.Page(id)
			if err != nil {
				return err
			}
			if info == nil || info.Type != "free" {
				continue
			}
			if k := len(runs) - 1; k >= 0 && runs[k].first+runs[k].n == id {
				runs[k].n++
			} else {
				runs = append(runs, run{id, 1})
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("clear freed pages: %w", err)
	}
	const chunkPages = 64
	buf := make([]byte, chunkPages*pageSize)
	zero := make([]byte, chunkPages*pageSize)
	var cleared int64
	for _, r := range runs {
		for first := r.first; first < r.first+r.n; first += chunkPages {
			n := min(chunkPages, r.first+r.n-first) * pageSize
			off := int64(first) * int64(pageSize)
			if _, err := f.ReadAt(buf[:n], off); err != nil {
				return cleared, fmt.Errorf("clear freed pages: %w", err)
			}
			if bytes.Equal(buf[:n], zero[:n]) {
				continue
			}
			if _, err := f.WriteAt(zero[:n], off); err != nil {
				return cleared, wrapWrite("clear freed pages", err)
			}
			cleared += int64(n)
		}
	}
	if cleared > 0 {
		if err := f.Sync(); err != nil {
			return cleared, wrapWrite("clear freed pages", err)
		}
	}
	return cleared, nil
}

// storeRefusal passes a refusal (*Error) as it is and wraps anything
// else as a failed write.
func storeRefusal(what string, err error) error {
	var e *Error
	if err == nil || errors.As(err, &e) {
		return err
	}
	return wrapWrite(what, err)
}

var errNotYours = &Error{Code: CodeForbidden, Msg: "you can only change your own messages, from the browser you sent them with"}

func noMessage(id uint64) *Error {
	return &Error{Code: CodeNotFound, Msg: fmt.Sprintf("there is no message %d in the history", id)}
}

func deletedMessage(id uint64) *Error {
	return &Error{Code: CodeNotFound, Msg: fmt.Sprintf("message %d was deleted", id)}
}

func noReplyTarget(id uint64) *Error {
	return &Error{Code: CodeInvalid, Field: "reply_to", Msg: fmt.Sprintf("reply_to names no message in the history (%d)", id)}
}

func tooLate(window time.Duration) *Error {
	w := window.String() // "5m0s": said as "5m"
	if strings.HasSuffix(w, "m0s") {
		w = strings.TrimSuffix(w, "0s")
	}
	if strings.HasSuffix(w, "h0m") {
		w = strings.TrimSuffix(w, "0m")
	}
	return &Error{Code: CodeTooLate, Msg: fmt.Sprintf("a message can be edited or deleted only within %s of sending it", w)}
}
