package installer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// setConfig replaces a line of the installed config.toml.
func setConfig(t *testing.T, sim *simHost, old, new string) {
	t.Helper()
	file := sim.path("/etc/chatbox/config.toml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(old)) {
		t.Fatalf("config.toml has no %q", old)
	}
	if err := os.WriteFile(file, bytes.Replace(data, []byte(old), []byte(new), 1), 0o640); err != nil {
		t.Fatal(err)
	}
}

func TestInstallSchedulesChatboxUpdate(t *testing.T) {
	ctx := context.Background()
	for _, osID := range []string{"debian", "rocky"} {
		t.Run("on "+osID+" install enables a daily timer at a random time that runs chatbox update", func(t *testing.T) {
			var out bytes.Buffer
			in, sim, _ := newSim(t, osID, &out)
			if err := in.Install(ctx, opts(t)); err != nil {
				t.Fatal(err)
			}
			timer := string(sim.readFile(t, "/etc/systemd/system/chatbox-update.timer"))
			for _, line := range []string{"OnCalendar=daily", "RandomizedDelaySec=21600", "FixedRandomDelay=true", "Persistent=true", "WantedBy=timers.target"} {
				if !strings.Contains(timer, "\n"+line+"\n") {
					t.Errorf("the timer has no line %q:\n%s", line, timer)
				}
			}
			service := string(sim.readFile(t, "/etc/systemd/system/chatbox-update.service"))
			if !strings.Contains(service, "\nType=oneshot\nExecStart=/usr/local/bin/chatbox update\n") {
				t.Errorf("the service does not run chatbox update once:\n%s", service)
			}
			if !sim.exists("/etc/systemd/system/timers.target.wants/chatbox-update.timer") {
				t.Error("the timer is not enabled")
			}
			if !strings.Contains(out.String(), "run: systemctl enable --now chatbox-update.timer\n done\n") {
				t.Errorf("install did not report the schedule as done:\n%s", &out)
			}
		})
	}

	t.Run("a new schedule in the config rewrites the timer and restarts it", func(t *testing.T) {
		var out bytes.Buffer
		in, sim, _ := newSim(t, "debian", &out)
		if err := in.Install(ctx, opts(t)); err != nil {
			t.Fatal(err)
		}
		setConfig(t, sim, `schedule = "daily"`, `schedule = "*-*-* 03:30"`)
		setConfig(t, sim, `random_delay = "6h0m0s"`, `random_delay = "0s"`)
		out.Reset()
		if err := in.Install(ctx, opts(t)); err != nil {
			t.Fatal(err)
		}
		timer := string(sim.readFile(t, "/etc/systemd/system/chatbox-update.timer"))
		if !strings.Contains(timer, "\nOnCalendar=*-*-* 03:30\nRandomizedDelaySec=0\n") {
			t.Errorf("the timer does not follow the config:\n%s", timer)
		}
		if !strings.Contains(out.String(), "run: systemctl restart chatbox-update.timer\n") {
			t.Errorf("the changed timer was not restarted:\n%s", &out)
		}
	})

	t.Run("update.auto = false takes the timer away and says how to update by hand", func(t *testing.T) {
		var out bytes.Buffer
		in, sim, _ := newSim(t, "debian", &out)
		if err := in.Install(ctx, opts(t)); err != nil {
			t.Fatal(err)
		}
		setConfig(t, sim, "auto = true", "auto = false")
		out.Reset()
		if err := in.Install(ctx, opts(t)); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"/etc/systemd/system/chatbox-update.timer", "/etc/systemd/system/chatbox-update.service", "/etc/systemd/system/timers.target.wants/chatbox-update.timer"} {
			if sim.exists(p) {
				t.Errorf("%s is still there", p)
			}
		}
		if want := " off (update.auto = false in /etc/chatbox/config.toml); update by hand with: chatbox update\n"; !strings.Contains(out.String(), want) {
			t.Errorf("install did not say %q:\n%s", want, &out)
		}
	})

	t.Run("a timer systemd does not report enabled fails the step in one sentence", func(t *testing.T) {
		var out bytes.Buffer
		in, sim, _ := newSim(t, "debian", &out)
		sim.timersStayOff = true
		err := in.Install(ctx, opts(t))
		if err == nil || !strings.HasSuffix(err.Error(), "(scheduling automatic chatbox updates) failed: chatbox update is not scheduled: systemd says chatbox-update.timer is not enabled") {
			t.Fatalf("install with a timer that stays off: %v", err)
		}
	})

	t.Run("on openbsd install adds chatbox update to daily.local beside the system updates", func(t *testing.T) {
		var out bytes.Buffer
		in, sim, _ := newSim(t, "openbsd", &out)
		if err := in.Install(ctx, opts(t)); err != nil {
			t.Fatal(err)
		}
		daily := string(sim.readFile(t, "/etc/daily.local"))
		want := "# chatbox: chatbox-update (begin)\n# Written by chatbox install: Update the system and chatbox from its release channel, every night.\n/usr/local/bin/chatbox update\n# chatbox: chatbox-update (end)\n"
		if !strings.Contains(daily, want) || !strings.Contains(daily, "/usr/sbin/syspatch\n") {
			t.Errorf("daily.local:\n%s", daily)
		}
		setConfig(t, sim, "auto = true", "auto = false")
		if err := in.Install(ctx, opts(t)); err != nil {
			t.Fatal(err)
		}
		daily = string(sim.readFile(t, "/etc/daily.local"))
		if strings.Contains(daily, "chatbox update") || !strings.Contains(daily, "/usr/sbin/syspatch\n") {
			t.Errorf("with update.auto = false daily.local still runs chatbox update, or lost the system updates:\n%s", daily)
		}
	})

	t.Run("a chatbox from the apt repository is updated by unattended-upgrades, not by the timer", func(t *testing.T) {
		var out bytes.Buffer
		in, sim, _ := newSim(t, "debian", &out)
		sim.appendLine("/var/lib/dpkg/status", "Package: chatbox\nStatus: install ok installed\nVersion: 1.0.0-1\n")
		if err := in.Install(ctx, opts(t)); err != nil {
			t.Fatal(err)
		}
		if sim.exists("/etc/systemd/system/chatbox-update.timer") {
			t.Error("a packaged chatbox got the update timer too")
		}
		origin := string(sim.readFile(t, "/etc/apt/apt.conf.d/99chatbox-origin"))
		if !strings.Contains(origin, `"origin=chatbox,codename=stable";`) {
			t.Errorf("unattended-upgrades' origins do not name chatbox's repository:\n%s", origin)
		}
		if !strings.Contains(out.String(), " chatbox came from a package: the system's automatic updates update it\n") {
			t.Errorf("install did not say who updates chatbox:\n%s", &out)
		}
		setConfig(t, sim, "auto = true", "auto = false")
		out.Reset()
		if err := in.Install(ctx, opts(t)); err != nil {
			t.Fatal(err)
		}
		if sim.exists("/etc/apt/apt.conf.d/99chatbox-origin") {
			t.Error("update.auto = false left chatbox among unattended-upgrades' origins")
		}
		if !strings.Contains(out.String(), "chatbox came from a package, so update it with the system's package manager\n") {
			t.Errorf("install did not say how to update by hand:\n%s", &out)
		}
	})

	t.Run("a chatbox rpm is updated by dnf-automatic, not by the timer", func(t *testing.T) {
		var out bytes.Buffer
		in, sim, _ := newSim(t, "rocky", &out)
		sim.rpm["chatbox"] = true
		if err := in.Install(ctx, opts(t)); err != nil {
			t.Fatal(err)
		}
		if sim.exists("/etc/systemd/system/chatbox-update.timer") {
			t.Error("a packaged chatbox got the update timer too")
		}
	})

	t.Run("uninstall takes the timer away", func(t *testing.T) {
		var out bytes.Buffer
		in, sim, _ := newSim(t, "debian", &out)
		if err := in.Install(ctx, opts(t)); err != nil {
			t.Fatal(err)
		}
		if err := in.Uninstall(ctx, UninstallOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"/etc/systemd/system/chatbox-update.timer", "/etc/systemd/system/timers.target.wants/chatbox-update.timer"} {
			if sim.exists(p) {
				t.Errorf("%s is still there after uninstall", p)
			}
		}
	})
}

func TestInstallSchedulesDailyBackups(t *testing.T) {
	ctx := context.Background()
	t.Run("backup.keep above 0 enables a daily timer that runs chatbox backup --rotate", func(t *testing.T) {
		var out bytes.Buffer
		in, sim, _ := newSim(t, "rocky", &out)
		if err := in.Install(ctx, opts(t)); err != nil {
			t.Fatal(err)
		}
		if sim.exists("/etc/systemd/system/chatbox-backup.timer") {
			t.Fatal("a fresh install (backup.keep = 0) scheduled backups")
		}
		setConfig(t, sim, "keep = 0", "keep = 7")
		out.Reset()
		if err := in.Install(ctx, opts(t)); err != nil {
			t.Fatal(err)
		}
		timer := string(sim.readFile(t, "/etc/systemd/system/chatbox-backup.timer"))
		if !strings.Contains(timer, "\nOnCalendar=daily\n") {
			t.Errorf("the backup timer:\n%s", timer)
		}
		service := string(sim.readFile(t, "/etc/systemd/system/chatbox-backup.service"))
		if !strings.Contains(service, "\nExecStart=/usr/local/bin/chatbox backup --rotate\n") {
			t.Errorf("the backup service:\n%s", service)
		}
		if !strings.Contains(out.String(), "restorecon -RF /etc/systemd/system/chatbox-backup.service /etc/systemd/system/chatbox-backup.timer\n") {
			t.Errorf("the units were not relabelled for SELinux:\n%s", &out)
		}
		if !strings.Contains(out.String(), " the newest 7 kept in /var/backups/chatbox\n") {
			t.Errorf("install did not say how many backups are kept where:\n%s", &out)
		}
		setConfig(t, sim, "keep = 7", "keep = 0")
		if err := in.Install(ctx, opts(t)); err != nil {
			t.Fatal(err)
		}
		if sim.exists("/etc/systemd/system/chatbox-backup.timer") || sim.exists("/etc/systemd/system/timers.target.wants/chatbox-backup.timer") {
			t.Error("backup.keep = 0 left the backup timer")
		}
	})
	t.Run("on openbsd the daily backup is a daily.local block", func(t *testing.T) {
		var out bytes.Buffer
		in, sim, _ := newSim(t, "openbsd", &out)
		if err := in.Install(ctx, opts(t)); err != nil {
			t.Fatal(err)
		}
		setConfig(t, sim, "keep = 0", "keep = 3")
		if err := in.Install(ctx, opts(t)); err != nil {
			t.Fatal(err)
		}
		daily := string(sim.readFile(t, "/etc/daily.local"))
		if !strings.Contains(daily, "# chatbox: chatbox-backup (begin)\n# Written by chatbox install: Back up the chatbox room and keep the newest backups, every night.\n/usr/local/bin/chatbox backup --rotate\n# chatbox: chatbox-backup (end)\n") {
			t.Errorf("daily.local:\n%s", daily)
		}
		if err := in.Uninstall(ctx, UninstallOptions{}); err != nil {
			t.Fatal(err)
		}
		if daily := string(sim.readFile(t, "/etc/daily.local")); strings.Contains(daily, "chatbox backup") || strings.Contains(daily, "chatbox update") {
			t.Errorf("uninstall left chatbox's jobs in daily.local:\n%s", daily)
		}
	})
}

func (s *simHost) readFile(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(s.root, p))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
