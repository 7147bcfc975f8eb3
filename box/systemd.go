package box

import (
	"context"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/coreos/go-systemd/v22/journal"
)

// newLogger returns the box's logger. Under systemd, when stderr goes to
// the journal, lines carry no timestamp of their own: the journal adds one.
func newLogger(logw io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{}
	if f, ok := logw.(*os.File); ok && f == os.Stderr {
		if isJournal, _ := journal.StderrIsJournalStream(); isJournal {
			opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
				if len(groups) == 0 && a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			}
		}
	}
	return slog.New(slog.NewTextHandler(logw, opts))
}

// sdNotify tells systemd about state (READY=1, WATCHDOG=1, STOPPING=1). It
// does nothing when not run by systemd (no NOTIFY_SOCKET).
func sdNotify(log *slog.Logger, state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		log.Warn("could not notify systemd", "state", state, "err", err)
	}
}

// runWatchdog pings systemd's watchdog at half its interval until ctx
// ends. It returns at once when the unit has no WatchdogSec.
func runWatchdog(ctx context.Context, log *slog.Logger) {
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
			sdNotify(log, daemon.SdNotifyWatchdog)
		}
	}
}
