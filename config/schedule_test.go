package config

import (
	"strings"
	"testing"
	"time"
)

func TestScheduleSettingsAreValidated(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		want   string // "" when valid
	}{
		{"The defaults are valid, with automatic updates on and no daily backup", func(c *Config) {}, ""},
		{"A calendar with a time is accepted", func(c *Config) { c.Update.Schedule = "*-*-* 03:30:00" }, ""},
		{"Weekdays are accepted", func(c *Config) { c.Update.Schedule = "Mon..Fri 04:00" }, ""},
		{"An empty update schedule is refused", func(c *Config) { c.Update.Schedule = "" }, "update.schedule: is empty"},
		{"A newline in the update schedule is refused", func(c *Config) { c.Update.Schedule = "daily\nExecStart=/bin/sh" }, `update.schedule: "daily\nExecStart=/bin/sh" has '\n'`},
		{"A quote in the update schedule is refused", func(c *Config) { c.Update.Schedule = `daily"` }, `update.schedule: "daily\"" has '"'`},
		{"A random delay over a day is refused", func(c *Config) { c.Update.RandomDelay = Duration(25 * time.Hour) }, "update.random_delay: must be between 0s and 24h"},
		{"A negative random delay is refused", func(c *Config) { c.Update.RandomDelay = Duration(-time.Second) }, "update.random_delay: must be between 0s and 24h"},
		{"Keeping seven backups is accepted", func(c *Config) { c.Backup.Keep = 7 }, ""},
		{"A negative keep is refused", func(c *Config) { c.Backup.Keep = -1 }, "backup.keep: must be between 0 (no daily backup) and 1000"},
		{"Too many kept backups are refused", func(c *Config) { c.Backup.Keep = 1001 }, "backup.keep: must be between 0 (no daily backup) and 1000"},
		{"A relative backup directory is refused", func(c *Config) { c.Backup.Keep = 7; c.Backup.Dir = "backups" }, `backup.dir: must be an absolute directory`},
		{"The root as backup directory is refused", func(c *Config) { c.Backup.Keep = 7; c.Backup.Dir = "/" }, `backup.dir: must be an absolute directory`},
		{"A percent sign in the backup directory is refused", func(c *Config) { c.Backup.Keep = 7; c.Backup.Dir = "/var/b%n" }, `backup.dir: must be an absolute directory`},
		{"A bad backup schedule is refused when backups are on", func(c *Config) { c.Backup.Keep = 7; c.Backup.Schedule = "" }, "backup.schedule: is empty"},
		{"The backup directory is not checked while backups are off", func(c *Config) { c.Backup.Dir = "" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.change(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate: %v, want no error", err)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
				t.Errorf("Validate: %v, want an error starting %q", err, tt.want)
			}
		})
	}
}
