// Command chatbox turns a fresh VPS or Raspberry Pi into a private,
// single-room web chat at its own HTTPS address.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one chatbox command line and returns the process exit code:
// 0 on success, 2 for a usage mistake, 1 for any other failure. Errors are
// printed as one sentence, never as a stack trace.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd(&streams{in: stdin, out: stdout, err: stderr})
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return exitCode(root.ExecuteContext(ctx), stderr)
}

// exitCode prints err as one sentence and returns the exit code for it:
// 0 for nil, 2 for a usage mistake, an exitError's own code, 1 otherwise.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var exit *exitError
	if errors.As(err, &exit) {
		return exit.code
	}
	fmt.Fprintf(stderr, "chatbox: %v\n", err)
	var usage *usageError
	if errors.As(err, &usage) {
		return 2
	}
	return 1
}

// exitError ends a command that has said what it had to with an exit code
// of its own, such as update --check's 10 for "a newer version exists".
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// streams are the standard streams a command talks to, injected so that
// commands are tested without a terminal.
type streams struct {
	in  io.Reader
	out io.Writer
	err io.Writer
}

// usageError is a mistake in how a command was called; it exits with 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usagef returns a usageError with a formatted sentence.
func usagef(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}
