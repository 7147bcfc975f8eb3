package box

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/config"
	"github.com/chatbox-dev/chatbox/dyndns"
	"github.com/coreos/go-systemd/v22/daemon"
)

// Run serves the room on a real box: HTTPS with managed certificates, HTTP
// redirecting to HTTPS, dynamic DNS and systemd readiness. It returns when
// ctx ends.
//
// Certificates come from cfg.TLS.CA and are kept under
// <data_dir>/certmagic. While none can be had, the room is served with a
// certificate from the box's own CA (<data_dir>/localca, offered at
// http://NAME/trust), the failure is logged with what to fix, and issuance
// is retried with backoff. systemd hears READY=1 once the store
// is open and both listeners are bound, WATCHDOG=1 at half of WatchdogSec,
// and STOPPING=1 when shutdown begins.
func Run(ctx context.Context, cfg config.Config, logw io.Writer) error {
	// Background work (issuance, dynamic DNS, the watchdog) ends with Run.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	log := newLogger(logw)
	dns, err := dnsProvider(cfg)
	if err != nil {
		return err
	}
	certs, err := newCertManager(cfg, log, dns)
	if err != nil {
		return err
	}
	defer certs.stop()
	httpsPort, err := listenPort(cfg.Server.HTTPSListen)
	if err != nil {
		return fmt.Errorf("server.https_listen: %w", err)
	}
	var updater *dyndns.Updater
	if cfg.DynDNS.Enabled {
		updater, err = dyndns.New(cfg, dyndns.Options{Logger: log})
		if err != nil {
			return err
		}
	}

	opts := chat.OptionsFrom(cfg)
	opts.SecureCookies = true
	opts.Logger = log
	room, err := chat.Open(ctx, opts)
	if err != nil {
		return err
	}
	httpLn, err := net.Listen("tcp", cfg.Server.HTTPListen)
	if err != nil {
		room.Close()
		return fmt.Errorf("listen on %s (server.http_listen): %w", cfg.Server.HTTPListen, err)
	}
	httpsLn, err := net.Listen("tcp", cfg.Server.HTTPSListen)
	if err != nil {
		httpLn.Close()
		room.Close()
		return fmt.Errorf("listen on %s (server.https_listen): %w", cfg.Server.HTTPSListen, err)
	}

	web := room.Handler()
	httpSrv := NewServer(certs.httpChallenge(httpHandler(certs.name, httpsPort, web, certs.localCA)), log)
	httpsSrv := NewServer(withHSTS(web), log)
	httpsSrv.TLSConfig = certs.tlsConfig()
	listeners := []Listener{
		{Server: httpSrv, Listener: httpLn},
		{Server: httpsSrv, Listener: httpsLn, TLS: true},
	}

	if err := certs.manage(ctx); err != nil {
		httpLn.Close()
		httpsLn.Close()
		room.Close()
		return err
	}
	if updater != nil {
		go updater.Run(ctx)
	}

	stopNotify := context.AfterFunc(ctx, func() { sdNotify(log, daemon.SdNotifyStopping) })
	err = Serve(ctx, log, room, listeners, func() {
		log.Info("chatbox is serving", "url", siteURL("https", certs.name, httpsPort).String(),
			"http", httpLn.Addr().String(), "https", httpsLn.Addr().String(), "data", cfg.Server.DataDir)
		sdNotify(log, daemon.SdNotifyReady)
		go runWatchdog(ctx, log, web)
	})
	if stopNotify() {
		// A listener failed before ctx ended: shutdown has happened anyway.
		sdNotify(log, daemon.SdNotifyStopping)
	}
	return err
}
