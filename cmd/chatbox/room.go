package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/chat/admin"
	"github.com/chatbox-dev/chatbox/chat/datadir"
	"github.com/chatbox-dev/chatbox/config"
	"github.com/spf13/cobra"
)

// adminTimeout bounds one request to the running service.
const adminTimeout = 30 * time.Second

type roomOptions struct {
	configPath string
	dataDir    string
	private    bool
	encrypted  bool
	yes        bool
}

func newRoomCmd(s *streams) *cobra.Command {
	opts := &roomOptions{}
	cmd := &cobra.Command{
		Use:   "room info | password | reset | destroy | lock | unlock",
		Short: "Show or change the room of the running chatbox",
		Long: `Show or change the room of the chatbox service running on this machine.
It talks to the service through the admin socket in its data folder, so
run it as root (or the chatbox user).

  info      who is in the room, how many messages, public or private
  password  give the room a new password (making it private) and print it;
            everyone logged in must enter the new one
  reset     wipe the room at once and start a new one (--private for a
            private one, whose password is printed; --encrypted for one
            whose messages and files only the browsers with its link read)
  destroy   start the destroy countdown, as the button in the room does
  lock      make the room read-only: people can read, but not post, share
            files or destroy it (against a flood, say); unlock opens it
            again. To let only invited people in, give it a password.`,
		Example: `  sudo chatbox room info
  sudo chatbox room password
  sudo chatbox room reset --private --yes`,
	}
	cmd.PersistentFlags().StringVar(&opts.configPath, "config", config.DefaultPath, "config file that names the data folder")
	cmd.PersistentFlags().StringVar(&opts.dataDir, "data", "", "data folder of the running service (overrides the config)")

	info := &cobra.Command{
		Use:   "info",
		Short: "Show the room: members, messages, public or private",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withRoom(cmd.Context(), s, opts, roomInfo)
		},
	}
	password := &cobra.Command{
		Use:   "password",
		Short: "Give the room a new password and print it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withRoom(cmd.Context(), s, opts, roomPassword)
		},
	}
	reset := &cobra.Command{
		Use:   "reset",
		Short: "Wipe the room now and start a new one",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !opts.yes {
				return usagef("reset wipes every message and file at once; add --yes to do it")
			}
			return withRoom(cmd.Context(), s, opts, roomReset)
		},
	}
	reset.Flags().BoolVar(&opts.private, "private", false, "make the new room private (its password is printed)")
	reset.Flags().BoolVar(&opts.encrypted, "encrypted", false, "make the new room encrypted: the first browser to open it makes the key and shows the link to share")
	reset.Flags().BoolVar(&opts.yes, "yes", false, "really wipe the room")
	destroy := &cobra.Command{
		Use:   "destroy",
		Short: "Start the destroy countdown",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withRoom(cmd.Context(), s, opts, roomDestroy)
		},
	}
	lock := &cobra.Command{
		Use:   "lock",
		Short: "Make the room read-only",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withRoom(cmd.Context(), s, opts, roomLock(true))
		},
	}
	unlock := &cobra.Command{
		Use:   "unlock",
		Short: "Let people write in the room again",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withRoom(cmd.Context(), s, opts, roomLock(false))
		},
	}
	cmd.AddCommand(info, password, reset, destroy, lock, unlock)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usagef("unknown room command %q; use info, password, reset, destroy, lock or unlock", args[0])
		}
		return cmd.Help()
	}
	return cmd
}

// roomRun is one room command, run with a client of the service.
type roomRun func(ctx context.Context, s *streams, opts *roomOptions, c *admin.Client) error

func roomInfo(ctx context.Context, s *streams, _ *roomOptions, c *admin.Client) error {
	st, err := c.Info(ctx)
	if err != nil {
		return err
	}
	if !st.Exists {
		if !st.DestroyedAt.IsZero() {
			fmt.Fprintf(s.out, "No room: destroyed by %s on %s. Anyone with the link can create a new one.\n", st.DestroyedBy, st.DestroyedAt.Local().Format(time.DateTime))
		} else {
			fmt.Fprintln(s.out, "No room yet. Anyone with the link can create one.")
		}
		return nil
	}
	kind := "public"
	if st.Private {
		kind = "private (password needed)"
	}
	if st.Encrypted {
		kind += ", encrypted"
	}
	if st.Locked {
		kind += ", read-only (chatbox room unlock opens it)"
	}
	fmt.Fprintf(s.out, "Room:      %s, created %s\n", kind, st.CreatedAt.Local().Format(time.DateTime))
	fmt.Fprintf(s.out, "Messages:  %d\n", st.Messages)
	fmt.Fprintf(s.out, "In room:   %d (%d connections): %s\n", len(st.Members), st.Clients, strings.Join(st.Members, ", "))
	if !st.DestroyAt.IsZero() {
		fmt.Fprintf(s.out, "Destroy:   countdown running, ends %s\n", st.DestroyAt.Local().Format(time.TimeOnly))
	}
	return nil
}

// roomLock makes the room read-only (locked) or writable again.
func roomLock(locked bool) roomRun {
	return func(ctx context.Context, s *streams, _ *roomOptions, c *admin.Client) error {
		st, err := c.SetLocked(ctx, locked)
		if err != nil {
			return err
		}
		if st.Locked {
			fmt.Fprintln(s.out, "The room is read-only now: people can read it, but not post, share files or destroy it.")
		} else {
			fmt.Fprintln(s.out, "The room is open again: people can post in it.")
		}
		return nil
	}
}

func roomPassword(ctx context.Context, s *streams, _ *roomOptions, c *admin.Client) error {
	password, err := c.SetPassword(ctx)
	if err != nil {
		return err
	}
	printPassword(s, password)
	return nil
}

func roomReset(ctx context.Context, s *streams, opts *roomOptions, c *admin.Client) error {
	password, err := c.Reset(ctx, chat.RoomKind{Private: opts.private, Encrypted: opts.encrypted})
	if err != nil {
		return err
	}
	printPassword(s, password)
	if opts.encrypted {
		fmt.Fprintln(s.out, "It is encrypted: the first browser to open it makes its key and shows the link to share.")
	}
	return nil
}

func roomDestroy(ctx context.Context, s *streams, _ *roomOptions, c *admin.Client) error {
	at, err := c.Destroy(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.out, "The room will be destroyed at %s.\n", at.Local().Format(time.TimeOnly))
	return nil
}

// printPassword tells the room's new password, or that a new room is
// public.
func printPassword(s *streams, password string) {
	if password == "" {
		fmt.Fprintln(s.out, "A new public room is ready.")
		return
	}
	fmt.Fprintf(s.out, "The room's password is now:\n\n    %s\n\nEveryone must enter it again.\n", password)
}

// withRoom runs run with a client of the service whose data folder opts
// name, within adminTimeout.
func withRoom(ctx context.Context, s *streams, opts *roomOptions, run roomRun) error {
	dataDir, err := serviceDataDir(opts.configPath, opts.dataDir)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	err = run(ctx, s, opts, admin.New(datadir.Layout{Dir: dataDir}.AdminSocket()))
	if errors.Is(err, admin.ErrNotRunning) {
		return fmt.Errorf("%w; start it with: systemctl start chatbox", err)
	}
	return err
}

// serviceDataDir is the data folder of the running service: dataDir when
// given, else the one the config file at configPath names, else the
// default.
func serviceDataDir(configPath, dataDir string) (string, error) {
	if dataDir != "" {
		return dataDir, nil
	}
	cfg, err := config.Load(configPath)
	switch {
	case err == nil:
		return cfg.Server.DataDir, nil
	case errors.Is(err, os.ErrNotExist):
		return config.Default().Server.DataDir, nil
	default:
		return "", err
	}
}
