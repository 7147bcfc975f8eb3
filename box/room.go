package box

import (
	"context"
	"log/slog"
	"net/url"
	"strings"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/chat/datadir"
	"github.com/chatbox-dev/chatbox/chat/httpapi"
	"github.com/chatbox-dev/chatbox/chat/push"
	"github.com/chatbox-dev/chatbox/config"
)

// RoomOptions returns the options a box with cfg runs its room with: the
// config owns every default, the room only checks them.
func RoomOptions(cfg config.Config) chat.Options {
	return chat.Options{
		DataDir:            cfg.Server.DataDir,
		Private:            cfg.Room.Private,
		Encrypted:          cfg.Room.Encrypted,
		CreateOnStart:      true,
		MaxMessageLength:   cfg.Room.MaxMessageLength,
		MaxPGPLength:       cfg.Room.MaxPGPLength,
		RetentionCount:     cfg.Room.RetentionCount,
		RetentionAge:       cfg.Room.RetentionAge.Std(),
		MaxFileSize:        int64(cfg.Room.MaxFileSize),
		Quota:              int64(cfg.Room.Quota),
		DestroyCountdown:   cfg.Room.DestroyCountdown.Std(),
		Destroy:            chat.DestroyPolicy(cfg.Room.Destroy),
		LauncherPrivate:    cfg.Room.LauncherPrivate,
		SessionIdle:        cfg.Room.SessionIdle.Std(),
		EditWindow:         cfg.Room.EditWindow.Std(),
		NickHold:           cfg.Room.NickHold.Std(),
		MaxClients:         cfg.Limits.MaxClients,
		MaxClientsPerAddr:  cfg.Limits.MaxClientsPerAddr,
		PostsPerMinute:     cfg.Limits.PostsPerMinute,
		LoginsPerMinute:    cfg.Limits.LoginsPerMinute,
		ConnectsPerMinute:  cfg.Limits.ConnectsPerMinute,
		RoomPostsPerMinute: cfg.Limits.RoomPostsPerMinute,
		PasswordChecks:     cfg.Limits.PasswordChecks,
		ReadsPerMinute:     cfg.Limits.ReadsPerMinute,
	}
}

// serving is how the box serves the room, as its HTTP transport needs to
// know.
type serving struct {
	// secure says the room is served over HTTPS.
	secure bool
	// publicURL is the room's address, when the box knows it.
	publicURL string
	// certs are the box's certificates, when it serves HTTPS itself.
	certs *certManager
	// dev is `chatbox serve --dev`: on loopback alone, it may send
	// pushes to a push service on loopback (a stand-in, as in bench/).
	dev bool
}

// openRoom opens the room of cfg and its HTTP transport.
func openRoom(ctx context.Context, cfg config.Config, log *slog.Logger, how serving) (*chat.Room, *httpapi.Server, error) {
	secure, publicURL := how.secure, how.publicURL
	opts := RoomOptions(cfg)
	opts.Logger = log
	var pusher *push.Service
	if cfg.Push.Enabled {
		popts := PushOptions(cfg, publicURL)
		popts.Logger = log
		popts.LoopbackEndpoints = how.dev
		p, err := push.New(ctx, popts)
		if err != nil {
			// The room matters more than its notifications.
			log.Error("push notifications are off", "err", err)
		} else {
			pusher = p
			opts.Watcher = pusher // the room closes it
		}
	}
	room, err := chat.Open(ctx, opts)
	if err != nil {
		if pusher != nil {
			pusher.Close()
		}
		return nil, nil, err
	}
	if pusher != nil {
		// Subscriptions of the room as it was before a reset or a
		// password change made while the box was down go now.
		pusher.Renewed(room.State().Generation)
	}
	var localCA func() bool
	var trustURL func() string
	if how.certs != nil {
		localCA, trustURL = how.certs.servesLocalCA, how.certs.trustURL
	}
	web := httpapi.New(ctx, room, httpapi.Options{
		LocalCA:          localCA,
		TrustURL:         trustURL,
		SecureCookies:    secure,
		TrustedProxies:   cfg.Server.Proxies(),
		AllowedOrigins:   publicOrigins(cfg),
		PublicURL:        publicURL,
		UploadMinRate:    int64(cfg.Limits.UploadMinRate),
		UploadRateWindow: cfg.Limits.UploadRateWindow.Std(),
		Push:             pusher,
		Logger:           log,
	})
	return room, web, nil
}

// PushOptions returns the options of the box's Web Push service: the
// config's limits, the room's address as the notifications' title and as
// the contact push services see (push.contact when set).
func PushOptions(cfg config.Config, publicURL string) push.Options {
	name := cfg.Server.Domain
	if name == "" {
		name = cfg.Server.IP
	}
	if u, err := url.Parse(publicURL); err == nil && u.Hostname() != "" {
		name = u.Hostname()
	}
	subject := cfg.Push.Contact
	switch {
	case subject != "":
	case strings.Contains(name, ":"): // an IPv6 address
		subject = "https://[" + name + "]"
	case name != "":
		subject = "https://" + name
	default:
		subject = "https://localhost"
	}
	if name == "" {
		name = "chatbox"
	}
	return push.Options{
		Layout:           datadir.Layout{Dir: cfg.Server.DataDir},
		Subject:          subject,
		Title:            name,
		Preview:          cfg.Room.PushPreview,
		MaxPerNick:       cfg.Push.MaxPerNickname,
		MaxSubscriptions: cfg.Push.MaxSubscriptions,
		PerSecond:        cfg.Push.PerSecond,
		QueueLength:      cfg.Push.Queue,
		TTL:              cfg.Push.TTL.Std(),
		Collapse:         cfg.Push.Collapse.Std(),
	}
}
