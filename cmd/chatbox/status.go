package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/chatbox-dev/chatbox/installer"
	"github.com/chatbox-dev/chatbox/platform"
	"github.com/spf13/cobra"
)

func newStatusCmd(s *streams) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show whether the chatbox service is running",
		Long: `Show whether chatbox is installed, whether its service runs and answers,
and the room's address. Exits 1 when something is wrong.`,
		Example: `  chatbox status
  chatbox status --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runStatus(cmd.Context(), s, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	return cmd
}

func runStatus(ctx context.Context, s *streams, asJSON bool) error {
	in, err := readOnlyInstaller(ctx, s)
	if err != nil {
		return err
	}
	st := in.Status(ctx)
	if !st.Installed {
		st.Problem += "; `sudo chatbox install --domain NAME` installs it"
	}
	if asJSON {
		enc := json.NewEncoder(s.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			return err
		}
	} else {
		yes := map[bool]string{true: "yes", false: "no"}
		fmt.Fprintf(s.out, "OS:         %s\n", st.OS)
		fmt.Fprintf(s.out, "Installed:  %s\n", yes[st.Installed])
		if st.Installed {
			fmt.Fprintf(s.out, "Running:    %s\n", yes[st.Running])
			if st.URL == "" {
				// Status could not read the config: it does not know
				// where the room is, nor where to ask whether it answers.
				fmt.Fprintf(s.out, "Answering:  unknown\n")
				fmt.Fprintf(s.out, "Room:       unknown\n")
			} else {
				fmt.Fprintf(s.out, "Answering:  %s\n", yes[st.Healthy])
				fmt.Fprintf(s.out, "Room:       %s\n", st.URL)
				if st.Healthy && !st.LocalCA {
					fmt.Fprintf(s.out, "Public URL: %s\n", map[bool]string{true: "answers", false: "does not answer from this host"}[st.Public])
				}
			}
			fmt.Fprintf(s.out, "Config:     %s\n", st.Config)
			if st.PushKeyFile != "" {
				if st.PushKey {
					fmt.Fprintf(s.out, "Push key:   yes, %s (backups hold it)\n", st.PushKeyFile)
				} else {
					fmt.Fprintf(s.out, "Push key:   not yet; the service makes %s at its first start\n", st.PushKeyFile)
				}
			}
			if st.Warning != "" {
				fmt.Fprintf(s.out, "Warning:    %s\n", st.Warning)
			}
		}
	}
	if st.Problem != "" {
		return errors.New(st.Problem)
	}
	return nil
}

// readOnlyInstaller looks at this machine without being able to change it.
func readOnlyInstaller(ctx context.Context, s *streams) (*installer.Installer, error) {
	p, err := installer.Detect(ctx, "/", "")
	if err != nil {
		return nil, err
	}
	return &installer.Installer{
		Platform: p,
		Host:     &platform.Host{Root: "/", Live: true, Runner: platform.ReadOnly{Root: "/"}},
		Out:      s.out,
	}, nil
}
