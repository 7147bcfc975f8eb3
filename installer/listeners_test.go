package installer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeListener puts into the simulated host's /proc a process pid running
// exe that listens on TCP port, and into dpkg's lists the package owning
// exe when pkg is not empty.
func fakeListener(t *testing.T, root string, port, pid int, exe, pkg string) {
	t.Helper()
	proc := filepath.Join(root, "proc")
	inode := 9000 + pid
	line := fmt.Sprintf("   0: 00000000:%04X 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 %d 1 0000000000000000 100 0 0 10 0\n", port, inode)
	tcp := filepath.Join(proc, "net", "tcp")
	old, err := os.ReadFile(tcp)
	if err != nil {
		old = []byte("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n")
	}
	mustWrite(t, tcp, string(old)+line)
	fd := filepath.Join(proc, fmt.Sprint(pid), "fd")
	if err := os.MkdirAll(fd, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"fd/0": "/dev/null", "fd/6": fmt.Sprintf("socket:[%d]", inode), "exe": exe} {
		if err := os.Symlink(target, filepath.Join(proc, fmt.Sprint(pid), name)); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, filepath.Join(proc, fmt.Sprint(pid), "comm"), filepath.Base(exe)+"\n")
	if pkg != "" {
		mustWrite(t, filepath.Join(root, "var/lib/dpkg/info", pkg+".list"), "/.\n/usr\n/usr/sbin\n"+exe+"\n")
	}
}

func mustWrite(t *testing.T, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestInstallNeverTakesOverAWebServer(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, osID string
		port       int
		exe, pkg   string
		want       string
	}{
		{"nginx on port 80 is named with its package", "debian", 80, "/usr/sbin/nginx", "nginx", "nginx (package nginx) is listening on port 80"},
		{"apache on port 443 is named with its package", "ubuntu", 443, "/usr/sbin/apache2", "apache2-bin", "apache2 (package apache2-bin) is listening on port 443"},
		{"caddy on a system without dpkg is named by its program", "rocky", 443, "/usr/bin/caddy", "", "caddy is listening on port 443"},
	}
	for _, tt := range tests {
		for _, dry := range []bool{false, true} {
			name := tt.name + " and install stops"
			if dry {
				name = tt.name + " in a dry run too"
			}
			t.Run(name, func(t *testing.T) {
				var out bytes.Buffer
				in, sim, _ := newSim(t, tt.osID, &out)
				in.DryRun = dry
				fakeListener(t, sim.root, tt.port, 812, tt.exe, tt.pkg)
				before := snapshot(t, sim.root)
				err := in.Install(ctx, opts(t))
				var le *ListenerError
				if !errors.As(err, &le) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("got %v, want a ListenerError saying %q", err, tt.want)
				}
				for _, way := range []string{"--behind-proxy", "stop and disable it first"} {
					if !strings.Contains(err.Error(), way) {
						t.Errorf("the refusal does not offer %q: %v", way, err)
					}
				}
				if sim.n != 0 || snapshot(t, sim.root) != before {
					t.Errorf("the host was changed (%d changes)", sim.n)
				}
				if strings.Contains(out.String(), "run: ") || strings.Contains(out.String(), "write: ") {
					t.Errorf("the plan goes on past the finding:\n%s", &out)
				}
			})
		}
	}
}

func TestInstallGoesOnWhenChatboxItselfListens(t *testing.T) {
	var out bytes.Buffer
	in, sim, _ := newSim(t, "debian", &out)
	fakeListener(t, sim.root, 443, 77, "/usr/local/bin/chatbox", "")
	if err := in.Install(context.Background(), opts(t)); err != nil {
		t.Fatalf("install refused its own service: %v\n%s", err, &out)
	}
}

func TestInstallBehindProxyLeavesTheWebServerAlone(t *testing.T) {
	var out bytes.Buffer
	in, sim, _ := newSim(t, "debian", &out)
	in.DryRun = true
	fakeListener(t, sim.root, 80, 812, "/usr/sbin/nginx", "nginx")
	fakeListener(t, sim.root, 443, 813, "/usr/sbin/nginx", "")
	o := opts(t)
	o.BehindProxy = true
	if err := in.Install(context.Background(), o); err != nil {
		t.Fatalf("install --behind-proxy: %v\n%s", err, &out)
	}
	for _, want := range []string{"write: /usr/share/doc/chatbox/nginx.conf (0644)", "write: /usr/share/doc/chatbox/Caddyfile (0644)", "write: /usr/share/doc/chatbox/apache.conf (0644)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the plan has no %q:\n%s", want, &out)
		}
	}
	if strings.Contains(out.String(), "ufw") || strings.Contains(out.String(), "Opening ports") {
		t.Errorf("the plan opens the firewall the proxy already holds:\n%s", &out)
	}
	conf, err := os.ReadFile(filepath.Join(sim.root, "/usr/share/doc/chatbox/nginx.conf"))
	if err != nil || !strings.Contains(string(conf), "proxy_pass http://127.0.0.1:8080;") {
		t.Errorf("nginx.conf: %v\n%s", err, conf)
	}
	cfg, err := os.ReadFile(filepath.Join(sim.root, "/etc/chatbox/config.toml"))
	if err != nil || !strings.Contains(string(cfg), `mode = "proxy"`) || !strings.Contains(string(cfg), `public_url = "https://chat.example.com/"`) {
		t.Errorf("config.toml: %v\n%s", err, cfg)
	}
}
