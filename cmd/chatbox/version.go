package main

import (
	"fmt"

	"github.com/chatbox-dev/chatbox/internal/buildinfo"
	"github.com/spf13/cobra"
)

func newVersionCmd(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of this chatbox binary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(s.out, buildinfo.String())
			return nil
		},
	}
}
