package box

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/coreos/go-systemd/v22/journal"
)

// newLogger returns the box's logger: slog text lines on logw. When logw
// is stderr and stderr goes to the journal (systemd sets JOURNAL_STREAM),
// lines carry a syslog priority prefix and no timestamp of their own.
func newLogger(logw io.Writer) *slog.Logger {
	if f, ok := logw.(*os.File); ok && f == os.Stderr {
		if isJournal, _ := journal.StderrIsJournalStream(); isJournal {
			return slog.New(newJournalHandler(logw))
		}
	}
	return slog.New(slog.NewTextHandler(logw, nil))
}

// journalHandler writes records as slog text lines for the journal: no
// timestamp (the journal adds its own) and a "<N>" syslog priority prefix,
// so that journalctl -p err shows errors only.
type journalHandler struct {
	w    io.Writer
	mu   *sync.Mutex
	opts *slog.HandlerOptions
	// with replays WithAttrs and WithGroup calls on each record's handler.
	with []func(slog.Handler) slog.Handler
}

func newJournalHandler(w io.Writer) *journalHandler {
	return &journalHandler{w: w, mu: new(sync.Mutex), opts: &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}}
}

func (h *journalHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *journalHandler) Handle(ctx context.Context, r slog.Record) error {
	var buf bytes.Buffer
	switch {
	case r.Level >= slog.LevelError:
		buf.WriteString("<3>")
	case r.Level >= slog.LevelWarn:
		buf.WriteString("<4>")
	case r.Level >= slog.LevelInfo:
		buf.WriteString("<6>")
	default:
		buf.WriteString("<7>")
	}
	var th slog.Handler = slog.NewTextHandler(&buf, h.opts)
	for _, f := range h.with {
		th = f(th)
	}
	if err := th.Handle(ctx, r); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.w.Write(buf.Bytes())
	return err
}

func (h *journalHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return h.wrap(func(th slog.Handler) slog.Handler { return th.WithAttrs(attrs) })
}

func (h *journalHandler) WithGroup(name string) slog.Handler {
	return h.wrap(func(th slog.Handler) slog.Handler { return th.WithGroup(name) })
}

func (h *journalHandler) wrap(f func(slog.Handler) slog.Handler) *journalHandler {
	h2 := *h
	h2.with = append(slices.Clip(h.with), f)
	return &h2
}

// sdNotify tells systemd about state (READY=1, WATCHDOG=1, STOPPING=1). It
// does nothing when not run by systemd (no NOTIFY_SOCKET).
func sdNotify(log *slog.Logger, state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		log.Warn("could not notify systemd", "state", state, "err", err)
	}
}

// runWatchdog pings systemd's watchdog at half its interval until ctx
// ends, as long as health answers GET /healthz with 200: a room that stops
// answering is restarted by systemd. It returns at once when the unit has
// no WatchdogSec.
func runWatchdog(ctx context.Context, log *slog.Logger, health http.Handler) {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		log.Warn("systemd watchdog settings are unusable", "err", err)
		return
	}
	if interval <= 0 {
		return
	}
	tick := time.NewTicker(interval / 2)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		rec := httptest.NewRecorder()
		health.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, "/healthz", nil))
		if rec.Code != http.StatusOK {
			log.Warn("the room's health check failed; not pinging the systemd watchdog", "status", rec.Code)
			continue
		}
		sdNotify(log, daemon.SdNotifyWatchdog)
	}
}
