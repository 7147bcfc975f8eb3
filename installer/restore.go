package installer

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"strconv"

	"github.com/chatbox-dev/chatbox/installer/backup"
	"github.com/chatbox-dev/chatbox/platform"
)

// Restore puts the backup in file in place of this box's data and config,
// stopping and starting the service around it (backup.Restore says how).
// It runs on the live machine only, as root, on a box where chatbox is
// installed.
func (in *Installer) Restore(ctx context.Context, file string) error {
	if in.DryRun || !in.Host.Live {
		return errors.New("restore works on this machine only, without --dry-run or --root")
	}
	if !in.probe().IsRoot() {
		return errors.New("restore changes the service's files; run it as root (sudo chatbox restore FILE)")
	}
	p := in.Platform
	paths := p.Paths()
	if !in.Host.Exists(paths.Config) {
		return fmt.Errorf("%s is missing: chatbox is not installed here; run chatbox install first, then restore", paths.Config)
	}
	acct, err := user.Lookup(p.User())
	if err != nil {
		return fmt.Errorf("find the service's account %s: %w; run chatbox install first", p.User(), err)
	}
	uid, err1 := strconv.Atoi(acct.Uid)
	gid, err2 := strconv.Atoi(acct.Gid)
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("read the ids of the account %s: %w", p.User(), err)
	}
	cfg := in.loadConfig()
	fmt.Fprintf(in.Out, "Checking %s...\n", file)
	res, err := backup.Restore(ctx, file, backup.Target{
		DataDir:    cfg.Server.DataDir,
		ConfigPath: paths.Config,
		UID:        uid,
		GID:        gid,
		Service:    serviceControl{in: in, h: in.Host},
	})
	if bad, ok := errors.AsType[*backup.BadArchiveError](err); ok {
		return fmt.Errorf("%s cannot be restored: %w; nothing was changed", file, bad)
	}
	if err != nil {
		return err
	}
	m := res.Manifest
	fmt.Fprintf(in.Out, "Restored the backup of %s (%d files, %d bytes, made by chatbox %s); chatbox is running on it.\n",
		m.Created.Local().Format("2006-01-02 15:04"), len(m.Entries), m.Size(), m.Version)
	if res.MovedFrom != "" {
		fmt.Fprintf(in.Out, "The backup's config kept the data in %s; this box keeps it in %s, and the restored config says so now.\n", res.MovedFrom, cfg.Server.DataDir)
	}
	if res.OldData != "" {
		fmt.Fprintf(in.Out, "The data it replaced is kept in %s; delete it when you no longer need it.\n", res.OldData)
	}
	if res.OldConfig != "" {
		fmt.Fprintf(in.Out, "The config it replaced is kept as %s.\n", res.OldConfig)
	}
	return nil
}

// serviceControl stops and starts the service through the platform, and
// waits for it to answer after a start.
type serviceControl struct {
	in *Installer
	h  *platform.Host
}

func (s serviceControl) Stop(ctx context.Context) error {
	fmt.Fprintln(s.in.Out, "Stopping chatbox...")
	return s.in.Platform.StopService(ctx, s.h)
}

func (s serviceControl) Start(ctx context.Context) error {
	fmt.Fprintln(s.in.Out, "Starting chatbox and waiting for it to answer...")
	return s.in.restartAndWait(ctx, s.h)
}
