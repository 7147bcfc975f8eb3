// Package event holds the room's records and the events it sends: the
// types that the store, the fan-out, the core and the transports share.
package event

import "time"

// Kind tells what a message is.
type Kind string

// The kinds of message.
const (
	KindText   Kind = "text"
	KindFile   Kind = "file"
	KindSystem Kind = "system"
	KindPing   Kind = "ping"
	// KindDeleted is what a message its sender deleted leaves: its id,
	// time and nickname, and no text or file.
	KindDeleted Kind = "deleted"
)

// Message is one entry of the room's history.
type Message struct {
	ID   uint64    `json:"id"`
	TS   time.Time `json:"ts"`
	Nick string    `json:"nick"`
	Text string    `json:"text"`
	Kind Kind      `json:"kind"`
	To   string    `json:"to,omitempty"`
	File *File     `json:"file,omitempty"`
	// ClientID is the id the sender's client chose for this send; a send
	// repeated with it, under the same nickname, gets this message back
	// instead of storing another.
	ClientID string `json:"client_id,omitempty"`
	// ReplyTo is the id of the message this one answers.
	ReplyTo uint64 `json:"reply_to,omitempty"`
	// Edited is when the text was last changed by its sender; nil when it
	// never was (a pointer: a zero time.Time would cost every message's
	// encoding an allocation to be left out).
	Edited *time.Time `json:"edited,omitempty"`
	// Reactions lists, for each emoji, the nicknames that reacted with it
	// (nil for none: a pointer keeps Message comparable). The store keeps
	// them apart from the message and adds them when it is read.
	Reactions *Reactions `json:"reactions,omitempty"`
	// Owner is the hash of the token the message was sent with. The store
	// keeps it apart from the message; it never goes to a client.
	Owner string `json:"-"`
}

// Reactions maps each emoji of a message's reactions to the nicknames
// that gave it, in the order they did.
type Reactions map[string][]string

// File describes an uploaded file attached to a message.
type File struct {
	URL   string `json:"url"`
	Name  string `json:"name"`
	Size  int64  `json:"size"`
	Type  string `json:"type"`
	Thumb string `json:"thumb,omitempty"`
	// ID is the file's storage id; never a path from the client.
	ID string `json:"id,omitempty"`
}

// Type is the kind of an event.
type Type string

// The kinds of event.
const (
	// TypeMessage carries a stored message.
	TypeMessage Type = "message"
	// TypeJoin and TypeLeave say a nickname came or went; TypePresence
	// lists who is in the room.
	TypeJoin     Type = "join"
	TypeLeave    Type = "leave"
	TypePresence Type = "presence"
	// TypeNick is a rename: the nickname From is now Nick.
	TypeNick Type = "nick"
	// TypeDestroy is a destroy countdown started, cancelled or done.
	TypeDestroy Type = "destroy"
	// TypeTyping says Nick is typing; it is never stored.
	TypeTyping Type = "typing"
	// TypeError is a refusal of what the client sent.
	TypeError Type = "error"
	// TypeAck answers, to its sender alone, a message sent with a client
	// id: the stored message, the first one when the send was repeated.
	TypeAck Type = "ack"
	// TypeEdit carries a message whose text its sender changed; TypeDelete
	// names (ID) a message its sender deleted; TypeReact carries the whole
	// set of a message's reactions (ID, Reactions) after a change.
	TypeEdit   Type = "edit"
	TypeDelete Type = "delete"
	TypeReact  Type = "react"
)

// Event is what a room tells the people in it, as its event stream
// carries it.
type Event struct {
	Type    Type     `json:"type"`
	Message *Message `json:"message,omitempty"`
	Nick    string   `json:"nick,omitempty"`
	// From is the nickname before a rename.
	From    string   `json:"from,omitempty"`
	Members []string `json:"members,omitempty"`
	// Count is how many people are in the room, for presence, join,
	// leave and nick events. Only presence lists Members (the first of
	// them in a big room); the others are deltas.
	Count int `json:"count,omitempty"`
	// For "destroy": who dropped the bomb, when the room will be (or was)
	// wiped, and whether it is done.
	By   string    `json:"by,omitempty"`
	At   time.Time `json:"at,omitzero"`
	Done bool      `json:"done,omitempty"`
	// Cancelled says By stopped the countdown.
	Cancelled bool `json:"cancelled,omitempty"`
	// For "error": the sentence, the kind of refusal, and for a sender
	// over its budget how many seconds to wait.
	Error      string `json:"error,omitempty"`
	Code       string `json:"code,omitempty"`
	RetryAfter int    `json:"retry_after,omitempty"`
	// Suggest is a free nickname to try, for a "nick_taken" error.
	Suggest string `json:"suggest,omitempty"`
	// ClientID is the client's id of the send an ack or error answers.
	ClientID string `json:"client_id,omitempty"`
	// ID is the message a delete or react event is about.
	ID uint64 `json:"id,omitempty"`
	// Reactions is a react event's whole set for the message: empty, not
	// absent, when the last reaction was taken back.
	Reactions Reactions `json:"reactions,omitzero"`
	// Room is, in the welcome (the first presence event) of an encrypted
	// room, what a page needs to open it (see docs/ENCRYPTION.md).
	Room *Encryption `json:"room,omitempty"`
}

// Encryption is what an encrypted room tells those let in: that it is
// encrypted, its id (bound into every envelope), its key check and, when
// the key is derived from a passphrase, how.
type Encryption struct {
	Encrypted bool   `json:"encrypted"`
	RoomID    string `json:"room_id"`
	// KeyCheck is an envelope of a known text; empty until the first
	// browser gives the room its key.
	KeyCheck string `json:"key_check"`
	KDF      *KDF   `json:"kdf,omitempty"`
}

// KDF says how the room's AES key is derived from the link's key and a
// passphrase.
type KDF struct {
	Name       string `json:"name"`
	Iterations int    `json:"iterations"`
	// Salt is 16 bytes, base64url without padding.
	Salt string `json:"salt"`
}
