package chat

import (
	"errors"
	"time"
)

// Code says which kind of refusal an Error is. The room's core chooses the
// code; the transport alone decides what it means on the wire (an HTTP
// status, a WebSocket error event).
type Code int

// The codes of refusal.
const (
	// CodeInvalid is malformed input: an empty message, broken UTF-8, a
	// nickname with punctuation. Field names what was wrong.
	CodeInvalid Code = iota + 1
	// CodeTooLong is input over a limit; Limit holds it.
	CodeTooLong
	// CodeNotPresent is a ping to someone who is not in the room.
	CodeNotPresent
	// CodeRateLimited is a sender over its budget; RetryAfter says when to
	// come back.
	CodeRateLimited
	// CodeDiskFull is a write refused because the disk is full.
	CodeDiskFull
	// CodeNoRoom is a request to a room that does not exist (or is gone).
	CodeNoRoom
	// CodeRoomExists is a create when a room exists.
	CodeRoomExists
	// CodeForbidden is a request from another site, or a change to a
	// message its sender's token does not own.
	CodeForbidden
	// CodeUnauthorized is a private room asked without its password.
	CodeUnauthorized
	// CodeNotFound is a file or resource that does not exist.
	CodeNotFound
	// CodeUnsupported is a body of the wrong media type.
	CodeUnsupported
	// CodeUnprocessable is well-formed input the room will not take, such
	// as a picture that claims too many pixels.
	CodeUnprocessable
	// CodeNotAllowed is a method the resource does not have.
	CodeNotAllowed
	// CodeInternal is a failure of the server's own.
	CodeInternal
	// CodeTooLate is a change to a message asked for after the room's
	// edit window closed.
	CodeTooLate
	// CodeNickTaken is a nickname someone else holds; Suggest names a
	// free one.
	CodeNickTaken
	// CodeConflict is a request the room's state does not allow now, such
	// as cancelling a countdown when none runs.
	CodeConflict
)

// String names the code as clients see it in a WebSocket error event.
func (c Code) String() string {
	switch c {
	case CodeInvalid:
		return "invalid"
	case CodeTooLong:
		return "too_long"
	case CodeNotPresent:
		return "not_present"
	case CodeRateLimited:
		return "rate_limited"
	case CodeDiskFull:
		return "disk_full"
	case CodeNoRoom:
		return "no_room"
	case CodeRoomExists:
		return "room_exists"
	case CodeForbidden:
		return "forbidden"
	case CodeUnauthorized:
		return "unauthorized"
	case CodeNotFound:
		return "not_found"
	case CodeUnsupported:
		return "unsupported"
	case CodeUnprocessable:
		return "unprocessable"
	case CodeNotAllowed:
		return "not_allowed"
	case CodeTooLate:
		return "too_late"
	case CodeNickTaken:
		return "nick_taken"
	case CodeConflict:
		return "conflict"
	default:
		return "internal"
	}
}

// Error is a refusal from the room: a code and one clear sentence.
type Error struct {
	Code Code
	// Msg is the sentence a person reads.
	Msg string
	// Field is the input that was wrong, for CodeInvalid ("nick", "text").
	Field string
	// Limit is the limit passed, for CodeTooLong.
	Limit int64
	// RetryAfter is when to try again, for CodeRateLimited.
	RetryAfter time.Duration
	// Suggest is a free nickname, for CodeNickTaken.
	Suggest string
	// Err is what caused the refusal, when something below said more.
	Err error
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// invalid refuses malformed input in field.
func invalid(field, msg string) *Error {
	return &Error{Code: CodeInvalid, Field: field, Msg: msg}
}

// tooLong refuses input over limit.
func tooLong(limit int64, msg string) *Error {
	return &Error{Code: CodeTooLong, Limit: limit, Msg: msg}
}

// Sentences the room says in more than one place.
const (
	sayDiskFull = "the server's disk is full; nothing was stored, history is still readable"
	sayInternal = "the server failed; nothing was stored"
)

// Refusal returns err as the room's Error: itself when it is one, the
// room's sentence for the errors of the store, and CodeInternal (with a
// sentence that reveals nothing) for anything else. Transports answer with
// what it returns, so a refusal reads the same on every path.
func Refusal(err error) *Error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, ErrStoreFull), isDiskFull(err):
		return &Error{Code: CodeDiskFull, Msg: sayDiskFull}
	case errors.Is(err, errNoRoom):
		return &Error{Code: CodeNoRoom, Msg: errNoRoom.Error()}
	case errors.Is(err, errRoomExists):
		return &Error{Code: CodeRoomExists, Msg: errRoomExists.Error()}
	default:
		return &Error{Code: CodeInternal, Msg: sayInternal}
	}
}
