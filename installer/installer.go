// Package installer is chatbox's provisioning plan: install, uninstall,
// hostname and update as ordered steps that each know whether they are
// already done, report as they run, and change the host only through the
// platform's Runner, so that a dry run prints exactly what a real run does.
package installer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/chatbox-dev/chatbox/platform"
	"github.com/chatbox-dev/chatbox/platform/centos"
	"github.com/chatbox-dev/chatbox/platform/linux"
	"github.com/chatbox-dev/chatbox/platform/openbsd"
)

// Backends returns every platform backend chatbox has, in the order the
// documentation lists the systems; their tables are the list of supported
// systems (Backends().IDs(), Backends().Supported()).
func Backends() platform.Backends {
	return platform.Backends{linux.Backend{}, centos.Backend{}, openbsd.Backend{}}
}

// Detect returns the platform of the host at root, or of osID when it is
// not empty.
func Detect(ctx context.Context, root, osID string) (platform.Platform, error) {
	return platform.Detect(ctx, root, runtime.GOOS, osID, Backends()...)
}

// Installer runs plans against one host.
type Installer struct {
	Platform platform.Platform
	// Host is the machine (or tree) to change. Its Runner makes every
	// change; for a dry run it is a platform.Recorder writing to Out.
	Host *platform.Host
	// Out receives progress, or the plan in a dry run.
	Out io.Writer
	// DryRun prints the plan instead of running it.
	DryRun bool
	// Probe looks at the machine around the plan: preflight checks and
	// health. Nil uses the real machine.
	Probe Probe
	// HealthTimeout bounds the wait for a (re)started service to answer;
	// zero means 90 seconds.
	HealthTimeout time.Duration
	// CloudInitTimeout bounds the wait for cloud-init to finish setting a
	// fresh host up before install changes it; zero means 10 minutes.
	CloudInitTimeout time.Duration

	// healthInterval is the time between two health checks; zero means
	// 250ms. Tests shorten it.
	healthInterval time.Duration
	// journalGroups reports whether this process may read the whole
	// systemd journal without root; nil asks the process's groups.
	journalGroups func() bool
}

func (in *Installer) healthPoll() time.Duration {
	if in.healthInterval == 0 {
		return 250 * time.Millisecond
	}
	return in.healthInterval
}

func (in *Installer) healthTimeout() time.Duration {
	if in.HealthTimeout == 0 {
		return 90 * time.Second
	}
	return in.HealthTimeout
}

func (in *Installer) probe() Probe {
	if in.Probe == nil {
		return SystemProbe{}
	}
	return in.Probe
}

// step is one part of a plan.
type step struct {
	title string
	// do performs the step on the run's host; it reports "" to let the
	// number of changes decide between "done" and "already done", or a
	// status of its own.
	do func(ctx context.Context, r *run) (string, error)
	// idle is the status when the step changed nothing; "already done"
	// when empty.
	idle string
}

// StepError is a plan that stopped at a failed step.
type StepError struct {
	N, Total int
	Title    string
	Err      error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("step %d of %d (%s) failed: %v", e.N, e.Total, lowerFirst(e.Title), e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// counter counts the changes made through a Runner.
type counter struct {
	platform.Runner
	n int
}

func (c *counter) Run(ctx context.Context, cmd platform.Cmd) ([]byte, error) {
	c.n++
	return c.Runner.Run(ctx, cmd)
}

func (c *counter) WriteFile(ctx context.Context, f platform.File) error {
	c.n++
	return c.Runner.WriteFile(ctx, f)
}

func (c *counter) Remove(ctx context.Context, path string) error {
	c.n++
	return c.Runner.Remove(ctx, path)
}

// run is one run of a plan. Its host is the Installer's, seen through a
// Runner that counts the changes, with notes going to the progress lines;
// steps change the host only through it.
type run struct {
	host *platform.Host
	cnt  *counter
}

// changes runs f and reports whether it changed the run's host.
func (r *run) changes(f func() error) (bool, error) {
	before := r.cnt.n
	err := f()
	return r.cnt.n != before, err
}

// result is what running a plan found.
type result struct {
	changes int // changes made by all steps
}

// plan runs the steps of command (install, update…): in a dry run between
// a header naming the OS and a footer saying nothing was changed.
func (in *Installer) plan(ctx context.Context, command string, steps []step, retry string) (result, error) {
	if in.DryRun {
		fmt.Fprintf(in.Out, "# chatbox %s on %s: the plan (dry run, nothing is changed)\n", command, in.Platform.Name())
	}
	res, err := in.perform(ctx, steps, retry)
	if err == nil && in.DryRun {
		fmt.Fprintln(in.Out, "# end of plan: nothing was changed")
	}
	return res, err
}

// perform runs steps in order, reporting each. retry is the command a
// person runs to try again after a failure.
func (in *Installer) perform(ctx context.Context, steps []step, retry string) (result, error) {
	pr := &progress{w: in.Out, dry: in.DryRun}
	host := *in.Host
	cnt := &counter{Runner: host.Runner}
	host.Runner, host.Notef = cnt, pr.note
	r := &run{host: &host, cnt: cnt}

	var res result
	var done []string
	for i, s := range steps {
		pr.start(fmt.Sprintf("[%d/%d] %s", i+1, len(steps), s.title))
		if err := ctx.Err(); err != nil {
			err = fmt.Errorf("interrupted before it began: %w", err)
			return res, in.fail(pr, &StepError{N: i + 1, Total: len(steps), Title: s.title, Err: err}, done, retry)
		}
		before := cnt.n
		status, err := s.do(ctx, r)
		res.changes += cnt.n - before
		if err != nil {
			if ctx.Err() != nil {
				err = fmt.Errorf("interrupted: %w", err)
			}
			return res, in.fail(pr, &StepError{N: i + 1, Total: len(steps), Title: s.title, Err: err}, done, retry)
		}
		if status == "" {
			status = "done"
			if cnt.n == before {
				status = "already done"
				if s.idle != "" {
					status = s.idle
				}
			}
		}
		pr.end(status)
		done = append(done, lowerFirst(s.title))
	}
	return res, nil
}

// fail reports a failed step: what failed, what was done before it, and
// how to carry on.
func (in *Installer) fail(pr *progress, err *StepError, done []string, retry string) error {
	pr.end("failed")
	if errors.Is(err, ErrRolledBack) {
		fmt.Fprintln(in.Out, "The previous binary is back in place and running; the new one was not kept.")
		return err
	}
	var rf *RollbackError
	if errors.As(err, &rf) {
		fmt.Fprintln(in.Out, "chatbox is not running. These commands put the previous binary back and start it:")
		for _, c := range rf.Commands {
			fmt.Fprintf(in.Out, "  %s\n", c)
		}
		return err
	}
	if len(done) > 0 {
		fmt.Fprintf(in.Out, "Already done: %s.\n", strings.Join(done, "; "))
	}
	fmt.Fprintf(in.Out, "Nothing was left half-written. Fix the cause and run this again to carry on:\n  %s\n", retry)
	return err
}

// progress prints "[3/11] Setting the host name ... done" lines; in a dry
// run it prints "# [3/11] Setting the host name" headers above the
// actions.
type progress struct {
	w    io.Writer
	dry  bool
	line string
	open bool
}

func (p *progress) start(line string) {
	p.line = line
	if p.dry {
		fmt.Fprintf(p.w, "# %s\n", line)
		return
	}
	fmt.Fprintf(p.w, "%s ...", line)
	p.open = true
}

func (p *progress) note(format string, args ...any) {
	if p.open {
		fmt.Fprintln(p.w)
		p.open = false
	}
	prefix := "      "
	if p.dry {
		prefix = "#   note: "
	}
	fmt.Fprintf(p.w, "%s%s\n", prefix, fmt.Sprintf(format, args...))
}

func (p *progress) end(status string) {
	if p.dry {
		if status != "done" {
			fmt.Fprintf(p.w, "#   %s\n", status)
		}
		return
	}
	if !p.open {
		fmt.Fprintf(p.w, "%s ...", p.line)
	}
	fmt.Fprintf(p.w, " %s\n", status)
	p.open = false
}
