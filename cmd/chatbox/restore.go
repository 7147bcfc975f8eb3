package main

import (
	"context"

	"github.com/spf13/cobra"
)

func newRestoreCmd(s *streams) *cobra.Command {
	var host hostOptions
	cmd := &cobra.Command{
		Use:   "restore FILE",
		Short: "Bring back a room from a backup, on a freshly installed box",
		Long: `Put the room, files, certificates and config saved by chatbox backup in
place of this box's. The whole archive is checked first: a truncated,
corrupt or foreign one is refused and nothing changes. Then the service
stops, the restored data takes the place of the current data (which is
kept beside it), and the service starts again on it.

Install chatbox on the new box first (chatbox install), then restore.`,
		Example: `  sudo chatbox restore chatbox-backup-20260101-120000.tar.gz`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRestore(cmd.Context(), s, host, args[0])
		},
	}
	return cmd
}

func runRestore(ctx context.Context, s *streams, host hostOptions, file string) error {
	in, cleanup, err := host.installer(ctx, s)
	if err != nil {
		return err
	}
	defer cleanup()
	return in.Restore(ctx, file)
}
