package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/chatbox-dev/chatbox/installer"
	"github.com/chatbox-dev/chatbox/internal/release"
	"github.com/spf13/cobra"
)

// exitNewer is update --check's exit code when a newer release exists.
const exitNewer = 10

type updateOptions struct {
	host    hostOptions
	system  bool
	self    string
	check   bool
	version string
	// current and channel stand in for this binary's version and the
	// configured channel in tests; empty means the real ones.
	current string
	channel release.Client
}

func newUpdateCmd(s *streams) *cobra.Command {
	o := updateOptions{}
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Apply OS updates and replace the chatbox binary safely",
		Long: `Apply operating system updates and replace the chatbox binary with the
newest release from the signed release channel ([update] url in the
config). The release's manifest must be signed by a key this binary
trusts; the binary for this machine is downloaded beside the installed
one, checked (size, SHA-256, architecture, and that it runs), and only
then put in place: the service restarts, and when it does not answer
within 90 seconds the previous binary is put back and started again.
Any failed check is one sentence and leaves the host as it was.

  --check          only say whether a newer release exists: exit 0 when
                   up to date, 10 when a newer one is available
  --version V      install release V, even an older one (a downgrade is
                   refused without it)
  --self FILE      install FILE instead of a release (no signature check)
  --system         only OS updates (with --self or --version: both)`,
		Example: `  sudo chatbox update
  chatbox update --check
  sudo chatbox update --version v1.2.3
  sudo chatbox update --self ./chatbox-new
  chatbox update --dry-run --os rocky --system`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runUpdate(cmd.Context(), s, o, retryLine(cmd))
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.system, "system", false, "apply operating system updates (alone: only those)")
	f.StringVar(&o.self, "self", "", "replace the installed chatbox binary with `FILE`")
	f.BoolVar(&o.check, "check", false, "say whether a newer release exists; exit 10 if so, 0 if not")
	f.StringVar(&o.version, "version", "", "install release `V` (like v1.2.3), even an older one")
	o.host.addFlags(f)
	return cmd
}

func runUpdate(ctx context.Context, s *streams, o updateOptions, retry string) error {
	switch {
	case o.self != "" && (o.check || o.version != ""):
		return usagef("--self installs a file, so it goes with neither --check nor --version")
	case o.check && o.system:
		return usagef("--check only looks at the release channel; run --system without it")
	case o.version != "" && !release.ValidVersion(o.version):
		return usagef("--version: %q is not a release version like v1.2.3", o.version)
	}
	if o.self != "" {
		abs, err := filepath.Abs(o.self)
		if err != nil {
			return usagef("--self: %v", err)
		}
		if fi, err := os.Stat(abs); err != nil || !fi.Mode().IsRegular() {
			return usagef("--self: %s is not a file", o.self)
		}
		o.self = abs
	}
	host := o.host
	if o.check {
		host.dryRun = true // --check changes nothing, so it needs no root
	}
	in, cleanup, err := host.installer(ctx, s)
	if err != nil {
		return err
	}
	defer cleanup()
	uo := installer.UpdateOptions{
		System:      o.system,
		Self:        o.self,
		Retry:       retry,
		FromChannel: o.self == "" && (!o.system || o.version != ""),
		Version:     o.version,
		Current:     o.current,
		Channel:     o.channel,
	}
	if o.check {
		c, err := in.CheckUpdate(ctx, uo)
		if err != nil {
			return err
		}
		if !c.Newer {
			fmt.Fprintf(s.out, "chatbox %s is up to date (the channel has %s).\n", c.Current, c.Available)
			return nil
		}
		fmt.Fprintf(s.out, "chatbox %s is available (this is %s); run chatbox update to install it.\n", c.Available, c.Current)
		return &exitError{code: exitNewer}
	}
	if (o.self != "" || uo.FromChannel) && in.InsideService() {
		// A self-update run by the service itself would be killed by the
		// restart it causes; run it again in a transient unit of its own.
		args := []string{"update"}
		if o.self != "" {
			args = append(args, "--self", o.self)
		}
		if o.version != "" {
			args = append(args, "--version", o.version)
		}
		if o.system {
			args = append(args, "--system")
		}
		return in.RunOutsideService(ctx, args, s.out, s.err)
	}
	if err := in.Update(ctx, uo); err != nil || o.host.dryRun {
		return err
	}
	if o.self == "" && !uo.FromChannel {
		fmt.Fprintln(s.out, "The chatbox binary was left as it is (run chatbox update without --system to update it).")
	}
	return nil
}
