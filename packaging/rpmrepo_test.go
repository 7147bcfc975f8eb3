package packaging

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// buildTestRpm packages a stand-in binary as release.sh packages the real
// one (nfpm, packaging/nfpm.yaml) and returns the .rpm, named as
// release.sh names it.
func buildTestRpm(t *testing.T, ctx context.Context, version string) string {
	t.Helper()
	goTool := lookPath(t, "go", "the Go toolchain")
	dir := t.TempDir()
	bin := filepath.Join(dir, "chatbox")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho chatbox "+version+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	rpm := filepath.Join(dir, fmt.Sprintf("chatbox-%s-1.x86_64.rpm", strings.TrimPrefix(version, "v")))
	cmd := exec.CommandContext(ctx, goTool, "tool", "nfpm", "package", "--config", "packaging/nfpm.yaml", "--packager", "rpm", "--target", rpm)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "CHATBOX_VERSION="+version, "CHATBOX_ARCH=amd64", "CHATBOX_BINARY="+bin, "SOURCE_DATE_EPOCH=1700000000")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build a test rpm: %v\n%s", err, out)
	}
	return rpm
}

// rpmRepo runs packaging/rpmrepo.sh, signing with key, and returns its
// combined output.
func rpmRepo(ctx context.Context, t *testing.T, key aptKey, repo string, rpms ...string) (string, error) {
	t.Helper()
	bash := lookPath(t, "bash", "apt-get install bash")
	cmd := exec.CommandContext(ctx, bash, append([]string{filepath.Join(repoRoot(t), "packaging", "rpmrepo.sh"), repo}, rpms...)...)
	cmd.Env = append(os.Environ(), "GNUPGHOME="+key.home, "CHATBOX_RPM_KEY="+key.fingerprint)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// dnfRoot is an empty dnf --installroot whose only repository is the
// owner's chatbox.repo of docs/RELEASING.md, pointed at a local
// repository: dnf reads it and its key from there and installs into the
// root, never touching this machine's packages.
type dnfRoot struct{ dir string }

func newDNFRoot(t *testing.T, repo string) dnfRoot {
	t.Helper()
	r := dnfRoot{dir: filepath.Join(t.TempDir(), "root")}
	conf := fmt.Sprintf("[chatbox]\nname=chatbox\nbaseurl=file://%s\nenabled=1\ngpgcheck=1\nrepo_gpgcheck=1\ngpgkey=file://%s/RPM-GPG-KEY-chatbox\n", repo, repo)
	if err := os.MkdirAll(filepath.Join(r.dir, "etc/yum.repos.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.dir, "etc/yum.repos.d/chatbox.repo"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

// dnf runs dnf on the root. The root is empty (no shell, no systemd), so
// the package's scriptlets cannot run in it: tsflags=noscripts. The
// scriptlets run for real in the booted Debian's deb tests.
func (r dnfRoot) dnf(ctx context.Context, t *testing.T, args ...string) (string, error) {
	t.Helper()
	dnf := lookPath(t, "dnf", "apt-get install dnf")
	base := []string{"-y", "--installroot", r.dir, "--releasever", "9", "--noplugins",
		"--setopt=reposdir=" + filepath.Join(r.dir, "etc/yum.repos.d"), "--setopt=tsflags=noscripts", "--setopt=install_weak_deps=False"}
	out, err := exec.CommandContext(ctx, dnf, append(base, args...)...).CombinedOutput()
	return string(out), err
}

// installed is rpm's name-version-release of chatbox in the root, or "".
func (r dnfRoot) installed(ctx context.Context, t *testing.T) string {
	t.Helper()
	out, err := exec.CommandContext(ctx, "rpm", "--root", r.dir, "-q", "--qf", "%{NAME}-%{VERSION}-%{RELEASE}", "chatbox").Output()
	if err != nil {
		return ""
	}
	return string(out)
}

// TestRpmRepository builds a dnf repository with packaging/rpmrepo.sh and
// installs from it with Debian's dnf into an empty installroot, with
// gpgcheck and repo_gpgcheck on, as an owner's chatbox.repo has them.
func TestRpmRepository(t *testing.T) {
	requireE2E(t, "installing from a dnf repository")
	lookPath(t, "createrepo_c", "apt-get install createrepo-c")
	lookPath(t, "rpmsign", "apt-get install rpm")
	lookPath(t, "dnf", "apt-get install dnf")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	key := newAptKey(t, ctx, "chatbox test rpm")
	v1 := buildTestRpm(t, ctx, "v1.0.0")
	repo := filepath.Join(t.TempDir(), "rpm")
	if out, err := rpmRepo(ctx, t, key, repo, v1); err != nil {
		t.Fatalf("rpmrepo.sh: %v\n%s", err, out)
	}
	// A repository whose index and packages another key signed.
	other := newAptKey(t, ctx, "someone else")
	stranger := filepath.Join(t.TempDir(), "stranger")
	if out, err := rpmRepo(ctx, t, other, stranger, buildTestRpm(t, ctx, "v1.0.0")); err != nil {
		t.Fatalf("rpmrepo.sh with the other key: %v\n%s", err, out)
	}
	keyID := strings.ToLower(key.fingerprint[len(key.fingerprint)-16:])

	root := newDNFRoot(t, repo)
	t.Run("dnf installs chatbox, checking the index's and the package's signatures", func(t *testing.T) {
		out, err := root.dnf(ctx, t, "install", "chatbox")
		if err != nil {
			t.Fatalf("dnf install chatbox: %v\n%s", err, out)
		}
		if !strings.Contains(out, "Importing GPG key 0x"+strings.ToUpper(keyID[8:])) {
			t.Errorf("dnf did not import the repository's key %s:\n%s", keyID, out)
		}
		if got := root.installed(ctx, t); got != "chatbox-1.0.0-1" {
			t.Errorf("rpm -q chatbox in the root says %q, want chatbox-1.0.0-1", got)
		}
		if bin := readFile(t, filepath.Join(root.dir, "usr/bin/chatbox")); !strings.Contains(string(bin), "echo chatbox v1.0.0") {
			t.Errorf("/usr/bin/chatbox in the root is not the packaged binary:\n%s", bin)
		}
		sig, _ := exec.CommandContext(ctx, "rpm", "--root", root.dir, "-q", "--qf", "%|DSAHEADER?{%{DSAHEADER:pgpsig}}:{%|RSAHEADER?{%{RSAHEADER:pgpsig}}:{(none)}|}|", "chatbox").Output()
		if !strings.Contains(string(sig), "Key ID "+keyID) {
			t.Errorf("the installed package's signature is %q, want one by key %s", sig, keyID)
		}
	})

	t.Run("a newer version published later is what dnf upgrade installs", func(t *testing.T) {
		if out, err := rpmRepo(ctx, t, key, repo, buildTestRpm(t, ctx, "v1.1.0")); err != nil {
			t.Fatalf("rpmrepo.sh v1.1.0: %v\n%s", err, out)
		}
		if out, err := root.dnf(ctx, t, "upgrade", "--refresh"); err != nil {
			t.Fatalf("dnf upgrade: %v\n%s", err, out)
		}
		if got := root.installed(ctx, t); got != "chatbox-1.1.0-1" {
			t.Errorf("after dnf upgrade chatbox is %q, want chatbox-1.1.0-1", got)
		}
	})

	t.Run("a published version never changes", func(t *testing.T) {
		changed := buildTestRpm(t, ctx, "v1.0.0")
		bin := filepath.Join(t.TempDir(), "other")
		if err := os.WriteFile(bin, []byte("#!/bin/sh\necho something else\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.CommandContext(ctx, "go", "tool", "nfpm", "package", "--config", "packaging/nfpm.yaml", "--packager", "rpm", "--target", changed)
		cmd.Dir = repoRoot(t)
		cmd.Env = append(os.Environ(), "CHATBOX_VERSION=v1.0.0", "CHATBOX_ARCH=amd64", "CHATBOX_BINARY="+bin, "SOURCE_DATE_EPOCH=1700000000")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build the changed rpm: %v\n%s", err, out)
		}
		before := readFile(t, filepath.Join(repo, "repodata/repomd.xml"))
		out, err := rpmRepo(ctx, t, key, repo, changed)
		if err == nil || !strings.Contains(out, "chatbox-1.0.0-1.x86_64.rpm is already published with other contents") {
			t.Errorf("rpmrepo.sh took a changed chatbox-1.0.0: %v\n%s", err, out)
		}
		if after := readFile(t, filepath.Join(repo, "repodata/repomd.xml")); string(after) != string(before) {
			t.Error("the refused package changed the index")
		}
		if out, err := rpmRepo(ctx, t, key, repo, v1); err != nil {
			t.Errorf("rpmrepo.sh with the very package already published: %v\n%s", err, out)
		}
	})

	refused := func(t *testing.T, repo, want string) {
		t.Helper()
		root := newDNFRoot(t, repo)
		out, err := root.dnf(ctx, t, "install", "chatbox")
		t.Logf("dnf install chatbox:\n%s", out)
		if err == nil {
			t.Error("dnf install accepted the repository")
		}
		if !strings.Contains(out, want) {
			t.Errorf("dnf did not say %q", want)
		}
		if got := root.installed(ctx, t); got != "" {
			t.Errorf("dnf installed %s from the refused repository", got)
		}
	}
	t.Run("dnf refuses an index signed by another key", func(t *testing.T) {
		// The stranger's repository, offering the genuine key: its
		// repomd.xml.asc is by the other key.
		forged := copyTree(t, stranger)
		if err := os.WriteFile(filepath.Join(forged, "RPM-GPG-KEY-chatbox"), readFile(t, filepath.Join(repo, "RPM-GPG-KEY-chatbox")), 0o644); err != nil {
			t.Fatal(err)
		}
		refused(t, forged, "repomd.xml GPG signature verification error")
	})
	t.Run("dnf refuses a package signed by another key in a genuinely signed index", func(t *testing.T) {
		forged := copyTree(t, stranger)
		if err := os.WriteFile(filepath.Join(forged, "RPM-GPG-KEY-chatbox"), readFile(t, filepath.Join(repo, "RPM-GPG-KEY-chatbox")), 0o644); err != nil {
			t.Fatal(err)
		}
		key.gpg(t, ctx, "gpg", "--yes", "--armor", "--local-user", key.fingerprint, "--detach-sign",
			"--output", filepath.Join(forged, "repodata/repomd.xml.asc"), filepath.Join(forged, "repodata/repomd.xml"))
		refused(t, forged, "GPG check FAILED")
	})
}
