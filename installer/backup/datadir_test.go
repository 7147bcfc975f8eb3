package backup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatbox-dev/chatbox/config"
)

// TestRestorePointsTheConfigAtThisBoxsDataDir restores backups whose
// config names another data directory than the box's: the restored config
// names the box's (the only one its service may write), and keeps every
// other line.
func TestRestorePointsTheConfigAtThisBoxsDataDir(t *testing.T) {
	cases := []struct {
		name, config string
		moved        bool
	}{
		{"a config that sets another data_dir", "# my box\n[server]\ndomain = \"chat.example.com\"\ndata_dir = \"/srv/old-box\"\n\n[room]\nprivate = true\n", true},
		{"a config whose [server] table leaves data_dir to its default", "# my box\n[server]\ndomain = \"chat.example.com\"\n\n[room]\nprivate = true\n", true},
		{"a config with no [server] table", "[room]\nprivate = true", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			store := entry{name: storeName, body: "not really bbolt"}
			archive := filepath.Join(t.TempDir(), "box.tar.gz")
			if err := os.WriteFile(archive, craft(t, []entry{store, {name: configName, body: c.config}}, nil), 0o600); err != nil {
				t.Fatal(err)
			}
			dataDir, configPath := fresh(t)
			res, err := Restore(t.Context(), archive, Target{DataDir: dataDir, ConfigPath: configPath, UID: -1, GID: -1, Service: &recorder{}})
			if err != nil {
				t.Fatal(err)
			}
			restored, err := os.ReadFile(configPath)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Parse(restored)
			if err != nil {
				t.Fatalf("the restored config does not load: %v\n%s", err, restored)
			}
			if cfg.Server.DataDir != dataDir {
				t.Errorf("the restored config's data_dir is %q, want this box's %q:\n%s", cfg.Server.DataDir, dataDir, restored)
			}
			if !cfg.Room.Private {
				t.Errorf("the restored config lost room.private:\n%s", restored)
			}
			if strings.Contains(c.config, "# my box") && !strings.HasPrefix(string(restored), "# my box\n") {
				t.Errorf("the restored config lost its comment:\n%s", restored)
			}
			want := config.Default().Server.DataDir
			if strings.Contains(c.config, "/srv/old-box") {
				want = "/srv/old-box"
			}
			if res.MovedFrom != want {
				t.Errorf("MovedFrom = %q, want %q", res.MovedFrom, want)
			}
		})
	}

	t.Run("a config that already names this box's data_dir is restored byte for byte", func(t *testing.T) {
		dataDir, configPath := fresh(t)
		text := "[server]\ndata_dir = \"" + dataDir + "\" # mine\n"
		archive := filepath.Join(t.TempDir(), "box.tar.gz")
		if err := os.WriteFile(archive, craft(t, []entry{{name: storeName, body: "x"}, {name: configName, body: text}}, nil), 0o600); err != nil {
			t.Fatal(err)
		}
		res, err := Restore(t.Context(), archive, Target{DataDir: dataDir, ConfigPath: configPath, UID: -1, GID: -1, Service: &recorder{}})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(configPath); string(got) != text || res.MovedFrom != "" {
			t.Errorf("the config became %q (moved from %q), want it as it was", got, res.MovedFrom)
		}
	})

	t.Run("a config that does not load is refused before the service stops", func(t *testing.T) {
		archive := filepath.Join(t.TempDir(), "box.tar.gz")
		if err := os.WriteFile(archive, craft(t, []entry{{name: storeName, body: "x"}, {name: configName, body: "[server]\ndata_dir = 5\n"}}, nil), 0o600); err != nil {
			t.Fatal(err)
		}
		dataDir, configPath := fresh(t)
		svc := &recorder{}
		_, err := Restore(t.Context(), archive, Target{DataDir: dataDir, ConfigPath: configPath, UID: -1, GID: -1, Service: svc})
		if err == nil || !strings.Contains(err.Error(), "the backup's config does not load here") || !strings.HasSuffix(err.Error(), "nothing was changed") {
			t.Fatalf("Restore = %v, want the config refused", err)
		}
		if len(svc.calls) > 0 {
			t.Errorf("the service was touched: %v", svc.calls)
		}
		if got, _ := os.ReadFile(configPath); string(got) != "# the new box's config\n" {
			t.Errorf("the box's config changed: %q", got)
		}
	})
}
