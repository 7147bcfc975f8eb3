package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newRootCmd(s *streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "chatbox",
		Short: "Your own private chat room on a VPS or Raspberry Pi",
		Long: `chatbox turns a fresh VPS or Raspberry Pi into a private, single-room web
chat at its own HTTPS address. Friends open the link in any browser: no
accounts, no app.

Try it locally:
  chatbox serve --dev            then open http://127.0.0.1:8080

Put it on a box:
  sudo chatbox install --domain chat.example.com`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &usageError{err: err}
	})
	root.AddCommand(
		newServeCmd(s),
		newInstallCmd(s),
		newUninstallCmd(s),
		newUpdateCmd(s),
		newHostnameCmd(s),
		newDyndnsCmd(s),
		newStatusCmd(s),
		newLogsCmd(s),
		newRoomCmd(s),
		newBackupCmd(s),
		newRestoreCmd(s),
		newVersionCmd(s),
		newCompletionCmd(s),
	)
	root.Args = cobra.NoArgs // so that "chatbox frob" is a usage error
	root.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	markArgErrorsAsUsage(root)
	return root
}

// markArgErrorsAsUsage makes a wrong number or kind of arguments, on any
// command, a usage mistake (exit 2) like a wrong flag.
func markArgErrorsAsUsage(cmd *cobra.Command) {
	if check := cmd.Args; check != nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				var u *usageError
				if errors.As(err, &u) {
					return err
				}
				return &usageError{err: err}
			}
			return nil
		}
	}
	for _, sub := range cmd.Commands() {
		markArgErrorsAsUsage(sub)
	}
}
