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
}

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
}
