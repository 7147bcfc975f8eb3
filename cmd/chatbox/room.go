package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/config"
	"github.com/spf13/cobra"
)

type roomOptions struct {
	configPath string
	dataDir    string
	private    bool
	yes        bool
}

func newRoomCmd(s *streams) *cobra.Command {
	opts := &roomOptions{}
	cmd := &cobra.Command{
		Use:   "room info | password | reset | destroy",
		Short: "Show or change the room of the running chatbox",
		Long: `Show or change the room of the chatbox service running on this machine.
It talks to the service through the admin socket in its data folder, so
run it as root (or the chatbox user).

  info      who is in the room, how many messages, public or private
  password  give the room a new password (making it private) and print it;
            everyone logged in must enter the new one
  reset     wipe the room at once and start a new one (--private for a
            private one, whose password is printed)
  destroy   start the destroy countdown, as the button in the room does`,
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
			return roomInfo(cmd.Context(), s, opts)
		},
	}
	password := &cobra.Command{
		Use:   "password",
		Short: "Give the room a new password and print it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return roomPassword(cmd.Context(), s, opts, "/room/password", nil)
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
			return roomPassword(cmd.Context(), s, opts, "/room/reset", map[string]bool{"private": opts.private})
		},
	}
	reset.Flags().BoolVar(&opts.private, "private", false, "make the new room private (its password is printed)")
	reset.Flags().BoolVar(&opts.yes, "yes", false, "really wipe the room")
	destroy := &cobra.Command{
		Use:   "destroy",
		Short: "Start the destroy countdown",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out struct {
				DestroyAt time.Time `json:"destroy_at"`
			}
			if err := adminCall(cmd.Context(), opts, "POST", "/room/destroy", struct{}{}, &out); err != nil {
				return err
			}
			fmt.Fprintf(s.out, "The room will be destroyed at %s.\n", out.DestroyAt.Local().Format(time.TimeOnly))
			return nil
		},
	}
	cmd.AddCommand(info, password, reset, destroy)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usagef("unknown room command %q; use info, password, reset or destroy", args[0])
		}
		return cmd.Help()
	}
	return cmd
}

func roomInfo(ctx context.Context, s *streams, opts *roomOptions) error {
	var st struct {
		Exists      bool      `json:"exists"`
		Private     bool      `json:"private"`
		CreatedAt   time.Time `json:"created_at"`
		DestroyedAt time.Time `json:"destroyed_at"`
		DestroyedBy string    `json:"destroyed_by"`
		DestroyAt   time.Time `json:"destroy_at"`
		Members     []string  `json:"members"`
		Clients     int       `json:"clients"`
		Messages    int       `json:"messages"`
	}
	if err := adminCall(ctx, opts, "GET", "/room", nil, &st); err != nil {
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
	fmt.Fprintf(s.out, "Room:      %s, created %s\n", kind, st.CreatedAt.Local().Format(time.DateTime))
	fmt.Fprintf(s.out, "Messages:  %d\n", st.Messages)
	fmt.Fprintf(s.out, "In room:   %d (%d connections): %s\n", len(st.Members), st.Clients, strings.Join(st.Members, ", "))
	if !st.DestroyAt.IsZero() {
		fmt.Fprintf(s.out, "Destroy:   countdown running, ends %s\n", st.DestroyAt.Local().Format(time.TimeOnly))
	}
	return nil
}

func roomPassword(ctx context.Context, s *streams, opts *roomOptions, path string, body any) error {
	var out struct {
		Password string `json:"password"`
	}
	if body == nil {
		body = struct{}{}
	}
	if err := adminCall(ctx, opts, "POST", path, body, &out); err != nil {
		return err
	}
	if out.Password == "" {
		fmt.Fprintln(s.out, "A new public room is ready.")
		return nil
	}
	fmt.Fprintf(s.out, "The room's password is now:\n\n    %s\n\nEveryone must enter it again.\n", out.Password)
	return nil
}

// adminCall sends one request to the running service's admin socket.
func adminCall(ctx context.Context, opts *roomOptions, method, path string, body, out any) error {
	dataDir := opts.dataDir
	if dataDir == "" {
		cfg, err := config.Load(opts.configPath)
		switch {
		case err == nil:
			dataDir = cfg.Server.DataDir
		case errors.Is(err, os.ErrNotExist):
			dataDir = config.Default().Server.DataDir
		default:
			return err
		}
	}
	sock := filepath.Join(dataDir, chat.AdminSocketFile)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://chatbox"+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := client.Do(req)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return fmt.Errorf("no permission to talk to the service through %s; run as root", sock)
		}
		return fmt.Errorf("the chatbox service is not running on %s (no answer on %s); start it with: systemctl start chatbox", dataDir, sock)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return fmt.Errorf("read the service's answer: %w", err)
	}
	if res.StatusCode >= 300 {
		var e struct{ Error string }
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			return errors.New(e.Error)
		}
		return fmt.Errorf("the service answered %s", res.Status)
	}
	return json.Unmarshal(raw, out)
}
