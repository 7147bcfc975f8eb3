package platform

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/chatbox-dev/chatbox/internal/atomicfile"
)

// Cmd is one command to run on a host.
type Cmd struct {
	// Args are the program and its arguments.
	Args []string
	// Env are extra KEY=VALUE settings on top of the environment.
	Env []string
	// OKExit lists exit codes other than 0 that still mean success.
	OKExit []int
	// OnHost runs the command on the machine itself even when the Host has
	// a Root, for tools given the root with a flag of their own
	// (systemctl --root).
	OnHost bool
}

// Command returns a Cmd running args.
func Command(args ...string) Cmd { return Cmd{Args: args} }

// String renders c as a person would type it in a shell.
func (c Cmd) String() string {
	parts := make([]string, 0, len(c.Env)+len(c.Args))
	for _, e := range c.Env {
		parts = append(parts, shellQuote(e))
	}
	for _, a := range c.Args {
		parts = append(parts, shellQuote(a))
	}
	return strings.Join(parts, " ")
}

func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,+@%", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// File is a file to write on a host.
type File struct {
	Path string // absolute, as on the host
	Data []byte
	Mode fs.FileMode
	// Owner is "user:group" as named on the host; empty leaves root's.
	Owner string
}

// Runner makes every change to a host. Exec changes a real one; Recorder
// prints the plan instead (--dry-run, golden tests).
type Runner interface {
	// Run runs a command that may change the host and returns its output.
	Run(ctx context.Context, c Cmd) ([]byte, error)
	// Query runs a read-only command and reports whether it succeeded.
	Query(ctx context.Context, c Cmd) bool
	// Output runs a read-only command and returns what it printed on its
	// standard output: the host's own view of its state, read back after
	// a change. It fails when the command does.
	Output(ctx context.Context, c Cmd) ([]byte, error)
	// WriteFile replaces a file atomically: it is never seen half-written.
	WriteFile(ctx context.Context, f File) error
	// Remove deletes a file or a directory tree.
	Remove(ctx context.Context, path string) error
}

// CmdError is a command that failed.
type CmdError struct {
	Cmd    string
	Code   int // -1 when it did not run or was killed
	Output []byte
	Err    error
}

func (e *CmdError) Error() string {
	msg := fmt.Sprintf("%s failed", e.Cmd)
	if e.Code >= 0 {
		msg = fmt.Sprintf("%s failed with exit status %d", e.Cmd, e.Code)
	} else if e.Err != nil {
		msg = fmt.Sprintf("%s failed: %v", e.Cmd, e.Err)
	}
	if tail := lastLine(e.Output); tail != "" {
		msg += ": " + tail
	}
	return msg
}

func (e *CmdError) Unwrap() error { return e.Err }

func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// Exec is the Runner for a real host. With a Root other than "/", files
// are written under Root and commands run through chroot(8) unless they
// are marked OnHost.
type Exec struct {
	Root string
}

// command makes the process for c: in the chroot unless c runs on the
// host; cancelling ctx sends it SIGTERM, then SIGKILL after ten seconds.
func (x Exec) command(ctx context.Context, c Cmd) *exec.Cmd {
	args := c.Args
	if x.Root != "" && x.Root != "/" && !c.OnHost {
		args = append([]string{"chroot", x.Root}, args...)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// Run runs c and returns its combined output. Cancelling ctx sends the
// command SIGTERM, then SIGKILL after ten seconds.
func (x Exec) Run(ctx context.Context, c Cmd) ([]byte, error) {
	cmd := x.command(ctx, c)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if err == nil {
		return out.Bytes(), nil
	}
	code := -1
	var exit *exec.ExitError
	if errors.As(err, &exit) && ctx.Err() == nil {
		code = exit.ExitCode()
		if slices.Contains(c.OKExit, code) {
			return out.Bytes(), nil
		}
	}
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return out.Bytes(), &CmdError{Cmd: c.String(), Code: code, Output: out.Bytes(), Err: err}
}

// Query runs c, discarding its output, and reports whether it exited 0.
func (x Exec) Query(ctx context.Context, c Cmd) bool {
	c.OKExit = nil
	_, err := x.Run(ctx, c)
	return err == nil
}

// Output runs c and returns its standard output; a failure carries its
// standard error.
func (x Exec) Output(ctx context.Context, c Cmd) ([]byte, error) {
	cmd := x.command(ctx, c)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err == nil {
		return stdout.Bytes(), nil
	}
	code := -1
	var exit *exec.ExitError
	if errors.As(err, &exit) && ctx.Err() == nil {
		code = exit.ExitCode()
	}
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return stdout.Bytes(), &CmdError{Cmd: c.String(), Code: code, Output: stderr.Bytes(), Err: err}
}

// WriteFile writes f under Root through a temporary file and a rename.
func (x Exec) WriteFile(_ context.Context, f File) error {
	uid, gid := -1, -1
	if f.Owner != "" {
		var err error
		uid, gid, err = lookupOwner(x.Root, f.Owner)
		if err != nil {
			return err
		}
	}
	return writeAtomic(rooted(x.Root, f.Path), f.Data, f.Mode, uid, gid)
}

// Remove deletes path under Root, with everything in it.
func (x Exec) Remove(_ context.Context, path string) error {
	if err := os.RemoveAll(rooted(x.Root, path)); err != nil {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}

func rooted(root, p string) string {
	h := Host{Root: root}
	return h.Path(p)
}

// writeAtomic makes name's folder and replaces name whole with data,
// with its mode and, unless uid is negative, its owner.
func writeAtomic(name string, data []byte, mode fs.FileMode, uid, gid int) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return atomicfile.WriteOwned(name, data, mode, uid, gid)
}

// lookupOwner resolves "user:group" in the passwd and group files under root.
func lookupOwner(root, owner string) (uid, gid int, err error) {
	user, group, _ := strings.Cut(owner, ":")
	if uid, err = lookupID(root, "/etc/passwd", user); err != nil {
		return -1, -1, err
	}
	if group == "" {
		return uid, -1, nil
	}
	if gid, err = lookupID(root, "/etc/group", group); err != nil {
		return -1, -1, err
	}
	return uid, gid, nil
}

func lookupID(root, file, name string) (int, error) {
	data, err := os.ReadFile(rooted(root, file))
	if err != nil {
		return -1, fmt.Errorf("look up %s: %w", name, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, ":")
		if len(f) > 2 && f[0] == name {
			return strconv.Atoi(f[2])
		}
	}
	return -1, fmt.Errorf("look up %s: not in %s", name, file)
}

// ErrReadOnly is returned by a ReadOnly Runner asked to change the host.
var ErrReadOnly = errors.New("the host is open read-only: nothing may change")

// ReadOnly is the Runner for looking at a real host without changing it
// (status, logs): it answers queries as Exec does, under Root, and
// refuses every change with ErrReadOnly.
type ReadOnly struct {
	Root string
}

// Run refuses: a command run through a Runner may change the host.
func (ReadOnly) Run(context.Context, Cmd) ([]byte, error) { return nil, ErrReadOnly }

// Query runs c as Exec does and reports whether it exited 0.
func (r ReadOnly) Query(ctx context.Context, c Cmd) bool { return Exec(r).Query(ctx, c) }

// Output runs c as Exec does and returns its standard output.
func (r ReadOnly) Output(ctx context.Context, c Cmd) ([]byte, error) { return Exec(r).Output(ctx, c) }

// WriteFile refuses.
func (ReadOnly) WriteFile(context.Context, File) error { return ErrReadOnly }

// Remove refuses.
func (ReadOnly) Remove(context.Context, string) error { return ErrReadOnly }

// Recorder is the Runner behind --dry-run and the golden tests: it prints
// one line per change, "run: CMD", "write: PATH (MODE)" or "remove: PATH",
// and changes nothing, except that with a Root it really writes and
// removes files under Root (so tests can compare the resulting trees).
type Recorder struct {
	W io.Writer
	// Root, when set, receives the files written (owners are not set).
	Root string
	// Answer answers queries; nil answers false to every one.
	Answer func(Cmd) bool
	// Outputs answers Output; nil answers ErrNotRun to every command.
	Outputs func(Cmd) ([]byte, error)
}

// ErrNotRun is what a Recorder answers when asked for a command's output
// it was not given: a plan runs nothing, so it reads nothing back.
var ErrNotRun = errors.New("a plan runs no command, so it reads no state back")

// Output asks Outputs, printing nothing.
func (r *Recorder) Output(_ context.Context, c Cmd) ([]byte, error) {
	if r.Outputs == nil {
		return nil, ErrNotRun
	}
	return r.Outputs(c)
}

// Run prints the command and returns no output.
func (r *Recorder) Run(_ context.Context, c Cmd) ([]byte, error) {
	_, err := fmt.Fprintf(r.W, "run: %s\n", c)
	return nil, err
}

// Query asks Answer, printing nothing.
func (r *Recorder) Query(_ context.Context, c Cmd) bool {
	return r.Answer != nil && r.Answer(c)
}

// WriteFile prints the file's path and mode.
func (r *Recorder) WriteFile(_ context.Context, f File) error {
	if _, err := fmt.Fprintf(r.W, "write: %s (%04o)\n", f.Path, f.Mode.Perm()); err != nil {
		return err
	}
	if r.Root != "" {
		return writeAtomic(rooted(r.Root, f.Path), f.Data, f.Mode, -1, -1)
	}
	return nil
}

// Remove prints the path.
func (r *Recorder) Remove(_ context.Context, path string) error {
	if _, err := fmt.Fprintf(r.W, "remove: %s\n", path); err != nil {
		return err
	}
	if r.Root != "" {
		return os.RemoveAll(rooted(r.Root, path))
	}
	return nil
}
