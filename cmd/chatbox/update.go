package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/chatbox-dev/chatbox/installer"
	"github.com/spf13/cobra"
)

type updateOptions struct {
	host   hostOptions
	system bool
	self   string
}

func newUpdateCmd(s *streams) *cobra.Command {
	o := updateOptions{}
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Apply OS updates and replace the chatbox binary safely",
		Long: `Apply operating system updates (--system) and/or replace the chatbox
binary with a new one (--self FILE): the new binary is put in place
atomically, the service restarts, and when it does not answer within 90
seconds the previous binary is put back and started again. Without flags,
update applies OS updates and leaves the binary as it is.`,
		Example: `  sudo chatbox update
  sudo chatbox update --self ./chatbox-new
  chatbox update --dry-run --os rocky --system`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runUpdate(cmd.Context(), s, o, retryLine(cmd))
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.system, "system", false, "apply operating system updates")
	f.StringVar(&o.self, "self", "", "replace the installed chatbox binary with `FILE`")
	o.host.addFlags(f)
	return cmd
}

func runUpdate(ctx context.Context, s *streams, o updateOptions, retry string) error {
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
	in, err := o.host.installer(ctx, s)
	if err != nil {
		return err
	}
	if o.self != "" && in.InsideService() {
		// A self-update run by the service itself would be killed by the
		// restart it causes; run it again in a transient unit of its own.
		args := []string{"update", "--self", o.self}
		if o.system {
			args = append(args, "--system")
		}
		return in.RunOutsideService(ctx, args, s.out, s.err)
	}
	if err := in.Update(ctx, installer.UpdateOptions{System: o.system, Self: o.self, Retry: retry}); err != nil || o.host.dryRun {
		return err
	}
	if o.self == "" {
		fmt.Fprintln(s.out, "The chatbox binary was left as it is (give a new one with --self FILE).")
	}
	return nil
}
