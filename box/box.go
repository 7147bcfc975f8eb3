package box

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/chatbox-dev/chatbox/config"
	"github.com/chatbox-dev/chatbox/dyndns"
	"github.com/chatbox-dev/chatbox/internal/roomurl"
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
//
// A box without a domain that has server.ip_detect checks its public
// address every dyndns.interval and, when it changes, gets a certificate
// for the new address, serves it and drops the old one.
//
// In proxy mode (server.mode = "proxy") it serves plain HTTP on
// server.listen behind the reverse proxy instead; see runProxy.
func Run(ctx context.Context, cfg config.Config, logw io.Writer) error {
	return run(ctx, cfg, logw, runOptions{})
}

// runOptions change Run in ways only tests may.
type runOptions struct {
	// allowLoopback lets server.ip_detect find a loopback address.
	allowLoopback bool
	// ipCheckEvery, when set, replaces dyndns.interval for
	// server.ip_detect.
	ipCheckEvery time.Duration
	// managing, when set, is called with the certificate manager once it
	// manages the box's certificate.
	managing func(*certManager)
}

func run(ctx context.Context, cfg config.Config, logw io.Writer, opts runOptions) error {
	if cfg.Server.Mode == config.ModeProxy {
		return runProxy(ctx, cfg, logw)
	}
	// Background work (issuance, dynamic DNS, the watchdog) ends with Run.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	log := newLogger(logw)
	dns, err := dnsProvider(cfg)
	if err != nil {
		return err
	}
	var follower *ipFollower
	if detect, err := ipDetector(cfg, opts.allowLoopback); err != nil {
		return err
	} else if detect != nil {
		if err := startAddress(ctx, &cfg, detect); err != nil {
			return err
		}
		follower = &ipFollower{detect: detect, every: cfg.DynDNS.Interval.Std(), log: log}
		if opts.ipCheckEvery > 0 {
			follower.every = opts.ipCheckEvery
		}
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

	// A box with a domain says so in the links it hands out (feeds); one
	// that follows its address takes it from each request.
	var publicURL string
	if cfg.Server.Domain != "" {
		publicURL = roomurl.New("https", cfg.Server.Domain, httpsPort).String()
	}
	room, web, err := openRoom(ctx, cfg, log, serving{secure: true, publicURL: publicURL, certs: certs})
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

	httpSrv := NewServer(certs.httpChallenge(httpHandler(certs.site, httpsPort, web)), log)
	httpsSrv := NewServer(withHSTS(web), log)
	httpsSrv.TLSConfig = certs.tlsConfig()
	// One count of connections for both: they share the descriptors.
	listeners := guardConns(cfg, log, []Listener{
		{Server: httpSrv, Listener: httpLn},
		{Server: httpsSrv, Listener: httpsLn, TLS: true},
	})

	if err := certs.manage(ctx); err != nil {
		httpLn.Close()
		httpsLn.Close()
		room.Close()
		return err
	}
	if opts.managing != nil {
		opts.managing(certs)
	}
	if updater != nil {
		go updater.Run(ctx)
	}
	if follower != nil {
		follower.certs = certs
		var following sync.WaitGroup
		following.Go(func() { follower.run(ctx) })
		// A switch must not start after certificate maintenance stopped.
		defer following.Wait()
		defer cancel()
	}

	stopNotify := context.AfterFunc(ctx, func() { sdNotify(log, daemon.SdNotifyStopping) })
	err = Serve(ctx, log, room, cfg.Server.DataDir, listeners, func() {
		log.Info("chatbox is serving", "url", roomurl.New("https", certs.name(), httpsPort).String(),
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
