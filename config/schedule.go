package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// Backup says whether and where the box keeps daily backups of itself.
type Backup struct {
	// Keep is how many daily backups are kept, the newest; 0 turns the
	// daily backup off.
	Keep int `toml:"keep"`
	// Dir is the directory the backups are written to (root only).
	Dir string `toml:"dir"`
	// Schedule is when the backup runs, as systemd's OnCalendar.
	Schedule string `toml:"schedule"`
}

// Default schedule values, owned here for config.Default.
const (
	defaultUpdateSchedule    = "daily"
	defaultUpdateRandomDelay = 6 * time.Hour
	defaultBackupDir         = "/var/backups/chatbox"
	defaultBackupSchedule    = "daily"
	// MaxBackupKeep bounds backup.keep.
	MaxBackupKeep = 1000
)

// validateSchedules checks the [update] schedule and the [backup] table.
func (c Config) validateSchedules() error {
	if err := checkCalendar(c.Update.Schedule); err != nil {
		return bad("update.schedule", "%v", err)
	}
	if d := c.Update.RandomDelay.Std(); d < 0 || d > 24*time.Hour {
		return bad("update.random_delay", "must be between 0s and 24h")
	}
	b := c.Backup
	if b.Keep < 0 || b.Keep > MaxBackupKeep {
		return bad("backup.keep", "must be between 0 (no daily backup) and %d", MaxBackupKeep)
	}
	if b.Keep > 0 {
		if !filepath.IsAbs(b.Dir) || filepath.Clean(b.Dir) == "/" || strings.ContainsAny(b.Dir, "\n\r\t\"'\\%$`") {
			return bad("backup.dir", "must be an absolute directory other than / with no quotes, %%, $ or control characters, not %q", b.Dir)
		}
		if err := checkCalendar(b.Schedule); err != nil {
			return bad("backup.schedule", "%v", err)
		}
	}
	return nil
}

// checkCalendar accepts what can be systemd's OnCalendar: "daily",
// "*-*-* 04:00:00", "Mon..Fri 03:30". systemd itself checks the meaning
// when the timer is installed; this keeps a unit file from being broken
// by a quote or a newline.
func checkCalendar(s string) error {
	if s == "" {
		return fmt.Errorf("is empty; say when, as systemd's OnCalendar does (\"daily\", \"*-*-* 04:00\")")
	}
	if len(s) > 100 {
		return fmt.Errorf("is longer than 100 characters")
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(" *-:,./~", r)) {
			return fmt.Errorf("%q has %q, which an OnCalendar expression (\"daily\", \"*-*-* 04:00\") does not", s, r)
		}
	}
	return nil
}
