package backup

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestPruneKeepsTheNewestDailyBackups(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 1, 30, 23, 59, 0, 0, time.UTC)
	var made []string
	for i := range 5 {
		name := DailyName(start.Add(time.Duration(i) * 24 * time.Hour))
		made = append(made, name)
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Files the daily backup did not make are never removed.
	others := []string{"chatbox-backup-20200101-000000.tar.gz.partial-1", "room.tar.gz", "chatbox-backup-2020.tar.gz"}
	for _, name := range others {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "chatbox-backup-19990101-000000.tar.gz"), 0o700); err != nil {
		t.Fatal(err)
	}

	removed, err := Prune(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(removed, made[:2]) {
		t.Errorf("Prune removed %q, want the two oldest %q", removed, made[:2])
	}
	entries, _ := os.ReadDir(dir)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := append(append([]string{"chatbox-backup-19990101-000000.tar.gz"}, others...), made[2:]...)
	slices.Sort(want)
	if !slices.Equal(left, want) {
		t.Errorf("left %q, want %q", left, want)
	}

	t.Run("a folder with no more than keep backups is left as it is", func(t *testing.T) {
		removed, err := Prune(dir, 3)
		if err != nil || len(removed) != 0 {
			t.Errorf("Prune again: %q, %v", removed, err)
		}
	})
	t.Run("keeping none is refused", func(t *testing.T) {
		if _, err := Prune(dir, 0); err == nil {
			t.Error("Prune(dir, 0) removed every backup")
		}
	})
	t.Run("the names sort as the times do across a year", func(t *testing.T) {
		a, b := DailyName(time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC)), DailyName(time.Date(2027, 1, 1, 1, 0, 0, 0, time.UTC))
		if a >= b {
			t.Errorf("%s sorts after %s", a, b)
		}
	})
}
