package chat

import (
	"time"

	"github.com/chatbox-dev/chatbox/chat/event"
)

var (
	errNoCountdown = &Error{Code: CodeConflict, Msg: "no destroy countdown is running"}
	errCancelOwner = &Error{Code: CodeForbidden, Msg: "only the box's owner can stop this countdown: they started it, and only they may destroy this room"}
)

// CancelDestroy stops a running destroy countdown for nick: anyone in
// the room may, unless only the box's owner may destroy it. The stored
// deadline is removed, so a restart does not resume the countdown, and
// everyone hears who stopped it.
func (r *Room) CancelDestroy(nick string) error {
	if err := ValidateNick(nick); err != nil {
		return err
	}
	if r.opts.Destroy == DestroyByOwner {
		return errCancelOwner
	}
	if r.State().Locked {
		return errLocked
	}
	return r.cancelCountdown(nick)
}

// CancelDestroyAsOwner stops a running destroy countdown for the box's
// owner.
func (r *Room) CancelDestroyAsOwner() error { return r.cancelCountdown(OwnerName) }

// cancelCountdown removes the stored deadline, stops the timer and tells
// the room. Under writeMu, like the wipe, which checks the deadline
// again before it begins.
func (r *Room) cancelCountdown(by string) error {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	if at, _ := r.Countdown(); at.IsZero() {
		return errNoCountdown
	}
	st, err := r.store.UpdateRoom(func(st *RoomState) error {
		if !st.Exists {
			return errNoRoom
		}
		st.DestroyAt, st.DestroyBy = time.Time{}, ""
		return nil
	})
	if err != nil {
		return err
	}
	r.state.Store(&st)
	r.mu.Lock()
	if r.countdown != nil {
		r.countdown.Stop()
	}
	r.countdown, r.destroyAt, r.destroyBy = nil, time.Time{}, ""
	r.mu.Unlock()
	r.log.Info("room destroy countdown cancelled", "by", by)
	r.hub.Broadcast(Event{Type: event.TypeDestroy, Cancelled: true, By: by})
	return nil
}
