package platform

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Job is a command the host runs on a schedule, as root: a systemd timer
// on Linux, a block in /etc/daily.local on OpenBSD.
type Job struct {
	// Name names the job's units (NAME.service, NAME.timer) or its
	// daily.local block, e.g. "chatbox-update".
	Name string
	// Description says what it does, for systemctl list-timers.
	Description string
	// Command is what runs, with its arguments.
	Command []string
	// Calendar is when it runs, as systemd's OnCalendar ("daily"). OpenBSD
	// runs daily.local once a night and ignores it.
	Calendar string
	// RandomDelay spreads the start over this long after Calendar fires,
	// at a delay each host picks once and keeps, so boxes do not all
	// reach the release server in the same second.
	RandomDelay time.Duration
}

// TimerPath is where the job's systemd timer goes.
func (j Job) TimerPath() string { return "/etc/systemd/system/" + j.Name + ".timer" }

// ServicePath is where the systemd service the timer starts goes.
func (j Job) ServicePath() string { return "/etc/systemd/system/" + j.Name + ".service" }

// Timer is the job's timer unit name.
func (j Job) Timer() string { return j.Name + ".timer" }

// ServiceUnit is the oneshot service the timer starts.
func (j Job) ServiceUnit() []byte {
	return []byte(fmt.Sprintf(`# Written by chatbox install; started by %s.
[Unit]
Description=%s
After=network-online.target
Wants=network-online.target

[Service]
Type=oneshot
ExecStart=%s
`, j.Timer(), j.Description, Cmd{Args: j.Command}))
}

// TimerUnit is the job's timer: Calendar, then a random delay fixed per
// host (FixedRandomDelay), caught up after a boot when a run was missed.
func (j Job) TimerUnit() []byte {
	return []byte(fmt.Sprintf(`# Written by chatbox install from %s's schedule.
[Unit]
Description=%s (timer)

[Timer]
OnCalendar=%s
RandomizedDelaySec=%d
FixedRandomDelay=true
Persistent=true

[Install]
WantedBy=timers.target
`, j.Name, j.Description, j.Calendar, int64(j.RandomDelay/time.Second)))
}

// systemctl is a systemctl command for the host, as Systemd's.
func systemctl(h *Host, args ...string) Cmd { return Systemd{}.systemctl(h, args...) }

func timerEnabled(h *Host, name string) bool {
	return h.Exists("/etc/systemd/system/timers.target.wants/" + name)
}

// InstallTimerJob writes the job's service and timer and enables the
// timer (and starts it on a live host). relabel, when not nil, restores
// security labels of the files it wrote. It changes nothing when all is
// already as asked.
func InstallTimerJob(ctx context.Context, h *Host, j Job, relabel func(ctx context.Context, h *Host, paths ...string) error) error {
	wroteService, err := h.WriteFile(ctx, j.ServicePath(), j.ServiceUnit(), 0o644, "")
	if err != nil {
		return err
	}
	wroteTimer, err := h.WriteFile(ctx, j.TimerPath(), j.TimerUnit(), 0o644, "")
	if err != nil {
		return err
	}
	wrote := wroteService || wroteTimer
	if wrote && relabel != nil {
		if err := relabel(ctx, h, j.ServicePath(), j.TimerPath()); err != nil {
			return err
		}
	}
	if wrote && h.Live {
		if err := h.Exec(ctx, "systemctl", "daemon-reload"); err != nil {
			return err
		}
	}
	switch {
	case !timerEnabled(h, j.Timer()) && h.Live:
		return h.Exec(ctx, "systemctl", "enable", "--now", j.Timer())
	case !timerEnabled(h, j.Timer()):
		_, err := h.Run(ctx, systemctl(h, "enable", j.Timer()))
		return err
	case wroteTimer && h.Live:
		// A new schedule counts from now.
		return h.Exec(ctx, "systemctl", "restart", j.Timer())
	}
	return nil
}

// RemoveTimerJob stops and disables the job's timer and deletes its units.
func RemoveTimerJob(ctx context.Context, h *Host, j Job) error {
	if !h.Exists(j.TimerPath()) && !h.Exists(j.ServicePath()) && !timerEnabled(h, j.Timer()) {
		return nil
	}
	if timerEnabled(h, j.Timer()) || h.Live {
		args := []string{"disable", j.Timer()}
		if h.Live {
			args = []string{"disable", "--now", j.Timer()}
		}
		if _, err := h.Run(ctx, systemctl(h, args...)); err != nil {
			return err
		}
	}
	for _, p := range []string{j.TimerPath(), j.ServicePath()} {
		if err := h.Remove(ctx, p); err != nil {
			return err
		}
	}
	if h.Live {
		return h.Exec(ctx, "systemctl", "daemon-reload")
	}
	return nil
}

// TimerJobState reads back what systemd says of the job's timer: nil when
// it is enabled (and, on a live host, active, waiting for its next run),
// or an error that says what it is instead.
func TimerJobState(ctx context.Context, h *Host, j Job) error {
	if !h.Runner.Query(ctx, systemctl(h, "is-enabled", "--quiet", j.Timer())) {
		return fmt.Errorf("systemd says %s is not enabled", j.Timer())
	}
	if h.Live && !h.Runner.Query(ctx, systemctl(h, "is-active", "--quiet", j.Timer())) {
		return fmt.Errorf("systemd says %s is enabled but not active", j.Timer())
	}
	return nil
}

// DailyBlock is the job as lines of /etc/daily.local between marker
// comments, for OpenBSD's nightly daily(8).
func (j Job) DailyBlock() (begin, end, block string) {
	begin = "# chatbox: " + j.Name + " (begin)"
	end = "# chatbox: " + j.Name + " (end)"
	var b strings.Builder
	b.WriteString(begin + "\n")
	fmt.Fprintf(&b, "# Written by chatbox install: %s, every night.\n", j.Description)
	b.WriteString(Cmd{Args: j.Command}.String() + "\n")
	b.WriteString(end + "\n")
	return begin, end, b.String()
}
