package packaging

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildPackage builds chatbox as release.sh does (static, stripped) and
// packages it with nfpm and packaging/nfpm.yaml as version into dir,
// named as release.sh names it; it returns the package's path.
func buildPackage(t *testing.T, ctx context.Context, packager, version, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "chatbox")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "../cmd/chatbox")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build chatbox: %v\n%s", err, out)
	}
	v := strings.TrimPrefix(version, "v")
	pkg := filepath.Join(dir, "chatbox_"+v+"_amd64.deb")
	if packager == "rpm" {
		pkg = filepath.Join(dir, "chatbox-"+v+"-1.x86_64.rpm")
	}
	pack := exec.CommandContext(ctx, "go", "tool", "nfpm", "package", "--config", "packaging/nfpm.yaml", "--packager", packager, "--target", pkg)
	pack.Dir = repoRoot(t)
	pack.Env = append(os.Environ(), "CHATBOX_VERSION="+version, "CHATBOX_ARCH=amd64", "CHATBOX_BINARY="+bin)
	if out, err := pack.CombinedOutput(); err != nil {
		t.Fatalf("nfpm: %v\n%s", err, out)
	}
	return pkg
}

// The .rpm built as release.sh builds it passes rpmlint, warnings
// included, but for the findings packaging/rpm/chatbox.rpmlintrc accepts,
// each with its reason there.
func TestTheRpmPassesRpmlint(t *testing.T) {
	rpmlint := lookPath(t, "rpmlint", "apt-get install rpmlint")
	cpio := lookPath(t, "cpio", "apt-get install cpio")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	pkg := buildPackage(t, ctx, "rpm", "v1.2.3", t.TempDir())

	// nfpm names the payload's files with absolute paths (/usr/bin/chatbox),
	// and rpmlint unpacks a package with `rpm2cpio | cpio -id`, which would
	// write them onto this machine. A cpio that makes every name relative
	// keeps them in rpmlint's own directory, where it reads them.
	wrap := t.TempDir()
	script := "#!/bin/sh\nexec " + cpio + " --no-absolute-filenames \"$@\"\n"
	if err := os.WriteFile(filepath.Join(wrap, "cpio"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, rpmlint, "--strict", "--rpmlintrc", filepath.Join(repoRoot(t), "packaging/rpm/chatbox.rpmlintrc"), pkg)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "PATH="+wrap+string(os.PathListSeparator)+os.Getenv("PATH"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("rpmlint:\n%s", out.String())
	if err != nil {
		t.Errorf("rpmlint finds errors or warnings in the .rpm (%v)", err)
	}
	// rpmlint saw the files themselves, not only the header's list.
	if !strings.Contains(out.String(), "1 packages") || strings.Contains(out.String(), "no-binary") {
		t.Error("rpmlint did not check the package's binary")
	}
}

// The .rpm installs for real with rpm into a scratch root: the binary in
// /usr/bin, the unit in systemd's vendor directory, nothing under
// /usr/local; its %post and %preun run there (a shell is copied in, and a
// systemctl stand-in records what they ask of systemd, since no systemd
// runs in the scratch root); and rpm -e leaves the root as it was.
func TestTheRpmInstallsAndErasesInAScratchRoot(t *testing.T) {
	requireE2E(t, "installing the rpm with rpm --root")
	rpmTool := lookPath(t, "rpm", "apt-get install rpm")
	if os.Geteuid() != 0 {
		t.Fatal("CHATBOX_E2E=1: rpm --root runs the package's scripts in a chroot, which needs root")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	pkg := buildPackage(t, ctx, "rpm", "v1.2.3", t.TempDir())

	root := t.TempDir()
	scratchRoot(t, root)
	// rpm in the scratch root, its database where RHEL keeps it. Debian's
	// rpm installs and erases only with --force-debian.
	rpm := func(args ...string) (string, error) {
		args = append([]string{"--root", root, "--dbpath", "/var/lib/rpm"}, args...)
		if args[4] == "-i" || args[4] == "-e" {
			args = append(args, "--force-debian")
		}
		out, err := exec.CommandContext(ctx, rpmTool, args...).CombinedOutput()
		return string(out), err
	}
	if out, err := rpm("--initdb"); err != nil {
		t.Fatalf("rpm --initdb: %v\n%s", err, out)
	}
	before := rootState(t, root)

	out, err := rpm("-i", "--nodeps", pkg)
	t.Logf("rpm -i:\n%s", out)
	if err != nil || strings.Contains(out, "scriptlet failed") {
		t.Fatalf("rpm -i (%v): a step or a script failed", err)
	}
	// %post says only how to set up the room: no error from a command.
	if want := "chatbox: set up the room with: chatbox install --domain chat.example.com (or --ip ADDRESS)\n"; out != want {
		t.Errorf("rpm -i printed\n%s\nwant only %%post's\n%s", out, want)
	}
	if q, err := rpm("-q", "chatbox"); err != nil || strings.TrimSpace(q) != "chatbox-1.2.3-1.x86_64" {
		t.Errorf("rpm -q chatbox: %v %q", err, q)
	}
	for p, mode := range map[string]fs.FileMode{"usr/bin/chatbox": 0o755, "usr/lib/systemd/system/chatbox.service": 0o644, "usr/share/doc/chatbox/copyright": 0o644} {
		fi, err := os.Stat(filepath.Join(root, p))
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("/%s after rpm -i: %v, want mode %04o", p, err, mode)
		}
	}
	if unit, _ := os.ReadFile(filepath.Join(root, "usr/lib/systemd/system/chatbox.service")); !bytes.Contains(unit, []byte("\nExecStart=/usr/bin/chatbox ")) {
		t.Errorf("the installed unit does not run /usr/bin/chatbox:\n%s", unit)
	}
	if _, err := os.Lstat(filepath.Join(root, "usr/local")); err == nil {
		t.Error("the rpm put something under /usr/local")
	}
	if v, err := exec.CommandContext(ctx, "chroot", root, "/usr/bin/chatbox", "version").CombinedOutput(); err != nil || !strings.HasPrefix(string(v), "chatbox ") {
		t.Errorf("the installed /usr/bin/chatbox version: %v %q", err, v)
	}

	out, err = rpm("-e", "chatbox")
	t.Logf("rpm -e:\n%s", out)
	if err != nil || out != "" {
		t.Errorf("rpm -e (%v) printed %q, want nothing: a step or a script failed", err, out)
	}
	calls, _ := os.ReadFile(filepath.Join(root, systemctlLog))
	if want := "daemon-reload\ntry-restart chatbox.service\ndisable --now chatbox.service\n"; string(calls) != want {
		t.Errorf("the package's scripts asked systemctl for\n%s\nwant (%%post, then %%preun on removal)\n%s", calls, want)
	}
	if err := os.Remove(filepath.Join(root, systemctlLog)); err != nil {
		t.Fatal(err)
	}
	if after := rootState(t, root); after != before {
		t.Errorf("rpm -e left the scratch root changed:\n--- before rpm -i\n%s--- after rpm -e\n%s", before, after)
	}
}

// systemctlLog is where the scratch root's systemctl stand-in writes what
// it was asked, one call a line.
const systemctlLog = "/systemctl.log"

// scratchRoot makes root a host the package's scripts run on: /bin/sh
// (this machine's, with the libraries it loads), the directories that a
// RHEL host's own packages own, /run/systemd/system (systemd runs it) and a
// systemctl stand-in.
func scratchRoot(t *testing.T, root string) {
	t.Helper()
	sh, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	files := []string{sh}
	ldd, err := exec.Command("ldd", sh).Output()
	if err != nil {
		t.Fatalf("ldd %s: %v", sh, err)
	}
	files = append(files, regexp.MustCompile(`(?m)(/\S+\.so[.\d]*)`).FindAllString(string(ldd), -1)...)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(root, f)
		if f == sh {
			name = filepath.Join(root, "bin/sh")
		}
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The scripts send systemctl's output to /dev/null.
	if err := os.MkdirAll(filepath.Join(root, "dev"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mknod(filepath.Join(root, "dev/null"), syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Fatalf("make /dev/null in the scratch root: %v", err)
	}
	if err := os.Chmod(filepath.Join(root, "dev/null"), 0o666); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"usr/bin", "usr/sbin", "usr/lib/systemd/system", "usr/share/doc", "etc", "var/tmp", "tmp", "run/systemd/system"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	stand := "#!/bin/sh\necho \"$*\" >>" + systemctlLog + "\n"
	if err := os.WriteFile(filepath.Join(root, "usr/bin/systemctl"), []byte(stand), 0o755); err != nil {
		t.Fatal(err)
	}
}

// rootState lists every path under root with its mode and size, but rpm's
// database.
func rootState(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "var/lib/rpm" {
			return filepath.SkipDir
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		b.WriteString(rel + " " + fi.Mode().String())
		if fi.Mode().IsRegular() {
			b.WriteString(" " + strconv.FormatInt(fi.Size(), 10))
		}
		b.WriteString("\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
