// Package box composes the running appliance: the chat room, its HTTP(S)
// listeners and certificates, dynamic DNS and systemd readiness.
package box

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/chat/admin"
	"github.com/chatbox-dev/chatbox/chat/datadir"
	"github.com/chatbox-dev/chatbox/config"
)

// RunDev serves the room over plain HTTP on cfg.Server.HTTPListen until ctx
// ends, then shuts down gracefully. It is what `chatbox serve --dev` runs.
func RunDev(ctx context.Context, cfg config.Config, logw io.Writer) error {
	log := slog.New(slog.NewTextHandler(logw, nil))
	room, web, err := openRoom(ctx, cfg, log, serving{dev: true})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Server.HTTPListen)
	if err != nil {
		room.Close()
		return fmt.Errorf("listen on %s: %w", cfg.Server.HTTPListen, err)
	}
	srv := NewServer(loopbackHostsOnly(web), log)
	listeners := guardConns(cfg, log, []Listener{{Server: srv, Listener: ln}})
	return Serve(ctx, log, room, cfg.Server.DataDir, listeners, func() {
		log.Info("chatbox is serving", "url", "http://"+ln.Addr().String()+"/", "data", cfg.Server.DataDir)
	})
}

// NewServer returns an http.Server for h with timeouts that stop slowloris
// clients without cutting long-lived WebSocket connections.
func NewServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
}

// Listener pairs a server with the socket it serves.
type Listener struct {
	Server   *http.Server
	Listener net.Listener
	// TLS serves with ServeTLS("", "") using Server.TLSConfig.
	TLS bool
}

// Serve runs every listener until ctx ends or one fails, then shuts them
// down: in-flight requests finish (up to 10 s), WebSocket clients get a
// close frame, and the room's store is closed.
//
// It also serves the room's admin API on the Unix socket in dataDir, for
// `chatbox room` and the installer on the same machine. ready is called
// once every socket is open.
func Serve(ctx context.Context, log *slog.Logger, room *chat.Room, dataDir string, listeners []Listener, ready func()) error {
	adminLn, err := admin.Listen(ctx, datadir.Layout{Dir: dataDir}.AdminSocket())
	if err != nil {
		for _, l := range listeners {
			l.Listener.Close()
		}
		room.Close()
		return err
	}
	adminSrv := &http.Server{
		Handler:           admin.Handler(roomAdmin{room}, log),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	listeners = append(listeners, Listener{Server: adminSrv, Listener: adminLn})
	ready()
	errc := make(chan error, len(listeners))
	for _, l := range listeners {
		go func() {
			var err error
			if l.TLS {
				err = l.Server.ServeTLS(l.Listener, "", "")
			} else {
				err = l.Server.Serve(l.Listener)
			}
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			}
			errc <- err
		}()
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	log.Info("chatbox is shutting down")
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	room.CloseClients()
	for _, l := range listeners {
		if err := l.Server.Shutdown(shutCtx); err != nil {
			log.Warn("shutdown", "err", err)
		}
	}
	if err := room.Close(); err != nil && runErr == nil {
		runErr = err
	}
	if runErr != nil {
		return fmt.Errorf("serve: %w", runErr)
	}
	return nil
}

// roomAdmin is the room as the admin API's Service. The room's operations
// take no context; one that has ended keeps an operation from starting.
type roomAdmin struct{ room *chat.Room }

func (a roomAdmin) Info(ctx context.Context) (chat.Info, error) {
	if err := ctx.Err(); err != nil {
		return chat.Info{}, err
	}
	return a.room.Info()
}

func (a roomAdmin) SetPassword(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return a.room.SetPassword()
}

func (a roomAdmin) Reset(ctx context.Context, kind chat.RoomKind) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return a.room.ResetKind(kind)
}

func (a roomAdmin) Destroy(ctx context.Context) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	return a.room.DestroyAsOwner()
}

func (a roomAdmin) SetLocked(ctx context.Context, locked bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return a.room.SetLocked(locked)
}

func (a roomAdmin) TakeInitialPassword() (string, bool) { return a.room.TakeInitialPassword() }

func (a roomAdmin) Snapshot(ctx context.Context) (io.ReadCloser, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	return a.room.Snapshot()
}

// loopbackHostsOnly answers only requests addressed to this machine by a
// loopback name. A development server has no password and no TLS; a page
// on another site could otherwise reach it through a name of its own that
// resolves to 127.0.0.1 (DNS rebinding).
func loopbackHostsOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		host := req.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.Trim(host, "[]")
		ip, err := netip.ParseAddr(host)
		if !strings.EqualFold(host, "localhost") && (err != nil || !ip.IsLoopback()) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusMisdirectedRequest)
			fmt.Fprintln(w, `{"error":"this development server answers only to localhost, 127.0.0.1 or [::1]"}`)
			return
		}
		next.ServeHTTP(w, req)
	})
}
