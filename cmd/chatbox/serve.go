package main

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/spf13/cobra"

	"github.com/chatbox-dev/chatbox/box"
	"github.com/chatbox-dev/chatbox/config"
)

type serveOptions struct {
	configPath string
	dev        bool
	listen     string
	dataDir    string
	// configGiven is true when --config was on the command line.
	configGiven bool
}

func newServeCmd(s *streams) *cobra.Command {
	opts := serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the chat room (the service an installed box runs)",
		Long: `Run the chat room.

With --dev it needs nothing: plain HTTP on 127.0.0.1:8080, data in
./chatbox-data, a public room. Give --dev an explicit --config to try a
config file's [room] and [limits] locally; its other settings are
ignored.

Without --dev it reads the box's config file and serves HTTPS with
automatic certificates, redirects HTTP to HTTPS, keeps dynamic DNS up to
date and talks to systemd.`,
		Example: `  chatbox serve --dev
  chatbox serve --dev --listen 127.0.0.1:9000 --data /tmp/room
  chatbox serve --dev --config ./my-limits.toml
  chatbox serve --config /etc/chatbox/config.toml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.configGiven = cmd.Flags().Changed("config")
			return runServe(cmd, s, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.configPath, "config", config.DefaultPath, "config file to read (with --dev: only its [room] and [limits])")
	f.BoolVar(&opts.dev, "dev", false, "plain HTTP on loopback with a local data folder, for trying chatbox out")
	f.StringVar(&opts.listen, "listen", "", "address to listen on (with --dev: default 127.0.0.1:8080; otherwise the HTTPS address)")
	f.StringVar(&opts.dataDir, "data", "", "data folder (with --dev: default ./chatbox-data)")
	return cmd
}

func runServe(cmd *cobra.Command, s *streams, opts serveOptions) error {
	ctx := cmd.Context()
	if opts.dev {
		cfg := config.Default()
		if opts.configGiven {
			fileCfg, err := config.Load(opts.configPath)
			if err != nil {
				return err
			}
			cfg.Room, cfg.Limits = fileCfg.Room, fileCfg.Limits
		}
		cfg.Server.HTTPListen = "127.0.0.1:8080"
		cfg.Server.DataDir = "chatbox-data"
		if opts.listen != "" {
			cfg.Server.HTTPListen = opts.listen
		}
		if opts.dataDir != "" {
			cfg.Server.DataDir = opts.dataDir
		}
		if err := cfg.Validate(); err != nil {
			return &usageError{err: err}
		}
		return box.RunDev(ctx, cfg, s.err)
	}
	cfg, err := config.Load(opts.configPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: set the box up with `chatbox install`, or try chatbox out with `chatbox serve --dev`", err)
	case err != nil:
		// The service reads this file: the advice is for its owner.
		return fmt.Errorf("%w; fix it in %s, then restart the service (systemctl restart chatbox, or rcctl restart chatbox on OpenBSD)", err, opts.configPath)
	}
	if opts.listen != "" {
		cfg.Server.HTTPSListen = opts.listen
	}
	if opts.dataDir != "" {
		cfg.Server.DataDir = opts.dataDir
	}
	return box.Run(ctx, cfg, s.err)
}
