package chat

import (
	"errors"
	"fmt"
	"time"
)

// Reset wipes the room at once (no countdown), for the box's owner, and
// creates a new one. It returns the new room's password when it is
// private.
func (r *Room) Reset(private bool) (string, error) {
	return r.ResetKind(RoomKind{Private: private})
}

// ResetKind is Reset to a new room of kind k.
func (r *Room) ResetKind(k RoomKind) (string, error) {
	r.mu.Lock()
	if r.countdown != nil {
		r.countdown.Stop()
	}
	r.destroyBy = OwnerName
	r.mu.Unlock()
	r.wipe(time.Time{})
	if st := r.State(); st.Exists {
		return "", errors.New("the room could not be wiped; see the service's log")
	}
	return r.CreateKind(k)
}

var errLauncherPublic = &Error{Code: CodeForbidden, Msg: "this box's owner lets only public rooms be made here; ask them for a private one"}

// SetLocked makes the room read-only for people (locked) or writable
// again. Only the owner does this, through the admin socket.
func (r *Room) SetLocked(locked bool) error {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	st, err := r.store.UpdateRoom(func(st *RoomState) error {
		if !st.Exists {
			return errNoRoom
		}
		st.Locked = locked
		return nil
	})
	if err != nil {
		return err
	}
	r.state.Store(&st)
	return nil
}

// Writable says whether people may write in the room now: nil, or the
// refusal of a locked room. Transports ask before they charge a write.
func (r *Room) Writable() error {
	if r.State().Locked {
		return errLocked
	}
	return nil
}

// Info is what the box's administrator sees of the room.
type Info struct {
	Exists      bool
	Private     bool
	Locked      bool
	Encrypted   bool
	CreatedAt   time.Time
	DestroyedAt time.Time
	DestroyedBy string
	// DestroyAt and DestroyBy describe a countdown under way.
	DestroyAt time.Time
	DestroyBy string
	// Members are the nicknames in the room now, sorted; Clients counts
	// the open connections.
	Members  []string
	Clients  int
	Messages int
}

// Info returns the room as the administrator sees it.
func (r *Room) Info() (Info, error) {
	st := r.State()
	at, by := r.Countdown()
	count, err := r.store.MessageCount()
	if err != nil {
		return Info{}, fmt.Errorf("count the messages: %w", err)
	}
	return Info{
		Exists: st.Exists, Private: st.Private, Locked: st.Locked, Encrypted: st.Exists && st.Encrypted, CreatedAt: st.CreatedAt,
		DestroyedAt: st.DestroyedAt, DestroyedBy: st.DestroyedBy,
		DestroyAt: at, DestroyBy: by,
		Members: r.hub.Members(), Clients: r.hub.Count(), Messages: count,
	}, nil
}

// TakeInitialPassword returns, once, the password of the private room
// created when the room opened (Options.CreateOnStart with Private): the
// installer shows it to the owner. Only its hash is stored, so after it is
// taken, or after a restart, the answer is false and a new password
// (SetPassword) is the way in.
func (r *Room) TakeInitialPassword() (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.initialPassword
	r.initialPassword = ""
	return p, p != ""
}
