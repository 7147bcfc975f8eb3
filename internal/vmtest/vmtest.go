//go:build linux

// Package vmtest boots real Debian virtual machines under QEMU for the
// end-to-end suite: images built with debootstrap and cached between runs,
// a NoCloud seed as a VPS provider gives one, a copy-on-write overlay per
// machine, commands over SSH, and a network that reaches only what the
// test forwards.
//
// The guest's network is QEMU's user-mode stack with restrict=on: the
// guest cannot open a connection to the host or beyond it, and only the
// explicit forwards pass. Host loopback reaches the guest's 22, 80 and 443
// through hostfwd; the guest reaches the host's apt proxy (and whatever a
// test adds, such as Pebble) through guestfwd, whose cmd: form starts a
// small relay per connection. QEMU documents that restrict=on does not
// affect explicit forwards; TestVMNetworkReachesOnlyItsForwards checks
// both halves.
//
// QEMU uses KVM when the machine offers a working one (a probe boots the
// kernel and waits for it to get as far as mounting its root) and software
// emulation (TCG) otherwise. CHATBOX_VM_ACCEL=tcg or kvm overrides the
// probe.
//
// Only tests use this package, and only with CHATBOX_E2E=1 and root.
package vmtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Env is what every machine of one test binary shares: the apt proxy, the
// relay for guest forwards, the accelerator and the SSH key.
type Env struct {
	// Cache is the directory images and the apt proxy's store live in.
	Cache string
	// Mirror is the Debian archive the host's apt uses.
	Mirror string
	// Proxy is the host's apt proxy (apt-cacher-ng).
	Proxy *AptProxy

	relay string
	key   *sshKey

	accelOnce sync.Once
	accel     string
}

// Setup skips the test unless CHATBOX_E2E=1 (or when CHATBOX_VM=0), fails
// it when the machine lacks root or a tool the machines need, and returns
// an Env whose apt proxy stops when the test ends. Call it once per
// top-level test.
func Setup(t *testing.T) *Env {
	t.Helper()
	if os.Getenv("CHATBOX_E2E") != "1" {
		t.Skip("the VM tests boot real machines under QEMU; set CHATBOX_E2E=1 to run them")
	}
	if os.Getenv("CHATBOX_VM") == "0" {
		t.Skip("CHATBOX_VM=0 leaves the VM tests out")
	}
	if os.Geteuid() != 0 {
		t.Fatal("CHATBOX_E2E=1: the VM tests need root (debootstrap, mkfs.ext4 -d of a root tree)")
	}
	missing := []string{}
	for _, tool := range []string{"/usr/sbin/debootstrap", "/usr/sbin/mkfs.ext4", "qemu-system-x86_64", "qemu-img", "genisoimage", "apt-cacher-ng"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, filepath.Base(tool))
		}
	}
	if len(missing) > 0 {
		t.Fatalf("CHATBOX_E2E=1: the VM tests need %s (apt-get install debootstrap e2fsprogs qemu-system-x86 qemu-utils genisoimage apt-cacher-ng)", strings.Join(missing, ", "))
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatalf("find a cache directory: %v", err)
	}
	e := &Env{Cache: filepath.Join(cache, "chatbox-e2e")}
	if err := os.MkdirAll(e.Cache, 0o755); err != nil {
		t.Fatal(err)
	}
	if e.Mirror, err = debianMirror(); err != nil {
		t.Fatalf("CHATBOX_E2E=1: %v", err)
	}
	// The proxy's lock makes VM tests of other packages wait their turn.
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	defer cancel()
	start := time.Now()
	if e.Proxy, err = StartAptProxy(ctx, filepath.Join(e.Cache, "apt-cacher-ng")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Proxy.Stop)
	if waited := time.Since(start); waited > 5*time.Second {
		t.Logf("waited %s for other VM tests to finish", waited.Round(time.Second))
	}
	if e.relay, err = buildRelay(ctx, e.Cache); err != nil {
		t.Fatal(err)
	}
	if e.key, err = newSSHKey(); err != nil {
		t.Fatal(err)
	}
	return e
}

// Full reports whether the whole VM suite was asked for (CHATBOX_VM=all):
// besides the core that CI runs on every change (Debian 13 amd64: the
// network, the install walk-through, power cuts), the Debian 12
// walk-through and the arm64 machine's install and power cut, which
// together take an hour or more under software emulation on two cores.
func Full() bool { return os.Getenv("CHATBOX_VM") == "all" }

// SkipUnlessFull skips a test of the whole suite only (see Full).
func SkipUnlessFull(t *testing.T, why string) {
	t.Helper()
	if !Full() {
		t.Skipf("%s: part of the whole VM suite only; set CHATBOX_VM=all (with CHATBOX_E2E=1) to run it", why)
	}
}

// Step logs the start of a named step and returns a function that logs
// how long it took: defer vmtest.Step(t, "boot")().
func Step(t testing.TB, name string) func() {
	t.Helper()
	start := time.Now()
	t.Logf("step %q: start", name)
	return func() {
		t.Helper()
		t.Logf("step %q: done in %s", name, time.Since(start).Round(100*time.Millisecond))
	}
}

// WaitFor polls cond every interval until it reports true, ctx ends or
// limit passes; the error names what was awaited and the last reason. A
// reason made with Hopeless ends the wait at once: no later poll can
// succeed (QEMU has exited, say).
func WaitFor(ctx context.Context, what string, limit, interval time.Duration, cond func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	start := time.Now()
	var last error
	for {
		ok, err := cond(ctx)
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		var h hopeless
		if errors.As(err, &h) {
			return fmt.Errorf("waited %s for %s, and stopped: %w", time.Since(start).Round(time.Second), what, h.error)
		}
		select {
		case <-ctx.Done():
			if last == nil {
				last = ctx.Err()
			}
			return fmt.Errorf("waited %s for %s: %w", time.Since(start).Round(time.Second), what, last)
		case <-time.After(interval):
		}
	}
}

// hopeless is a reason to stop waiting; see Hopeless.
type hopeless struct{ error }

// Hopeless marks err, returned by a WaitFor condition, as one that no
// later poll can change, so the wait ends with it at once.
func Hopeless(err error) error { return hopeless{err} }

// FreePort returns a TCP port on host loopback that was free a moment ago.
func FreePort() (int, error) {
	ports, err := FreePorts(1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}

// FreePorts returns n different TCP ports on host loopback that were free
// a moment ago. Each port is held until all are chosen: ports picked one
// after another, each released at once, can repeat (the kernel gave one
// port twice to a machine's :80 and :443 forwards, and QEMU refused to
// start).
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// debianMirror returns the Debian archive URL configured in this machine's
// apt sources (one-line or deb822 format), without a trailing slash.
func debianMirror() (string, error) {
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*")
	files = append([]string{"/etc/apt/sources.list"}, files...)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var uris []string
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "URIs:"); ok && strings.HasSuffix(f, ".sources") {
				uris = append(uris, strings.Fields(v)...)
			}
			fields := strings.Fields(line)
			if strings.HasSuffix(f, ".list") && len(fields) >= 3 && fields[0] == "deb" {
				for _, fl := range fields[1:] {
					if strings.HasPrefix(fl, "http") {
						uris = append(uris, fl)
						break
					}
				}
			}
		}
		for _, u := range uris {
			if !strings.Contains(u, "security") && strings.HasPrefix(u, "http://") {
				return strings.TrimSuffix(u, "/"), nil
			}
		}
	}
	return "", errors.New("no http:// Debian mirror in /etc/apt/sources.list or /etc/apt/sources.list.d")
}

// guestNice is the niceness QEMU runs at: emulation takes all the CPU it
// is given, and the machines the suite runs on are shared with other work
// (a CI run's other tests), which must not starve while a guest boots.
const guestNice = 10

// niceCommand is exec.Command that runs name at niceness guestNice, or
// the test's own when that is higher already.
func niceCommand(name string, args ...string) *exec.Cmd {
	// Linux's getpriority(2) returns 20 - nice.
	own := 0
	if p, err := syscall.Getpriority(syscall.PRIO_PROCESS, 0); err == nil {
		own = 20 - p
	}
	if own >= guestNice {
		return exec.Command(name, args...)
	}
	return exec.Command("nice", append([]string{"-n", fmt.Sprint(guestNice - own), name}, args...)...)
}

// BuildChatbox builds chatbox for linux/arch as packaging/release.sh
// builds a release's binary (static, -trimpath, stripped), for a machine
// to run.
func BuildChatbox(ctx context.Context, t *testing.T, arch string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "chatbox-linux-"+arch)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "github.com/chatbox-dev/chatbox/cmd/chatbox")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build chatbox for linux/%s: %v\n%s", arch, err, out)
	}
	return bin
}
