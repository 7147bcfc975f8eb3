package chat

import (
	"fmt"
	"log/slog"
	"time"
)

// Options configure a Room. The box fills them from its config file,
// which owns every default; Open refuses options that are out of range
// rather than quietly changing them.
type Options struct {
	// DataDir holds messages.db and files/.
	DataDir string
	// Private makes a room created at start-up private (with a password).
	Private bool
	// Encrypted makes a room created at start-up encrypted
	// (docs/ENCRYPTION.md).
	Encrypted bool
	// CreateOnStart creates a room when none exists yet (serve --dev does).
	CreateOnStart bool

	MaxMessageLength int
	MaxPGPLength     int
	RetentionCount   int
	RetentionAge     time.Duration
	MaxFileSize      int64
	Quota            int64
	DestroyCountdown time.Duration
	// Destroy says who may destroy the room.
	Destroy DestroyPolicy
	// LauncherPrivate lets Launch create a private room.
	LauncherPrivate bool
	// EditWindow is how long after sending it its sender may edit or
	// delete a message; zero turns editing and deleting off.
	EditWindow time.Duration
	// NickHold is how long a nickname stays held for its browser's token
	// after the browser's last connection closes; 0 lets it go at once.
	NickHold time.Duration

	MaxClients        int
	MaxClientsPerAddr int
	PostsPerMinute    int
	LoginsPerMinute   int
	ConnectsPerMinute int
	// RoomPostsPerMinute bounds writes from all addresses together.
	RoomPostsPerMinute int
	// PasswordChecks is how many slow password checks may run at once;
	// a login beyond them is refused at once (429).
	PasswordChecks int
	// SessionIdle is how long a session may go unused before it ends; no
	// session outlives SessionLifetime.
	SessionIdle time.Duration

	// BeforePasswordCheck, when set, is called just before each slow
	// password check, on the goroutine that runs it. Tests set it to count
	// or hold the checks.
	BeforePasswordCheck func()
	// ReadsPerMinute bounds the pages of history (each at most
	// HistoryPageBytes) one address may read per minute.
	ReadsPerMinute int

	// Watcher, when set, hears of each stored message and of each change
	// of the room's generation (see Watcher). Close closes it too, last,
	// when it has a Close method.
	Watcher Watcher

	// Logger receives the room's log; nil discards it.
	Logger *slog.Logger

	// Now returns the current time; nil means time.Now. Tests set it.
	Now func() time.Time
}

// DestroyPolicy says who may destroy the room.
type DestroyPolicy string

// The destroy policies.
const (
	// DestroyByEveryone lets anyone in the room start the countdown.
	DestroyByEveryone DestroyPolicy = "everyone"
	// DestroyByOwner keeps the countdown to the box's owner (the admin
	// socket).
	DestroyByOwner DestroyPolicy = "owner"
	// DestroyByNobody turns the countdown off; the owner can still reset.
	DestroyByNobody DestroyPolicy = "nobody"
)

// validate says which option is out of range.
func (o Options) validate() error {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"DataDir", o.DataDir != ""},
		{"MaxMessageLength", o.MaxMessageLength > 0},
		{"MaxPGPLength", o.MaxPGPLength >= o.MaxMessageLength},
		{"RetentionCount", o.RetentionCount >= 0},
		{"RetentionAge", o.RetentionAge >= 0},
		{"MaxFileSize", o.MaxFileSize > 0},
		{"Quota", o.Quota >= o.MaxFileSize},
		{"DestroyCountdown", o.DestroyCountdown > 0},
		{"EditWindow", o.EditWindow >= 0},
		{"MaxClients", o.MaxClients > 0},
		{"MaxClientsPerAddr", o.MaxClientsPerAddr > 0},
		{"PostsPerMinute", o.PostsPerMinute > 0},
		{"LoginsPerMinute", o.LoginsPerMinute > 0},
		{"ConnectsPerMinute", o.ConnectsPerMinute > 0},
		{"RoomPostsPerMinute", o.RoomPostsPerMinute > 0},
		{"Destroy", o.Destroy == DestroyByEveryone || o.Destroy == DestroyByOwner || o.Destroy == DestroyByNobody},
		{"PasswordChecks", o.PasswordChecks > 0},
		{"SessionIdle", o.SessionIdle > 0 && o.SessionIdle <= SessionLifetime},
		{"ReadsPerMinute", o.ReadsPerMinute > 0},
		{"NickHold", o.NickHold >= 0},
	} {
		if !c.ok {
			return fmt.Errorf("the room's option %s is out of range", c.name)
		}
	}
	return nil
}
