package main

// Stub until the real command lands; delete this file when it does.

import "github.com/spf13/cobra"

func newDyndnsCmd(*streams) *cobra.Command {
	return notYet("dyndns", "Point the box's DNS records at its public address")
}
