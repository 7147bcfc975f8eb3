package installer

// The apt repository for real: packaging/aptrepo.sh builds a signed
// repository on this machine, a loopback HTTP server serves it, and the
// booted Debian of debian_e2e_test.go installs chatbox from it with apt,
// signed-by the published keyring. Set CHATBOX_E2E=1 to run it; it needs
// what TestDebianInstallUnderSystemd needs, and apt-ftparchive (apt-utils)
// and gpg (gnupg) on this machine.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/internal/testdirserver"
)

func TestDebianAptRepository(t *testing.T) {
	tree, _ := e2eDebianTree(t, "apt-ftparchive", "gpg")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()

	// The repository, signed with a throwaway key, served on loopback;
	// the container shares this machine's network.
	key := newGPGKey(ctx, t)
	repo := filepath.Join(t.TempDir(), "apt")
	publish := func(version string) {
		t.Helper()
		deb := buildDeb(ctx, t, buildChatboxVersion(ctx, t, version), version)
		cmd := exec.CommandContext(ctx, "bash", "../packaging/aptrepo.sh", repo, deb)
		cmd.Env = append(os.Environ(), "GNUPGHOME="+key.home, "CHATBOX_APT_KEY="+key.fingerprint)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("aptrepo.sh %s: %v\n%s", version, err, out)
		}
	}
	publish("v1.0.0")
	served := filepath.Join(t.TempDir(), "served")
	if err := os.Symlink(repo, served); err != nil {
		t.Fatal(err)
	}
	url := serveDir(t, served)

	c, why := bootContainer(ctx, t, tree)
	if c == nil {
		t.Skipf("systemd-nspawn could not boot the tree (%s)", why)
	}
	// apt reads only chatbox's source here, so an upgrade touches only
	// chatbox whatever the Debian mirror holds today.
	chatboxOnly := []string{"-o", "Dir::Etc::SourceList=/etc/apt/sources.list.d/chatbox.list", "-o", "Dir::Etc::SourceParts=-", "-o", "APT::Get::List-Cleanup=0"}
	apt := func(args ...string) (string, error) {
		return c.exec(ctx, append(append([]string{"apt-get", "-q", "-y"}, chatboxOnly...), args...)...)
	}

	t.Run("apt installs chatbox from the repository signed-by its keyring", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(tree, "usr/share/keyrings/chatbox-archive-keyring.gpg"), readAll(t, filepath.Join(repo, "chatbox-archive-keyring.gpg")), 0o644); err != nil {
			t.Fatal(err)
		}
		line := fmt.Sprintf("deb [signed-by=/usr/share/keyrings/chatbox-archive-keyring.gpg] %s stable main\n", url)
		if err := os.WriteFile(filepath.Join(tree, "etc/apt/sources.list.d/chatbox.list"), []byte(line), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := apt("update"); err != nil {
			t.Fatalf("apt-get update: %v\n%s", err, out)
		}
		if out, err := apt("install", "chatbox"); err != nil {
			t.Fatalf("apt-get install chatbox: %v\n%s", err, out)
		}
		if out, _ := c.exec(ctx, "dpkg-query", "-W", "-f=${Status} ${Version}", "chatbox"); out != "install ok installed 1.0.0-1" {
			t.Errorf("dpkg-query says %q, want chatbox 1.0.0-1 installed", out)
		}
		if out, err := c.exec(ctx, "chatbox", "version"); err != nil || !strings.HasPrefix(out, "chatbox v1.0.0 ") {
			t.Errorf("chatbox version: %v %q, want v1.0.0", err, out)
		}
	})
	if t.Failed() {
		t.FailNow()
	}

	t.Run("chatbox install on the packaged chatbox leaves its updates to unattended-upgrades", func(t *testing.T) {
		out, err := c.exec(ctx, "chatbox", "install", "--yes", "--ip", "127.0.0.1", "--hostname", e2eHostname)
		t.Logf("install:\n%s", out)
		if err != nil {
			t.Fatalf("chatbox install: %v", err)
		}
		if !strings.Contains(out, "Scheduling automatic chatbox updates ... chatbox came from a package: the system's automatic updates update it") {
			t.Errorf("install did not leave chatbox's updates to apt:\n%s", out)
		}
		if out, _ := c.exec(ctx, "systemctl", "is-enabled", "chatbox-update.timer"); out == "enabled" {
			t.Error("the packaged chatbox got chatbox-update.timer as well")
		}
		origins, _ := c.exec(ctx, "apt-config", "dump", "Unattended-Upgrade::Origins-Pattern")
		if !strings.Contains(origins, `"origin=chatbox,codename=stable"`) {
			t.Errorf("unattended-upgrades' origins do not name chatbox's repository:\n%s", origins)
		}
		if err := healthz(ctx); err != nil {
			t.Errorf("/healthz: %v", err)
		}
	})
	if t.Failed() {
		t.Logf("journal:\n%s", c.journal(ctx))
		t.FailNow()
	}

	t.Run("a newer version published to the repository is taken by apt-get upgrade", func(t *testing.T) {
		publish("v1.1.0")
		if out, err := apt("update"); err != nil {
			t.Fatalf("apt-get update: %v\n%s", err, out)
		}
		out, err := apt("upgrade")
		if err != nil {
			t.Fatalf("apt-get upgrade: %v\n%s", err, out)
		}
		t.Logf("apt-get upgrade:\n%s", out)
		if out, _ := c.exec(ctx, "dpkg-query", "-W", "-f=${Version}", "chatbox"); out != "1.1.0-1" {
			t.Errorf("after the upgrade dpkg-query says chatbox %q, want 1.1.0-1", out)
		}
		if out, err := c.exec(ctx, "chatbox", "version"); err != nil || !strings.HasPrefix(out, "chatbox v1.1.0 ") {
			t.Errorf("chatbox version after the upgrade: %v %q, want v1.1.0", err, out)
		}
		if out, _ := c.exec(ctx, "systemctl", "is-active", "chatbox.service"); out != "active" {
			t.Errorf("the service is %q after the upgrade", out)
		}
		if err := healthz(ctx); err != nil {
			t.Errorf("/healthz after the upgrade: %v", err)
		}
	})

	t.Run("unattended-upgrades installs the next version and the room comes back", func(t *testing.T) {
		publish("v1.2.0")
		if out, err := apt("update"); err != nil {
			t.Fatalf("apt-get update: %v\n%s", err, out)
		}
		before, _ := c.exec(ctx, "systemctl", "show", "--property=MainPID", "chatbox.service")
		// unattended-upgrade reads apt's configuration; this file keeps it
		// to chatbox's source, as apt() does.
		conf := "Dir::Etc::SourceList \"/etc/apt/sources.list.d/chatbox.list\";\nDir::Etc::SourceParts \"-\";\n"
		if err := os.WriteFile(filepath.Join(tree, "root/chatbox-only.conf"), []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := c.exec(ctx, "env", "APT_CONFIG=/root/chatbox-only.conf", "unattended-upgrade", "-d")
		if err != nil {
			t.Fatalf("unattended-upgrade -d: %v\n%s", err, out)
		}
		if got, _ := c.exec(ctx, "dpkg-query", "-W", "-f=${Version}", "chatbox"); got != "1.2.0-1" {
			t.Fatalf("after unattended-upgrade chatbox is %q, want 1.2.0-1:\n%s", got, out)
		}
		if out, _ := c.exec(ctx, "systemctl", "is-active", "chatbox.service"); out != "active" {
			t.Errorf("the service is %q after unattended-upgrade", out)
		}
		if after, _ := c.exec(ctx, "systemctl", "show", "--property=MainPID", "chatbox.service"); after == before {
			t.Errorf("the service was not restarted on the new binary (%s)", after)
		}
		if err := healthz(ctx); err != nil {
			t.Errorf("/healthz after unattended-upgrade: %v", err)
		}
	})

	t.Run("apt refuses a changed Release that offers a newer chatbox, and upgrade keeps the signed one", func(t *testing.T) {
		// A copy of the repository that offers 1.3.0: its Release (made by
		// aptrepo.sh, signed by someone else) carries the genuine
		// signature of the published Release, as a forger would send it.
		forged := copyDir(ctx, t, repo)
		other := newGPGKey(ctx, t)
		deb := buildDeb(ctx, t, buildChatboxVersion(ctx, t, "v1.3.0"), "v1.3.0")
		cmd := exec.CommandContext(ctx, "bash", "../packaging/aptrepo.sh", forged, deb)
		cmd.Env = append(os.Environ(), "GNUPGHOME="+other.home, "CHATBOX_APT_KEY="+other.fingerprint)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("aptrepo.sh for the forged copy: %v\n%s", err, out)
		}
		genuine := string(readAll(t, filepath.Join(repo, "dists/stable/InRelease")))
		head, rest, _ := strings.Cut(genuine, "\n\n")
		sig := rest[strings.Index(rest, "-----BEGIN PGP SIGNATURE-----"):]
		release := readAll(t, filepath.Join(forged, "dists/stable/Release"))
		if err := os.WriteFile(filepath.Join(forged, "dists/stable/InRelease"), []byte(head+"\n\n"+string(release)+sig), 0o644); err != nil {
			t.Fatal(err)
		}
		mustRun(ctx, t, "cp", filepath.Join(repo, "dists/stable/Release.gpg"), filepath.Join(forged, "dists/stable/Release.gpg"))
		if err := os.Remove(served); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(forged, served); err != nil {
			t.Fatal(err)
		}
		out, err := apt("update", "--error-on=any")
		t.Logf("apt-get update of the forged repository (%v):\n%s", err, out)
		if err == nil {
			t.Errorf("apt-get update --error-on=any accepted a changed Release")
		}
		if !strings.Contains(out, "The following signatures were invalid: BADSIG") {
			t.Errorf("apt-get update did not name the bad signature:\n%s", out)
		}
		if out, err := apt("upgrade"); err != nil {
			t.Errorf("apt-get upgrade: %v\n%s", err, out)
		}
		if out, _ := c.exec(ctx, "dpkg-query", "-W", "-f=${Version}", "chatbox"); out != "1.2.0-1" {
			t.Errorf("after the refused update chatbox is %q, want 1.2.0-1", out)
		}
	})
}

// gpgKey is a throwaway OpenPGP signing key in its own home.
type gpgKey struct{ home, fingerprint string }

// newGPGKey makes a passwordless Ed25519 key that signs a test's apt
// repository. The project's real key is never in a test.
func newGPGKey(ctx context.Context, t *testing.T) gpgKey {
	t.Helper()
	home, err := os.MkdirTemp("", "gpg") // gpg-agent's socket path must be short
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run()
		os.RemoveAll(home)
	})
	gpg := func(args ...string) string {
		out, err := exec.CommandContext(ctx, "gpg", append([]string{"--batch", "--homedir", home}, args...)...).Output()
		if err != nil {
			t.Fatalf("gpg %s: %v", strings.Join(args, " "), err)
		}
		return string(out)
	}
	gpg("--passphrase", "", "--quick-generate-key", "chatbox e2e archive <release@chatbox.invalid>", "ed25519", "sign", "never")
	m := regexp.MustCompile(`(?m)^fpr:+([0-9A-F]{40}):`).FindStringSubmatch(gpg("--with-colons", "--list-secret-keys"))
	if m == nil {
		t.Fatal("gpg listed no fingerprint for the new key")
	}
	return gpgKey{home: home, fingerprint: m[1]}
}

// buildChatboxVersion builds cmd/chatbox that says it is version.
func buildChatboxVersion(ctx context.Context, t *testing.T, version string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "chatbox")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "-ldflags", "-X github.com/chatbox-dev/chatbox/internal/buildinfo.Version="+version, "github.com/chatbox-dev/chatbox/cmd/chatbox")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build chatbox %s: %v\n%s", version, err, out)
	}
	return bin
}

// serveDir serves dir over HTTP on a loopback port and returns its URL.
func serveDir(t *testing.T, dir string) string {
	t.Helper()
	return "http://" + testdirserver.Start(t, dir)
}

// copyDir copies a directory tree with cp -a and returns the copy.
func copyDir(ctx context.Context, t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "copy")
	mustRun(ctx, t, "cp", "-a", src, dst)
	return dst
}

func readAll(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
