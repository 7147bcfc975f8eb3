package installer

import (
	"context"
	"fmt"

	"github.com/chatbox-dev/chatbox/config"
	"github.com/chatbox-dev/chatbox/platform"
)

// UpdateJob is the schedule of `chatbox update` that install sets up
// when update.auto is on.
func UpdateJob(p platform.Platform, cfg config.Config) platform.Job {
	return platform.Job{
		Name:        "chatbox-update",
		Description: "Update the system and chatbox from its release channel",
		Command:     []string{p.Paths().Binary, "update"},
		Calendar:    cfg.Update.Schedule,
		RandomDelay: cfg.Update.RandomDelay.Std(),
	}
}

// BackupJob is the schedule of the daily backup (`chatbox backup
// --rotate`) that install sets up when backup.keep is above 0.
func BackupJob(p platform.Platform, cfg config.Config) platform.Job {
	return platform.Job{
		Name:        "chatbox-backup",
		Description: "Back up the chatbox room and keep the newest backups",
		Command:     []string{p.Paths().Binary, "backup", "--rotate"},
		Calendar:    cfg.Backup.Schedule,
	}
}

// scheduleBackups puts the daily backup on the schedule when backup.keep
// asks for backups, or takes it off when it is 0, and reads the host's
// scheduler back before it says done.
func (in *Installer) scheduleBackups(ctx context.Context, h *platform.Host, cfg config.Config) (string, error) {
	p := in.Platform
	j := BackupJob(p, cfg)
	if cfg.Backup.Keep == 0 {
		if err := p.RemoveJob(ctx, h, j); err != nil {
			return "", err
		}
		return fmt.Sprintf("off (backup.keep = 0 in %s)", p.Paths().Config), nil
	}
	if err := p.InstallJob(ctx, h, j); err != nil {
		return "", err
	}
	if in.DryRun {
		return "", nil
	}
	if err := p.JobState(ctx, h, j); err != nil {
		return "", fmt.Errorf("the daily backup is not scheduled: %w", err)
	}
	return fmt.Sprintf("the newest %d kept in %s", cfg.Backup.Keep, cfg.Backup.Dir), nil
}

// scheduleUpdates puts `chatbox update` on the schedule the config asks
// for, or takes it off when update.auto is false, and reads the host's
// scheduler back before it says done.
func (in *Installer) scheduleUpdates(ctx context.Context, h *platform.Host, cfg config.Config) (string, error) {
	p := in.Platform
	j := UpdateJob(p, cfg)
	packaged, err := p.PackageUpdates(ctx, h, cfg.Update.Auto)
	if err != nil {
		return "", err
	}
	if packaged {
		// The package manager owns the binary: the timer would fight it.
		if err := p.RemoveJob(ctx, h, j); err != nil {
			return "", err
		}
		if !cfg.Update.Auto {
			return fmt.Sprintf("off (update.auto = false in %s); chatbox came from a package, so update it with the system's package manager", p.Paths().Config), nil
		}
		return "chatbox came from a package: the system's automatic updates update it", nil
	}
	if !cfg.Update.Auto {
		if err := p.RemoveJob(ctx, h, j); err != nil {
			return "", err
		}
		return fmt.Sprintf("off (update.auto = false in %s); update by hand with: chatbox update", p.Paths().Config), nil
	}
	if err := p.InstallJob(ctx, h, j); err != nil {
		return "", err
	}
	if in.DryRun {
		return "", nil
	}
	if err := p.JobState(ctx, h, j); err != nil {
		return "", fmt.Errorf("chatbox update is not scheduled: %w", err)
	}
	return "", nil
}

// removeJobs takes chatbox's scheduled jobs off the host, for uninstall.
func (in *Installer) removeJobs(ctx context.Context, h *platform.Host) error {
	cfg := config.Default()
	if err := in.Platform.RemoveJob(ctx, h, BackupJob(in.Platform, cfg)); err != nil {
		return err
	}
	return in.Platform.RemoveJob(ctx, h, UpdateJob(in.Platform, cfg))
}
