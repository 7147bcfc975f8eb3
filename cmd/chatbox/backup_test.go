package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chatbox-dev/chatbox/installer/backup"
)

func TestBackupCommand(t *testing.T) {
	t.Run("says the service is not running, in one sentence", func(t *testing.T) {
		target := filepath.Join(t.TempDir(), "room.tar.gz")
		code, _, errOut := runCLI(t, "backup", target, "--data", t.TempDir(), "--config", filepath.Join(t.TempDir(), "none.toml"))
		if code != 1 || !strings.Contains(errOut, "the chatbox service is not running") || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
			t.Errorf("backup without a service: %d %q", code, errOut)
		}
		if _, err := backup.VerifyFile(target); err == nil {
			t.Error("a failed backup left a file behind")
		}
	})
	t.Run("writes a checked archive of the running room", func(t *testing.T) {
		if testing.Short() {
			t.Skip("builds and runs the real binary")
		}
		bin := buildChatbox(t)
		data := t.TempDir()
		srv := startDev(t, bin, data)
		res, err := http.Post(srv.url+"/api/messages", "application/json", strings.NewReader(`{"nick":"ann","text":"keep me"}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		target := filepath.Join(t.TempDir(), "room.tar.gz")
		code, out, errOut := runCLI(t, "backup", target, "--data", data, "--config", filepath.Join(t.TempDir(), "none.toml"))
		if code != 0 || !strings.Contains(out, "(checked)") {
			t.Fatalf("backup: %d\n%s%s", code, out, errOut)
		}
		m, err := backup.VerifyFile(target)
		if err != nil || len(m.Entries) == 0 || m.Entries[0].Path != "data/messages.db" {
			t.Fatalf("the archive: %+v, %v", m, err)
		}
	})
}

func TestBackupRotate(t *testing.T) {
	writeConfig := func(t *testing.T, keep int, dir string) string {
		t.Helper()
		file := filepath.Join(t.TempDir(), "config.toml")
		if err := os.WriteFile(file, []byte(fmt.Sprintf("[backup]\nkeep = %d\ndir = %q\n", keep, dir)), 0o600); err != nil {
			t.Fatal(err)
		}
		return file
	}
	t.Run("refuses while backup.keep is 0, in one sentence", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "backups")
		conf := writeConfig(t, 0, dir)
		code, _, errOut := runCLI(t, "backup", "--rotate", "--config", conf, "--data", t.TempDir())
		if want := "backup.keep is 0 in " + conf + ", so daily backups are off; set it to how many to keep"; code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("backup --rotate with keep = 0: %d %q, want %q", code, errOut, want)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Error("the refused rotate made the backup folder")
		}
	})
	t.Run("refuses a FILE as a usage mistake", func(t *testing.T) {
		code, _, errOut := runCLI(t, "backup", "--rotate", "x.tar.gz")
		if code != 2 || !strings.Contains(errOut, "--rotate writes into the config's backup.dir; give it no FILE") {
			t.Errorf("backup --rotate FILE: %d %q", code, errOut)
		}
	})
	t.Run("writes a checked backup into backup.dir and keeps the newest backup.keep", func(t *testing.T) {
		if testing.Short() {
			t.Skip("builds and runs the real binary")
		}
		bin := buildChatbox(t)
		data := t.TempDir()
		srv := startDev(t, bin, data)
		res, err := http.Post(srv.url+"/api/messages", "application/json", strings.NewReader(`{"nick":"ann","text":"keep me"}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		dir := filepath.Join(t.TempDir(), "backups")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		old := []string{"chatbox-backup-20200101-000000.tar.gz", "chatbox-backup-20200102-000000.tar.gz"}
		for _, name := range append(slices.Clone(old), "notes.txt") {
			if err := os.WriteFile(filepath.Join(dir, name), []byte("old"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		code, out, errOut := runCLI(t, "backup", "--rotate", "--config", writeConfig(t, 2, dir), "--data", data)
		if code != 0 {
			t.Fatalf("backup --rotate: %d\n%s%s", code, out, errOut)
		}
		if !strings.Contains(out, "Removed the old backup "+old[0]+" (backup.keep = 2).") {
			t.Errorf("rotate did not say it removed the oldest backup:\n%s", out)
		}
		entries, _ := os.ReadDir(dir)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if len(names) != 3 || names[0] != old[1] || names[2] != "notes.txt" || !strings.HasPrefix(names[1], "chatbox-backup-20") {
			t.Fatalf("the backup folder holds %q, want %s, the new backup and notes.txt", names, old[1])
		}
		m, err := backup.VerifyFile(filepath.Join(dir, names[1]))
		if err != nil || m.Entries[0].Path != "data/messages.db" {
			t.Fatalf("the new backup: %+v, %v", m, err)
		}
	})
}
