package main

// Stub until the real command lands; delete this file when it does.

import "github.com/spf13/cobra"

func newStatusCmd(*streams) *cobra.Command {
	return notYet("status", "Show whether the chatbox service is running")
}
