package packaging

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// aptKey is a throwaway OpenPGP signing key in its own gpg home.
type aptKey struct {
	home        string // GNUPGHOME
	fingerprint string
}

// newAptKey makes a passwordless Ed25519 signing key for a test. The
// project's real key is never in a test.
func newAptKey(t *testing.T, ctx context.Context, name string) aptKey {
	t.Helper()
	gpg := lookPath(t, "gpg", "apt-get install gnupg")
	// gpg-agent's socket lives in the home: keep its path short.
	home, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run()
		os.RemoveAll(home)
	})
	k := aptKey{home: home}
	k.gpg(t, ctx, gpg, "--passphrase", "", "--quick-generate-key", name+" <release@chatbox.invalid>", "ed25519", "sign", "never")
	out := k.gpg(t, ctx, gpg, "--with-colons", "--list-secret-keys")
	m := regexp.MustCompile(`(?m)^fpr:+([0-9A-F]{40}):`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no fingerprint in gpg's list of keys:\n%s", out)
	}
	k.fingerprint = m[1]
	return k
}

func (k aptKey) gpg(t *testing.T, ctx context.Context, gpg string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, gpg, append([]string{"--batch", "--homedir", k.home}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, &stderr)
	}
	return string(out)
}

// env is the environment aptrepo.sh signs with this key in.
func (k aptKey) env() []string {
	return append(os.Environ(), "GNUPGHOME="+k.home, "CHATBOX_APT_KEY="+k.fingerprint)
}

// buildTestDeb packages a stand-in binary as release.sh packages the real
// one (nfpm, packaging/nfpm.yaml) and returns the .deb, named as
// release.sh names it.
func buildTestDeb(t *testing.T, ctx context.Context, version, arch string) string {
	t.Helper()
	goTool := lookPath(t, "go", "the Go toolchain")
	dir := t.TempDir()
	bin := filepath.Join(dir, "chatbox")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho chatbox "+version+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	deb := filepath.Join(dir, fmt.Sprintf("chatbox_%s_%s.deb", strings.TrimPrefix(version, "v"), arch))
	cmd := exec.CommandContext(ctx, goTool, "tool", "nfpm", "package", "--config", "packaging/nfpm.yaml", "--packager", "deb", "--target", deb)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "CHATBOX_VERSION="+version, "CHATBOX_ARCH="+arch, "CHATBOX_BINARY="+bin, "SOURCE_DATE_EPOCH=1700000000")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build a test deb: %v\n%s", err, out)
	}
	return deb
}

// aptRepo runs packaging/aptrepo.sh and returns its combined output.
func aptRepo(ctx context.Context, t *testing.T, env []string, repo string, debs ...string) (string, error) {
	t.Helper()
	bash := lookPath(t, "bash", "apt-get install bash")
	cmd := exec.CommandContext(ctx, bash, append([]string{filepath.Join(repoRoot(t), "packaging", "aptrepo.sh"), repo}, debs...)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// aptClient is this machine's apt-get with a state, cache and sources of
// its own (and none of the machine's configuration), so it can read a
// repository without touching the machine's apt.
type aptClient struct {
	dir  string
	conf string // APT_CONFIG
}

func newAptClient(t *testing.T, sourcesLine string) aptClient {
	t.Helper()
	lookPath(t, "apt-get", "Debian's apt")
	dir := t.TempDir()
	for _, d := range []string{"parts", "sourceparts", "prefs", "state/lists/partial", "cache/archives/partial", "trusted.d"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("status", "")
	write("sources.list", sourcesLine+"\n")
	write("apt.conf", fmt.Sprintf(`Dir::Etc::Parts "%[1]s/parts";
Dir::Etc::SourceList "%[1]s/sources.list";
Dir::Etc::SourceParts "%[1]s/sourceparts";
Dir::Etc::PreferencesParts "%[1]s/prefs";
Dir::Etc::TrustedParts "%[1]s/trusted.d";
Dir::State "%[1]s/state";
Dir::State::status "%[1]s/status";
Dir::Cache "%[1]s/cache";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
APT::Sandbox::User "root";
Acquire::Languages "none";
Acquire::http::Proxy "DIRECT";
Acquire::Retries "0";
Debug::NoLocking "true";
`, dir))
	return aptClient{dir: dir, conf: filepath.Join(dir, "apt.conf")}
}

// run runs an apt command (apt-get, apt-cache) with this client's
// configuration and returns its combined output.
func (c aptClient) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "APT_CONFIG="+c.conf, "LANG=C")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// candidate is the version apt would install of chatbox.
func (c aptClient) candidate(t *testing.T, ctx context.Context) string {
	t.Helper()
	out, err := c.run(ctx, "apt-cache", "policy", "chatbox")
	if err != nil {
		t.Fatalf("apt-cache policy chatbox: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Candidate: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestAptRepository builds a signed apt repository with aptrepo.sh and
// reads it with this machine's apt over loopback HTTP: apt takes the
// package signed-by the published keyring, sees a newer version once it is
// published, and refuses a repository whose Release was changed or that
// another key signed.
func TestAptRepository(t *testing.T) {
	lookPath(t, "apt-ftparchive", "apt-get install apt-utils")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	key := newAptKey(t, ctx, "chatbox test archive")
	v1 := buildTestDeb(t, ctx, "v1.0.0", "amd64")
	v1arm := buildTestDeb(t, ctx, "v1.0.0", "arm64")
	v2 := buildTestDeb(t, ctx, "v1.1.0", "amd64")

	repo := filepath.Join(t.TempDir(), "apt")
	if out, err := aptRepo(ctx, t, key.env(), repo, v1, v1arm); err != nil {
		t.Fatalf("aptrepo.sh: %v\n%s", err, out)
	}
	srv := serveRelease(t, repo)
	keyring := filepath.Join(t.TempDir(), "chatbox-archive-keyring.gpg")
	if err := os.WriteFile(keyring, readFile(t, filepath.Join(repo, "chatbox-archive-keyring.gpg")), 0o644); err != nil {
		t.Fatal(err)
	}
	client := newAptClient(t, fmt.Sprintf("deb [signed-by=%s] %s stable main", keyring, srv.URL))

	t.Run("InRelease is signed by the key and lists every index", func(t *testing.T) {
		gpgv := lookPath(t, "gpgv", "apt-get install gpgv")
		out, err := exec.CommandContext(ctx, gpgv, "--keyring", keyring, filepath.Join(repo, "dists/stable/InRelease")).CombinedOutput()
		if err != nil {
			t.Fatalf("gpgv InRelease with the published keyring: %v\n%s", err, out)
		}
		release := string(readFile(t, filepath.Join(repo, "dists/stable/Release")))
		for _, line := range []string{"Origin: chatbox", "Label: chatbox", "Suite: stable", "Codename: stable", "Architectures: amd64 arm64 armhf", "Components: main"} {
			if !strings.Contains(release, line+"\n") {
				t.Errorf("Release has no line %q:\n%s", line, release)
			}
		}
		for _, arch := range []string{"amd64", "arm64", "armhf"} {
			for _, f := range []string{"Packages", "Packages.gz"} {
				name := "main/binary-" + arch + "/" + f
				sum := fileSHA256(t, filepath.Join(repo, "dists/stable", name))
				if !regexp.MustCompile(`(?m)^ ` + sum + ` +\d+ ` + regexp.QuoteMeta(name) + `$`).MatchString(release) {
					t.Errorf("Release does not list %s with its SHA256 %s", name, sum)
				}
			}
		}
	})

	t.Run("apt reads the repository signed-by the published keyring", func(t *testing.T) {
		if out, err := client.run(ctx, "apt-get", "update"); err != nil {
			t.Fatalf("apt-get update: %v\n%s", err, out)
		}
		if got := client.candidate(t, ctx); got != "1.0.0-1" {
			t.Errorf("apt's candidate is %q, want 1.0.0-1", got)
		}
		out, err := client.run(ctx, "apt-get", "download", "chatbox")
		if err != nil {
			t.Fatalf("apt-get download chatbox: %v\n%s", err, out)
		}
		assertSameFile(t, filepath.Join(client.dir, "chatbox_1.0.0-1_amd64.deb"), v1)
	})

	t.Run("a newer version published to the repository is apt's candidate", func(t *testing.T) {
		if out, err := aptRepo(ctx, t, key.env(), repo, v2); err != nil {
			t.Fatalf("aptrepo.sh with the newer package: %v\n%s", err, out)
		}
		if _, err := os.Stat(filepath.Join(repo, "pool/main/c/chatbox", filepath.Base(v1))); err != nil {
			t.Errorf("the older package left the pool: %v", err)
		}
		if out, err := client.run(ctx, "apt-get", "update"); err != nil {
			t.Fatalf("apt-get update: %v\n%s", err, out)
		}
		if got := client.candidate(t, ctx); got != "1.1.0-1" {
			t.Errorf("apt's candidate is %q, want 1.1.0-1", got)
		}
	})

	t.Run("a published version with other contents is refused and nothing changes", func(t *testing.T) {
		other := buildTestDeb(t, ctx, "v1.1.0", "arm64")
		clash := filepath.Join(t.TempDir(), filepath.Base(v2))
		if err := os.WriteFile(clash, readFile(t, other), 0o644); err != nil {
			t.Fatal(err)
		}
		before := string(readFile(t, filepath.Join(repo, "dists/stable/InRelease")))
		out, err := aptRepo(ctx, t, key.env(), repo, clash)
		if want := "aptrepo.sh: chatbox_1.1.0_amd64.deb is already published with other contents; a published version never changes, so give this one a new version.\n"; err == nil || out != want {
			t.Errorf("aptrepo.sh with a changed package: %v, said %q, want %q", err, out, want)
		}
		if after := string(readFile(t, filepath.Join(repo, "dists/stable/InRelease"))); after != before {
			t.Error("the refused run changed InRelease")
		}
	})

	t.Run("without a signing key aptrepo.sh refuses before it makes anything", func(t *testing.T) {
		empty := filepath.Join(t.TempDir(), "apt")
		env := append(os.Environ(), "CHATBOX_APT_KEY=")
		out, err := aptRepo(ctx, t, env, empty, v1)
		if err == nil || !strings.HasPrefix(out, "aptrepo.sh: set CHATBOX_APT_KEY") {
			t.Errorf("aptrepo.sh without a key: %v\n%s", err, out)
		}
		if _, err := os.Stat(empty); err == nil {
			t.Error("aptrepo.sh made the repository before refusing")
		}
	})

	t.Run("apt refuses a repository whose Release was changed after signing", func(t *testing.T) {
		tampered := copyTree(t, repo)
		// What an attacker who holds the server would do: offer a higher
		// version, and make InRelease's text list the new index's hashes.
		index := "main/binary-amd64/Packages"
		packages := filepath.Join(tampered, "dists/stable", index)
		forged := regexp.MustCompile(`(?m)^Version: .*$`).ReplaceAllString(string(readFile(t, packages)), "Version: 9.9.9-1")
		if err := os.WriteFile(packages, []byte(forged), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(packages+".gz", gzipBytes(t, []byte(forged)), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"InRelease", "Release"} {
			p := filepath.Join(tampered, "dists/stable", name)
			text := rehash(t, string(readFile(t, p)), filepath.Join(tampered, "dists/stable"), index, index+".gz")
			if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		assertAptRefuses(t, ctx, tampered, keyring, "The following signatures were invalid")
	})

	t.Run("apt refuses a repository signed by another key", func(t *testing.T) {
		otherKey := newAptKey(t, ctx, "someone else")
		other := filepath.Join(t.TempDir(), "apt")
		if out, err := aptRepo(ctx, t, otherKey.env(), other, v1); err != nil {
			t.Fatalf("aptrepo.sh: %v\n%s", err, out)
		}
		assertAptRefuses(t, ctx, other, keyring, "NO_PUBKEY")
	})
}

// assertAptRefuses serves repo and wants apt-get update, trusting only
// keyring, to fail with a message containing want and to offer no chatbox.
func assertAptRefuses(t *testing.T, ctx context.Context, repo, keyring, want string) {
	t.Helper()
	srv := serveRelease(t, repo)
	client := newAptClient(t, fmt.Sprintf("deb [signed-by=%s] %s stable main", keyring, srv.URL))
	out, err := client.run(ctx, "apt-get", "update", "--error-on=any")
	if err == nil {
		t.Errorf("apt-get update accepted the repository:\n%s", out)
	}
	if !strings.Contains(out, want) {
		t.Errorf("apt-get update did not say %q:\n%s", want, out)
	}
	if got := client.candidate(t, ctx); got != "" && got != "(none)" {
		t.Errorf("apt offers chatbox %s from the refused repository", got)
	}
}

// rehash rewrites a Release file's hash lines for the named files (under
// dir) to their current contents, as a forger would.
func rehash(t *testing.T, release, dir string, names ...string) string {
	t.Helper()
	line := regexp.MustCompile(`(?m)^ ([0-9a-f]+) +(\d+) (\S+)$`)
	return line.ReplaceAllStringFunc(release, func(l string) string {
		m := line.FindStringSubmatch(l)
		if !slices.Contains(names, m[3]) {
			return l
		}
		data := readFile(t, filepath.Join(dir, m[3]))
		var h hash.Hash
		switch len(m[1]) {
		case 32:
			h = md5.New()
		case 40:
			h = sha1.New()
		case 64:
			h = sha256.New()
		default:
			h = sha512.New()
		}
		h.Write(data)
		return fmt.Sprintf(" %x %16d %s", h.Sum(nil), len(data), m[3])
	})
}

func gzipBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// copyTree copies a directory of regular files.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "copy")
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
