package installer

// The release channel for real: the booted Debian of debian_e2e_test.go
// runs a chatbox built to trust a throwaway signing key (the
// chatbox_testkey tag; the release key's secret is never in a test), and
// the update timer's service takes releases signed with that key from an
// HTTPS channel on this machine's loopback, which the container shares.
// Set CHATBOX_E2E=1 to run it; it needs what TestDebianInstallUnderSystemd
// needs.

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"aead.dev/minisign"
	"github.com/chatbox-dev/chatbox/config"
	"github.com/chatbox-dev/chatbox/internal/release"
	"github.com/chatbox-dev/chatbox/internal/release/releasetest"
)

func TestDebianUpdateTimerFromTheReleaseChannel(t *testing.T) {
	if os.Getenv("CHATBOX_E2E") != "1" {
		t.Skip("the update timer run boots a container; set CHATBOX_E2E=1 to run it")
	}
	if os.Geteuid() != 0 {
		t.Fatal("CHATBOX_E2E=1: the update timer run needs root (debootstrap, systemd-nspawn, nsenter)")
	}
	for _, tool := range []string{"/usr/sbin/debootstrap", "systemd-nspawn", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("CHATBOX_E2E=1: %s is missing (apt-get install debootstrap systemd-container util-linux)", tool)
		}
	}
	// Long enough to wait for another test's debootstrap of the cached
	// tree on a busy machine (which can take 15 minutes), then run.
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()

	mirror, err := debianMirror()
	if err != nil {
		t.Fatalf("CHATBOX_E2E=1: %v", err)
	}
	// The builds first: they overlap with another test's debootstrap of
	// the cached tree, which cachedTree waits for.
	ch := releasetest.New(t)
	old := buildTestKeyChatbox(ctx, t, "v1.0.0", ch.Public)
	newer := buildTestKeyChatbox(ctx, t, "v1.1.0", ch.Public)
	base := cachedTree(ctx, t, mirror)
	tree := filepath.Join(t.TempDir(), "tree")
	mustRun(ctx, t, "cp", "-a", base, tree)
	prepareTree(ctx, t, tree, mirror, old)

	c, why := bootContainer(ctx, t, tree)
	if c == nil {
		t.Skipf("systemd-nspawn could not boot the tree (%s)", why)
	}
	updateJournal := func() string {
		out, _ := c.exec(ctx, "journalctl", "--no-pager", "--lines=40", "--unit=chatbox-update.service")
		return out
	}

	goos, arch := release.Target()
	binName := "chatbox-" + goos + "-" + arch
	t.Run("install schedules the update, and the box reads the test channel from its config", func(t *testing.T) {
		out, err := c.exec(ctx, "/root/chatbox", "install", "--yes", "--ip", "127.0.0.1", "--hostname", e2eHostname)
		t.Logf("install:\n%s", out)
		if err != nil {
			t.Fatalf("install: %v", err)
		}
		if out, _ := c.exec(ctx, "systemctl", "is-enabled", "chatbox-update.timer"); out != "enabled" {
			t.Fatalf("systemctl is-enabled chatbox-update.timer says %q, want enabled", out)
		}
		// The channel's certificate is this test's own; ca_root names it.
		ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ch.Server.Certificate().Raw})
		if err := os.WriteFile(filepath.Join(tree, "etc/chatbox/test-channel-ca.pem"), ca, 0o644); err != nil {
			t.Fatal(err)
		}
		conf := filepath.Join(tree, "etc/chatbox/config.toml")
		data, err := os.ReadFile(conf)
		line := fmt.Sprintf("url = %q\n", config.DefaultUpdateURL)
		if err != nil || bytes.Count(data, []byte(line)) != 1 {
			t.Fatalf("the config has no %q (%v):\n%s", line, err, data)
		}
		// [update] has its url and an empty ca_root: both are set to the
		// test channel's (a second ca_root would be a duplicate key).
		at := bytes.Index(data, []byte(line))
		rest := bytes.Replace(data[at+len(line):], []byte(`ca_root = ""`), []byte(`ca_root = "/etc/chatbox/test-channel-ca.pem"`), 1)
		if bytes.Equal(rest, data[at+len(line):]) {
			t.Fatalf("the config's [update] has no empty ca_root after its url:\n%s", data)
		}
		edited := slices.Concat(data[:at], []byte(fmt.Sprintf("url = %q\n", ch.Server.URL+"/releases")), rest)
		if err := os.WriteFile(conf, edited, 0o640); err != nil {
			t.Fatal(err)
		}
		ch.Publish(t, releasetest.Dir(""), release.Manifest{Version: "v1.1.0", Files: []release.File{releasetest.FileFor(goos, arch, binName, readAll(t, newer))}},
			ch.Key, map[string][]byte{binName: readAll(t, newer)})
		// Exit 10: the box reads the channel, trusts its certificate and
		// the manifest's signature, and sees the newer release.
		out, err = c.exec(ctx, "chatbox", "update", "--check")
		if ee := (*exec.ExitError)(nil); !errors.As(err, &ee) || ee.ExitCode() != 10 || !strings.Contains(out, "chatbox v1.1.0 is available (this is v1.0.0)") {
			t.Fatalf("update --check on the box (%v), want exit 10 and v1.1.0 available:\n%s", err, out)
		}
	})
	if t.Failed() {
		t.Logf("journal:\n%s", c.journal(ctx))
		t.FailNow()
	}

	t.Run("the timer's service installs a newer signed release and keeps the old binary", func(t *testing.T) {
		before, _ := c.exec(ctx, "systemctl", "show", "--property=MainPID", "chatbox.service")
		if out, err := c.exec(ctx, "systemctl", "start", "chatbox-update.service"); err != nil {
			t.Fatalf("systemctl start chatbox-update.service: %v\n%s\n%s", err, out, updateJournal())
		}
		if out, _ := c.exec(ctx, "systemctl", "show", "--property=Result", "chatbox-update.service"); out != "Result=success" {
			t.Errorf("the update service ended with %q", out)
		}
		if n := ch.Hits(releasetest.Dir("") + binName); n != 1 {
			t.Errorf("the channel served the new binary %d times, want once", n)
		}
		if out, err := c.exec(ctx, "chatbox", "version"); err != nil || !strings.HasPrefix(out, "chatbox v1.1.0 ") {
			t.Errorf("chatbox version after the update: %v %q, want v1.1.0", err, out)
		}
		if now, _ := os.ReadFile(filepath.Join(tree, "usr/local/bin/chatbox")); !bytes.Equal(now, readAll(t, newer)) {
			t.Error("/usr/local/bin/chatbox is not the release's binary")
		}
		if prev, _ := os.ReadFile(filepath.Join(tree, "usr/local/bin/chatbox.prev")); !bytes.Equal(prev, readAll(t, old)) {
			t.Error("/usr/local/bin/chatbox.prev is not the binary before the update, kept for a rollback")
		}
		if out, _ := c.exec(ctx, "systemctl", "is-active", "chatbox.service"); out != "active" {
			t.Errorf("the service is %q after the update", out)
		}
		if after, _ := c.exec(ctx, "systemctl", "show", "--property=MainPID", "chatbox.service"); after == before {
			t.Errorf("the service was not restarted on the new binary (%s)", after)
		}
		if err := healthz(ctx); err != nil {
			t.Errorf("/healthz after the update: %v", err)
		}
		if out, _ := c.exec(ctx, "systemctl", "is-enabled", "chatbox-update.timer"); out != "enabled" {
			t.Errorf("after the update chatbox-update.timer is %q, want enabled", out)
		}
		if journal := waitJournal(ctx, t, updateJournal, "chatbox v1.1.0 is verified"); journal != "" {
			t.Logf("chatbox-update.service:\n%s", journal)
		}
		checkNoDownloadsLeft(t, tree)
	})
	if t.Failed() {
		t.Logf("journal:\n%s\n%s", updateJournal(), c.journal(ctx))
		t.FailNow()
	}

	t.Run("a release whose binary does not match its hash changes nothing and the journal says so", func(t *testing.T) {
		good := readAll(t, newer)
		bad := append([]byte(nil), good...)
		bad[len(bad)/2] ^= 0xff // the same size; the signed SHA-256 is the good one's
		ch.Publish(t, releasetest.Dir(""), release.Manifest{Version: "v1.2.0", Files: []release.File{releasetest.FileFor(goos, arch, binName, good)}},
			ch.Key, map[string][]byte{binName: bad})
		hits := ch.Hits(releasetest.Dir("") + binName)
		state := treeState(t, tree)
		pid, _ := c.exec(ctx, "systemctl", "show", "--property=MainPID", "chatbox.service")
		out, err := c.exec(ctx, "systemctl", "start", "chatbox-update.service")
		if err == nil {
			t.Errorf("systemctl start chatbox-update.service succeeded with a binary that does not match its hash:\n%s", out)
		}
		if out, _ := c.exec(ctx, "systemctl", "show", "--property=Result", "chatbox-update.service"); out != "Result=exit-code" {
			t.Errorf("the update service ended with %q, want Result=exit-code", out)
		}
		if n := ch.Hits(releasetest.Dir("")+binName) - hits; n != 1 {
			t.Errorf("the channel served the bad binary %d times, want once (the refusal comes after the download)", n)
		}
		journal := waitJournal(ctx, t, updateJournal, "not the "+releasetest.FileFor(goos, arch, binName, good).SHA256+" the signed manifest says")
		t.Logf("chatbox-update.service:\n%s", journal)
		if strings.Contains(journal, "v1.2.0 is verified") {
			t.Error("the journal says the bad release was verified")
		}
		if after := treeState(t, tree); after != state {
			t.Errorf("the refused update changed chatbox's files:\n--- before\n%s--- after\n%s", state, after)
		}
		checkNoDownloadsLeft(t, tree)
		if now, _ := c.exec(ctx, "systemctl", "show", "--property=MainPID", "chatbox.service"); now != pid {
			t.Errorf("the refused update restarted the service (%s, then %s)", pid, now)
		}
		if out, err := c.exec(ctx, "chatbox", "version"); err != nil || !strings.HasPrefix(out, "chatbox v1.1.0 ") {
			t.Errorf("chatbox version after the refused update: %v %q, want v1.1.0", err, out)
		}
		if err := healthz(ctx); err != nil {
			t.Errorf("/healthz after the refused update: %v", err)
		}
		if out, _ := c.exec(ctx, "systemctl", "is-enabled", "chatbox-update.timer"); out != "enabled" {
			t.Errorf("after the refused update chatbox-update.timer is %q, want enabled", out)
		}
	})
	if t.Failed() {
		t.Logf("journal:\n%s", c.journal(ctx))
	}
}

// buildTestKeyChatbox builds cmd/chatbox as version, trusting key besides
// the release keys (the chatbox_testkey tag; see internal/release).
func buildTestKeyChatbox(ctx context.Context, t *testing.T, version string, key minisign.PublicKey) string {
	t.Helper()
	return releasetest.Build(ctx, t, version, key, true)
}

// waitJournal returns the journal once it says want: the service has
// exited when systemctl start returns, but journald may not have read
// its last lines yet. It fails the test after ten seconds.
func waitJournal(ctx context.Context, t *testing.T, journal func() string, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := journal()
		if strings.Contains(got, want) {
			return got
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Errorf("after 10s the journal does not say %q:\n%s", want, got)
			return got
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkNoDownloadsLeft wants no download of chatbox update left beside
// the installed binary.
func checkNoDownloadsLeft(t *testing.T, tree string) {
	t.Helper()
	left, _ := filepath.Glob(filepath.Join(tree, "usr/local/bin/.chatbox-*"))
	for _, f := range left {
		t.Errorf("the update left %s beside the binary", strings.TrimPrefix(f, tree))
	}
}
