package backup

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"
)

// dailyName matches the names DailyName makes, and nothing else: Prune
// never touches another file in the folder.
var dailyName = regexp.MustCompile(`^chatbox-backup-[0-9]{8}-[0-9]{6}\.tar\.gz$`)

// DailyName is the file name of the backup made at t, in UTC, so that the
// names sort as the times do.
func DailyName(t time.Time) string {
	return "chatbox-backup-" + t.UTC().Format("20060102-150405") + ".tar.gz"
}

// Prune removes the oldest backups named by DailyName in dir until keep
// are left, and returns the names it removed, oldest first. Other files
// in dir are left alone.
func Prune(dir string, keep int) ([]string, error) {
	if keep < 1 {
		return nil, fmt.Errorf("keep %d backups: at least 1 must be kept", keep)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list the backups: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && dailyName.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	if len(names) <= keep {
		return nil, nil
	}
	old := names[:len(names)-keep]
	for i, name := range old {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return old[:i], fmt.Errorf("remove the old backup %s: %w", name, err)
		}
	}
	return old, nil
}
