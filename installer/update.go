package installer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"strings"

	"github.com/chatbox-dev/chatbox/config"
	"github.com/chatbox-dev/chatbox/internal/release"
	"github.com/chatbox-dev/chatbox/platform"
)

// UpdateOptions are the choices of `chatbox update`.
type UpdateOptions struct {
	// System applies OS updates.
	System bool
	// Self is a new chatbox binary to put in place, or "".
	Self string
	// Retry is the command line that repeats this update.
	Retry string
	// FromChannel replaces the binary with a release from the signed
	// release channel, when Self is "": the newest one, or Version.
	FromChannel bool
	// Version pins the channel's release, even an older one; "" means the
	// newest, which must not be older than Current.
	Version string
	// Current is the running binary's version; "" means buildinfo.Version.
	Current string
	// Channel reads the release channel; an empty URL or HTTP client is
	// taken from the host's config ([update] url and ca_root).
	Channel release.Client
}

// ErrRolledBack is wrapped by the error of a self-update whose new binary
// did not come up and was replaced by the previous one again.
var ErrRolledBack = errors.New("rolled back to the previous binary")

// RollbackError is a self-update whose new binary did not come up and
// whose previous binary could not be brought back either: the service is
// down until a person runs Commands.
type RollbackError struct {
	// Start is why the new binary did not come up; Err why the rollback
	// failed.
	Start, Err error
	// Commands put the previous binary back and start the service.
	Commands []string
}

func (e *RollbackError) Error() string {
	return fmt.Sprintf("the new binary did not come up (%v) and rolling back failed too: %v", firstClause(e.Start), e.Err)
}

func (e *RollbackError) Unwrap() error { return e.Err }

// Update applies OS updates and/or replaces the binary. Without any
// option it applies OS updates and leaves the binary alone. A release from
// the channel is fetched and verified before anything on the host changes.
func (in *Installer) Update(ctx context.Context, o UpdateOptions) error {
	var notes []string
	if pkg, ok := in.Platform.Packaged(ctx, in.Host); ok {
		if o.Self != "" || o.Version != "" {
			return fmt.Errorf("chatbox was installed from its package, which owns %s: update it with %s; nothing was changed", pkg.Binary, pkg.Upgrade)
		}
		if o.FromChannel {
			o.FromChannel, o.System = false, true
			notes = append(notes, "chatbox came from its package, so the system's updates update it ("+pkg.Upgrade+" does it alone); the release channel is not used")
		}
	}
	system := o.System || o.Self == "" && !o.FromChannel
	if o.Self != "" {
		if err := checkBinary(ctx, o.Self); err != nil {
			return fmt.Errorf("%w; nothing was changed", err)
		}
	}
	if o.Self == "" && o.FromChannel {
		ready, err := in.channelUpdate(ctx, o)
		if err != nil {
			return err
		}
		if ready != "" {
			defer os.Remove(ready)
		}
		o.Self = ready
		if ready == "" && !system {
			return nil
		}
	}
	p := in.Platform
	var steps []step
	if system {
		steps = append(steps, step{"Applying system updates", func(ctx context.Context, r *run) (string, error) {
			n, err := p.UpdateSystem(ctx, r.host)
			notes = append(notes, n...)
			return "", err
		}, ""})
	}
	if o.Self != "" {
		steps = append(steps, in.selfUpdateSteps(o.Self)...)
	}
	if _, err := in.plan(ctx, "update", steps, o.Retry); err != nil || in.DryRun {
		return err
	}
	for _, n := range notes {
		fmt.Fprintf(in.Out, "Note: %s.\n", n)
	}
	return nil
}

// selfUpdateSteps replace the binary atomically, restart the service and
// wait for it; when the new binary does not come up, they put the previous
// one back, restart it and report ErrRolledBack.
func (in *Installer) selfUpdateSteps(file string) []step {
	paths := in.Platform.Paths()
	var changed bool
	return []step{
		{"Installing the new binary as " + paths.Binary, func(ctx context.Context, r *run) (string, error) {
			if !r.host.Exists(paths.Binary) && !in.DryRun {
				return "", fmt.Errorf("%s is missing: chatbox is not installed here; run chatbox install first", paths.Binary)
			}
			fi, err := os.Stat(file)
			if err != nil {
				return "", fmt.Errorf("read the new binary: %w", err)
			}
			if !fi.Mode().IsRegular() || fi.Size() == 0 {
				return "", fmt.Errorf("%s is not a chatbox binary", file)
			}
			changed, err = in.installBinary(ctx, r.host, file)
			return "", err
		}, ""},
		{"Restarting chatbox with the new binary", func(ctx context.Context, r *run) (string, error) {
			if !changed && !in.DryRun {
				return "skipped (the binary did not change)", nil
			}
			h := r.host
			if !h.Live {
				return "skipped (not a running system)", nil
			}
			err := in.restartAndWait(ctx, h)
			if err == nil || in.DryRun {
				return "", err
			}
			h.Note("the new binary did not come up (%v); putting the previous one back", firstClause(err))
			if rerr := in.rollBack(ctx, h); rerr != nil {
				return "", &RollbackError{Start: err, Err: rerr, Commands: in.rollbackCommands()}
			}
			return "", fmt.Errorf("%w, which is running again; the new binary did not come up: %w", ErrRolledBack, err)
		}, ""},
	}
}

// restartAndWait restarts the service and waits until it answers.
func (in *Installer) restartAndWait(ctx context.Context, h *platform.Host) error {
	if err := in.Platform.RestartService(ctx, h); err != nil {
		return err
	}
	if in.DryRun {
		return nil
	}
	return waitHealthy(ctx, in.probe(), healthURL(in.loadConfig()), in.healthTimeout(), in.healthPoll(), h.Note)
}

// rollbackCommands are what a person runs to put the previous binary back
// by hand and start the service.
func (in *Installer) rollbackCommands() []string {
	paths := in.Platform.Paths()
	return append([]string{"cp " + paths.PrevBinary() + " " + paths.Binary}, in.Platform.StartCommands()...)
}

// rollBack puts PrevBinary back in place and restarts the service.
func (in *Installer) rollBack(ctx context.Context, h *platform.Host) error {
	paths := in.Platform.Paths()
	prev, err := h.ReadFile(paths.PrevBinary())
	if err != nil {
		return fmt.Errorf("read the previous binary: %w", err)
	}
	cur, _ := h.ReadFile(paths.Binary)
	if !bytes.Equal(cur, prev) {
		if _, err := h.WriteFile(ctx, paths.Binary, prev, 0o755, ""); err != nil {
			return err
		}
		if err := in.Platform.FixLabels(ctx, h, paths.Binary); err != nil {
			return err
		}
	}
	return in.restartAndWait(ctx, h)
}

// firstClause is err's message up to its first semicolon, for use inside
// a longer sentence.
func firstClause(err error) string {
	msg, _, _ := strings.Cut(err.Error(), ";")
	return msg
}

// loadConfig reads the host's config, or returns the platform's defaults
// when it cannot.
func (in *Installer) loadConfig() config.Config {
	cfg, _ := in.readConfig()
	return cfg
}

// readConfig is the host's config, or the installed defaults when there is
// no config file; a config that cannot be read or parsed is an error, with
// the defaults beside it.
func (in *Installer) readConfig() (config.Config, error) {
	path := in.Platform.Paths().Config
	data, err := in.Host.ReadFile(path)
	if err == nil {
		cfg, perr := config.Parse(data)
		if perr == nil {
			return cfg, nil
		}
		err = perr
	}
	cfg := config.Default()
	cfg.Server.HTTPListen = in.Platform.Listen().HTTP
	cfg.Server.HTTPSListen = in.Platform.Listen().HTTPS
	cfg.Server.DataDir = in.Platform.Paths().DataDir
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	}
	return cfg, fmt.Errorf("%s: %w", path, err)
}

// InsideService reports whether this process runs inside the chatbox
// service on the live host it changes. A self-update started there would
// be killed by the restart it causes, so it must run again from outside,
// through RunOutsideService.
func (in *Installer) InsideService() bool {
	if in.DryRun || !in.Host.Live {
		return false
	}
	cgroup, err := os.ReadFile("/proc/self/cgroup")
	return err == nil && insideService(cgroup)
}

// insideService reports whether a process with the given cgroup (the text
// of /proc/self/cgroup on Linux) runs in the chatbox service.
func insideService(cgroup []byte) bool {
	for _, line := range strings.Split(string(cgroup), "\n") {
		if strings.HasSuffix(line, "/chatbox.service") {
			return true
		}
	}
	return false
}

// RunOutsideService runs the installed binary with args in a transient
// systemd unit of its own and waits for it, passing its output on to
// stdout and stderr, so that it survives a restart of the service it was
// started from.
func (in *Installer) RunOutsideService(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	unit := append([]string{"--wait", "--collect", "--quiet", "--pipe", "--unit=chatbox-update", in.Platform.Paths().Binary}, args...)
	cmd := exec.CommandContext(ctx, "systemd-run", unit...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("run chatbox outside its service through systemd-run: %w", err)
	}
	return nil
}
