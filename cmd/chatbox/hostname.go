package main

import (
	"context"

	"github.com/chatbox-dev/chatbox/config"
	"github.com/spf13/cobra"
)

type hostnameOptions struct {
	host hostOptions
	name string
}

func newHostnameCmd(s *streams) *cobra.Command {
	o := hostnameOptions{}
	cmd := &cobra.Command{
		Use:   "hostname NAME",
		Short: "Set this host's name",
		Long: `Set the host name (letters, digits and hyphens in dot-separated labels, as
RFC 1123 allows), keeping /etc/hosts consistent; cloud-init, installed now or
later, keeps the name at every boot, in /etc/hosts too when it manages that
file.`,
		Example: `  sudo chatbox hostname chat.example.com
  chatbox hostname chat --dry-run --os openbsd`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("hostname takes exactly one NAME, e.g. chatbox hostname chat.example.com")
			}
			o.name = args[0]
			return runHostname(cmd.Context(), s, o, retryLine(cmd))
		},
	}
	o.host.addFlags(cmd.Flags())
	return cmd
}

func runHostname(ctx context.Context, s *streams, o hostnameOptions, retry string) error {
	if err := config.ValidateHostname(o.name); err != nil {
		return usagef("%w", err)
	}
	in, cleanup, err := o.host.installer(ctx, s)
	if err != nil {
		return err
	}
	defer cleanup()
	return in.SetHostname(ctx, o.name, retry)
}
