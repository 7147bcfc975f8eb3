// Package admin is the administration API of a running room: typed
// requests and answers on a Unix socket in the data directory, the handler
// that serves them and the client that `chatbox room` and the installer
// use. The socket has no authentication of its own; its file mode keeps
// everyone but the service's user (and root) out.
package admin

import (
	"context"
	"io"
	"time"

	"github.com/chatbox-dev/chatbox/chat"
)

// The paths of the API, under any host name.
const (
	pathRoom            = "/room"
	pathPassword        = "/room/password"
	pathReset           = "/room/reset"
	pathDestroy         = "/room/destroy"
	pathInitialPassword = "/room/initial-password"
	pathLock            = "/room/lock"
	pathSnapshot        = "/room/snapshot"
)

// Service is what the admin API asks of the room. *chat.Room provides each
// operation; box adapts it.
type Service interface {
	// Info returns the room as the administrator sees it.
	Info(ctx context.Context) (chat.Info, error)
	// SetPassword gives the room a new password, making it private, and
	// returns it.
	SetPassword(ctx context.Context) (string, error)
	// Reset wipes the room at once, in the owner's name, and creates a
	// new one. It returns the new room's password when it is private.
	Reset(ctx context.Context, kind chat.RoomKind) (string, error)
	// Destroy starts the destroy countdown in the owner's name and returns
	// when it ends.
	Destroy(ctx context.Context) (time.Time, error)
	// SetLocked makes the room read-only for people, or writable again.
	SetLocked(ctx context.Context, locked bool) error
	// TakeInitialPassword returns, once, the password of the private room
	// created when the service started.
	TakeInitialPassword() (string, bool)
	// Snapshot returns a consistent copy of the room's store as it is
	// now, and its size in bytes. The caller closes it.
	Snapshot(ctx context.Context) (io.ReadCloser, int64, error)
}

// RoomInfo is the answer to GET /room.
type RoomInfo struct {
	Exists      bool      `json:"exists"`
	Private     bool      `json:"private"`
	Locked      bool      `json:"locked"`
	Encrypted   bool      `json:"encrypted,omitempty"`
	CreatedAt   time.Time `json:"created_at,omitzero"`
	DestroyedAt time.Time `json:"destroyed_at,omitzero"`
	DestroyedBy string    `json:"destroyed_by,omitempty"`
	// DestroyAt and DestroyBy describe a countdown under way.
	DestroyAt time.Time `json:"destroy_at,omitzero"`
	DestroyBy string    `json:"destroy_by,omitempty"`
	// Members are the nicknames in the room now, sorted; Clients counts
	// the open connections.
	Members  []string `json:"members"`
	Clients  int      `json:"clients"`
	Messages int      `json:"messages"`
}

// roomInfo is info as it travels.
func roomInfo(info chat.Info) RoomInfo {
	members := info.Members
	if members == nil {
		members = []string{}
	}
	return RoomInfo{
		Exists: info.Exists, Private: info.Private, Locked: info.Locked, Encrypted: info.Encrypted, CreatedAt: info.CreatedAt,
		DestroyedAt: info.DestroyedAt, DestroyedBy: info.DestroyedBy,
		DestroyAt: info.DestroyAt, DestroyBy: info.DestroyBy,
		Members: members, Clients: info.Clients, Messages: info.Messages,
	}
}

// PasswordResponse is the answer to POST /room/password, /room/reset and
// /room/initial-password. Password is empty when a reset made a public
// room.
type PasswordResponse struct {
	Password string `json:"password"`
}

// ResetRequest is the body of POST /room/reset.
type ResetRequest struct {
	// Private asks for a private room in place of the wiped one.
	Private bool `json:"private"`
	// Encrypted asks for an encrypted room (docs/ENCRYPTION.md).
	Encrypted bool `json:"encrypted,omitempty"`
}

// LockRequest is the body of POST /room/lock.
type LockRequest struct {
	// Locked makes the room read-only for people; false opens it again.
	Locked bool `json:"locked"`
}

// DestroyResponse is the answer to POST /room/destroy.
type DestroyResponse struct {
	// DestroyAt is when the countdown ends and the room is wiped.
	DestroyAt time.Time `json:"destroy_at"`
}

// ErrorResponse is the body of every refusal, with a status of 400 or more.
type ErrorResponse struct {
	// Error is one sentence a person reads.
	Error string `json:"error"`
	// Code names the kind of refusal as chat.Code.String does.
	Code string `json:"code,omitempty"`
}
