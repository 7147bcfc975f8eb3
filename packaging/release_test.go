package packaging

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"aead.dev/minisign"
	"github.com/chatbox-dev/chatbox/internal/release"
)

// e2e tells whether the expensive suites run (CHATBOX_E2E=1).
func e2e() bool { return os.Getenv("CHATBOX_E2E") == "1" }

// requireE2E skips a test that runs only with CHATBOX_E2E=1.
func requireE2E(t *testing.T, what string) {
	t.Helper()
	if !e2e() {
		t.Skipf("%s is an end-to-end test; set CHATBOX_E2E=1 to run it", what)
	}
}

// lookPath finds a program a test needs. A missing one fails the test
// under CHATBOX_E2E=1 and skips it otherwise.
func lookPath(t *testing.T, name, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if e2e() {
		t.Fatalf("this test needs %s, which is not installed (%s)", name, install)
	}
	t.Skipf("%s is not installed (%s)", name, install)
	return ""
}

// repoRoot is the module's root directory, the parent of packaging/.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatalf("find the repository's root: %v", err)
	}
	return root
}

// target is one binary of a release.
type target struct {
	name          string // the file is chatbox-NAME
	goos, goarch  string
	goarm         string
	machine       elf.Machine
	cheapToCheck  bool // cross-compiled without CHATBOX_E2E too
	debArch       string
	rpmArch       string
	runsOnGOARCH  string // the runtime.GOARCH that can run it on Linux
	interpAllowed bool   // OpenBSD binaries link libc dynamically
}

// releaseTargets are the binaries packaging/release.sh builds.
func releaseTargets() []target {
	return []target{
		{name: "linux-amd64", goos: "linux", goarch: "amd64", machine: elf.EM_X86_64, debArch: "amd64", rpmArch: "x86_64", runsOnGOARCH: "amd64"},
		{name: "linux-arm64", goos: "linux", goarch: "arm64", machine: elf.EM_AARCH64, debArch: "arm64", rpmArch: "aarch64", runsOnGOARCH: "arm64"},
		{name: "linux-armv6", goos: "linux", goarch: "arm", goarm: "6", machine: elf.EM_ARM, cheapToCheck: true, debArch: "armhf"},
		{name: "linux-armv7", goos: "linux", goarch: "arm", goarm: "7", machine: elf.EM_ARM},
		{name: "openbsd-amd64", goos: "openbsd", goarch: "amd64", machine: elf.EM_X86_64, cheapToCheck: true, interpAllowed: true},
		{name: "openbsd-arm64", goos: "openbsd", goarch: "arm64", machine: elf.EM_AARCH64, interpAllowed: true},
	}
}

// TestCrossCompile builds the whole module for every release target, so a
// change that breaks OpenBSD or 32-bit ARM is caught here and not at
// release time. Without CHATBOX_E2E=1 only openbsd/amd64 and linux/arm do.
func TestCrossCompile(t *testing.T) {
	goTool := lookPath(t, "go", "the Go toolchain")
	root := repoRoot(t)
	for _, tg := range releaseTargets() {
		t.Run(fmt.Sprintf("the module builds for %s", tg.name), func(t *testing.T) {
			if !tg.cheapToCheck {
				requireE2E(t, "building for "+tg.name)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, goTool, "build", "./...")
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+tg.goos, "GOARCH="+tg.goarch, "GOARM="+tg.goarm)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("GOOS=%s GOARCH=%s GOARM=%s go build ./... failed: %v\n%s", tg.goos, tg.goarch, tg.goarm, err, out)
			}
		})
	}
}

// TestReleaseRefusesABadVersion checks release.sh refuses a VERSION the
// packages could not carry, before it builds or writes anything.
func TestReleaseRefusesABadVersion(t *testing.T) {
	bash := lookPath(t, "bash", "apt-get install bash")
	root := repoRoot(t)
	tests := []struct{ name, version string }{
		{"A version without its v is refused", "1.2.3"},
		{"A version without a patch number is refused", "v1.2"},
		{"A version with a space is refused", "v1.2.3 beta"},
		{"A version with a slash is refused", "v1.2.3-a/b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dist := filepath.Join(t.TempDir(), "dist")
			cmd := exec.CommandContext(t.Context(), bash, filepath.Join(root, "packaging", "release.sh"))
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "VERSION="+tt.version, "DIST="+dist)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("release.sh accepted VERSION=%q:\n%s", tt.version, out)
			}
			want := fmt.Sprintf("release.sh: VERSION must look like v1.2.3 or v1.2.3-rc.1, not %q.\n", tt.version)
			if string(out) != want {
				t.Errorf("release.sh said %q, want %q", out, want)
			}
			if _, err := os.Stat(dist); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("release.sh made %s before refusing (stat: %v)", dist, err)
			}
		})
	}
}

// TestReleaseRefusesToRunWithoutASigningKey checks release.sh will not
// make a release whose manifest it cannot sign.
func TestReleaseRefusesToRunWithoutASigningKey(t *testing.T) {
	bash := lookPath(t, "bash", "apt-get install bash")
	root := repoRoot(t)
	dist := filepath.Join(t.TempDir(), "dist")
	cmd := exec.CommandContext(t.Context(), bash, filepath.Join(root, "packaging", "release.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "VERSION=v1.2.3", "DIST="+dist, "CHATBOX_SIGNING_KEY=")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.HasPrefix(string(out), "release.sh: set CHATBOX_SIGNING_KEY") {
		t.Fatalf("release.sh without a key: %v\n%s", err, out)
	}
	if _, err := os.Stat(dist); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("release.sh made %s before refusing (stat: %v)", dist, err)
	}
}

// TestReleaseRefusesToRunWithoutAnAptKey checks release.sh will not make
// a release whose apt repository it cannot sign.
func TestReleaseRefusesToRunWithoutAnAptKey(t *testing.T) {
	bash := lookPath(t, "bash", "apt-get install bash")
	root := repoRoot(t)
	dist := filepath.Join(t.TempDir(), "dist")
	cmd := exec.CommandContext(t.Context(), bash, filepath.Join(root, "packaging", "release.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "VERSION=v1.2.3", "DIST="+dist, "CHATBOX_SIGNING_KEY=release.key", "CHATBOX_APT_KEY=")
	out, err := cmd.CombinedOutput()
	if want := "release.sh: set CHATBOX_APT_KEY to the OpenPGP key that signs the apt repository (docs/RELEASING.md).\n"; err == nil || string(out) != want {
		t.Fatalf("release.sh without an apt key: %v, said %q, want %q", err, out, want)
	}
	if _, err := os.Stat(dist); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("release.sh made %s before refusing (stat: %v)", dist, err)
	}
}

// TestReleaseRefusesATestKeyBuild checks release.sh builds nothing when
// GOFLAGS would slip in the tag that lets a test build trust a throwaway
// release key. (A binary that has the tag anyway is refused after its
// build; TestRelease checks the shipped binaries' tags.)
func TestReleaseRefusesATestKeyBuild(t *testing.T) {
	bash := lookPath(t, "bash", "apt-get install bash")
	root := repoRoot(t)
	dist := filepath.Join(t.TempDir(), "dist")
	cmd := exec.CommandContext(t.Context(), bash, filepath.Join(root, "packaging", "release.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "VERSION=v1.2.3", "DIST="+dist, "CHATBOX_SIGNING_KEY=release.key", "CHATBOX_APT_KEY=ABCD",
		"GOFLAGS=-tags="+release.TestKeyTag)
	out, err := cmd.CombinedOutput()
	want := "release.sh: GOFLAGS (-tags=" + release.TestKeyTag + ") asks for the " + release.TestKeyTag + " tag: a release must trust the embedded keys alone.\n"
	if err == nil || string(out) != want {
		t.Fatalf("release.sh with GOFLAGS=-tags=%s: %v, said %q, want %q", release.TestKeyTag, err, out, want)
	}
	if _, err := os.Stat(dist); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("release.sh made %s before refusing (stat: %v)", dist, err)
	}
}

// TestRelease runs packaging/release.sh offline and checks everything it
// makes: the files, SHA256SUMS, the binaries' build settings, the deb and
// rpm packages' metadata, files and scripts, and install.sh served from
// the release.
func TestRelease(t *testing.T) {
	requireE2E(t, "building a whole release")
	bash := lookPath(t, "bash", "apt-get install bash")
	dpkgDeb := lookPath(t, "dpkg-deb", "apt-get install dpkg")
	rpmTool := lookPath(t, "rpm", "apt-get install rpm")
	goTool := lookPath(t, "go", "the Go toolchain")

	const version = "v0.0.0-test"
	root := repoRoot(t)
	dist := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Minute)
	defer cancel()
	// Fill the module cache (a no-op when it is full), then build with
	// GOPROXY=off: a release needs nothing but the cache.
	download := exec.CommandContext(ctx, goTool, "mod", "download")
	download.Dir = root
	if out, err := download.CombinedOutput(); err != nil {
		t.Fatalf("go mod download: %v\n%s", err, out)
	}
	keys := t.TempDir()
	gen := exec.CommandContext(ctx, goTool, "run", "./packaging/sign", "-generate", filepath.Join(keys, "release"))
	gen.Dir = root
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("generate a test signing key: %v\n%s", err, out)
	}
	lookPath(t, "apt-ftparchive", "apt-get install apt-utils")
	aptKey := newAptKey(t, ctx, "chatbox test archive")
	cmd := exec.CommandContext(ctx, bash, filepath.Join(root, "packaging", "release.sh"))
	cmd.Dir = root
	cmd.Env = append(aptKey.env(), "VERSION="+version, "DIST="+dist, "GOPROXY=off", "CHATBOX_SIGNING_KEY="+filepath.Join(keys, "release.key"), "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod=readonly"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("release.sh failed: %v\n%s", err, out)
	}

	targets := releaseTargets()
	debs := map[string]target{}
	rpms := map[string]target{}
	want := []string{"SHA256SUMS", "install.sh", "ASSETS", release.ManifestName, release.SignatureName, "apt"}
	for _, tg := range targets {
		want = append(want, "chatbox-"+tg.name)
		if tg.debArch != "" {
			debs["chatbox_0.0.0-test_"+tg.debArch+".deb"] = tg
		}
		if tg.rpmArch != "" {
			rpms["chatbox-0.0.0-test-1."+tg.rpmArch+".rpm"] = tg
		}
	}
	for name := range debs {
		want = append(want, name)
	}
	for name := range rpms {
		want = append(want, name)
	}

	t.Run("the release has every file and no other", func(t *testing.T) {
		entries, err := os.ReadDir(dist)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			got = append(got, e.Name())
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("release files:\n got %q\nwant %q", got, want)
		}
	})

	t.Run("ASSETS gives every file of the page with the hash the binary serves", func(t *testing.T) {
		sums := readSums(t, filepath.Join(dist, "ASSETS"))
		mainJS, ok := sums["/static/js/main.js"]
		if !ok || len(sums) < 10 {
			t.Fatalf("ASSETS lists %d files and main.js %v: want every file of the page", len(sums), ok)
		}
		if want := fileSHA256(t, filepath.Join("..", "chat", "web", "static", "js", "main.js")); mainJS != want {
			t.Errorf("ASSETS says main.js is %s, the source's is %s", mainJS, want)
		}
	})

	t.Run("SHA256SUMS lists every other file with its hash", func(t *testing.T) {
		sums := readSums(t, filepath.Join(dist, "SHA256SUMS"))
		var listed []string
		for name, sum := range sums {
			listed = append(listed, name)
			if got := fileSHA256(t, filepath.Join(dist, name)); got != sum {
				t.Errorf("%s: SHA256SUMS says %s, the file's is %s", name, sum, got)
			}
		}
		slices.Sort(listed)
		wantListed := slices.DeleteFunc(slices.Clone(want), func(s string) bool {
			return s == "SHA256SUMS" || s == release.ManifestName || s == release.SignatureName || s == "apt"
		})
		slices.Sort(wantListed)
		if !slices.Equal(listed, wantListed) {
			t.Errorf("SHA256SUMS lists %q, want %q", listed, wantListed)
		}
	})

	t.Run("the manifest is signed and lists every binary with its size and hash", func(t *testing.T) {
		pub, err := minisign.PublicKeyFromFile(filepath.Join(keys, "release.pub"))
		if err != nil {
			t.Fatal(err)
		}
		m, err := release.Verify(readFile(t, filepath.Join(dist, release.ManifestName)), readFile(t, filepath.Join(dist, release.SignatureName)), []minisign.PublicKey{pub})
		if err != nil {
			t.Fatal(err)
		}
		if m.Version != version || len(m.Files) != len(targets) {
			t.Fatalf("the manifest is of %s with %d files, want %s with %d", m.Version, len(m.Files), version, len(targets))
		}
		for _, f := range m.Files {
			name := "chatbox-" + f.OS + "-" + f.Arch
			if f.URL != name || f.SHA256 != fileSHA256(t, filepath.Join(dist, name)) {
				t.Errorf("the manifest's %s/%s is %+v, not the release's %s", f.OS, f.Arch, f, name)
			}
		}
	})

	t.Run("the apt repository holds every deb and is signed by the apt key", func(t *testing.T) {
		for name := range debs {
			assertSameFile(t, filepath.Join(dist, "apt/pool/main/c/chatbox", name), filepath.Join(dist, name))
		}
		keyring := filepath.Join(dist, "apt/chatbox-archive-keyring.gpg")
		gpgv := lookPath(t, "gpgv", "apt-get install gpgv")
		if out, err := exec.CommandContext(ctx, gpgv, "--keyring", keyring, filepath.Join(dist, "apt/dists/stable/InRelease")).CombinedOutput(); err != nil {
			t.Errorf("gpgv InRelease: %v\n%s", err, out)
		}
		for _, tg := range debs {
			packages := string(readFile(t, filepath.Join(dist, "apt/dists/stable/main/binary-"+tg.debArch+"/Packages")))
			if !strings.Contains(packages, "Version: 0.0.0~test-1\n") {
				t.Errorf("the %s index has no chatbox 0.0.0~test-1:\n%s", tg.debArch, packages)
			}
		}
	})

	for _, tg := range targets {
		t.Run(fmt.Sprintf("chatbox-%s is a static, trimmed build for %s/%s with the version", tg.name, tg.goos, tg.goarch), func(t *testing.T) {
			checkBinary(t, filepath.Join(dist, "chatbox-"+tg.name), tg, version)
		})
	}

	t.Run("the binary for this machine prints the release's version", func(t *testing.T) {
		i := slices.IndexFunc(targets, func(tg target) bool {
			return tg.goos == runtime.GOOS && tg.runsOnGOARCH == runtime.GOARCH
		})
		if i < 0 {
			t.Skipf("no release binary runs on %s/%s", runtime.GOOS, runtime.GOARCH)
		}
		out, err := exec.CommandContext(ctx, filepath.Join(dist, "chatbox-"+targets[i].name), "version").CombinedOutput()
		if err != nil {
			t.Fatalf("chatbox version: %v\n%s", err, out)
		}
		if !strings.HasPrefix(string(out), "chatbox "+version+" ") {
			t.Errorf("chatbox version printed %q, want it to start with %q", out, "chatbox "+version+" ")
		}
	})

	for name, tg := range debs {
		t.Run(fmt.Sprintf("%s is a %s package with the binary, the unit and the scripts", name, tg.debArch), func(t *testing.T) {
			deb := filepath.Join(dist, name)
			info := run(t, ctx, dpkgDeb, "--info", deb)
			for _, line := range []string{"Package: chatbox", "Version: 0.0.0~test-1", "Architecture: " + tg.debArch, "Recommends: ca-certificates"} {
				if !strings.Contains(info, "\n "+line+"\n") {
					t.Errorf("dpkg-deb --info has no line %q:\n%s", line, info)
				}
			}
			contents := run(t, ctx, dpkgDeb, "--contents", deb)
			for _, want := range []string{"-rwxr-xr-x root/root", "./usr/bin/chatbox\n", "-rw-r--r-- root/root", "./usr/lib/systemd/system/chatbox.service\n"} {
				if !strings.Contains(contents, want) {
					t.Errorf("dpkg-deb --contents has no %q:\n%s", want, contents)
				}
			}

			ctrl := t.TempDir()
			run(t, ctx, dpkgDeb, "--control", deb, ctrl)
			for file, script := range map[string]string{"postinst": "scripts/postinstall.sh", "prerm": "scripts/preremove.sh"} {
				assertSameFile(t, filepath.Join(ctrl, file), script)
			}
			if _, err := os.Stat(filepath.Join(ctrl, "conffiles")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the package has conffiles (stat: %v); it must ship no config", err)
			}

			files := debFiles(t, ctx, dpkgDeb, deb)
			if strings.Contains(contents, "./usr/local") {
				t.Errorf("the package ships something under /usr/local, which Debian Policy forbids:\n%s", contents)
			}
			wantFiles := map[string][]byte{
				"./usr/bin/chatbox":                        readFile(t, filepath.Join(dist, "chatbox-"+debBinary(tg))),
				"./usr/lib/systemd/system/chatbox.service": readFile(t, "chatbox-package.service"),
				"./usr/share/doc/chatbox/copyright":        readFile(t, "deb/copyright"),
				"./usr/share/lintian/overrides/chatbox":    readFile(t, "deb/lintian-overrides"),
			}
			if _, ok := files["./usr/share/doc/chatbox/changelog.Debian.gz"]; !ok {
				t.Error("the package has no changelog.Debian.gz")
			}
			delete(files, "./usr/share/doc/chatbox/changelog.Debian.gz")
			if len(files) != len(wantFiles) {
				t.Errorf("the package has %d files, want %d", len(files), len(wantFiles))
			}
			for path, want := range wantFiles {
				if !bytes.Equal(files[path], want) {
					t.Errorf("%s in the package is not the release's file (%d bytes, want %d)", path, len(files[path]), len(want))
				}
			}
		})
	}

	for name, tg := range rpms {
		t.Run(fmt.Sprintf("%s is a %s package with the binary, the unit and the scripts", name, tg.rpmArch), func(t *testing.T) {
			pkg := filepath.Join(dist, name)
			got := run(t, ctx, rpmTool, "-qp", "--queryformat", "%{NAME} %{VERSION} %{RELEASE} %{ARCH}\n", pkg)
			if want := "chatbox 0.0.0~test 1 " + tg.rpmArch + "\n"; got != want {
				t.Errorf("rpm -qp says %q, want %q", got, want)
			}
			if got, want := run(t, ctx, rpmTool, "-qpl", pkg), "/usr/bin/chatbox\n/usr/lib/systemd/system/chatbox.service\n/usr/share/doc/chatbox\n/usr/share/doc/chatbox/copyright\n"; got != want {
				t.Errorf("rpm -qpl lists %q, want %q", got, want)
			}
			scripts := run(t, ctx, rpmTool, "-qp", "--scripts", pkg)
			for section, file := range map[string]string{"postinstall scriptlet": "scripts/postinstall.sh", "preuninstall scriptlet": "scripts/preremove.sh"} {
				if !strings.Contains(scripts, section) || !strings.Contains(scripts, string(readFile(t, file))) {
					t.Errorf("rpm --scripts has no %s with %s:\n%s", section, file, scripts)
				}
			}
			if strings.Contains(scripts, "postuninstall") || strings.Contains(scripts, "preinstall") {
				t.Errorf("rpm --scripts has scripts beyond %%post and %%preun:\n%s", scripts)
			}
		})
	}

	t.Run("install.sh served from the release verifies the binary and plans the install", func(t *testing.T) {
		if runtime.GOOS != "linux" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
			t.Skipf("the real release binary does not run on %s/%s", runtime.GOOS, runtime.GOARCH)
		}
		srv := serveRelease(t, dist)
		tmp := t.TempDir()
		shell := lookPath(t, "sh", "a POSIX shell")
		cmd := exec.CommandContext(ctx, shell, filepath.Join(dist, "install.sh"), "--dry-run", "--os", "debian", "--domain", "chat.example.com")
		cmd.Env = append(os.Environ(), "CHATBOX_RELEASE_URL="+srv.URL, "TMPDIR="+tmp)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("install.sh: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
		}
		for _, line := range []string{"# chatbox install on Debian: the plan (dry run, nothing is changed)", "write: /usr/local/bin/chatbox (0755)", "run: hostname chat.example.com", "write: /etc/chatbox/config.toml (0640)"} {
			if !strings.Contains(stdout.String(), line+"\n") {
				t.Errorf("the plan has no line %q:\n%s", line, &stdout)
			}
		}
		if !strings.Contains(stderr.String(), "checksum of chatbox-linux-"+runtime.GOARCH+" verified") {
			t.Errorf("install.sh did not say it verified the checksum:\n%s", &stderr)
		}
		if got, want := srv.paths(), []string{"/chatbox-linux-" + runtime.GOARCH, "/SHA256SUMS"}; !slices.Equal(got, want) {
			t.Errorf("install.sh fetched %q, want %q", got, want)
		}
		assertEmptyDir(t, tmp)
	})

	t.Run("install.sh refuses the release's binary when SHA256SUMS was tampered with", func(t *testing.T) {
		tampered := t.TempDir()
		name := "chatbox-linux-" + runtime.GOARCH
		if err := os.Symlink(filepath.Join(dist, name), filepath.Join(tampered, name)); err != nil {
			t.Fatal(err)
		}
		sums := strings.ReplaceAll(string(readFile(t, filepath.Join(dist, "SHA256SUMS"))),
			fileSHA256(t, filepath.Join(dist, name)), fileSHA256(t, filepath.Join(dist, "install.sh")))
		if err := os.WriteFile(filepath.Join(tampered, "SHA256SUMS"), []byte(sums), 0o644); err != nil {
			t.Fatal(err)
		}
		srv := serveRelease(t, tampered)
		tmp := t.TempDir()
		cmd := exec.CommandContext(ctx, lookPath(t, "sh", "a POSIX shell"), filepath.Join(dist, "install.sh"), "--dry-run", "--domain", "chat.example.com")
		cmd.Env = append(os.Environ(), "CHATBOX_RELEASE_URL="+srv.URL, "TMPDIR="+tmp)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("install.sh accepted a binary whose checksum does not match:\n%s", out)
		}
		if want := "install.sh: the SHA-256 of " + name + " does not match the release's SHA256SUMS, so the download is broken or was tampered with; nothing was installed.\n"; !strings.HasSuffix(string(out), want) {
			t.Errorf("install.sh did not end with %q:\n%s", want, out)
		}
		if strings.Contains(string(out), "# chatbox install") {
			t.Errorf("chatbox install ran after a failed check:\n%s", out)
		}
		assertEmptyDir(t, tmp)
	})
}

// TestShellcheck lints the shell scripts of packaging/.
func TestShellcheck(t *testing.T) {
	requireE2E(t, "linting the shell scripts")
	shellcheck := lookPath(t, "shellcheck", "apt-get install shellcheck")
	for _, script := range []string{"release.sh", "aptrepo.sh", "rpmrepo.sh", "install.sh", "scripts/postinstall.sh", "scripts/preremove.sh"} {
		t.Run(fmt.Sprintf("%s has no shellcheck findings", script), func(t *testing.T) {
			out, err := exec.CommandContext(t.Context(), shellcheck, script).CombinedOutput()
			if err != nil {
				t.Errorf("shellcheck %s: %v\n%s", script, err, out)
			}
		})
	}
}

// debBinary names the release binary a deb of tg's architecture carries.
func debBinary(tg target) string {
	if tg.debArch == "armhf" {
		return "linux-armv6"
	}
	return tg.name
}

// checkBinary checks a release binary's build settings and ELF header.
func checkBinary(t *testing.T, path string, tg target, version string) {
	t.Helper()
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		t.Fatalf("read the build info of %s: %v", path, err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	want := map[string]string{"GOOS": tg.goos, "GOARCH": tg.goarch, "CGO_ENABLED": "0", "-trimpath": "true"}
	if tg.goarm != "" {
		want["GOARM"] = tg.goarm
	}
	for k, v := range want {
		if settings[k] != v {
			t.Errorf("build setting %s is %q, want %q", k, settings[k], v)
		}
	}
	if strings.Contains(settings["-tags"], release.TestKeyTag) {
		t.Errorf("the binary was built with -tags %s: it trusts a test key", settings["-tags"])
	}
	// Go keeps no -ldflags in the build info of a -trimpath build: look
	// for their effects instead (-X here, -s and -w below).
	if !bytes.Contains(readFile(t, path), []byte(version)) {
		t.Errorf("the binary does not contain its version %s (-X ...buildinfo.Version)", version)
	}

	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("read %s as ELF: %v", path, err)
	}
	defer f.Close()
	if f.Machine != tg.machine {
		t.Errorf("ELF machine is %v, want %v", f.Machine, tg.machine)
	}
	hasInterp := slices.ContainsFunc(f.Progs, func(p *elf.Prog) bool { return p.Type == elf.PT_INTERP })
	if hasInterp && !tg.interpAllowed {
		t.Error("the binary asks for a dynamic loader; a Linux release binary must be static")
	}
	if f.Section(".symtab") != nil {
		t.Error("the binary has a symbol table; -s should have stripped it")
	}
	if f.Section(".debug_info") != nil {
		t.Error("the binary has DWARF debug information; -w should have left it out")
	}
}

// run runs a command and returns its standard output, failing the test
// when it fails.
func run(t *testing.T, ctx context.Context, name string, args ...string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, &stderr)
	}
	return string(out)
}

// debFiles returns the regular files in a deb's data archive by path.
func debFiles(t *testing.T, ctx context.Context, dpkgDeb, deb string) map[string][]byte {
	t.Helper()
	tr := tar.NewReader(strings.NewReader(run(t, ctx, dpkgDeb, "--fsys-tarfile", deb)))
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatalf("read the data archive of %s: %v", deb, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("read %s from %s: %v", h.Name, deb, err)
		}
		files[h.Name] = b
	}
}

// readSums parses a SHA256SUMS file into file name → hex hash.
func readSums(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != 64 {
			t.Fatalf("%s: malformed line %q", path, sc.Text())
		}
		sums[name] = sum
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return sums
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	sum := sha256.Sum256(readFile(t, path))
	return hex.EncodeToString(sum[:])
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// assertSameFile fails the test unless two files have the same bytes.
func assertSameFile(t *testing.T, got, want string) {
	t.Helper()
	if !bytes.Equal(readFile(t, got), readFile(t, want)) {
		t.Errorf("%s is not the same as %s", got, want)
	}
}

// assertEmptyDir fails the test unless dir is empty: install.sh must
// leave nothing behind in TMPDIR.
func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("install.sh left %d entries in TMPDIR, e.g. %s", len(entries), entries[0].Name())
	}
}
