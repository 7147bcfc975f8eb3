// Package chat is the single chat room of a box: its durable store, the
// hub that fans messages out to connected clients, the HTTP and WebSocket
// API, and the embedded browser UI.
package chat

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatbox-dev/chatbox/chat/datadir"
	"github.com/chatbox-dev/chatbox/chat/event"
	"github.com/chatbox-dev/chatbox/chat/fanout"
	"github.com/chatbox-dev/chatbox/chat/uploads"
)

// Room is the one room of a box. Open it, serve Handler, Close it.
type Room struct {
	opts      Options
	layout    datadir.Layout
	log       *slog.Logger
	now       func() time.Time
	store     *Store
	hub       *fanout.Hub
	pw        *passwordCache
	posts     *limiter
	roomPosts *limiter
	logins    *limiter
	reads     *limiter
	joins     *limiter
	files     *uploads.Dir
	// held is who holds which nickname (chat/nicks.go).
	held holding

	// hashing holds a slot for each password check under way: each takes
	// about 16 MiB, so their number is bounded (Options.PasswordChecks).
	hashing chan struct{}
	// uploadMu makes an upload's quota check, rename and message one step,
	// and guards staging; a wipe holds it while it empties the store and
	// moves the uploads aside. Lock order: writeMu, then uploadMu.
	uploadMu sync.Mutex
	// staging is what the uploads being received may put on disk: each
	// holds max_file_size of the quota until it is committed or discarded.
	staging int64

	// state is the room's record as last stored. Requests read it without
	// a lock; writeMu serializes the changes to it (create, password,
	// wipe), each stored before it is published here.
	state   atomic.Pointer[RoomState]
	writeMu sync.Mutex
	// removeAll deletes a folder; tests replace it to hold a wipe mid-way.
	removeAll func(string) error

	// mu guards the destroy countdown. Nothing slow runs under it.
	mu        sync.Mutex
	countdown *time.Timer
	destroyAt time.Time
	destroyBy string
	// initialPassword is the password of a private room created at open,
	// until TakeInitialPassword hands it over.
	initialPassword string

	// opsMu makes the announcements of changes to messages (edits,
	// deletes, reactions) one at a time; see announce.
	opsMu sync.Mutex

	// ctx ends when the room closes; work started by WebSocket events uses it.
	ctx    context.Context
	cancel context.CancelFunc
	bg     sync.WaitGroup
}

// Open opens (or creates) the room's store under opts.DataDir.
func Open(ctx context.Context, opts Options) (*Room, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := (datadir.Layout{Dir: opts.DataDir}).Check(); err != nil {
		return nil, err
	}
	store, err := OpenStore(ctx, opts.DataDir)
	if err != nil {
		return nil, err
	}
	store.Now = opts.Now
	st, err := store.Room()
	if err != nil {
		store.Close()
		return nil, err
	}
	r := &Room{
		opts:      opts,
		layout:    datadir.Layout{Dir: opts.DataDir},
		log:       opts.Logger,
		now:       opts.Now,
		store:     store,
		hub:       fanout.New(st.LastID),
		files:     uploads.New(datadir.Layout{Dir: opts.DataDir}, opts.MaxFileSize),
		pw:        newPasswordCache(),
		posts:     newLimiter(opts.PostsPerMinute, max(opts.PostsPerMinute/6, 5)),
		roomPosts: newLimiter(opts.RoomPostsPerMinute, max(opts.RoomPostsPerMinute/6, 5)),
		logins:    newLimiter(opts.LoginsPerMinute, max(opts.LoginsPerMinute/2, 3)),
		joins:     newLimiter(opts.ConnectsPerMinute, max(opts.ConnectsPerMinute/3, 5)),
		reads:     newLimiter(opts.ReadsPerMinute, max(opts.ReadsPerMinute/4, 5)),

		held:      newHolding(opts.NickHold, opts.MaxClients),
		removeAll: os.RemoveAll,
		hashing:   make(chan struct{}, opts.PasswordChecks),
	}
	r.state.Store(&st)
	r.ctx, r.cancel = context.WithCancel(context.WithoutCancel(ctx))
	r.hub.SetWelcomeRoom(st.Encryption())
	r.tellEncrypted(st)
	if !st.Exists && st.DestroyedAt.IsZero() && opts.CreateOnStart {
		password, err := r.CreateKind(RoomKind{Private: opts.Private, Encrypted: opts.Encrypted})
		if err != nil {
			store.Close()
			return nil, err
		}
		if password != "" {
			r.initialPassword = password
			r.log.Info("created a private room; the installer shows its password once, and `chatbox room password` sets a new one")
		}
	} else if st.Exists && !st.Private && opts.Private && st.Encrypted {
		// An encrypted room's key may be derived from its first password
		// (docs/ENCRYPTION.md): a new password would leave it behind, so
		// its privacy is what it was made with.
		r.log.Warn("the config says private, but this room is encrypted and public, and an encrypted room's privacy cannot change; reset it (chatbox room reset --private --encrypted) for a private one")
	} else if st.Exists && !st.Private && opts.Private {
		// The config says private: a room that is public is made so, or
		// the box would say private while anyone with the link gets in.
		if err := r.makePrivate(); err != nil {
			store.Close()
			return nil, err
		}
		r.log.Warn("the room was public but the config says private: it is private now, with a new password; the installer shows it once, and `chatbox room password` sets another")
	}
	if st.Exists && !st.DestroyAt.IsZero() {
		// A countdown was under way when the box stopped: it ends when it
		// was due, or, when that has passed, before the room serves anyone.
		r.log.Info("room destroy countdown resumed", "by", st.DestroyBy, "at", st.DestroyAt)
		if st.DestroyAt.After(r.now()) {
			r.startCountdown(st.DestroyAt, st.DestroyBy)
		} else {
			r.mu.Lock()
			r.destroyBy = st.DestroyBy
			r.mu.Unlock()
			r.wipe(st.DestroyAt)
		}
	}
	r.sweepFiles()
	if err := r.files.ResumeThumbnails(); err != nil {
		r.log.Error("resume thumbnails", "err", err)
	}
	r.bg.Go(func() {
		r.files.RunThumbnails(r.ctx, func(id string, err error) {
			r.log.Error("make a thumbnail", "file", id, "err", err)
		})
	})
	r.bg.Add(1)
	go r.housekeeping()
	return r, nil
}

// Close stops background work and closes the store. Call it after the HTTP
// servers have shut down.
func (r *Room) Close() error {
	if r.ctx.Err() != nil {
		return nil
	}
	r.cancel()
	r.mu.Lock()
	if r.countdown != nil {
		r.countdown.Stop()
	}
	r.mu.Unlock()
	r.bg.Wait()
	r.closeWatcher()
	return r.store.Close()
}

// State returns the room's current record.
func (r *Room) State() RoomState { return *r.state.Load() }

var errRoomExists = errors.New("a room already exists here")

// RoomKind is what a new room is: private (with a password) or not,
// encrypted (docs/ENCRYPTION.md) or not.
type RoomKind struct {
	Private   bool
	Encrypted bool
}

// Create makes a new room when none exists. For a private room it returns
// the generated password, which is stored only as a slow hash.
func (r *Room) Create(private bool) (password string, err error) {
	return r.CreateKind(RoomKind{Private: private})
}

// CreateKind is Create of a room of kind k.
func (r *Room) CreateKind(k RoomKind) (password string, err error) {
	password, _, err = r.create(k)
	return password, err
}

// CreateAndLogin creates the room from the launcher (the page shown when
// none exists) as Create does and, for a private room, starts its
// creator's session (see Login). It makes a private room only when the
// owner allows it (Options.LauncherPrivate).
func (r *Room) CreateAndLogin(k RoomKind) (password, session string, err error) {
	if k.Private && !r.opts.LauncherPrivate {
		return "", "", errLauncherPublic
	}
	password, st, err := r.create(k)
	if err != nil || !k.Private {
		return password, "", err
	}
	session, err = r.startSession(st.Generation)
	return password, session, err
}

// create makes a new room and returns its password and record.
func (r *Room) create(k RoomKind) (password string, _ RoomState, err error) {
	var hash string
	roomID, err := newRoomID()
	if err != nil {
		return "", RoomState{}, err
	}
	if k.Private {
		if password, err = NewPassword(); err != nil {
			return "", RoomState{}, err
		}
		if hash, err = HashPassword(password); err != nil {
			return "", RoomState{}, err
		}
	}
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	st, err := r.store.UpdateRoom(func(st *RoomState) error {
		if st.Exists {
			return errRoomExists
		}
		*st = RoomState{
			Exists:       true,
			Name:         "chatbox",
			Private:      k.Private,
			PasswordHash: hash,
			RoomID:       roomID,
			Encrypted:    k.Encrypted,
			// To the millisecond, as a message's time (Store.Append): a message
			// stamped after the room was made is never older than it.
			CreatedAt:  r.now().UTC().Truncate(time.Millisecond),
			LastID:     st.LastID,
			Generation: st.Generation + 1,
		}
		return nil
	})
	if err != nil {
		return "", RoomState{}, err
	}
	r.state.Store(&st)
	r.hub.SetWelcomeRoom(st.Encryption())
	r.pw.forget()
	r.renewed(st)
	return password, st, nil
}

// SetPassword gives a private room a new password (making a public room
// private), logs everyone out, and returns the password.
func (r *Room) SetPassword() (string, error) {
	password, err := NewPassword()
	if err != nil {
		return "", err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return "", err
	}
	if err := r.storePassword(hash); err != nil {
		return "", err
	}
	// Outside every lock: this waits for the close frames to go out.
	r.hub.CloseAll(fanout.ClosePolicy, "the room's password changed", time.Second)
	return password, nil
}

// makePrivate gives a public room a new password at open, kept as its
// initial password for TakeInitialPassword.
func (r *Room) makePrivate() error {
	password, err := NewPassword()
	if err != nil {
		return err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	if err := r.storePassword(hash); err != nil {
		return fmt.Errorf("make the public room private: %w", err)
	}
	r.initialPassword = password
	return nil
}

var errEncryptedPrivacy = &Error{Code: CodeConflict, Msg: "an encrypted room stays public or private for its whole life; reset it to make a private one"}

// storePassword makes the room private with hash and ends every session.
func (r *Room) storePassword(hash string) error {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	st, err := r.store.UpdateRoom(func(st *RoomState) error {
		if !st.Exists {
			return errNoRoom
		}
		if st.Encrypted && !st.Private {
			return errEncryptedPrivacy
		}
		st.Private, st.PasswordHash = true, hash
		st.Generation++
		return nil
	})
	if err != nil {
		return err
	}
	r.state.Store(&st)
	r.pw.forget()
	r.renewed(st)
	return r.store.DeleteSessions()
}

// Sender is who acts in the room: the address whose budget the act is
// charged to, and the nickname it is done under. An empty Addr is the box
// itself (its owner, a test), which no budget holds back.
type Sender struct {
	Addr string
	Nick string
	// ClientID, when set, is the id the sender's client chose for this
	// send (see ValidateClientID): a send repeated with it under the same
	// nickname gets the first message back and stores nothing.
	ClientID string
	// Token is the token of the sender's browser, if it has one. A
	// nickname someone else holds refuses a sender without it (see
	// CheckNick), and the hash of it kept with a message lets that browser
	// alone edit or delete it (see checkOwnerToken); a message sent
	// without one can never be changed.
	Token string
	// connected says the sender is a connection of the event stream,
	// which holds its nickname already.
	connected bool
}

// Post stores a text message from a sender and broadcasts it. A "/ping
// NICK text" message becomes a ping to NICK, who must be in the room or
// reachable outside it (see Reacher). Whatever carried the request has
// charged the sender's address one event already; Post charges it the
// rest of the text's cost, so a wall of text costs the same on every
// transport, and charges the room's budget the whole cost once the
// message passed every check. A send repeated with the client id of one
// still in the history returns that message, as it is, and broadcasts
// nothing.
func (r *Room) Post(ctx context.Context, from Sender, text string) (Message, error) {
	return r.PostReply(ctx, from, text, 0)
}

// PostReply is Post of a message that answers message replyTo (none
// when 0), which must be in the history.
func (r *Room) PostReply(ctx context.Context, from Sender, text string, replyTo uint64) (Message, error) {
	return r.Send(ctx, from, Draft{Text: text, ReplyTo: replyTo})
}

// Draft is a message to post: its text, the message it answers (none
// when 0) and, in an encrypted room, whom it pings (none when empty; a
// room that is not encrypted reads that from "/ping NICK text").
type Draft struct {
	Text    string
	ReplyTo uint64
	To      string
}

var errToPlain = invalid("to", "to is for encrypted rooms; here a ping is written /ping NICK text")

// Send is Post of a draft.
func (r *Room) Send(ctx context.Context, from Sender, d Draft) (Message, error) {
	text := d.Text
	if extra := r.textCost(text) - 1; extra > 0 && from.Addr != "" {
		if err := r.ChargeAddr(from.Addr, extra); err != nil {
			return Message{}, err
		}
	}
	if err := ValidateNick(from.Nick); err != nil {
		return Message{}, err
	}
	if !from.connected {
		if err := r.CheckNick(from.Nick, from.Token); err != nil {
			return Message{}, err
		}
	}
	if err := ValidateClientID(from.ClientID); err != nil {
		return Message{}, err
	}
	if err := checkOwnerToken(from.Token); err != nil {
		return Message{}, err
	}
	if from.ClientID != "" {
		// A repeat is answered before the checks the first send passed:
		// the pinged may have left, the room may be locked since.
		first, ok, err := r.store.ByClientID(from.Nick, from.ClientID)
		if err != nil {
			return Message{}, err
		}
		if ok {
			return first, nil
		}
	}
	st := r.State()
	m := Message{Nick: from.Nick, Text: text, Kind: KindText, ClientID: from.ClientID, ReplyTo: d.ReplyTo, Owner: ownerHash(from.Token)}
	to, ping := d.To, d.To != ""
	if st.Encrypted {
		if err := r.validateEnvelope(text); err != nil {
			return Message{}, err
		}
	} else {
		if to != "" {
			return Message{}, errToPlain
		}
		lim := TextLimits{Max: r.opts.MaxMessageLength, MaxPGP: r.opts.MaxPGPLength}
		if err := ValidateText(text, lim); err != nil {
			return Message{}, err
		}
		to, _, ping = ParsePing(text)
	}
	if st.Locked {
		return Message{}, errLocked
	}
	if ping {
		if err := ValidateNick(to); err != nil {
			if st.Encrypted {
				return Message{}, invalid("to", "ping whom? to is a nickname")
			}
			return Message{}, invalid("text", "ping whom? write /ping NICK message")
		}
		if !r.hub.Present(to) && !r.reachable(to) {
			return Message{}, &Error{Code: CodeNotPresent, Msg: to + " is not in the room right now"}
		}
		m.Kind, m.To = KindPing, to
	}
	// Only now, with every check passed, does the message cost the room.
	if from.Addr != "" {
		if err := r.ChargeRoom(r.textCost(text)); err != nil {
			return Message{}, err
		}
	}
	return r.store1(ctx, m)
}

// store1 appends m and publishes it, unless it repeats a send already
// stored (the same nickname and client id) that raced it here.
func (r *Room) store1(ctx context.Context, m Message) (Message, error) {
	stored, fresh, err := r.store.AppendOnce(ctx, m)
	if err != nil {
		return Message{}, err
	}
	if fresh {
		r.hub.Publish(stored)
		r.published(stored)
	}
	return stored, nil
}

// OwnerName is the name the room gives its owner's acts (through the admin
// socket). It is no valid nickname, so nobody in the room can take it.
const OwnerName = "the box's owner"

var (
	errLocked        = &Error{Code: CodeForbidden, Msg: "the room is read-only: its owner locked it"}
	errDestroyOwner  = &Error{Code: CodeForbidden, Msg: "only the box's owner can destroy this room (chatbox room destroy)"}
	errDestroyNobody = &Error{Code: CodeForbidden, Msg: "this room cannot be destroyed: its owner turned that off (room.destroy in the config)"}
)

// Destroy starts the countdown that wipes the room, for nick, when the
// room's destroy policy lets people do it. A second call while it runs
// changes nothing and returns the same deadline. The deadline is stored,
// so a restart during the countdown finishes it.
func (r *Room) Destroy(nick string) (at time.Time, err error) {
	if err := ValidateNick(nick); err != nil {
		return time.Time{}, err
	}
	switch {
	case r.opts.Destroy == DestroyByOwner:
		return time.Time{}, errDestroyOwner
	case r.opts.Destroy == DestroyByNobody:
		return time.Time{}, errDestroyNobody
	case r.State().Locked:
		return time.Time{}, errLocked
	}
	return r.beginCountdown(nick)
}

// DestroyAsOwner starts the countdown for the box's owner, unless the
// destroy policy is nobody.
func (r *Room) DestroyAsOwner() (time.Time, error) {
	if r.opts.Destroy == DestroyByNobody {
		return time.Time{}, errDestroyNobody
	}
	return r.beginCountdown(OwnerName)
}

// beginCountdown stores the countdown's deadline for by, and starts it.
func (r *Room) beginCountdown(by string) (at time.Time, err error) {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	if at, _ := r.Countdown(); !at.IsZero() {
		return at, nil
	}
	at = r.now().Add(r.opts.DestroyCountdown).UTC()
	st, err := r.store.UpdateRoom(func(st *RoomState) error {
		if !st.Exists {
			return errNoRoom
		}
		st.DestroyAt, st.DestroyBy = at, by
		return nil
	})
	if err != nil {
		return time.Time{}, err
	}
	r.state.Store(&st)
	r.startCountdown(at, by)
	r.log.Info("room destroy countdown started", "by", by, "at", at)
	r.hub.Broadcast(Event{Type: event.TypeDestroy, By: by, At: at})
	return at, nil
}

// startCountdown arms the timer that wipes the room at at (at once when
// that has passed).
func (r *Room) startCountdown(at time.Time, by string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.countdown != nil {
		r.countdown.Stop()
	}
	r.destroyAt, r.destroyBy = at, by
	r.countdown = time.AfterFunc(max(at.Sub(r.now()), 0), func() { r.wipe(at) })
}

// Countdown returns when a running destroy countdown ends, and who
// started it; zero when none runs.
func (r *Room) Countdown() (time.Time, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.destroyAt, r.destroyBy
}

// wipe deletes the room's history, uploads and sessions. Requests go on
// being answered while it runs: the store's transaction and the removal of
// the uploads (up to the quota, hundreds of MiB) hold no lock they need.
// A countdown's wipe names its deadline (due) and does nothing unless
// that countdown is still the stored one: it may have been cancelled
// while the wipe waited for the lock. A zero due wipes at once.
func (r *Room) wipe(due time.Time) {
	r.writeMu.Lock()
	if !due.IsZero() && !r.State().DestroyAt.Equal(due) {
		r.writeMu.Unlock()
		return
	}
	r.mu.Lock()
	by := r.destroyBy
	r.mu.Unlock()
	if r.ctx.Err() != nil {
		r.writeMu.Unlock()
		return // shutting down: the stored countdown resumes at the next start.
	}
	// No upload may move into files/ and store its message between the
	// store's wipe and the uploads' move aside: its message would land in
	// the next room with its file gone. Both are quick; the deletion of
	// the uploads happens after the locks are released.
	r.uploadMu.Lock()
	st, err := r.store.Wipe(by, r.now().UTC())
	if err != nil && !st.DestroyedAt.IsZero() {
		// Wiped, though the new file's name may not be on disk yet; if it
		// is lost, the stored countdown wipes again at the next start.
		r.log.Error("destroy the room", "err", err)
		err = nil
	}
	if err != nil {
		r.uploadMu.Unlock()
		r.writeMu.Unlock()
		r.endCountdown()
		r.log.Error("destroy the room", "err", err)
		r.hub.Broadcast(Event{Type: event.TypeError, Error: "the room could not be destroyed: " + err.Error()})
		return
	}
	// Move the uploads aside at once; delete them once nothing waits.
	trash, err := r.moveFilesAside()
	r.uploadMu.Unlock()
	if err != nil {
		r.log.Error("remove uploaded files", "err", err)
	}
	r.state.Store(&st)
	r.hub.SetWelcomeRoom(nil)
	r.pw.forget()
	r.renewed(st)
	r.hub.ResetSequence(st.LastID)
	r.writeMu.Unlock()
	r.endCountdown()
	r.log.Info("room destroyed", "by", by)
	r.hub.Broadcast(Event{Type: event.TypeDestroy, By: by, At: st.DestroyedAt, Done: true})
	go r.hub.CloseAll(fanout.CloseNormal, "the room was destroyed", 5*time.Second)
	if trash != "" {
		if err := r.removeAll(trash); err != nil {
			r.log.Error("remove uploaded files", "err", err)
		}
	}
}

// endCountdown forgets a countdown that has run out.
func (r *Room) endCountdown() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.countdown, r.destroyAt, r.destroyBy = nil, time.Time{}, ""
}

// moveFilesAside renames the uploads folder to a name of its own in the
// data directory and returns that name ("" when there were no uploads).
func (r *Room) moveFilesAside() (string, error) {
	trash, err := os.MkdirTemp(r.layout.Dir, r.layout.WipedFilesPrefix())
	if err != nil {
		return "", err
	}
	aside := filepath.Join(trash, filepath.Base(r.layout.Files()))
	if err := os.Rename(r.layout.Files(), aside); err != nil {
		os.Remove(trash)
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		return "", err
	}
	return trash, nil
}

// housekeeping applies retention and forgets idle rate-limit entries.
func (r *Room) housekeeping() {
	defer r.bg.Done()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		r.ApplyRetention()
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *Room) ApplyRetention() {
	now := r.now()
	var before time.Time
	if r.opts.RetentionAge > 0 {
		before = now.Add(-r.opts.RetentionAge)
	}
	deleted, err := r.store.Prune(r.opts.RetentionCount, before)
	if err != nil {
		r.log.Error("apply retention", "err", err)
	}
	for _, m := range deleted {
		r.removeFile(m)
	}
	if err := r.store.PruneSessions(now, r.opts.SessionIdle); err != nil {
		r.log.Error("prune sessions", "err", err)
	}
	for _, l := range []*limiter{r.posts, r.logins, r.joins, r.reads} {
		l.sweep(now)
	}
}

// removeFile deletes the upload a message carried, if any.
func (r *Room) removeFile(m Message) {
	if m.File == nil || m.File.ID == "" {
		return
	}
	if err := r.files.Remove(m.File.ID); err != nil {
		r.log.Error("remove upload", "err", err)
	}
}
