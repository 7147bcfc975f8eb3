package chat

import (
	"io"
)

// Watcher hears what the room does, for work that runs beside its core
// (Web Push). Its methods are called on the paths that change the room,
// so they must return at once: hand the work to a queue of your own.
type Watcher interface {
	// Published is called with each message once it is stored and
	// handed to the room's clients.
	Published(Message)
	// Renewed is called when the room's generation changes: its password
	// changed (every session ended), it was destroyed or reset, or a new
	// room was made. What was tied to an older generation is stale.
	Renewed(generation uint64)
}

// Reacher is a Watcher that can reach people who are not in the room (a
// push subscription reaches a phone whose page is closed): a ping to them
// is taken, not refused as to someone absent.
type Reacher interface {
	Reaches(nick string) bool
}

// EncryptionWatcher is a Watcher that must know whether the room is
// encrypted (a push must not show what the box cannot read): told the
// encrypted room's id, or "" for a room that is not encrypted, when the
// room opens and whenever a room is made or wiped.
type EncryptionWatcher interface {
	Encrypted(roomID string)
}

// tellEncrypted tells the watcher, if it asks, whether the room of st is
// encrypted.
func (r *Room) tellEncrypted(st RoomState) {
	if w, ok := r.opts.Watcher.(EncryptionWatcher); ok {
		id := ""
		if st.Exists && st.Encrypted {
			id = st.RoomID
		}
		w.Encrypted(id)
	}
}

// reachable says whether the watcher reaches nick outside the room.
func (r *Room) reachable(nick string) bool {
	rc, ok := r.opts.Watcher.(Reacher)
	return ok && rc.Reaches(nick)
}

// published tells the watcher, if any, of a stored message.
func (r *Room) published(m Message) {
	if r.opts.Watcher != nil {
		r.opts.Watcher.Published(m)
	}
}

// renewed tells the watcher, if any, of the room's new generation.
func (r *Room) renewed(st RoomState) {
	r.tellEncrypted(st)
	if r.opts.Watcher != nil {
		r.opts.Watcher.Renewed(st.Generation)
	}
}

// closeWatcher closes the watcher when it is an io.Closer: nothing of the
// room calls it any more.
func (r *Room) closeWatcher() {
	if c, ok := r.opts.Watcher.(io.Closer); ok {
		if err := c.Close(); err != nil {
			r.log.Error("close the room's watcher", "err", err)
		}
	}
}
