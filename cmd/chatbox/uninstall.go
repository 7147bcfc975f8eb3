package main

import (
	"context"
	"fmt"

	"github.com/chatbox-dev/chatbox/installer"
	"github.com/spf13/cobra"
)

type uninstallOptions struct {
	host  hostOptions
	purge bool
	yes   bool
}

func newUninstallCmd(s *streams) *cobra.Command {
	o := uninstallOptions{}
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove the chatbox service, binary and config from this host",
		Long: `Stop and remove the chatbox service, the binary and /etc/chatbox. With
--purge also remove the room's data (messages and files) and the service
user. Packages, the host name, firewall rules and automatic updates are
left as they are.`,
		Example: `  sudo chatbox uninstall
  sudo chatbox uninstall --purge --yes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runUninstall(cmd.Context(), s, o, installer.UninstallOptions{Purge: o.purge, Retry: retryLine(cmd)})
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.purge, "purge", false, "also delete the room's data and the service user")
	f.BoolVarP(&o.yes, "yes", "y", false, "do not ask before changing the system")
	o.host.addFlags(f)
	return cmd
}

func runUninstall(ctx context.Context, s *streams, o uninstallOptions, opts installer.UninstallOptions) error {
	in, cleanup, err := o.host.installer(ctx, s)
	if err != nil {
		return err
	}
	defer cleanup()
	if !o.host.dryRun && !o.yes {
		ok, err := confirm(ctx, s, o.host, func(plan *installer.Installer) error { return plan.Uninstall(ctx, opts) })
		if err != nil || !ok {
			return err
		}
	}
	if err := in.Uninstall(ctx, opts); err != nil || o.host.dryRun {
		return err
	}
	if dir := in.DataLeft(); dir != "" && !o.purge {
		// chatbox itself is gone now: say what removes the data without it.
		fmt.Fprintf(s.out, "The room's data is still in %s; remove it with: sudo rm -rf %s\n", dir, dir)
	}
	fmt.Fprintln(s.out, "Left as they were: packages, the host name, firewall rules and automatic updates.")
	return nil
}
