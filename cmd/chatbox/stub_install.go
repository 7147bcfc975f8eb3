package main

// Stub until the real command lands; delete this file when it does.

import "github.com/spf13/cobra"

func newInstallCmd(*streams) *cobra.Command {
	return notYet("install", "Provision this host as a chatbox")
}
