package main

// Stub until the real command lands; delete this file when it does.

import "github.com/spf13/cobra"

func newRoomCmd(*streams) *cobra.Command {
	return notYet("room", "Show or change the room: info, password, reset, destroy")
}
