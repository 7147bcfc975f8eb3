package chat

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/chatbox-dev/chatbox/chat/datadir"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

var (
	bucketMessages = []byte("messages")
	bucketMeta     = []byte("meta")
	bucketSessions = []byte("sessions")
	// bucketClientIDs maps a nickname and the id its client chose for a
	// send to the message stored for it: one key per message that has
	// one, deleted with it (retention, wipe).
	bucketClientIDs = []byte("client_ids")
	keyRoom         = []byte("room")
)

// RoomState is the room's record in the store.
type RoomState struct {
	// Exists is false before the first room is created and after a destroy.
	Exists       bool      `json:"exists"`
	Name         string    `json:"name"`
	Private      bool      `json:"private"`
	PasswordHash string    `json:"password_hash,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	DestroyedAt  time.Time `json:"destroyed_at,omitzero"`
	DestroyedBy  string    `json:"destroyed_by,omitempty"`
	// Locked makes the room read-only for people: its owner may lock it
	// against a flood, and unlock it.
	Locked bool `json:"locked,omitempty"`
	// DestroyAt and DestroyBy are a destroy countdown under way: when it
	// ends and who started it. They are stored so that a restart finishes
	// the countdown rather than forgetting it.
	DestroyAt time.Time `json:"destroy_at,omitzero"`
	DestroyBy string    `json:"destroy_by,omitempty"`
	// LastID is the last message id handed out; ids never go back, not even
	// across a destroy, so a page that missed a destroy is never confused.
	LastID uint64 `json:"last_id"`
	// Generation counts the room's passwords: creating the room, a new
	// password and a wipe each add one. Every session and every cached
	// password belongs to one generation and is good for no other, so a
	// login whose check spans a change never outlives it.
	Generation uint64 `json:"generation,omitempty"`
	// RoomID is 16 random bytes in base64url, new each time a room is
	// created; an encrypted room binds it into every envelope.
	RoomID string `json:"room_id,omitempty"`
	// Encrypted rooms hold only envelopes (docs/ENCRYPTION.md); a room is
	// encrypted or not for its whole life.
	Encrypted bool `json:"encrypted,omitempty"`
	// KeyCheck is an envelope of a known text, given once by the first
	// browser (Room.SetKey); KDF says how a passphrase makes the key.
	KeyCheck string `json:"key_check,omitempty"`
	KDF      *KDF   `json:"kdf,omitempty"`
}

// Store is the room's durable state in one bbolt file. A write returns
// only once it is on disk; concurrent writes share one fsync (bbolt's
// Batch), so many posters cost few disk flushes.
type Store struct {
	layout datadir.Layout
	// mu guards db: every transaction holds it shared for its length
	// (never while it talks to a client), and Wipe holds it alone only to
	// put a new file in the old one's place.
	mu sync.RWMutex
	db *bolt.DB
	// Now stamps messages appended without a time; time.Now when nil.
	Now func() time.Time
}

// ErrStoreFull is returned when the disk holding the store is full.
var ErrStoreFull = errors.New("the server's disk is full")

// OpenStore opens or creates the store of the data directory dir.
func OpenStore(ctx context.Context, dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	layout := datadir.Layout{Dir: dir}
	path := layout.Messages()
	db, err := openDB(path)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		// Never a store and an error together: a caller that sees the
		// error would leave the file open and locked.
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// A destroy interrupted before its new file took the old one's place
	// leaves that new, empty file; the lock on messages.db says no other
	// chatbox is writing one now.
	left, _ := filepath.Glob(layout.FreshMessagesPattern())
	for _, f := range left {
		os.Remove(f)
	}
	return &Store{layout: layout, db: db}, nil
}

// openDB opens (or creates) the bbolt file at path with the store's
// buckets.
func openDB(path string) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("open %s: another chatbox is using it", path)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.MaxBatchDelay = 2 * time.Millisecond
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMessages, bucketMeta, bucketSessions, bucketClientIDs, bucketReactions, bucketOwners} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, wrapWrite("prepare "+path, err)
	}
	return db, nil
}

// view, update and batch run a transaction on the current file.
func (s *Store) view(fn func(*bolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.db.View(fn)
}

func (s *Store) update(fn func(*bolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.db.Update(fn)
}

func (s *Store) batch(fn func(*bolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.db.Batch(fn)
}

// marshal encodes v as the store keeps it: without encoding/json's HTML
// escaping, which would keep each '<', '>' and '&' as six bytes. Escaping
// belongs to whatever renders the text; the room's page uses textContent.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Close closes the store file.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.db.Close()
}

func idKey(id uint64) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, id)
	return k
}

func readRoom(tx *bolt.Tx) (RoomState, error) {
	var st RoomState
	raw := tx.Bucket(bucketMeta).Get(keyRoom)
	if raw == nil {
		return st, nil
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return st, fmt.Errorf("decode room record: %w", err)
	}
	return st, nil
}

func writeRoom(tx *bolt.Tx, st RoomState) error {
	raw, err := marshal(st)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketMeta).Put(keyRoom, raw)
}

func wrapWrite(what string, err error) error {
	if err == nil {
		return nil
	}
	if isDiskFull(err) {
		return fmt.Errorf("%s: %w", what, ErrStoreFull)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Room returns the room's record.
func (s *Store) Room() (RoomState, error) {
	var st RoomState
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		st, err = readRoom(tx)
		return err
	})
	return st, err
}

// UpdateRoom applies fn to the room's record and stores the result.
func (s *Store) UpdateRoom(fn func(*RoomState) error) (RoomState, error) {
	return s.updateRoom("update room", func(_ *bolt.Tx, st *RoomState) error { return fn(st) })
}

// updateRoom runs fn on the room's record in one write transaction, which
// fn may also use for other changes, and stores the record.
func (s *Store) updateRoom(what string, fn func(*bolt.Tx, *RoomState) error) (RoomState, error) {
	var st RoomState
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		st, err = readRoom(tx)
		if err != nil {
			return err
		}
		if err := fn(tx, &st); err != nil {
			return err
		}
		return writeRoom(tx, st)
	})
	return st, wrapWrite(what, err)
}

// emptyBucket deletes everything in a bucket (the pages stay in the file
// until bbolt reuses them).
func emptyBucket(tx *bolt.Tx, name []byte) error {
	if err := tx.DeleteBucket(name); err != nil {
		return err
	}
	_, err := tx.CreateBucket(name)
	return err
}

// Append stores m with the next id and its timestamp, and returns it once
// it is durably on disk.
func (s *Store) Append(ctx context.Context, m Message) (Message, error) {
	stored, _, err := s.AppendOnce(ctx, m)
	return stored, err
}

// clientKey is the key of bucketClientIDs for a nickname's client id.
func clientKey(nick, clientID string) []byte {
	return []byte(nick + "\x00" + clientID)
}

// messageByClientID returns the message stored for nick's client id.
func messageByClientID(tx *bolt.Tx, nick, clientID string) (Message, bool, error) {
	id := tx.Bucket(bucketClientIDs).Get(clientKey(nick, clientID))
	if id == nil {
		return Message{}, false, nil
	}
	raw := tx.Bucket(bucketMessages).Get(id)
	if raw == nil {
		return Message{}, false, nil
	}
	var m Message
	if err := json.Unmarshal(raw, &m); err != nil {
		return Message{}, false, fmt.Errorf("decode message %d: %w", binary.BigEndian.Uint64(id), err)
	}
	return m, true, nil
}

// ByClientID returns the message nick sent with clientID, while it is in
// the history.
func (s *Store) ByClientID(nick, clientID string) (Message, bool, error) {
	var (
		m  Message
		ok bool
	)
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		m, ok, err = messageByClientID(tx, nick, clientID)
		return err
	})
	return m, ok, err
}

// AppendOnce stores m as Append does, unless m has a client id its
// nickname already sent a stored message with: then it returns that
// message and fresh is false. The check and the store are one
// transaction, so two sends racing with one id store one message.
func (s *Store) AppendOnce(ctx context.Context, m Message) (stored Message, fresh bool, err error) {
	if err := ctx.Err(); err != nil {
		return Message{}, false, err
	}
	err = s.batch(func(tx *bolt.Tx) error {
		stored, fresh = Message{}, false
		st, err := readRoom(tx)
		if err != nil {
			return err
		}
		if !st.Exists {
			return errNoRoom
		}
		if m.ClientID != "" {
			first, ok, err := messageByClientID(tx, m.Nick, m.ClientID)
			if err != nil || ok {
				stored = first
				return err
			}
		}
		if m.ReplyTo != 0 && tx.Bucket(bucketMessages).Get(idKey(m.ReplyTo)) == nil {
			return noReplyTarget(m.ReplyTo)
		}
		fresh = true
		st.LastID++
		stored = m
		stored.ID = st.LastID
		stored.Owner, stored.Reactions = "", nil
		if stored.TS.IsZero() {
			// Stamped inside the transaction, so a message is never older
			// than the room it lands in.
			stored.TS = s.now().UTC().Truncate(time.Millisecond)
		}
		raw, err := marshal(stored)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketMessages).Put(idKey(stored.ID), raw); err != nil {
			return err
		}
		if m.ClientID != "" {
			if err := tx.Bucket(bucketClientIDs).Put(clientKey(m.Nick, m.ClientID), idKey(stored.ID)); err != nil {
				return err
			}
		}
		if m.Owner != "" {
			if err := tx.Bucket(bucketOwners).Put(idKey(stored.ID), []byte(m.Owner)); err != nil {
				return err
			}
		}
		return writeRoom(tx, st)
	})
	var refusal *Error
	if errors.Is(err, errNoRoom) || errors.As(err, &refusal) {
		return Message{}, false, err
	}
	if err != nil {
		return Message{}, false, wrapWrite("store message", err)
	}
	return stored, fresh, nil
}

var errNoRoom = errors.New("there is no room here; create one first")

// walk calls fn with each stored message from the one at key from on
// (the first when from is nil), oldest first, or newest first when back
// is set (from the last when from is nil), until fn says stop. It is the
// one way the store reads its messages.
func (s *Store) walk(from []byte, back bool, fn func(Message) (more bool, err error)) error {
	return s.walkRaw(from, back, func(id uint64, raw []byte) (bool, error) {
		var m Message
		if err := json.Unmarshal(raw, &m); err != nil {
			return false, fmt.Errorf("decode message %d: %w", id, err)
		}
		return fn(m)
	})
}

// walkRaw is walk with each message as the store keeps it (JSON), valid
// only until fn returns.
func (s *Store) walkRaw(from []byte, back bool, fn func(id uint64, raw []byte) (more bool, err error)) error {
	return s.view(func(tx *bolt.Tx) error { return walkTx(tx, from, back, fn) })
}

// walkTx is walkRaw within the transaction tx.
func walkTx(tx *bolt.Tx, from []byte, back bool, fn func(id uint64, raw []byte) (more bool, err error)) error {
	c := tx.Bucket(bucketMessages).Cursor()
	var k, v []byte
	switch {
	case from != nil:
		k, v = c.Seek(from)
		if back && k == nil {
			k, v = c.Last()
		}
	case back:
		k, v = c.Last()
	default:
		k, v = c.First()
	}
	step := c.Next
	if back {
		step = c.Prev
	}
	for ; k != nil; k, v = step() {
		more, err := fn(binary.BigEndian.Uint64(k), v)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// List returns up to limit messages after id, oldest first. With after <
// 0 it returns the newest limit messages, oldest first.
func (s *Store) List(after int64, limit int) ([]Message, error) {
	out := make([]Message, 0, min(limit, 256))
	if after < 0 {
		err := s.walk(nil, true, func(m Message) (bool, error) {
			out = append(out, m)
			return len(out) < limit, nil
		})
		slices.Reverse(out)
		return out, err
	}
	err := s.walk(idKey(uint64(after)+1), false, func(m Message) (bool, error) {
		out = append(out, m)
		return len(out) < limit, nil
	})
	return out, err
}

// PageQuery asks for one page of history. With After set it reads
// forward from the message after it; with Before set it reads back from
// the message before it; with neither it reads back from the newest.
type PageQuery struct {
	After  uint64
	Before uint64
	// HasAfter says After is set (after=0 is the start of the history).
	HasAfter bool
	// Limit is the most messages; MaxBytes the most bytes of them, though
	// a page always holds at least one message when there is one.
	Limit    int
	MaxBytes int
}

// Page is one page of history, oldest first, each message as the JSON
// the store keeps (a copy: the page holds at most the query's MaxBytes
// plus one message, and no transaction stays open while it is sent).
type Page struct {
	Messages []json.RawMessage
	// NextAfter is set when newer messages follow a page read forward:
	// the next page is after=NextAfter. NextBefore is set when older
	// messages precede a page read back: the next page is
	// before=NextBefore.
	NextAfter  uint64
	NextBefore uint64
}

// Page reads one page of history bounded by count and bytes.
func (s *Store) Page(q PageQuery) (Page, error) {
	var p Page
	var from []byte
	back := !q.HasAfter
	switch {
	case q.HasAfter:
		if q.After == ^uint64(0) {
			return p, nil
		}
		from = idKey(q.After + 1)
	case q.Before > 0:
		if q.Before == 1 {
			return p, nil
		}
		from = idKey(q.Before - 1)
	}
	size, last, more := 0, uint64(0), false
	err := s.view(func(tx *bolt.Tx) error {
		reactions := tx.Bucket(bucketReactions)
		return walkTx(tx, from, back, func(id uint64, raw []byte) (bool, error) {
			if q.Before > 0 && id >= q.Before {
				return true, nil // Seek landed past the end; step back.
			}
			if len(p.Messages) > 0 && (len(p.Messages) >= q.Limit || size+len(raw) > q.MaxBytes) {
				more = true
				return false, nil
			}
			m := withReactions(raw, reactions.Get(idKey(id)))
			p.Messages = append(p.Messages, m)
			size += len(m)
			last = id
			return true, nil
		})
	})
	if err != nil {
		return Page{}, err
	}
	if back {
		slices.Reverse(p.Messages)
	}
	if more && back {
		p.NextBefore = last
	} else if more {
		p.NextAfter = last
	}
	return p, nil
}

// Newest returns up to limit messages that keep accepts, newest first.
// Their texts add up to at most maxBytes, but for the first.
func (s *Store) Newest(limit, maxBytes int, keep func(Message) bool) ([]Message, error) {
	var out []Message
	if limit <= 0 {
		return out, nil
	}
	size := 0
	err := s.walk(nil, true, func(m Message) (bool, error) {
		if !keep(m) {
			return true, nil
		}
		if size += len(m.Text); len(out) > 0 && size > maxBytes {
			return false, nil
		}
		out = append(out, m)
		return len(out) < limit, nil
	})
	return out, err
}

// fileIDs returns the storage ids of every upload a stored message carries.
func (s *Store) fileIDs() (map[string]bool, error) {
	ids := make(map[string]bool)
	err := s.walk(nil, false, func(m Message) (bool, error) {
		if m.File != nil && m.File.ID != "" {
			ids[m.File.ID] = true
		}
		return true, nil
	})
	return ids, err
}

// Prune deletes messages beyond the newest keep (when keep > 0) and those
// older than before (when not zero). It returns the deleted messages so
// their files can be removed.
func (s *Store) Prune(keep int, before time.Time) ([]Message, error) {
	var deleted []Message
	err := s.update(func(tx *bolt.Tx) error {
		deleted = deleted[:0]
		b := tx.Bucket(bucketMessages)
		clientIDs := tx.Bucket(bucketClientIDs)
		total := b.Stats().KeyN
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var m Message
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("decode message %d: %w", binary.BigEndian.Uint64(k), err)
			}
			tooMany := keep > 0 && total-len(deleted) > keep
			tooOld := !before.IsZero() && m.TS.Before(before)
			if !tooMany && !tooOld {
				break
			}
			if err := c.Delete(); err != nil {
				return err
			}
			if m.ClientID != "" {
				if err := clientIDs.Delete(clientKey(m.Nick, m.ClientID)); err != nil {
					return err
				}
			}
			if err := deleteApart(tx, idKey(m.ID)); err != nil {
				return err
			}
			deleted = append(deleted, m)
		}
		return nil
	})
	return deleted, wrapWrite("prune messages", err)
}

// Wipe deletes every message and session and marks the room destroyed by
// nick at the given time. Deleting in place would leave the words in the
// pages bbolt frees but never clears, so Wipe writes a new file that
// holds only the room's record (the destroy, and the last id so ids never
// go back), and puts it in the old one's place: written beside it,
// flushed, renamed over it, the directory flushed. Transactions wait only
// for the swap itself. When the new file is in place but the directory
// could not be flushed, Wipe returns the new record with the error.
func (s *Store) Wipe(nick string, at time.Time) (RoomState, error) {
	path := s.layout.Messages()
	f, err := os.CreateTemp(s.layout.Dir, s.layout.FreshMessagesPrefix())
	if err != nil {
		return RoomState{}, wrapWrite("wipe room", err)
	}
	tmp := f.Name()
	f.Close()
	defer os.Remove(tmp) // gone already once it took the old file's place
	fresh, err := openDB(tmp)
	if err != nil {
		return RoomState{}, wrapWrite("wipe room", err)
	}
	defer fresh.Close()

	s.mu.Lock()
	defer s.mu.Unlock()
	var st RoomState
	err = s.db.View(func(tx *bolt.Tx) error {
		old, err := readRoom(tx)
		st = RoomState{LastID: old.LastID, DestroyedAt: at, DestroyedBy: nick, Generation: old.Generation + 1}
		return err
	})
	if err != nil {
		return RoomState{}, fmt.Errorf("wipe room: %w", err)
	}
	// bbolt flushes the file on commit.
	if err := fresh.Update(func(tx *bolt.Tx) error { return writeRoom(tx, st) }); err != nil {
		return RoomState{}, wrapWrite("wipe room", err)
	}
	if err := fresh.Close(); err != nil {
		return RoomState{}, wrapWrite("wipe room", err)
	}
	if err := s.db.Close(); err != nil {
		return RoomState{}, fmt.Errorf("wipe room: close the old store: %w", err)
	}
	renameErr := os.Rename(tmp, path)
	// Open whichever file is in place now: the new one, or the old one
	// when the rename failed.
	db, err := openDB(path)
	if err != nil {
		return RoomState{}, fmt.Errorf("wipe room: reopen the store: %w", err)
	}
	s.db = db
	if renameErr != nil {
		return RoomState{}, wrapWrite("wipe room", renameErr)
	}
	if err := syncDir(s.layout.Dir); err != nil {
		return st, fmt.Errorf("wipe room: flush the data directory: %w", err)
	}
	return st, nil
}

// syncDir flushes a directory, so a rename in it is on disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Session is a stored session: what the store keeps under the hash of
// its token.
type Session struct {
	// Expires is the session's absolute end.
	Expires time.Time
	// Used is when it was last used, to the hour (see Room.Enter).
	Used time.Time
	// Generation is the room's password generation it was issued for.
	Generation uint64
}

// sessionLen is the length of a stored Session: three big-endian uint64s
// (expiry and last use in Unix seconds, generation). Sessions stored
// before these had only the expiry (8 bytes).
const sessionLen = 24

func (s Session) encode() []byte {
	v := make([]byte, sessionLen)
	binary.BigEndian.PutUint64(v[0:], uint64(s.Expires.Unix()))
	binary.BigEndian.PutUint64(v[8:], uint64(s.Used.Unix()))
	binary.BigEndian.PutUint64(v[16:], s.Generation)
	return v
}

func decodeSession(v []byte) (Session, bool) {
	switch len(v) {
	case sessionLen:
		return Session{
			Expires:    time.Unix(int64(binary.BigEndian.Uint64(v[0:])), 0),
			Used:       time.Unix(int64(binary.BigEndian.Uint64(v[8:])), 0),
			Generation: binary.BigEndian.Uint64(v[16:]),
		}, true
	case 8:
		// An older session: generation 0, last used when it began.
		exp := time.Unix(int64(binary.BigEndian.Uint64(v)), 0)
		return Session{Expires: exp, Used: exp.Add(-SessionLifetime)}, true
	}
	return Session{}, false
}

// errStaleLogin refuses a session for a password that changed while its
// login was checked.
var errStaleLogin = &Error{Code: CodeUnauthorized, Msg: "the room's password changed while you logged in; log in with the new one"}

// AddSession stores a session under a token's hash, in the same
// transaction that checks the room still exists with the session's
// generation: a session is never stored for a password that has changed.
func (s *Store) AddSession(hash []byte, sess Session) error {
	err := s.update(func(tx *bolt.Tx) error {
		st, err := readRoom(tx)
		if err != nil {
			return err
		}
		if !st.Exists {
			return errNoRoom
		}
		if st.Generation != sess.Generation {
			return errStaleLogin
		}
		return tx.Bucket(bucketSessions).Put(hash, sess.encode())
	})
	if errors.Is(err, errNoRoom) || errors.Is(err, errStaleLogin) {
		return err
	}
	return wrapWrite("store session", err)
}

// Session returns the session stored under hash, if any.
func (s *Store) Session(hash []byte) (Session, bool, error) {
	var sess Session
	ok := false
	err := s.view(func(tx *bolt.Tx) error {
		sess, ok = decodeSession(tx.Bucket(bucketSessions).Get(hash))
		return nil
	})
	return sess, ok, err
}

// TouchSession records that the session under hash was used at when; a
// session deleted meanwhile stays deleted.
func (s *Store) TouchSession(hash []byte, when time.Time) error {
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSessions)
		sess, ok := decodeSession(b.Get(hash))
		if !ok {
			return nil
		}
		sess.Used = when
		return b.Put(hash, sess.encode())
	})
	return wrapWrite("refresh session", err)
}

// DeleteSession removes the session under hash (a logout).
func (s *Store) DeleteSession(hash []byte) error {
	err := s.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketSessions).Delete(hash) })
	return wrapWrite("delete session", err)
}

// DeleteSessions removes every session (a new password logs everyone out).
func (s *Store) DeleteSessions() error {
	err := s.update(func(tx *bolt.Tx) error { return emptyBucket(tx, bucketSessions) })
	return wrapWrite("delete sessions", err)
}

// PruneSessions removes the sessions no longer good at now: past their
// end, unused for longer than idle, or of another password generation.
func (s *Store) PruneSessions(now time.Time, idle time.Duration) error {
	err := s.update(func(tx *bolt.Tx) error {
		st, err := readRoom(tx)
		if err != nil {
			return err
		}
		c := tx.Bucket(bucketSessions).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if sess, ok := decodeSession(v); !ok || !sess.good(now, idle, st.Generation) {
				if err := c.Delete(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return wrapWrite("prune sessions", err)
}

// good reports whether the session lets its holder in at now.
func (s Session) good(now time.Time, idle time.Duration, gen uint64) bool {
	return now.Before(s.Expires) && now.Sub(s.Used) < idle && s.Generation == gen
}

// MessageCount returns how many messages are stored.
func (s *Store) MessageCount() (int, error) {
	n := 0
	err := s.view(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketMessages).Stats().KeyN
		return nil
	})
	return n, err
}

// Get returns the message with id, if it exists.
func (s *Store) Get(id uint64) (Message, bool, error) {
	var m Message
	found := false
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMessages).Get(idKey(id))
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(bytes.Clone(v), &m)
	})
	return m, found, err
}
