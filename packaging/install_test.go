package packaging

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chatbox-dev/chatbox/internal/testdirserver"
)

// releaseServer serves a release directory on loopback and records the
// paths asked for.
type releaseServer struct {
	*httptest.Server
	mu        sync.Mutex
	requested []string
}

func serveRelease(t *testing.T, dir string) *releaseServer {
	t.Helper()
	s := &releaseServer{}
	files := testdirserver.Handler(dir)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requested = append(s.requested, r.URL.Path)
		s.mu.Unlock()
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *releaseServer) paths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requested)
}

// stubChatbox stands in for a release binary: `version` answers, anything
// else is written to $STUB_LOG (its own path, then one argument a line)
// and exits with $STUB_EXIT.
const stubChatbox = `#!/bin/sh
[ "$1" = version ] && { echo "chatbox stub"; exit 0; }
printf '%s\n' "$0" "$@" >"$STUB_LOG"
exit "${STUB_EXIT:-0}"
`

// installHost is the machine install.sh believes it runs on.
type installHost struct {
	os, machine string
	uid         string
	sudo        bool // a sudo that logs to $STUB_LOG.sudo and runs its arguments
	openBSDHash bool // OpenBSD's sha256 -q instead of sha256sum
}

// toolDir makes the only directory on install.sh's PATH: the real tools it
// needs, and stand-ins for uname, id, sudo and sha256 that make it believe
// it runs on h.
func toolDir(t *testing.T, h installHost) string {
	t.Helper()
	dir := t.TempDir()
	tools := []string{"sh", "awk", "cut", "mktemp", "rm", "mv", "chmod", "curl", "cat"}
	if !h.openBSDHash {
		tools = append(tools, "sha256sum")
	}
	for _, tool := range tools {
		path := lookPath(t, tool, "apt-get install "+tool)
		if err := os.Symlink(path, filepath.Join(dir, tool)); err != nil {
			t.Fatal(err)
		}
	}
	stubs := map[string]string{
		"uname": fmt.Sprintf("#!/bin/sh\ncase \"$1\" in -s) echo %s ;; -m) echo %s ;; *) exit 2 ;; esac\n", h.os, h.machine),
		"id":    fmt.Sprintf("#!/bin/sh\n[ \"$1\" = -u ] && echo %s\n", h.uid),
	}
	if h.sudo {
		stubs["sudo"] = "#!/bin/sh\necho \"$@\" >\"$STUB_LOG.sudo\"\nexec \"$@\"\n"
	}
	if h.openBSDHash {
		real := lookPath(t, "sha256sum", "apt-get install coreutils")
		stubs["sha256"] = fmt.Sprintf("#!/bin/sh\n[ \"$1\" = -q ] || exit 2\n%s \"$2\" | cut -d' ' -f1\n", real)
	}
	for name, script := range stubs {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestInstallScript runs install.sh against a loopback server holding a
// release of stand-in binaries, on stand-in machines.
func TestInstallScript(t *testing.T) {
	linux := installHost{os: "Linux", machine: "x86_64", uid: "0"}
	dryRun := []string{"--dry-run", "--os", "debian", "--domain", "chat.example.com"}
	tests := []struct {
		name     string
		host     installHost
		args     []string
		tamper   bool   // SHA256SUMS has another file's hash for the binary
		drop     string // a file the release lacks
		exit     string // what chatbox install exits with
		wantCode int
		wantGet  string // the binary install.sh downloads
		wantErr  string // in install.sh's stderr
		wantRun  bool   // chatbox install ran, with args
		wantSudo bool
	}{
		{name: "It verifies the amd64 binary and passes every argument to chatbox install", host: linux, args: dryRun,
			wantGet: "chatbox-linux-amd64", wantErr: "checksum of chatbox-linux-amd64 verified", wantRun: true},
		{name: "It installs as root without asking sudo", host: linux, args: []string{"--domain", "chat.example.com", "--yes"},
			wantGet: "chatbox-linux-amd64", wantRun: true},
		{name: "It picks the arm64 binary on a 64-bit Raspberry Pi", host: installHost{os: "Linux", machine: "aarch64", uid: "0"}, args: dryRun,
			wantGet: "chatbox-linux-arm64", wantRun: true},
		{name: "It picks the armv7 binary on a 32-bit Raspberry Pi 2 or later", host: installHost{os: "Linux", machine: "armv7l", uid: "0"}, args: dryRun,
			wantGet: "chatbox-linux-armv7", wantRun: true},
		{name: "It picks the armv6 binary on a Raspberry Pi 1 or Zero", host: installHost{os: "Linux", machine: "armv6l", uid: "0"}, args: dryRun,
			wantGet: "chatbox-linux-armv6", wantRun: true},
		{name: "It picks the OpenBSD amd64 binary and checks it with sha256 -q", host: installHost{os: "OpenBSD", machine: "amd64", uid: "0", openBSDHash: true}, args: dryRun,
			wantGet: "chatbox-openbsd-amd64", wantRun: true},
		{name: "It picks the OpenBSD arm64 binary", host: installHost{os: "OpenBSD", machine: "arm64", uid: "0"}, args: dryRun,
			wantGet: "chatbox-openbsd-arm64", wantRun: true},
		{name: "It refuses a machine there is no release for", host: installHost{os: "Linux", machine: "mips", uid: "0"}, args: dryRun,
			wantCode: 1, wantErr: "install.sh: there is no chatbox release for mips Linux machines, only for x86_64, aarch64, armv7l and armv6l.\n"},
		{name: "It refuses an OpenBSD machine there is no release for", host: installHost{os: "OpenBSD", machine: "armv7", uid: "0"}, args: dryRun,
			wantCode: 1, wantErr: "install.sh: there is no chatbox release for armv7 OpenBSD machines, only for amd64 and arm64.\n"},
		{name: "It refuses an operating system there is no release for", host: installHost{os: "Darwin", machine: "arm64", uid: "0"}, args: dryRun,
			wantCode: 1, wantErr: "install.sh: there is no chatbox release for Darwin; chatbox runs on Linux and OpenBSD.\n"},
		{name: "It refuses a binary whose checksum does not match", host: linux, args: dryRun, tamper: true,
			wantGet: "chatbox-linux-amd64", wantCode: 1,
			wantErr: "install.sh: the SHA-256 of chatbox-linux-amd64 does not match the release's SHA256SUMS, so the download is broken or was tampered with; nothing was installed.\n"},
		{name: "It refuses a binary SHA256SUMS does not list", host: linux, args: dryRun, drop: "SHA256SUMS line",
			wantGet: "chatbox-linux-amd64", wantCode: 1, wantErr: "install.sh: the release's SHA256SUMS has no line for chatbox-linux-amd64.\n"},
		{name: "It says which download failed", host: linux, args: dryRun, drop: "chatbox-linux-amd64",
			wantGet: "chatbox-linux-amd64", wantCode: 1, wantErr: "/chatbox-linux-amd64.\n"},
		{name: "It runs chatbox install through sudo when not root, and says so", host: installHost{os: "Linux", machine: "x86_64", uid: "1000", sudo: true},
			args: []string{"--domain", "chat.example.com"}, wantGet: "chatbox-linux-amd64",
			wantErr: "install.sh: not running as root, so chatbox install runs through sudo.\n", wantRun: true, wantSudo: true},
		{name: "It needs no root for a dry run", host: installHost{os: "Linux", machine: "x86_64", uid: "1000"}, args: dryRun,
			wantGet: "chatbox-linux-amd64", wantRun: true},
		{name: "It stops when it is not root and has no sudo or doas", host: installHost{os: "Linux", machine: "x86_64", uid: "1000"},
			args: []string{"--domain", "chat.example.com"}, wantCode: 1,
			wantErr: "install.sh: chatbox install needs root: run this as root (there is no sudo or doas here).\n"},
		{name: "It exits with chatbox install's failure", host: linux, args: []string{"--domain", "bad..name"}, exit: "2",
			wantGet: "chatbox-linux-amd64", wantCode: 2, wantRun: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release := t.TempDir()
			var sums strings.Builder
			for _, name := range []string{"chatbox-linux-amd64", "chatbox-linux-arm64", "chatbox-linux-armv6", "chatbox-linux-armv7", "chatbox-openbsd-amd64", "chatbox-openbsd-arm64"} {
				// Each stand-in differs, so a hash cannot fit another file.
				body := stubChatbox + "# " + name + "\n"
				if name != tt.drop {
					if err := os.WriteFile(filepath.Join(release, name), []byte(body), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				sum := sha256.Sum256([]byte(body))
				if tt.tamper {
					sum = sha256.Sum256([]byte(body + "tampered"))
				}
				if tt.drop != "SHA256SUMS line" || name != tt.wantGet {
					fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(sum[:]), name)
				}
			}
			if err := os.WriteFile(filepath.Join(release, "SHA256SUMS"), []byte(sums.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			srv := serveRelease(t, release)

			tools := toolDir(t, tt.host)
			tmp := t.TempDir()
			log := filepath.Join(t.TempDir(), "chatbox.log")
			cmd := exec.CommandContext(t.Context(), filepath.Join(tools, "sh"), append([]string{"install.sh"}, tt.args...)...)
			cmd.Env = []string{"PATH=" + tools, "TMPDIR=" + tmp, "HOME=" + t.TempDir(),
				"CHATBOX_RELEASE_URL=" + srv.URL + "/", "STUB_LOG=" + log, "STUB_EXIT=" + tt.exit}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := cmd.ProcessState.ExitCode()
			if code != tt.wantCode {
				t.Fatalf("install.sh exited %d (%v), want %d\nstderr:\n%s", code, err, tt.wantCode, &stderr)
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr has no %q:\n%s", tt.wantErr, &stderr)
			}
			if tt.wantCode == 1 && !strings.HasSuffix(stderr.String(), tt.wantErr) {
				t.Errorf("install.sh's last words should be %q; stderr:\n%s", tt.wantErr, &stderr)
			}

			var wantPaths []string
			if tt.wantGet != "" {
				wantPaths = append(wantPaths, "/"+tt.wantGet)
				if tt.drop != tt.wantGet {
					wantPaths = append(wantPaths, "/SHA256SUMS")
				}
			}
			if got := srv.paths(); !slices.Equal(got, wantPaths) {
				t.Errorf("install.sh fetched %q, want %q", got, wantPaths)
			}

			ran, err := os.ReadFile(log)
			switch {
			case !tt.wantRun && err == nil:
				t.Errorf("chatbox install ran, and must not have:\n%s", ran)
			case tt.wantRun && err != nil:
				t.Errorf("chatbox install did not run: %v\nstderr:\n%s", err, &stderr)
			case tt.wantRun:
				lines := strings.Split(strings.TrimSuffix(string(ran), "\n"), "\n")
				if want := append([]string{"install"}, tt.args...); !slices.Equal(lines[1:], want) {
					t.Errorf("chatbox ran with %q, want %q", lines[1:], want)
				}
				if !strings.HasPrefix(lines[0], tmp+string(filepath.Separator)) {
					t.Errorf("chatbox ran from %s, want the download in TMPDIR %s", lines[0], tmp)
				}
			}
			_, err = os.Stat(log + ".sudo")
			if gotSudo := err == nil; gotSudo != tt.wantSudo {
				t.Errorf("ran through sudo: %v, want %v", gotSudo, tt.wantSudo)
			}
			assertEmptyDir(t, tmp)
		})
	}
}

// TestPackageScripts runs the packages' postinstall and preremove scripts
// the way dpkg and rpm call them, with a systemctl stand-in that always
// fails. Where systemd does not run (no /run/systemd/system), they must
// not call systemctl at all.
func TestPackageScripts(t *testing.T) {
	systemd := false
	if fi, err := os.Stat("/run/systemd/system"); err == nil && fi.IsDir() {
		systemd = true
	}
	tests := []struct {
		name   string
		script string
		args   []string
		want   []string // systemctl calls where systemd runs
	}{
		{name: "A deb upgrade leaves the service running", script: "scripts/preremove.sh", args: []string{"upgrade", "1.1.0"}},
		{name: "An rpm upgrade leaves the service running", script: "scripts/preremove.sh", args: []string{"1"}},
		{name: "A deb removal stops and disables the service", script: "scripts/preremove.sh", args: []string{"remove"},
			want: []string{"disable --now chatbox.service"}},
		{name: "An rpm removal stops and disables the service", script: "scripts/preremove.sh", args: []string{"0"},
			want: []string{"disable --now chatbox.service"}},
		{name: "A deb install or upgrade restarts only a running service", script: "scripts/postinstall.sh", args: []string{"configure", "1.0.0"},
			want: []string{"daemon-reload", "try-restart chatbox.service"}},
		{name: "An rpm install or upgrade restarts only a running service", script: "scripts/postinstall.sh", args: []string{"2"},
			want: []string{"daemon-reload", "try-restart chatbox.service"}},
	}
	shell := lookPath(t, "sh", "a POSIX shell")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := t.TempDir()
			log := filepath.Join(t.TempDir(), "systemctl.log")
			stub := "#!/bin/sh\necho \"$@\" >>\"$SYSTEMCTL_LOG\"\nexit 1\n"
			if err := os.WriteFile(filepath.Join(bin, "systemctl"), []byte(stub), 0o755); err != nil {
				t.Fatal(err)
			}
			// Twice, as a retried dpkg run would: the same calls, no error.
			for range 2 {
				cmd := exec.CommandContext(t.Context(), shell, append([]string{tt.script}, tt.args...)...)
				cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "SYSTEMCTL_LOG=" + log}
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("%s %s: %v\n%s", tt.script, strings.Join(tt.args, " "), err, out)
				}
			}
			got, err := os.ReadFile(log)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			var calls, want []string
			if len(got) > 0 {
				calls = strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
			}
			if systemd {
				want = slices.Concat(tt.want, tt.want)
			}
			if !slices.Equal(calls, want) {
				t.Errorf("systemctl was called with %q, want %q (systemd running here: %v)", calls, want, systemd)
			}
		})
	}
}
