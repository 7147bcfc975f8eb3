package chat

import (
	"log/slog"
	"time"

	"github.com/chatbox-dev/chatbox/config"
)

// Options configure a Room. OptionsFrom fills them from the box's config.
type Options struct {
	// DataDir holds messages.db and files/.
	DataDir string
	// Private makes a room created at start-up private (with a password).
	Private bool
	// CreateOnStart creates a room when none exists yet (serve --dev does).
	CreateOnStart bool
	// SecureCookies marks session cookies Secure; true whenever the room is
	// served over HTTPS.
	SecureCookies bool
	// AllowedOrigins are extra origins (scheme://host[:port]) accepted for
	// WebSocket and state-changing requests besides the request's own host.
	AllowedOrigins []string

	MaxMessageLength int
	MaxPGPLength     int
	RetentionCount   int
	RetentionAge     time.Duration
	MaxFileSize      int64
	Quota            int64
	DestroyCountdown time.Duration

	MaxClients        int
	MaxClientsPerAddr int
	PostsPerMinute    int
	LoginsPerMinute   int
	ConnectsPerMinute int
	// TrustedProxies are addresses or CIDRs whose X-Forwarded-For is believed.
	TrustedProxies []string

	// Logger receives the room's log; nil discards it.
	Logger *slog.Logger

	// Now returns the current time; nil means time.Now. Tests set it.
	Now func() time.Time
}

// OptionsFrom returns the Options a box with cfg runs its room with.
func OptionsFrom(cfg config.Config) Options {
	return Options{
		DataDir:           cfg.Server.DataDir,
		Private:           cfg.Room.Private,
		CreateOnStart:     true,
		MaxMessageLength:  cfg.Room.MaxMessageLength,
		MaxPGPLength:      cfg.Room.MaxPGPLength,
		RetentionCount:    cfg.Room.RetentionCount,
		RetentionAge:      cfg.Room.RetentionAge.Std(),
		MaxFileSize:       int64(cfg.Room.MaxFileSize),
		Quota:             int64(cfg.Room.Quota),
		DestroyCountdown:  cfg.Room.DestroyCountdown.Std(),
		MaxClients:        cfg.Limits.MaxClients,
		MaxClientsPerAddr: cfg.Limits.MaxClientsPerAddr,
		PostsPerMinute:    cfg.Limits.PostsPerMinute,
		LoginsPerMinute:   cfg.Limits.LoginsPerMinute,
		ConnectsPerMinute: cfg.Limits.ConnectsPerMinute,
		TrustedProxies:    cfg.Server.TrustedProxies,
	}
}
