package main

// Stub until the real command lands; delete this file when it does.

import "github.com/spf13/cobra"

func newUninstallCmd(*streams) *cobra.Command {
	return notYet("uninstall", "Remove chatbox from this host")
}
