package box

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/chatbox-dev/chatbox/chat/httpapi"
	"github.com/chatbox-dev/chatbox/config"
)

// runProxy serves the room behind a reverse proxy (server.mode = "proxy"):
// plain HTTP on server.listen, no certificates and no redirect; the proxy
// holds ports 80 and 443. X-Forwarded-For, -Proto and -Host are believed
// from server.trusted_proxies (loopback by default), so the rate limits
// count the browser's address and a request the proxy received over
// HTTPS gets Secure cookies and HSTS.
func runProxy(ctx context.Context, cfg config.Config, logw io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	log := newLogger(logw)
	room, web, err := openRoom(ctx, cfg, log, serving{publicURL: cfg.Server.PublicURL})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		room.Close()
		return fmt.Errorf("listen on %s (server.listen): %w", cfg.Server.Listen, err)
	}
	srv := NewServer(withForwardedHSTS(web), log)
	listeners := guardConns(cfg, log, []Listener{{Server: srv, Listener: ln}})
	stopNotify := context.AfterFunc(ctx, func() { sdNotify(log, daemon.SdNotifyStopping) })
	err = Serve(ctx, log, room, cfg.Server.DataDir, listeners, func() {
		log.Info("chatbox is serving behind a reverse proxy", "url", cfg.Server.PublicURL,
			"listen", ln.Addr().String(), "data", cfg.Server.DataDir)
		sdNotify(log, daemon.SdNotifyReady)
		go runWatchdog(ctx, log, web)
	})
	if stopNotify() {
		sdNotify(log, daemon.SdNotifyStopping)
	}
	return err
}

// withForwardedHSTS sets Strict-Transport-Security on the responses to
// requests a trusted proxy received over HTTPS.
func withForwardedHSTS(web *httpapi.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if web.Scheme(r) == "https" {
			w.Header().Set("Strict-Transport-Security", hstsValue)
		}
		web.ServeHTTP(w, r)
	})
}

// publicOrigins are the origins accepted besides the request's own: the
// public URL's in proxy mode.
func publicOrigins(cfg config.Config) []string {
	if cfg.Server.Mode != config.ModeProxy {
		return nil
	}
	u, err := url.Parse(cfg.Server.PublicURL)
	if err != nil || u.Host == "" {
		return nil
	}
	return []string{u.Scheme + "://" + u.Host}
}
