package main

// Stub until the real command lands; delete this file when it does.

import "github.com/spf13/cobra"

func newHostnameCmd(*streams) *cobra.Command {
	return notYet("hostname", "Set this host's name")
}
