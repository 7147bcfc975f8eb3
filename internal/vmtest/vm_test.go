//go:build linux

package vmtest_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/internal/vmtest"
)

// TestVMNetworkReachesOnlyItsForwards boots a Debian 13 machine and checks
// the network both ways: the host reaches the guest's forwarded ports, the
// guest reaches the apt proxy and a test's forward, and nothing else: not
// the host through the gateway, not the Debian mirror, not a name server.
func TestVMNetworkReachesOnlyItsForwards(t *testing.T) {
	env := vmtest.Setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	img := env.Image(ctx, t, vmtest.Debian13())

	// A host listener on every address: the guest may reach it only
	// through its forward.
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			fmt.Fprintln(c, "hello from the host")
			c.Close()
		}
	}()
	vm := env.Boot(ctx, t, img, vmtest.Options{Hostname: "net-test",
		GuestForwards: []vmtest.GuestForward{{Guest: "10.0.2.101:7000", Host: ln.Addr().String()}}})

	// connect says "open" when a TCP connection from the guest to addr
	// succeeds within 5 s.
	connect := func(addr string) string {
		host, p, _ := net.SplitHostPort(addr)
		out, err := vm.Run(ctx, fmt.Sprintf(`python3 -c 'import socket
try:
    socket.create_connection(("%s", %s), timeout=5); print("open")
except Exception as e: print("refused:", e)'`, host, p))
		if err != nil {
			return fmt.Sprintf("%s (%v)", out, err)
		}
		return out
	}
	t.Run("the guest reaches its forwards", func(t *testing.T) {
		defer vmtest.Step(t, "apt-get update through the proxy")()
		if out, err := vm.Run(ctx, "apt-get update"); err != nil {
			t.Errorf("apt-get update through the forwarded proxy: %v\n%s", err, out)
		}
		if out, _ := vm.Run(ctx, "python3 -c 'import socket; print(socket.create_connection((\"10.0.2.101\", 7000), timeout=5).recv(100).decode())'"); !strings.Contains(out, "hello from the host") {
			t.Errorf("the test's forward: %q", out)
		}
	})
	t.Run("the guest reaches nothing else", func(t *testing.T) {
		before := accepted.Load()
		mirror := strings.TrimPrefix(env.Mirror, "http://")
		mirror, _, _ = strings.Cut(mirror, "/")
		addrs, _ := net.DefaultResolver.LookupHost(ctx, mirror)
		targets := []string{
			fmt.Sprintf("10.0.2.2:%d", port),           // the host, through the gateway
			fmt.Sprintf("10.0.2.2:%d", env.Proxy.Port), // the proxy, not through its forward
			"10.0.2.3:53",     // the user-mode network's name server
			"10.0.2.101:7001", // a port next to a forward
		}
		for _, a := range addrs {
			if ip := net.ParseIP(a); ip != nil && ip.To4() != nil {
				targets = append(targets, a+":80") // the Debian mirror itself
			}
		}
		for _, addr := range targets {
			if out := connect(addr); out == "open" {
				t.Errorf("the guest connected to %s: %q", addr, out)
			} else {
				t.Logf("guest to %s: %s", addr, out)
			}
		}
		if out, _ := vm.Run(ctx, `python3 -c 'import socket
s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.sendto(bytes.fromhex("12340100000100000000000003777777076578616d706c6503636f6d0000010001"), ("10.0.2.3", 53))
try: print("answer", s.recv(512))
except Exception as e: print("no answer:", e)'`); !strings.HasPrefix(out, "no answer") {
			t.Errorf("a DNS query to the user-mode name server: %q", out)
		}
		if n := accepted.Load() - before; n != 0 {
			t.Errorf("the host listener accepted %d connections not through its forward", n)
		}
	})
	t.Run("the host reaches the guest's 80 and 443", func(t *testing.T) {
		vm.MustRun(ctx, t, "(setsid python3 -m http.server 80 >/dev/null 2>&1 &); (setsid python3 -m http.server 443 >/dev/null 2>&1 &)")
		for _, p := range []int{vm.HTTPPort, vm.HTTPSPort} {
			err := vmtest.WaitFor(ctx, fmt.Sprintf("the guest's web server through host port %d", p), 30*time.Second, 500*time.Millisecond, func(ctx context.Context) (bool, error) {
				c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), 2*time.Second)
				if err != nil {
					return false, err
				}
				defer c.Close()
				fmt.Fprintf(c, "GET / HTTP/1.0\r\n\r\n")
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				buf := make([]byte, 12)
				n, err := c.Read(buf)
				return strings.HasPrefix(string(buf[:n]), "HTTP/1.0 200"), err
			})
			if err != nil {
				t.Error(err)
			}
		}
	})
}

// The test's repository serves what apt reads: a Packages naming each
// published package's file, relative to the repository, and a Release
// with the origin unattended-upgrades is told to trust.
func TestRepoPublishesWhatAptReads(t *testing.T) {
	for _, tool := range []string{"dpkg-deb", "apt-ftparchive"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (apt-get install dpkg apt-utils)", tool)
		}
	}
	r := vmtest.StartRepo(t)
	r.Publish(t.Context(), t, "chatbox-canary", "1.0")
	r.Publish(t.Context(), t, "chatbox-canary", "1.1")
	get := func(name string) string {
		res, err := http.Get("http://" + r.Forward().Host + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("GET /%s: %d", name, res.StatusCode)
		}
		return string(b)
	}
	packages := get("Packages")
	for _, want := range []string{"Filename: ./chatbox-canary_1.0_all.deb", "Filename: ./chatbox-canary_1.1_all.deb", "Version: 1.1"} {
		if !strings.Contains(packages, want) {
			t.Errorf("Packages lacks %q:\n%s", want, packages)
		}
	}
	if release := get("Release"); !strings.Contains(release, "Origin: "+vmtest.RepoOrigin) || !strings.Contains(release, " Packages\n") {
		t.Errorf("Release:\n%s", release)
	}
	if deb := get("chatbox-canary_1.1_all.deb"); !strings.HasPrefix(deb, "!<arch>\n") {
		t.Errorf("the package is not a Debian archive: %.40q", deb)
	}
}
