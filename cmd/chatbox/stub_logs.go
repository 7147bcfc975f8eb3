package main

// Stub until the real command lands; delete this file when it does.

import "github.com/spf13/cobra"

func newLogsCmd(*streams) *cobra.Command {
	return notYet("logs", "Show the chatbox service's log")
}
