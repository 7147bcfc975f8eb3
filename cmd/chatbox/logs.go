package main

import (
	"github.com/spf13/cobra"
)

func newLogsCmd(s *streams) *cobra.Command {
	var follow bool
	var lines int
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "Show the chatbox service's log",
		Long:  `Show the last lines of the chatbox service's log (the systemd journal, or syslog on OpenBSD); with -f keep showing new lines until Ctrl-C.`,
		Example: `  chatbox logs
  chatbox logs -f
  chatbox logs -n 200`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if lines < 1 {
				return usagef("-n must be at least 1")
			}
			in, err := readOnlyInstaller(cmd.Context(), s)
			if err != nil {
				return err
			}
			return in.Logs(cmd.Context(), lines, follow, s.out, s.err)
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep showing new lines")
	cmd.Flags().IntVarP(&lines, "lines", "n", 50, "how many lines to show")
	return cmd
}
