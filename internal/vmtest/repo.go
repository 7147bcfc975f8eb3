//go:build linux

package vmtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/chatbox-dev/chatbox/internal/testdirserver"
)

// RepoGuestAddr is where the guest reaches the test's apt repository.
const RepoGuestAddr = "10.0.2.101:80"

// RepoOrigin is the Origin of the test's repository's Release, which
// RepoGuestSetup adds to unattended-upgrades' origins.
const RepoOrigin = "chatbox-vmtest"

// Repo is a small apt repository on host loopback that a guest reaches at
// RepoGuestAddr: the test publishes packages it builds with dpkg-deb, as
// Debian's archive publishes an update. Its Release is not signed and the
// guest's sources line says [trusted=yes]: what a test of it checks is
// that the machine's own timers fetch and install an update, not apt's
// signature checks (packaging's tests check those).
type Repo struct {
	dir      string
	hostAddr string
}

// StartRepo serves an empty repository until the test ends.
func StartRepo(t *testing.T) *Repo {
	t.Helper()
	r := &Repo{dir: t.TempDir()}
	r.hostAddr = testdirserver.Start(t, r.dir)
	return r
}

// Forward lets the guest reach the repository.
func (r *Repo) Forward() GuestForward {
	return GuestForward{Guest: RepoGuestAddr, Host: r.hostAddr}
}

// RepoGuestSetup is the shell that points a guest's apt at the
// repository (directly, not through the apt proxy) and lets
// unattended-upgrades install from it, as it does from Debian's archive.
func RepoGuestSetup() string {
	host, _, _ := net.SplitHostPort(RepoGuestAddr)
	return fmt.Sprintf(`echo 'deb [trusted=yes] http://%s/ ./' > /etc/apt/sources.list.d/vmtest.list &&
echo 'Acquire::http::Proxy::%s "DIRECT";' > /etc/apt/apt.conf.d/02vmtest-repo &&
printf 'Unattended-Upgrade::Origins-Pattern {\n\t"origin=%s";\n};\n' > /etc/apt/apt.conf.d/51vmtest-origin`, RepoGuestAddr, host, RepoOrigin)
}

// Publish builds package name at version (architecture all, one file
// under /usr/share/doc/name saying its version) and publishes it, with
// every package published before, in a new Packages and Release.
func (r *Repo) Publish(ctx context.Context, t *testing.T, name, version string) {
	t.Helper()
	src := filepath.Join(t.TempDir(), name)
	files := map[string]string{
		"DEBIAN/control": fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: chatbox tests <tests@chatbox.invalid>\n"+
			"Section: misc\nPriority: optional\nDescription: a package the VM tests publish as an update\n", name, version),
		"usr/share/doc/" + name + "/version": version + "\n",
	}
	for p, content := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(src, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	deb := filepath.Join(r.dir, fmt.Sprintf("%s_%s_all.deb", name, version))
	if out, err := command(ctx, "dpkg-deb", "--root-owner-group", "--build", src, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb --build %s %s: %v\n%s", name, version, err, out)
	}
	// In the repository's folder, so that each Filename is relative to it.
	scan := command(ctx, "apt-ftparchive", "packages", ".")
	scan.Dir = r.dir
	packages, err := scan.Output()
	if err != nil {
		t.Fatalf("apt-ftparchive packages: %v", err)
	}
	if err := os.WriteFile(filepath.Join(r.dir, "Packages"), packages, 0o644); err != nil {
		t.Fatal(err)
	}
	release, err := command(ctx, "apt-ftparchive",
		"-o", "APT::FTPArchive::Release::Origin="+RepoOrigin,
		"-o", "APT::FTPArchive::Release::Label="+RepoOrigin,
		"-o", "APT::FTPArchive::Release::Suite=stable",
		"-o", "APT::FTPArchive::Release::Codename=vmtest",
		"release", r.dir).Output()
	if err != nil {
		t.Fatalf("apt-ftparchive release: %v", err)
	}
	if err := os.WriteFile(filepath.Join(r.dir, "Release"), release, 0o644); err != nil {
		t.Fatal(err)
	}
}
