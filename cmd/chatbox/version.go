package main

import (
	"fmt"

	"github.com/chatbox-dev/chatbox/chat/web"
	"github.com/chatbox-dev/chatbox/internal/buildinfo"
	"github.com/spf13/cobra"
)

func newVersionCmd(s *streams) *cobra.Command {
	var assets bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of this chatbox binary",
		Long: `Print the version of this chatbox binary. With --assets, also the
SHA-256 of every file of the room's page as this binary serves it, one
file a line: compare them with a release's notes, or with what a browser
was served (curl -s https://BOX/static/js/main.js | sha256sum).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(s.out, buildinfo.String())
			if !assets {
				return nil
			}
			list, err := web.Assets()
			if err != nil {
				return err
			}
			for _, a := range list {
				fmt.Fprintf(s.out, "%s  %s\n", a.SHA256(), a.Path)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&assets, "assets", false, "also print the SHA-256 of every file of the room's page, as served")
	return cmd
}
