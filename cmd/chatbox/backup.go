package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/chatbox-dev/chatbox/chat/admin"
	"github.com/chatbox-dev/chatbox/chat/datadir"
	"github.com/chatbox-dev/chatbox/config"
	"github.com/chatbox-dev/chatbox/installer/backup"
	"github.com/chatbox-dev/chatbox/internal/buildinfo"
	"github.com/spf13/cobra"
)

type backupOptions struct {
	configPath string
	dataDir    string
	rotate     bool
}

func newBackupCmd(s *streams) *cobra.Command {
	o := backupOptions{}
	cmd := &cobra.Command{
		Use:   "backup [FILE|-]",
		Short: "Save the room, its files, certificates and config in one archive",
		Long: `Save everything needed to bring this box's room back, on this box or a new
one, in one compressed archive: every message, every uploaded file, the
certificates and the config file. The room keeps running meanwhile; the
messages are copied as they are when the backup begins.

FILE defaults to chatbox-backup-DATE.tar.gz in the current folder; - writes
the archive to standard output. The archive holds the room's secrets (its
password hash, the certificates' keys): keep it as safe as the box.
Restore it with: chatbox restore FILE

--rotate is the daily backup that chatbox install schedules when the
config's backup.keep is above 0: it writes into backup.dir and then
removes the oldest daily backups there beyond the newest backup.keep.`,
		Example: `  sudo chatbox backup
  sudo chatbox backup /root/chat.tar.gz
  ssh old-box sudo chatbox backup - > chat.tar.gz
  sudo chatbox backup --rotate`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			target := ""
			if len(args) == 1 {
				target = args[0]
			}
			if o.rotate {
				if target != "" {
					return &usageError{err: errors.New("--rotate writes into the config's backup.dir; give it no FILE")}
				}
				return runRotate(cmd.Context(), s, o)
			}
			return runBackup(cmd.Context(), s, o, target)
		},
	}
	cmd.Flags().StringVar(&o.configPath, "config", config.DefaultPath, "config file of the service, kept in the backup")
	cmd.Flags().StringVar(&o.dataDir, "data", "", "data folder of the running service (overrides the config)")
	cmd.Flags().BoolVar(&o.rotate, "rotate", false, "write into the config's backup.dir and keep only the newest backup.keep there")
	return cmd
}

// runRotate is the daily backup: a checked backup into backup.dir, then
// the oldest daily backups beyond backup.keep removed.
func runRotate(ctx context.Context, s *streams, o backupOptions) error {
	cfg, err := config.Load(o.configPath)
	if err != nil {
		return err
	}
	if cfg.Backup.Keep == 0 {
		return fmt.Errorf("backup.keep is 0 in %s, so daily backups are off; set it to how many to keep", o.configPath)
	}
	dataDir := cfg.Server.DataDir
	if o.dataDir != "" {
		dataDir = o.dataDir
	}
	if err := os.MkdirAll(cfg.Backup.Dir, 0o700); err != nil {
		return fmt.Errorf("make the backup folder: %w", err)
	}
	target := filepath.Join(cfg.Backup.Dir, backup.DailyName(time.Now()))
	src := backup.Source{
		Snapshot:   admin.New(datadir.Layout{Dir: dataDir}.AdminSocket()).Snapshot,
		Layout:     datadir.Layout{Dir: dataDir},
		ConfigPath: o.configPath,
		Version:    buildinfo.Version,
	}
	m, err := writeBackupFile(ctx, target, src)
	if err != nil {
		return backupError(err)
	}
	fmt.Fprintf(s.out, "Backed up %d files, %d bytes, to %s (checked).\n", len(m.Entries), m.Size(), target)
	removed, err := backup.Prune(cfg.Backup.Dir, cfg.Backup.Keep)
	if err != nil {
		return err
	}
	for _, name := range removed {
		fmt.Fprintf(s.out, "Removed the old backup %s (backup.keep = %d).\n", name, cfg.Backup.Keep)
	}
	return nil
}

func runBackup(ctx context.Context, s *streams, o backupOptions, target string) error {
	dataDir, err := serviceDataDir(o.configPath, o.dataDir)
	if err != nil {
		return err
	}
	client := admin.New(datadir.Layout{Dir: dataDir}.AdminSocket())
	src := backup.Source{
		Snapshot:   client.Snapshot,
		Layout:     datadir.Layout{Dir: dataDir},
		ConfigPath: o.configPath,
		Version:    buildinfo.Version,
	}
	if target == "-" {
		m, err := backup.Write(ctx, s.out, src)
		if err != nil {
			return backupError(err)
		}
		fmt.Fprintf(s.err, "Backed up %d files, %d bytes.\n", len(m.Entries), m.Size())
		return nil
	}
	if target == "" {
		target = "chatbox-backup-" + time.Now().Format("20060102-150405") + ".tar.gz"
	}
	m, err := writeBackupFile(ctx, target, src)
	if err != nil {
		return backupError(err)
	}
	fmt.Fprintf(s.out, "Backed up %d files, %d bytes, to %s (checked). Restore it with: chatbox restore %s\n", len(m.Entries), m.Size(), target, target)
	return nil
}

// writeBackupFile writes the backup beside target, reads it back to check
// it, and only then gives it target's name: a failed backup never leaves
// a file that looks whole.
func writeBackupFile(ctx context.Context, target string, src backup.Source) (backup.Manifest, error) {
	f, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".partial-")
	if err != nil {
		return backup.Manifest{}, fmt.Errorf("create the backup file: %w", err)
	}
	defer os.Remove(f.Name()) // a no-op once renamed
	m, err := backup.Write(ctx, f, src)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write the backup file: %w", cerr)
	}
	if err != nil {
		return m, err
	}
	if _, err := backup.VerifyFile(f.Name()); err != nil {
		return m, fmt.Errorf("check the backup just written: %w", err)
	}
	if err := os.Rename(f.Name(), target); err != nil {
		return m, fmt.Errorf("name the backup file: %w", err)
	}
	return m, nil
}

// backupError adds what to do to a backup that found no service.
func backupError(err error) error {
	if errors.Is(err, admin.ErrNotRunning) {
		return fmt.Errorf("%w; a backup is taken by the running service, so start it with: systemctl start chatbox", err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: the service stopped sending the copy of its messages; see chatbox logs", err)
	}
	return err
}
