package chat

import (
	"context"
	"crypto/sha256"
	"slices"
	"strings"
	"time"

	"github.com/chatbox-dev/chatbox/chat/event"
	"github.com/chatbox-dev/chatbox/chat/fanout"
	"github.com/chatbox-dev/chatbox/chat/nicks"
)

// reactionEmoji are the reactions a message may get, in the order a page
// shows them.
var reactionEmoji = [...]string{"👍", "❤️", "😂", "😮", "😢", "🎉"}

// ReactionEmoji returns the emoji a message may get as reactions.
func ReactionEmoji() []string { return slices.Clone(reactionEmoji[:]) }

// MaxReactors is the most nicknames whose reactions one message holds.
// Each gives each emoji at most once, so a message holds at most
// len(ReactionEmoji()) × MaxReactors reactions, and a react event (which
// carries the whole set) names at most that many: a busy room's toggles
// cost every reader a bounded event each, never one that grows with the
// room. It is the size up to which a room's presence is listed in full.
const MaxReactors = fanout.PresenceFull

// checkOwnerToken checks the token a browser sends with what it posts:
// empty (none), or one as chat/nicks defines it.
func checkOwnerToken(token string) error {
	if !nicks.ValidToken(token) {
		return errBadToken
	}
	return nil
}

// ownerHash is what the store keeps of the token a message was sent
// with ("" for none). A token is random and long, so a plain hash does.
func ownerHash(token string) string {
	if token == "" {
		return ""
	}
	h := sha256.Sum256([]byte("chatbox message owner\x00" + token))
	return string(h[:])
}

var (
	errEditOff      = &Error{Code: CodeForbidden, Msg: "editing and deleting messages is turned off in this room"}
	errNoToken      = &Error{Code: CodeForbidden, Msg: "you can only change your own messages, from the browser you sent them with"}
	errEditKind     = invalid("id", "only text messages can be edited; a file can be deleted")
	errEditToPing   = invalid("text", "an edit cannot turn a message into a ping")
	errEditPingNick = invalid("text", "an edited ping keeps its /ping NICK")
)

// ownChange checks what every edit and delete needs: a valid nickname
// and token, editing on, and a room that is not locked.
func (r *Room) ownChange(ctx context.Context, from Sender) (ownChange, error) {
	if err := ctx.Err(); err != nil {
		return ownChange{}, err
	}
	if err := ValidateNick(from.Nick); err != nil {
		return ownChange{}, err
	}
	if err := checkOwnerToken(from.Token); err != nil {
		return ownChange{}, err
	}
	switch {
	case r.opts.EditWindow == 0:
		return ownChange{}, errEditOff
	case from.Token == "":
		return ownChange{}, errNoToken
	case r.State().Locked:
		return ownChange{}, errLocked
	}
	return ownChange{owner: ownerHash(from.Token), now: r.now(), window: r.opts.EditWindow}, nil
}

// Edit gives message id the new text, when from sent it (with the same
// token) within the room's edit window, and tells everyone. The text
// follows the rules of posting and is charged as a post is; a ping stays
// a ping to the same nickname and a text never becomes one.
func (r *Room) Edit(ctx context.Context, from Sender, id uint64, text string) (Message, error) {
	if extra := r.textCost(text) - 1; extra > 0 && from.Addr != "" {
		if err := r.ChargeAddr(from.Addr, extra); err != nil {
			return Message{}, err
		}
	}
	c, err := r.ownChange(ctx, from)
	if err != nil {
		return Message{}, err
	}
	encrypted := r.State().Encrypted
	if encrypted {
		err = r.validateEnvelope(text)
	} else {
		err = ValidateText(text, TextLimits{Max: r.opts.MaxMessageLength, MaxPGP: r.opts.MaxPGPLength})
	}
	if err != nil {
		return Message{}, err
	}
	if err := r.chargeChange(from, id, c, r.textCost(text)); err != nil {
		return Message{}, err
	}
	to, _, ping := ParsePing(text)
	m, err := r.store.Edit(id, c, func(m *Message) error {
		if encrypted {
			// The envelope hides whether it is a ping: the message's kind
			// and whom it pings stay as they were.
			to, ping = m.To, m.Kind == KindPing
		}
		switch {
		case m.Kind == KindText && ping:
			return errEditToPing
		case m.Kind == KindPing && (!ping || to != m.To):
			return errEditPingNick
		case m.Kind != KindText && m.Kind != KindPing:
			return errEditKind
		}
		m.Text = text
		return nil
	})
	if err != nil {
		return Message{}, err
	}
	r.announce(id, func(cur Message) (Event, bool) {
		return Event{Type: event.TypeEdit, Message: &cur}, cur.Kind != KindDeleted
	})
	return m, nil
}

// Delete deletes message id, when from sent it (with the same token)
// within the room's edit window, and tells everyone. The message leaves a
// tombstone (see Tombstone); its text goes from the store's file (see
// Store.Scrub), and its upload and thumbnail from the disk, before Delete
// returns.
func (r *Room) Delete(ctx context.Context, from Sender, id uint64) (Message, error) {
	c, err := r.ownChange(ctx, from)
	if err != nil {
		return Message{}, err
	}
	if err := r.chargeChange(from, id, c, 1); err != nil {
		return Message{}, err
	}
	old, err := r.store.Delete(id, c)
	if err != nil {
		return Message{}, err
	}
	r.removeFile(old)
	if old.File != nil && old.File.ID != "" {
		if done := r.files.ThumbnailDone(old.File.ID); done != nil {
			// A thumbnail being made could write into the folder as it
			// goes: remove it again once that is over.
			select {
			case <-done:
				r.removeFile(old)
			case <-ctx.Done():
				r.bg.Go(func() {
					select {
					case <-done:
						r.removeFile(old)
					case <-r.ctx.Done():
					}
				})
			}
		}
	}
	if _, err := r.store.Scrub(); err != nil {
		// The next delete clears what this one left.
		r.log.Error("clear a deleted message from the store's free pages", "err", err)
	}
	r.announce(id, func(Message) (Event, bool) {
		return Event{Type: event.TypeDelete, ID: id}, true
	})
	return Tombstone(old), nil
}

// React gives message id the reaction emoji (one of ReactionEmoji; in an
// encrypted room, an envelope, kept by its exact string) from
// from's nickname, or takes it back (on is false), and tells everyone the
// message's whole set of reactions. A reaction that already is as asked
// changes nothing and tells nobody.
func (r *Room) React(ctx context.Context, from Sender, id uint64, emoji string, on bool) (Reactions, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := ValidateNick(from.Nick); err != nil {
		return nil, err
	}
	if err := checkOwnerToken(from.Token); err != nil {
		return nil, err
	}
	st := r.State()
	if st.Encrypted {
		if err := validateReactionEnvelope(emoji); err != nil {
			return nil, err
		}
	} else if !slices.Contains(reactionEmoji[:], emoji) {
		return nil, invalid("emoji", "react with one of "+strings.Join(reactionEmoji[:], " "))
	}
	if st.Locked {
		return nil, errLocked
	}
	// A reaction that is already as asked costs the room nothing.
	cur, ok, err := r.store.Current(id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, noMessage(id)
	}
	set := Reactions{}
	if cur.Reactions != nil {
		set = *cur.Reactions
	}
	if cur.Kind != KindDeleted && slices.Contains(set[emoji], from.Nick) == on {
		return set, nil
	}
	if from.Addr != "" {
		if err := r.ChargeRoom(1); err != nil {
			return nil, err
		}
	}
	rs, changed, err := r.store.React(id, from.Nick, emoji, on, MaxReactors, len(reactionEmoji))
	if err != nil {
		return nil, err
	}
	if changed {
		r.announce(id, func(cur Message) (Event, bool) {
			set := Reactions{}
			if cur.Reactions != nil {
				set = *cur.Reactions
			}
			return Event{Type: event.TypeReact, ID: id, Reactions: set}, cur.Kind != KindDeleted
		})
	}
	return rs, nil
}

// chargeChange charges the room's budget cost for an edit or delete of
// message id, once a read of the store says c may make it: a refused change
// costs only its sender's address.
func (r *Room) chargeChange(from Sender, id uint64, c ownChange, cost int) error {
	if err := r.store.CheckChange(id, c); err != nil {
		return err
	}
	if from.Addr == "" {
		return nil
	}
	return r.ChargeRoom(cost)
}

// announce tells everyone of a change to message id, with the event ev
// makes of the message as it is stored now (none when ev says so), once
// the message itself has reached them. Changes are announced one at a
// time, each from the store's newest state, so the last event about a
// message always tells its last state, whatever order concurrent changes
// committed in.
func (r *Room) announce(id uint64, ev func(Message) (Event, bool)) {
	r.opsMu.Lock()
	defer r.opsMu.Unlock()
	cur, ok, err := r.store.Current(id)
	if err != nil {
		r.log.Error("read a changed message", "id", id, "err", err)
		return
	}
	if !ok {
		return // pruned or wiped meanwhile
	}
	if e, send := ev(cur); send {
		r.hub.PublishAfter(id, e)
	}
}

// EditWindow is how long after sending a message its sender may edit or
// delete it; zero when nobody may.
func (r *Room) EditWindow() time.Duration { return r.opts.EditWindow }

// From is the sender of what client c sends: its address and nickname.
func (r *Room) From(c *fanout.Client) Sender {
	return Sender{Addr: c.Addr(), Nick: r.hub.NickOf(c), connected: true}
}
