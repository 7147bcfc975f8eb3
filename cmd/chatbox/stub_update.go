package main

// Stub until the real command lands; delete this file when it does.

import "github.com/spf13/cobra"

func newUpdateCmd(*streams) *cobra.Command {
	return notYet("update", "Apply system updates and replace the chatbox binary")
}
