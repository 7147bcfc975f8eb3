package installer

// The real run: chatbox install, update and uninstall on Debian bookworm
// under a real systemd. A debootstrap tree (cached between runs) is booted
// with systemd-nspawn and the freshly built binary runs inside it through
// nsenter. Set CHATBOX_E2E=1 to run it; it needs root, debootstrap,
// systemd-nspawn and a Debian mirror in the machine's apt sources.
//
// The container shares the machine's network, which apt needs to reach
// the mirror. So that nothing else is contacted (the box would otherwise
// ask Let's Encrypt for a certificate), the tree resolves only the
// mirror's name, through /etc/hosts; every other name fails to resolve.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	e2eSuite    = "bookworm"
	e2eInclude  = "systemd,systemd-sysv,dbus,libpam-systemd,ca-certificates"
	e2eHostname = "chatbox-e2e"
)

func TestDebianInstallUnderSystemd(t *testing.T) {
	tree, bin := e2eDebianTree(t, "chroot")
	// The walk-through, cloud-init's install with its Python and two
	// reboots, nginx and Caddy in front of the box included, stays well under this on a busy machine.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()

	c, why := bootContainer(ctx, t, tree)
	if c == nil {
		rootFallback(ctx, t, tree)
		t.Skipf("systemd-nspawn could not boot the tree (%s); ran install --root into it instead, which enables the service but cannot start it", why)
	}

	installArgs := []string{"/root/chatbox", "install", "--yes", "--ip", "127.0.0.1", "--hostname", e2eHostname, "--private"}
	password := ""
	t.Run("install sets up a running box", func(t *testing.T) {
		out, err := c.exec(ctx, installArgs...)
		if err != nil {
			t.Fatalf("install: %v\n%s", err, out)
		}
		if m := regexp.MustCompile(`\|  Password:  (\S{8,})`).FindStringSubmatch(out); m != nil {
			password = m[1]
		}
		t.Logf("install:\n%s", out)
		if !strings.Contains(out, "[12/12] Starting chatbox ... done") || !strings.Contains(out, "https://127.0.0.1/") {
			t.Errorf("install did not report a started room:\n%s", out)
		}
		if !regexp.MustCompile(`\|  Password:  \S{8,}`).MatchString(out) {
			t.Errorf("install did not show the private room's password:\n%s", out)
		}
		// The password travels through the admin socket only, never a file.
		if _, err := os.Stat(filepath.Join(tree, "var/lib/chatbox/initial-password")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a password file is in the data directory: %v", err)
		}
		if out, err := c.exec(ctx, "dpkg-query", "-W", "-f=${Status}", "unattended-upgrades"); err != nil || out != "install ok installed" {
			t.Errorf("unattended-upgrades is not installed: %q %v", out, err)
		}
		// Type=notify: the unit is active only once READY=1 reached systemd.
		if out, _ := c.exec(ctx, "systemctl", "show", "--property=Type,ActiveState,SubState", "chatbox.service"); out != "Type=notify\nActiveState=active\nSubState=running" {
			t.Errorf("the service is not a running notify unit:\n%s", out)
		}
		if err := healthz(ctx); err != nil {
			t.Errorf("/healthz on loopback: %v", err)
		}
		if out, _ := c.exec(ctx, "hostnamectl", "--static"); out != e2eHostname {
			t.Errorf("hostnamectl --static says %q, want %q", out, e2eHostname)
		}
		if hosts, _ := os.ReadFile(filepath.Join(tree, "etc/hosts")); !bytes.Contains(hosts, []byte("127.0.1.1\t"+e2eHostname)) {
			t.Errorf("/etc/hosts does not map the new name:\n%s", hosts)
		}
		checkMode(t, tree, "etc/chatbox/config.toml", 0o640, "chatbox")
		checkMode(t, tree, "usr/local/bin/chatbox", 0o755, "root")
		if out, err := c.exec(ctx, "/root/chatbox", "status", "--json"); err != nil ||
			!strings.Contains(out, `"running": true`) || !strings.Contains(out, `"healthy": true`) {
			t.Errorf("status --json (%v):\n%s", err, out)
		}
		if out, err := c.exec(ctx, "/root/chatbox", "logs", "-n", "20"); err != nil || !strings.Contains(out, "chatbox") {
			t.Errorf("logs (%v):\n%s", err, out)
		}
		if _, err := os.Stat(filepath.Join(tree, "etc/apt/apt.conf.d/99chatbox-auto-upgrades")); err != nil {
			t.Errorf("automatic updates are not on: %v", err)
		}
		if out, _ := c.exec(ctx, "systemctl", "is-enabled", "chatbox-update.timer"); out != "enabled" {
			t.Errorf("systemctl is-enabled chatbox-update.timer says %q, want enabled", out)
		}
		// list-timers shows the next run: a day at most, plus the random delay.
		timers, _ := c.exec(ctx, "systemctl", "list-timers", "--no-legend", "chatbox-update.timer")
		if !strings.Contains(timers, "chatbox-update.timer chatbox-update.service") {
			t.Errorf("systemctl list-timers does not list chatbox-update.timer waiting to start chatbox-update.service:\n%s", timers)
		}
		t.Logf("systemctl list-timers chatbox-update.timer: %s", timers)
	})
	if t.Failed() {
		t.Logf("journal:\n%s", c.journal(ctx))
		t.FailNow()
	}

	t.Run("install again changes nothing", func(t *testing.T) {
		before := treeState(t, tree)
		out, err := c.exec(ctx, installArgs...)
		if err != nil {
			t.Fatalf("second install: %v\n%s", err, out)
		}
		if !strings.Contains(out, "Nothing to do") || !strings.Contains(out, "password is unchanged") {
			t.Errorf("the second install does not say nothing was to do and the password is unchanged:\n%s", out)
		}
		if after := treeState(t, tree); after != before {
			t.Errorf("the second install changed chatbox's files:\n--- before\n%s--- after\n%s", before, after)
		}
	})

	t.Run("backup.keep = 2 schedules the daily backup, which keeps the newest two", func(t *testing.T) {
		conf := filepath.Join(tree, "etc/chatbox/config.toml")
		data, err := os.ReadFile(conf)
		if err != nil || bytes.Count(data, []byte("keep = 0\n")) != 1 {
			t.Fatalf("the config has no keep = 0 (%v):\n%s", err, data)
		}
		if err := os.WriteFile(conf, bytes.Replace(data, []byte("keep = 0\n"), []byte("keep = 2\n"), 1), 0o640); err != nil {
			t.Fatal(err)
		}
		out, err := c.exec(ctx, installArgs...)
		if err != nil || !strings.Contains(out, "Scheduling daily backups ... the newest 2 kept in /var/backups/chatbox") {
			t.Fatalf("install with backup.keep = 2 (%v):\n%s", err, out)
		}
		if out, _ := c.exec(ctx, "systemctl", "is-enabled", "chatbox-backup.timer"); out != "enabled" {
			t.Errorf("systemctl is-enabled chatbox-backup.timer says %q", out)
		}
		if out, _ := c.exec(ctx, "systemctl", "list-timers", "--no-legend", "chatbox-backup.timer"); !strings.Contains(out, "chatbox-backup.timer chatbox-backup.service") {
			t.Errorf("systemctl list-timers does not list the backup timer:\n%s", out)
		}
		// What the timer starts, three times: each backup is named by its
		// second, so each run waits for a new second first.
		var names []string
		for i := range 3 {
			if i > 0 {
				c.exec(ctx, "sleep", "1")
			}
			if out, err := c.exec(ctx, "systemctl", "start", "chatbox-backup.service"); err != nil {
				t.Fatalf("systemctl start chatbox-backup.service: %v\n%s\n%s", err, out, c.unitJournal(ctx, "chatbox-backup.service"))
			}
			if out, _ := c.exec(ctx, "systemctl", "show", "--property=Result", "chatbox-backup.service"); out != "Result=success" {
				t.Fatalf("the backup service ended with %q:\n%s", out, c.unitJournal(ctx, "chatbox-backup.service"))
			}
			entries, _ := os.ReadDir(filepath.Join(tree, "var/backups/chatbox"))
			names = names[:0]
			for _, e := range entries {
				names = append(names, e.Name())
			}
		}
		if len(names) != 2 {
			t.Errorf("after three daily backups /var/backups/chatbox holds %q, want the newest two", names)
		}
		journal := c.unitJournal(ctx, "chatbox-backup.service")
		if !strings.Contains(journal, "Removed the old backup chatbox-backup-") {
			t.Errorf("the backup's journal does not say it removed the oldest:\n%s", journal)
		}
		fi, err := os.Stat(filepath.Join(tree, "var/backups/chatbox"))
		if err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("/var/backups/chatbox: %v, mode %v, want 0700", err, fi.Mode())
		}
	})

	t.Run("backup, wipe and restore with the service running bring the room back", func(t *testing.T) {
		if password == "" {
			t.Fatal("install showed no password")
		}
		const text = "kept through a backup and a restore"
		if code, body := roomRequest(ctx, http.MethodPost, "/api/messages", password, `{"nick":"ann","text":"`+text+`"}`); code != http.StatusCreated {
			t.Fatalf("post a message: %d %s", code, body)
		}
		out, err := c.exec(ctx, "/root/chatbox", "backup", "/root/room.tar.gz")
		if err != nil || !strings.Contains(out, "(checked)") {
			t.Fatalf("backup: %v\n%s", err, out)
		}
		// Wipe: the service starts again on an empty data directory.
		for _, args := range [][]string{{"systemctl", "stop", "chatbox.service"}, {"sh", "-c", "rm -rf /var/lib/chatbox/* && rm -f /etc/chatbox/config.toml.before-restore-*"}, {"systemctl", "start", "chatbox.service"}} {
			if out, err := c.exec(ctx, args...); err != nil {
				t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		if code, body := roomRequest(ctx, http.MethodGet, "/api/messages", password, ""); code == http.StatusOK && strings.Contains(body, text) {
			t.Fatalf("the wiped room still has the message: %s", body)
		}
		if out, _ := c.exec(ctx, "systemctl", "is-active", "chatbox.service"); out != "active" {
			t.Fatalf("the wiped box's service is %q before the restore", out)
		}
		out, err = c.exec(ctx, "/root/chatbox", "restore", "/root/room.tar.gz")
		t.Logf("restore:\n%s", out)
		if err != nil || !regexp.MustCompile(`Restored the backup of \d{4}-\d\d-\d\d \d\d:\d\d \(\d+ files, \d+ bytes, made by chatbox \S+\); chatbox is running on it\.`).MatchString(out) {
			t.Fatalf("restore (%v) did not report the backup's date and version and a running room:\n%s", err, out)
		}
		if out, _ := c.exec(ctx, "systemctl", "is-active", "chatbox.service"); out != "active" {
			t.Errorf("the service is %q after the restore", out)
		}
		if err := healthz(ctx); err != nil {
			t.Errorf("/healthz after the restore: %v", err)
		}
		if code, body := roomRequest(ctx, http.MethodGet, "/api/messages", password, ""); code != http.StatusOK || !strings.Contains(body, text) {
			t.Errorf("after the restore the room's messages (with the old password) are %d %s", code, body)
		}
	})

	t.Run("update --self with a binary that exits at once rolls back", func(t *testing.T) {
		good, _ := os.ReadFile(filepath.Join(tree, "usr/local/bin/chatbox"))
		mustRun(ctx, t, "cp", buildBroken(ctx, t), filepath.Join(tree, "root/broken"))
		out, err := c.exec(ctx, "/root/chatbox", "update", "--self", "/root/broken")
		if err == nil || !strings.Contains(out, "rolled back to the previous binary") {
			t.Fatalf("want a failed update that rolled back, got %v:\n%s", err, out)
		}
		t.Logf("update --self (a binary that exits at once):\n%s", out)
		if now, _ := os.ReadFile(filepath.Join(tree, "usr/local/bin/chatbox")); !bytes.Equal(now, good) {
			t.Error("the working binary is not back in place")
		}
		if out, _ := c.exec(ctx, "systemctl", "is-active", "chatbox.service"); out != "active" {
			t.Errorf("the service is %q after the rollback", out)
		}
		if err := healthz(ctx); err != nil {
			t.Errorf("/healthz after the rollback: %v", err)
		}
	})

	t.Run("the firewall step reads real nftables and ufw back", func(t *testing.T) {
		checkFirewalls(ctx, t, c, tree, installArgs)
	})

	t.Run("uninstall --purge leaves nothing of chatbox", func(t *testing.T) {
		out, err := c.exec(ctx, "/root/chatbox", "uninstall", "--purge", "--yes")
		if err != nil {
			t.Fatalf("uninstall: %v\n%s", err, out)
		}
		for _, p := range []string{"etc/systemd/system/chatbox.service", "etc/systemd/system/multi-user.target.wants/chatbox.service",
			"etc/systemd/system/chatbox-update.timer", "etc/systemd/system/timers.target.wants/chatbox-update.timer",
			"etc/systemd/system/chatbox-backup.timer", "etc/systemd/system/timers.target.wants/chatbox-backup.timer",
			"usr/local/bin/chatbox", "usr/local/bin/chatbox.prev", "etc/chatbox", "var/lib/chatbox"} {
			if _, err := os.Lstat(filepath.Join(tree, p)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("/%s is still there", p)
			}
		}
		if passwd, _ := os.ReadFile(filepath.Join(tree, "etc/passwd")); bytes.Contains(passwd, []byte("\nchatbox:")) {
			t.Error("the chatbox user is still there")
		}
		if out, _ := c.exec(ctx, "systemctl", "is-active", "chatbox.service"); out == "active" {
			t.Error("the service still runs")
		}
	})

	t.Run("the deb package installs at Debian's paths, install defers to it, and dpkg --purge leaves nothing", func(t *testing.T) {
		deb := buildDeb(ctx, t, bin, "v0.0.0-e2e")
		mustRun(ctx, t, "cp", deb, filepath.Join(tree, "root/chatbox.deb"))
		if out, err := c.exec(ctx, "dpkg", "-i", "/root/chatbox.deb"); err != nil {
			t.Fatalf("dpkg -i: %v\n%s", err, out)
		}
		for _, p := range []string{"usr/bin/chatbox", "usr/lib/systemd/system/chatbox.service"} {
			if _, err := os.Stat(filepath.Join(tree, p)); err != nil {
				t.Errorf("the package did not install /%s: %v", p, err)
			}
		}
		if out, _ := c.exec(ctx, "dpkg", "-L", "chatbox"); strings.Contains(out, "/usr/local") {
			t.Errorf("the package owns something under /usr/local:\n%s", out)
		}
		if out, err := c.exec(ctx, "chatbox", "version"); err != nil || !strings.HasPrefix(out, "chatbox ") {
			t.Errorf("the packaged chatbox version: %v %q", err, out)
		}
		if out, _ := c.exec(ctx, "systemctl", "is-active", "chatbox.service"); out == "active" {
			t.Error("installing the package started the service; only chatbox install should")
		}

		out, err := c.exec(ctx, "/usr/bin/chatbox", "install", "--yes", "--ip", "127.0.0.1", "--hostname", e2eHostname, "--skip-firewall")
		t.Logf("install over the package:\n%s", out)
		if err != nil {
			t.Fatalf("install over the package: %v", err)
		}
		if !strings.Contains(out, "Using the chatbox package's binary, /usr/bin/chatbox ... left to the package (apt-get install --only-upgrade chatbox updates it)") {
			t.Error("install did not leave the binary to the package")
		}
		for _, p := range []string{"usr/local/bin/chatbox", "etc/systemd/system/chatbox.service"} {
			if _, err := os.Lstat(filepath.Join(tree, p)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("install wrote /%s beside the package's files", p)
			}
		}
		// Debian 12's systemd names its vendor directory /lib/systemd/system
		// (the same as /usr/lib/systemd/system on a merged /usr).
		if out, _ := c.exec(ctx, "systemctl", "show", "--value", "--property=FragmentPath", "chatbox.service"); !strings.HasSuffix(out, "lib/systemd/system/chatbox.service") || strings.HasPrefix(out, "/etc") {
			t.Errorf("the service does not run from the package's unit: FragmentPath=%s", out)
		}
		if out, _ := c.exec(ctx, "systemctl", "is-active", "chatbox.service"); out != "active" {
			t.Errorf("the packaged service is %q", out)
		}
		if err := healthz(ctx); err != nil {
			t.Errorf("/healthz of the packaged box: %v", err)
		}
		if out, err := c.exec(ctx, "/usr/bin/chatbox", "update", "--self", "/root/chatbox"); err == nil ||
			!strings.Contains(out, "update it with apt-get install --only-upgrade chatbox; nothing was changed") {
			t.Errorf("update --self over the package: %v\n%s", err, out)
		}
		out, err = c.exec(ctx, "/usr/bin/chatbox", "uninstall", "--purge", "--yes")
		t.Logf("uninstall over the package:\n%s", out)
		if err != nil || !strings.Contains(out, "remove it with apt-get purge chatbox") {
			t.Errorf("uninstall over the package (%v) does not say how to remove it", err)
		}
		if _, err := os.Stat(filepath.Join(tree, "usr/bin/chatbox")); err != nil {
			t.Errorf("uninstall deleted the package's binary: %v", err)
		}

		if out, err := c.exec(ctx, "dpkg", "--purge", "chatbox"); err != nil {
			t.Fatalf("dpkg --purge: %v\n%s", err, out)
		}
		for _, p := range []string{"usr/bin/chatbox", "usr/lib/systemd/system/chatbox.service", "usr/local/bin/chatbox.prev",
			"etc/systemd/system/chatbox.service", "etc/systemd/system/multi-user.target.wants/chatbox.service", "usr/share/doc/chatbox"} {
			if _, err := os.Lstat(filepath.Join(tree, p)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("/%s is still there after dpkg --purge", p)
			}
		}
		if fi, err := os.Stat(filepath.Join(tree, "usr/local/bin")); err != nil || !fi.IsDir() {
			t.Errorf("/usr/local/bin is gone after dpkg --purge: %v", err)
		}
		if out, _ := c.exec(ctx, "dpkg-query", "-W", "-f=${Status}", "chatbox"); strings.Contains(out, "installed") {
			t.Errorf("dpkg still lists chatbox: %q", out)
		}
	})

	t.Run("cloud-init with a seed that names another host keeps chatbox's name across reboots", func(t *testing.T) {
		checkCloudInit(ctx, t, c)
	})
	if t.Failed() {
		t.Logf("journal:\n%s", c.journal(ctx))
	}

	t.Run("nginx and Caddy in front of a box installed behind a proxy", func(t *testing.T) {
		checkProxies(ctx, t, c, tree)
	})
}

// checkFirewalls installs Debian's nftables and ufw in the container and
// runs chatbox against them. The container shares the machine's network
// without CAP_NET_ADMIN, so nft cannot read or change that network's
// rules from inside it (the test logs what nft says there); the firewall
// runs are made in a fresh network namespace over the container's files
// (unshare --net, then nsenter into the container's mount and pid
// namespaces): the real nft, ufw and kernel, and nothing of this machine's
// firewall touched.
func checkFirewalls(ctx context.Context, t *testing.T, c *container, tree string, installArgs []string) {
	if out, err := c.exec(ctx, "apt-get", "install", "-y", "-q", "--no-install-recommends", "nftables", "ufw", "procps"); err != nil {
		t.Fatalf("install nftables and ufw: %v\n%s", err, out)
	}
	out, err := c.exec(ctx, "nft", "list", "ruleset")
	t.Logf("nft list ruleset inside the container (shared network, no CAP_NET_ADMIN): %v: %s", err, out)

	rules := "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n" +
		"\t\tct state established,related accept\n\t\tiifname \"lo\" accept\n\t\ttcp dport 22 accept\n\t}\n}\n"
	if err := os.WriteFile(filepath.Join(tree, "root/drop.nft"), []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	before := treeState(t, tree)
	out, err = c.netns(ctx, "nft -f /root/drop.nft && exec "+strings.Join(installArgs, " "))
	t.Logf("install under an nftables drop policy:\n%s", out)
	if err == nil {
		t.Error("install succeeded under a drop policy that keeps 80 and 443 out")
	}
	for _, want := range []string{"[7/12] Opening ports 80 and 443 in the firewall ... failed",
		"nftables keeps TCP 80 (policy drop of chain inet filter input)",
		"nft insert rule inet filter input tcp dport { 80, 443 } accept", "--skip-firewall"} {
		if !strings.Contains(out, want) {
			t.Errorf("install's report lacks %q", want)
		}
	}
	if strings.Contains(out, "as asked") || strings.Contains(out, "is running") {
		t.Error("install ended as if it had done what was asked")
	}
	if after := treeState(t, tree); after != before {
		t.Errorf("the failed install changed chatbox's files:\n--- before\n%s--- after\n%s", before, after)
	}

	test := filepath.Join(t.TempDir(), "linux.test")
	cmd := exec.CommandContext(ctx, "go", "test", "-c", "-o", test, "../platform/linux")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the platform/linux tests: %v\n%s", err, msg)
	}
	mustRun(ctx, t, "cp", test, filepath.Join(tree, "root/linux.test"))
	out, err = c.netns(ctx, "CHATBOX_FIREWALL_NETNS=1 exec /root/linux.test -test.v -test.count=1 -test.run TestRealFirewallsInAFreshNetworkNamespace")
	t.Logf("the Debian backend against real nftables and ufw:\n%s", out)
	if err != nil || !strings.Contains(out, "--- PASS: TestRealFirewallsInAFreshNetworkNamespace") {
		t.Errorf("the firewall tests in a fresh network namespace failed: %v", err)
	}
}

// netns runs a shell script over the container's files and processes in
// a fresh, empty network namespace, as root with every capability.
func (c *container) netns(ctx context.Context, script string) (string, error) {
	args := []string{"--net", "--", "nsenter", "--target", strconv.Itoa(c.leader), "--mount", "--uts", "--ipc", "--pid", "--",
		"/usr/bin/env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8",
		// A mount namespace of its own, for a /proc that is not
		// systemd-nspawn's read-only /proc/sys (ufw sets sysctls).
		"unshare", "--mount", "--propagation", "private", "--",
		"sh", "-c", "mount -t proc proc /proc && " + script}
	out, err := exec.CommandContext(ctx, "unshare", args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// buildDeb packages bin as version, as release.sh does (nfpm and
// packaging/nfpm.yaml), and returns the .deb's path, named as release.sh
// names it.
func buildDeb(ctx context.Context, t *testing.T, bin, version string) string {
	t.Helper()
	deb := filepath.Join(t.TempDir(), "chatbox_"+strings.TrimPrefix(version, "v")+"_amd64.deb")
	cmd := exec.CommandContext(ctx, "go", "tool", "nfpm", "package", "--config", "packaging/nfpm.yaml",
		"--packager", "deb", "--target", deb)
	cmd.Dir = ".." // nfpm.yaml names its files from the repository's root
	cmd.Env = append(os.Environ(), "CHATBOX_VERSION="+version, "CHATBOX_ARCH=amd64", "CHATBOX_BINARY="+bin)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the deb: %v\n%s", err, msg)
	}
	return deb
}

// e2eDebianTree skips the test unless CHATBOX_E2E=1; checks that it runs
// as root and that debootstrap, systemd-nspawn, nsenter and tools are
// there; and returns a fresh copy of the cached debootstrap tree, made
// ready by prepareTree with a freshly built chatbox, and that binary.
//
// A fresh debootstrap takes one and a half minutes on a quiet machine and
// over fifteen on a very busy one. It is bounded here, on its own, so that
// the first run's cache is not cut short by the bound of a test's own
// steps; later runs find the tree cached.
func e2eDebianTree(t *testing.T, tools ...string) (tree, bin string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 45*time.Minute)
	defer cancel()
	if os.Getenv("CHATBOX_E2E") != "1" {
		t.Skip("this run boots a Debian container; set CHATBOX_E2E=1 to run it")
	}
	if os.Geteuid() != 0 {
		t.Fatal("CHATBOX_E2E=1: the booted Debian needs root (debootstrap, systemd-nspawn, nsenter)")
	}
	for _, tool := range append([]string{"/usr/sbin/debootstrap", "systemd-nspawn", "nsenter"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("CHATBOX_E2E=1: %s is missing (test.sh installs what these runs need)", tool)
		}
	}
	mirror, err := debianMirror()
	if err != nil {
		t.Fatalf("CHATBOX_E2E=1: %v", err)
	}
	base := cachedTree(ctx, t, mirror)
	bin = buildChatbox(ctx, t)
	tree = filepath.Join(t.TempDir(), "tree")
	mustRun(ctx, t, "cp", "-a", base, tree)
	prepareTree(ctx, t, tree, mirror, bin)
	return tree, bin
}

// debianMirror returns the Debian archive URL configured in this machine's
// apt sources (one-line or deb822 format).
func debianMirror() (*url.URL, error) {
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*")
	files = append([]string{"/etc/apt/sources.list"}, files...)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var uris []string
		switch {
		case strings.HasSuffix(f, ".sources"):
			for _, line := range strings.Split(string(data), "\n") {
				if v, ok := strings.CutPrefix(line, "URIs:"); ok {
					uris = append(uris, strings.Fields(v)...)
				}
			}
		case strings.HasSuffix(f, ".list"):
			for _, line := range strings.Split(string(data), "\n") {
				fields := strings.Fields(line)
				if len(fields) >= 3 && fields[0] == "deb" {
					if strings.HasPrefix(fields[1], "[") {
						fields = fields[1:]
						for len(fields) > 0 && !strings.HasSuffix(fields[0], "]") {
							fields = fields[1:]
						}
					}
					if len(fields) > 1 {
						uris = append(uris, fields[1])
					}
				}
			}
		}
		for _, u := range uris {
			if strings.Contains(u, "security") || !strings.HasPrefix(u, "http") {
				continue
			}
			if parsed, err := url.Parse(u); err == nil {
				return parsed, nil
			}
		}
	}
	return nil, errors.New("no Debian mirror in /etc/apt/sources.list or /etc/apt/sources.list.d")
}

// cachedTree returns a debootstrap tree of e2eSuite, made once and kept in
// the user cache directory (keyed by suite and packages) for later runs.
func cachedTree(ctx context.Context, t *testing.T, mirror *url.URL) string {
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatalf("find a cache directory: %v", err)
	}
	key := strings.NewReplacer(",", "_").Replace(e2eInclude)
	dir := filepath.Join(cache, "chatbox-e2e", "debootstrap-"+e2eSuite+"-"+strconv.FormatUint(uint64(fnv32(key)), 16))
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir
	}
	tmp := dir + ".tmp"
	// A debootstrap killed in its second stage leaves /proc mounted in
	// the tree, which RemoveAll cannot remove and cp -a would copy.
	unmountUnder(t, tmp)
	os.RemoveAll(tmp)
	start := time.Now()
	mustRun(ctx, t, "/usr/sbin/debootstrap", "--variant=minbase", "--include="+e2eInclude, e2eSuite, tmp, mirror.String())
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		t.Fatal(err)
	}
	t.Logf("debootstrap %s took %s; cached in %s", e2eSuite, time.Since(start).Round(time.Second), dir)
	return dir
}

// unmountUnder detaches every mount below dir, deepest first.
func unmountUnder(t *testing.T, dir string) {
	data, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		t.Fatalf("read the mount table: %v", err)
	}
	var points []string
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], dir+"/") {
			points = append(points, f[1])
		}
	}
	slices.SortFunc(points, func(a, b string) int { return len(b) - len(a) })
	for _, p := range points {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil {
			t.Fatalf("unmount %s, left by an earlier debootstrap: %v", p, err)
		}
		t.Logf("unmounted %s, left by an earlier debootstrap", p)
	}
}

func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

// buildChatbox builds cmd/chatbox from this tree.
func buildChatbox(ctx context.Context, t *testing.T) string {
	bin := filepath.Join(t.TempDir(), "chatbox")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/chatbox-dev/chatbox/cmd/chatbox")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build chatbox: %v\n%s", err, out)
	}
	return bin
}

// brokenMain is a binary that passes update --self's checks (an ELF for
// this machine that says it is chatbox) but exits at once when served.
const brokenMain = `package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "version" {
		fmt.Println("chatbox v0.0.0-broken (e2e)")
		return
	}
	os.Exit(1)
}
`

func buildBroken(ctx context.Context, t *testing.T) string {
	dir := t.TempDir()
	src, bin := filepath.Join(dir, "main.go"), filepath.Join(dir, "broken")
	if err := os.WriteFile(src, []byte(brokenMain), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, src)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the broken binary: %v\n%s", err, out)
	}
	return bin
}

// prepareTree copies the binary in and makes the tree resolve only the
// mirror's name (see the top of this file).
func prepareTree(ctx context.Context, t *testing.T, tree string, mirror *url.URL, bin string) {
	mustRun(ctx, t, "cp", bin, filepath.Join(tree, "root/chatbox"))
	hosts := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
	if host := mirror.Hostname(); net.ParseIP(host) == nil {
		addrs, err := net.DefaultResolver.LookupHost(ctx, host)
		if err != nil {
			t.Fatalf("resolve the Debian mirror %s: %v", host, err)
		}
		for _, a := range addrs {
			hosts += a + "\t" + host + "\n"
		}
	}
	write := func(p, data string) {
		if err := os.WriteFile(filepath.Join(tree, p), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("etc/hosts", hosts)
	os.Remove(filepath.Join(tree, "etc/resolv.conf"))
	write("etc/resolv.conf", "# Nothing answers here: only names in /etc/hosts resolve.\nnameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
	write("etc/apt/sources.list", fmt.Sprintf("deb %s %s main\n", mirror, e2eSuite))
	write("etc/hostname", "localhost\n")
}

// container is a booted systemd-nspawn container.
type container struct {
	tree   string
	nspawn *exec.Cmd
	exited chan error // receives nspawn's exit, and is given it back
	leader int
}

// bootContainer boots tree and waits until systemd reports the system up.
// It returns nil and the reason when the tree does not boot.
func bootContainer(ctx context.Context, t *testing.T, tree string) (*container, string) {
	if os.Getenv("CHATBOX_E2E_FORCE_ROOT") == "1" {
		return nil, "CHATBOX_E2E_FORCE_ROOT=1 asked for the --root run"
	}
	c := &container{tree: tree}
	t.Cleanup(func() { c.stop(t) })
	if why := c.boot(ctx, t); why != "" {
		return nil, why
	}
	return c, ""
}

// reboot powers the container off and boots its tree again, as a
// machine's reboot does: the same files, every process new.
func (c *container) reboot(ctx context.Context, t *testing.T) error {
	c.stop(t)
	if why := c.boot(ctx, t); why != "" {
		return errors.New(why)
	}
	return nil
}

// boot starts systemd-nspawn on the tree and waits until systemd reports
// the system up; it returns why not otherwise.
func (c *container) boot(ctx context.Context, t *testing.T) string {
	var console bytes.Buffer
	cmd := exec.Command("systemd-nspawn", "--register=no", "--keep-unit", "--boot",
		"--directory="+c.tree, "--machine=chatbox-e2e", "--resolv-conf=off", "--timezone=off",
		"--link-journal=no", "--console=pipe")
	cmd.Stdout, cmd.Stderr = &console, &console
	cmd.Stdin = nil
	if err := cmd.Start(); err != nil {
		return fmt.Sprintf("systemd-nspawn: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	c.nspawn, c.exited, c.leader = cmd, exited, 0

	deadline := time.Now().Add(90 * time.Second)
	state := ""
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Sprintf("systemd-nspawn exited: %v: %s", err, lastLines(console.String(), 5))
		case <-ctx.Done():
			return ctx.Err().Error()
		case <-time.After(200 * time.Millisecond):
		}
		// nspawn forks a helper before the container's init; the leader
		// is the process that runs systemd, found again while it is not
		// there yet.
		if c.leader == 0 || !isSystemd(c.leader) {
			c.leader = initOf(cmd.Process.Pid)
			continue
		}
		state, _ = c.exec(ctx, "systemctl", "is-system-running")
		switch state {
		case "running":
			return ""
		case "degraded":
			failed, _ := c.exec(ctx, "systemctl", "--failed", "--no-legend")
			t.Logf("the container booted degraded; failed units:\n%s", failed)
			return ""
		}
	}
	return fmt.Sprintf("systemd did not finish booting in 90s (state %q): %s", state, lastLines(console.String(), 5))
}

// stop powers the container off (nspawn turns SIGTERM into a clean
// shutdown) and kills it when that takes too long. A stopped container
// stays stopped.
func (c *container) stop(t *testing.T) {
	if c.nspawn == nil {
		return
	}
	_ = c.nspawn.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-c.exited:
		c.exited <- err
	case <-time.After(30 * time.Second):
		t.Log("the container did not shut down in 30s; killing it")
		_ = c.nspawn.Process.Kill()
		c.exited <- <-c.exited
	}
}

// exec runs a command inside the container and returns its trimmed
// combined output.
func (c *container) exec(ctx context.Context, args ...string) (string, error) {
	nsargs := append([]string{"--target", strconv.Itoa(c.leader), "--all", "--",
		"/usr/bin/env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8"}, args...)
	out, err := exec.CommandContext(ctx, "nsenter", nsargs...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// unitJournal is the last lines of one unit's journal.
func (c *container) unitJournal(ctx context.Context, unit string) string {
	out, _ := c.exec(ctx, "journalctl", "--no-pager", "--lines=40", "--unit="+unit)
	return out
}

// roomRequest sends a request to the private room over HTTPS on loopback
// (its local CA is not this machine's, so the certificate is not
// checked) with the room's password as basic auth, and returns the
// status and body.
func roomRequest(ctx context.Context, method, path, password, body string) (int, string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "https://127.0.0.1"+path, strings.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	req.SetBasicAuth("e2e", password)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (c *container) journal(ctx context.Context) string {
	out, _ := c.exec(ctx, "journalctl", "--no-pager", "--lines=60", "--unit=chatbox.service")
	return out
}

// initOf returns the pid of the systemd that a descendant of pid (at
// most three levels down) runs, or 0.
func initOf(pid int) int {
	for depth, p := 0, pid; depth < 3 && p != 0; depth++ {
		p = childOf(p)
		if p != 0 && isSystemd(p) {
			return p
		}
	}
	return 0
}

// isSystemd reports whether the process pid runs systemd.
func isSystemd(pid int) bool {
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return err == nil && strings.TrimSpace(string(comm)) == "systemd"
}

// childOf returns the pid of a child of pid, or 0.
func childOf(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err == nil {
		if f := strings.Fields(string(data)); len(f) > 0 {
			n, _ := strconv.Atoi(f[0])
			return n
		}
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// The fields after the command name, which is in parentheses.
		rest := string(stat[bytes.LastIndexByte(stat, ')')+1:])
		if f := strings.Fields(rest); len(f) > 1 && f[1] == strconv.Itoa(pid) {
			return n
		}
	}
	return 0
}

// rootFallback runs install with --root into the tree from outside and
// checks that the service is installed and enabled.
func rootFallback(ctx context.Context, t *testing.T, tree string) {
	cmd := exec.CommandContext(ctx, filepath.Join(tree, "root/chatbox"), "install", "--yes", "--root", tree, "--ip", "127.0.0.1", "--hostname", e2eHostname)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("install --root: %v\n%s", err, out)
	}
	t.Logf("install --root:\n%s", out)
	for _, p := range []string{"usr/local/bin/chatbox", "etc/chatbox/config.toml", "etc/systemd/system/chatbox.service",
		"etc/systemd/system/multi-user.target.wants/chatbox.service", "etc/apt/apt.conf.d/99chatbox-auto-upgrades"} {
		if _, err := os.Lstat(filepath.Join(tree, p)); err != nil {
			t.Errorf("install --root did not make /%s: %v", p, err)
		}
	}
	if name, _ := os.ReadFile(filepath.Join(tree, "etc/hostname")); strings.TrimSpace(string(name)) != e2eHostname {
		t.Errorf("/etc/hostname is %q", name)
	}
	checkMode(t, tree, "etc/chatbox/config.toml", 0o640, "chatbox")
	out, err = exec.CommandContext(ctx, filepath.Join(tree, "root/chatbox"), "install", "--yes", "--root", tree, "--ip", "127.0.0.1", "--hostname", e2eHostname).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("Nothing to do")) {
		t.Errorf("a second install --root changed something (%v):\n%s", err, out)
	}
}

// healthz asks the box's /healthz over plain HTTP on loopback.
func healthz(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:80/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"ok"`)) {
		return fmt.Errorf("%d %s", resp.StatusCode, body)
	}
	return nil
}

// checkMode wants p under tree to have mode and belong to group.
func checkMode(t *testing.T, tree, p string, mode fs.FileMode, group string) {
	t.Helper()
	fi, err := os.Stat(filepath.Join(tree, p))
	if err != nil {
		t.Errorf("/%s: %v", p, err)
		return
	}
	if fi.Mode().Perm() != mode {
		t.Errorf("/%s has mode %04o, want %04o", p, fi.Mode().Perm(), mode)
	}
	gid := fi.Sys().(*syscall.Stat_t).Gid
	if got := groupName(tree, gid); got != group {
		t.Errorf("/%s belongs to group %q, want %q", p, got, group)
	}
}

func groupName(tree string, gid uint32) string {
	f, err := os.Open(filepath.Join(tree, "etc/group"))
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) > 2 && fields[2] == strconv.Itoa(int(gid)) {
			return fields[0]
		}
	}
	return ""
}

// treeState describes chatbox's files in the tree: content and mode.
func treeState(t *testing.T, tree string) string {
	var b strings.Builder
	for _, p := range []string{"usr/local/bin", "etc/chatbox", "etc/systemd/system", "etc/hostname", "etc/hosts", "etc/apt/apt.conf.d", "etc/passwd", "etc/group"} {
		filepath.WalkDir(filepath.Join(tree, p), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return nil
			}
			rel, _ := filepath.Rel(tree, path)
			if d.Type().IsRegular() {
				data, _ := os.ReadFile(path)
				fmt.Fprintf(&b, "%s %v %d %x\n", rel, fi.Mode(), len(data), fnv32(string(data)))
			} else {
				fmt.Fprintf(&b, "%s %v\n", rel, fi.Mode())
			}
			return nil
		})
	}
	return b.String()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// mustRun runs a command on this machine and fails the test when it fails.
func mustRun(ctx context.Context, t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
