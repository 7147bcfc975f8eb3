package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/chatbox-dev/chatbox/config"
	"github.com/chatbox-dev/chatbox/dyndns"
	"github.com/spf13/cobra"
)

type dyndnsOptions struct {
	configPath string
	once       bool
}

func newDyndnsCmd(s *streams) *cobra.Command {
	opts := dyndnsOptions{}
	cmd := &cobra.Command{
		Use:   "dyndns",
		Short: "Point the box's DNS records at its public address",
		Long: `Detect the box's public IPv4 and IPv6 addresses and make the A and AAAA
records of server.domain hold them, through the DNS provider in the
config file ([dns] and [dyndns] sections).

A record is written only when its address differs; its TTL and proxy
setting are kept, and new records are made DNS-only. When an address
cannot be detected, or is not a public one, its record is left alone.

With --once it checks once, prints one line per record type and exits;
without, it keeps checking every dyndns.interval until stopped (chatbox
serve runs the same loop itself when dyndns.enabled is true).`,
		Example: `  chatbox dyndns --once
  chatbox dyndns --once --config ./config.toml`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("dyndns takes no arguments, got %q", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDyndns(cmd.Context(), s, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.configPath, "config", config.DefaultPath, "config file to read")
	f.BoolVar(&opts.once, "once", false, "check and update once, then exit")
	return cmd
}

func runDyndns(ctx context.Context, s *streams, opts dyndnsOptions) error {
	cfg, err := config.Load(opts.configPath)
	if err != nil {
		return err
	}
	if cfg.DNS.Provider == "" {
		return fmt.Errorf("%s: dynamic DNS needs a DNS provider: set dns.provider = \"cloudflare\" and dns.api_token", opts.configPath)
	}
	level := slog.LevelInfo
	if opts.once {
		// What Once does is printed below and its failure returned; the log
		// would only say it twice. Its warnings (an API being retried) are
		// shown as they happen, so a wait is not silent.
		level = slog.LevelWarn
	}
	logger := slog.New(slog.NewTextHandler(s.err, &slog.HandlerOptions{Level: level}))
	u, err := dyndns.New(cfg, dyndns.Options{Logger: logger})
	if err != nil {
		return fmt.Errorf("%s: %w", opts.configPath, err)
	}
	if !opts.once {
		return u.Run(ctx)
	}
	changes, err := u.Once(ctx)
	for _, c := range changes {
		fmt.Fprintln(s.out, c)
	}
	if err != nil {
		// errors.Join puts one failure per line; keep the report one line.
		return fmt.Errorf("dynamic DNS: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return nil
}
