package main

import (
	"net/http"
	"path/filepath"
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
