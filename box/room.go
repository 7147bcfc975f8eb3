package box

import (
	"context"
	"log/slog"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/chat/httpapi"
	"github.com/chatbox-dev/chatbox/config"
)

// RoomOptions returns the options a box with cfg runs its room with: the
// config owns every default, the room only checks them.
func RoomOptions(cfg config.Config) chat.Options {
	return chat.Options{
		DataDir:            cfg.Server.DataDir,
		Private:            cfg.Room.Private,
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

// openRoom opens the room of cfg and its HTTP transport; secure says the
// room is served over HTTPS.
func openRoom(ctx context.Context, cfg config.Config, log *slog.Logger, secure bool, publicURL string) (*chat.Room, *httpapi.Server, error) {
	opts := RoomOptions(cfg)
	opts.Logger = log
	room, err := chat.Open(ctx, opts)
	if err != nil {
		return nil, nil, err
	}
	web := httpapi.New(ctx, room, httpapi.Options{
		SecureCookies:    secure,
		TrustedProxies:   cfg.Server.Proxies(),
		AllowedOrigins:   publicOrigins(cfg),
		PublicURL:        publicURL,
		UploadMinRate:    int64(cfg.Limits.UploadMinRate),
		UploadRateWindow: cfg.Limits.UploadRateWindow.Std(),
		Logger:           log,
	})
	return room, web, nil
}
