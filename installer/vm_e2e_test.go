//go:build linux

package installer

// The VM runs: chatbox install on fresh Debian 12 and Debian 13 virtual
// machines under QEMU (internal/vmtest), seeded by cloud-init as a VPS
// provider does, with a certificate from an in-process Pebble that
// validates through the machine's forwarded ports. Unlike the nspawn run
// above, each machine has its own kernel: its firewall really drops, and a
// reboot is a reboot.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatbox-dev/chatbox/internal/vmtest"
)

const vmDomain = "box.test"

// TestVMInstallOnDebian walks an owner through chatbox on fresh Debian 13
// and (with the whole VM suite, CHATBOX_VM=all) Debian 12 machines.
func TestVMInstallOnDebian(t *testing.T) {
	env := vmtest.Setup(t)
	bin := buildChatbox(context.Background(), t)
	for _, r := range []vmtest.Release{vmtest.Debian13(), vmtest.Debian12()} {
		t.Run(r.Name, func(t *testing.T) {
			if r != vmtest.Debian13() {
				vmtest.SkipUnlessFull(t, "the walk-through on "+r.Name)
			}
			// An image build from an empty cache takes 20 minutes or more
			// on a busy 2-core machine; it has a bound of its own.
			ictx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
			defer cancel()
			img := env.Image(ictx, t, r)
			ctx, cancel := context.WithTimeout(context.Background(), 70*time.Minute)
			defer cancel()
			vmInstallWalkthrough(ctx, t, env, img, bin)
		})
	}
}

// TestVMInstallOnARM64 installs the linux/arm64 binary, built as a
// release's, on a Debian 13 arm64 machine (qemu-system-aarch64 -M virt,
// software emulation), as on a Raspberry Pi or an arm64 VPS: the page over
// HTTPS with Pebble's certificate, a message, and a reboot that keeps the
// service, the name, the certificate and the history. (Its power cut is
// TestVMPowerCutOnARM64.)
func TestVMInstallOnARM64(t *testing.T) {
	vmtest.SkipUnlessFull(t, "the arm64 install (its image takes 20 minutes to build under qemu-user)")
	env := vmtest.Setup(t)
	// An arm64 image is built under emulation (qemu-user-static runs
	// debootstrap's second stage and apt): slower than amd64's.
	ictx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	img := env.Image(ictx, t, vmtest.Debian13ARM64())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	b := vmInstall(ctx, t, env, img, vmtest.BuildChatbox(ctx, t, "arm64"), false)
	if arch := b.vm.MustRun(ctx, t, "uname -m; file -b /usr/local/bin/chatbox 2>/dev/null | cut -d, -f2 || true"); !strings.HasPrefix(arch, "aarch64") {
		t.Errorf("the machine says %q, want aarch64", arch)
	}
	t.Run("a reboot keeps the service, the name, the certificate and the history", func(t *testing.T) {
		b.rebootKeepsAll(ctx, t)
	})
}

// vmBox is a machine with chatbox installed, and what the host knows of
// it.
type vmBox struct {
	vm     *vmtest.VM
	pebble *vmtest.Pebble
	repo   *vmtest.Repo
	client *http.Client
	// leaf is the certificate first served, after orders at Pebble.
	leaf   *x509.Certificate
	orders int
	// good is the SHA-256 of the binary a failed update rolled back to,
	// once brokenUpdate has run: the binary the service must run.
	good string
}

// vmInstallWalkthrough installs chatbox on a fresh machine of img and checks
// the room from the host, across a reboot, behind the firewall, with the
// system's update timers, and through a failed update and an uninstall.
func vmInstallWalkthrough(ctx context.Context, t *testing.T, env *vmtest.Env, img *vmtest.Image, bin string) {
	b := vmInstall(ctx, t, env, img, bin, true)
	b.firewall(ctx, t)
	// One reboot shows two things (reboots are the slow part under
	// emulation): the failed update's rolled-back binary is what runs,
	// and the service, name, certificate and history are kept.
	t.Run("update --self with a broken binary rolls back", func(t *testing.T) {
		b.brokenUpdate(ctx, t)
	})
	t.Run("a reboot keeps the service, the name, the certificate and the history, and runs the rolled-back binary", func(t *testing.T) {
		b.rebootKeepsAll(ctx, t)
	})
	b.automaticUpdates(ctx, t)
	b.uninstall(ctx, t)
}

// vmInstall boots a fresh machine of img seeded as a provider would, has
// the owner turn ufw on (withUFW), installs chatbox with bin, and checks
// the room from the host: the page over HTTPS with Pebble's certificate
// and a message over the WebSocket.
func vmInstall(ctx context.Context, t *testing.T, env *vmtest.Env, img *vmtest.Image, bin string, withUFW bool) *vmBox {
	ports, err := vmtest.FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	httpPort, httpsPort := ports[0], ports[1]
	pebble := vmtest.StartPebble(t, httpPort, httpsPort)
	repo := vmtest.StartRepo(t)

	// The seed, as a provider's: a name that is not the box's, and the
	// owner's config that points the box at Pebble.
	userData := fmt.Sprintf(`write_files:
  - path: /etc/chatbox/config.toml
    permissions: '0644'
    content: |
      [server]
      domain = %q
      [tls]
      ca = %q
      ca_root = "/etc/chatbox/pebble-server.pem"
      email = "admin@box.test"
  - path: /etc/chatbox/pebble-server.pem
    content: |
%s
  - path: /etc/hosts
    append: true
    content: |
      %s %s
`, vmDomain, pebble.Directory, indent(string(pebble.ServerRoot), "      "), strings.Split(vmtest.PebbleGuestAddr, ":")[0], vmtest.PebbleName)
	vm := env.Boot(ctx, t, img, vmtest.Options{Hostname: "seed-name", UserData: userData,
		HTTPPort: httpPort, HTTPSPort: httpsPort, ExtraPorts: []int{8081},
		GuestForwards: []vmtest.GuestForward{pebble.Forward(), repo.Forward()}})

	raw, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := vm.Copy(ctx, raw, "/root/chatbox", 0o755); err != nil {
		t.Fatal(err)
	}
	if got := vm.MustRun(ctx, t, "hostname"); got != "seed-name" {
		t.Fatalf("cloud-init named the machine %q, want the seed's seed-name", got)
	}

	if withUFW {
		// The owner's firewall, as on many VPSes: ufw on, SSH allowed.
		done := vmtest.Step(t, "ufw on, SSH allowed")
		vm.MustRun(ctx, t, "ufw allow 22/tcp && ufw --force enable")
		done()
	}

	done := vmtest.Step(t, "chatbox install --domain "+vmDomain)
	out, err := vm.Run(ctx, "/root/chatbox install --domain "+vmDomain+" --yes")
	done()
	t.Logf("install:\n%s", out)
	if err != nil {
		t.Fatalf("install: %v\n%s", err, journal(ctx, vm))
	}

	client := vmHTTPS(vm, pebble.Roots)
	var leaf *x509.Certificate
	done = vmtest.Step(t, "the page over HTTPS with Pebble's certificate")
	err = vmtest.WaitFor(ctx, "the box to serve a certificate from Pebble", 3*time.Minute, 2*time.Second, func(ctx context.Context) (bool, error) {
		res, err := client.Get("https://" + vmDomain + "/")
		if err != nil {
			return false, err
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "<html") {
			return false, fmt.Errorf("GET / = %d", res.StatusCode)
		}
		leaf = res.TLS.PeerCertificates[0]
		return true, nil
	})
	done()
	if err != nil {
		t.Fatalf("%v\n%s\npebble:\n%s", err, journal(ctx, vm), pebble.Log.String())
	}
	orders := pebble.Orders()
	t.Logf("certificate serial %x issued after %d order(s)", leaf.SerialNumber, orders)

	done = vmtest.Step(t, "a message over the WebSocket")
	wsMessage(ctx, t, vm, pebble.Roots, "hello from the host")
	done()
	return &vmBox{vm: vm, pebble: pebble, repo: repo, client: client, leaf: leaf, orders: orders}
}

// rebootKeepsAll reboots the machine and checks that the service is back,
// under the name chatbox set (not the seed's), with the same certificate
// (no new order at Pebble) and the history.
func (b *vmBox) rebootKeepsAll(ctx context.Context, t *testing.T) {
	vm, pebble, client, leaf, orders := b.vm, b.pebble, b.client, b.leaf, b.orders
	{
		done := vmtest.Step(t, "reboot")
		vm.Reboot(ctx, t, 15*time.Minute)
		done()
		// The service may still be starting when SSH first answers.
		err := vmtest.WaitFor(ctx, "chatbox.service to be active after the reboot", 3*time.Minute, 2*time.Second, func(ctx context.Context) (bool, error) {
			out, err := vm.Run(ctx, "systemctl is-active chatbox.service")
			return out == "active", fmt.Errorf("is-active says %q (%v)", out, err)
		})
		if err != nil {
			t.Errorf("%v\n%s", err, journal(ctx, vm))
		}
		if got := vm.MustRun(ctx, t, "hostname"); got != vmDomain {
			t.Errorf("after the reboot the host name is %q, want %q (cloud-init's seed says seed-name)", got, vmDomain)
		}
		var again *x509.Certificate
		err = vmtest.WaitFor(ctx, "the box to answer over HTTPS after the reboot", 2*time.Minute, 2*time.Second, func(ctx context.Context) (bool, error) {
			res, err := client.Get("https://" + vmDomain + "/api/messages?after=0")
			if err != nil {
				return false, err
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if !strings.Contains(string(body), "hello from the host") {
				return false, fmt.Errorf("history %d %.200s", res.StatusCode, body)
			}
			again = res.TLS.PeerCertificates[0]
			return true, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !again.Equal(leaf) || pebble.Orders() != orders {
			t.Errorf("after the reboot: certificate %x (was %x), %d orders at Pebble (was %d)", again.SerialNumber, leaf.SerialNumber, pebble.Orders(), orders)
		}
	}
	if b.good != "" {
		// The binary the service runs, not just the file: /proc/PID/exe.
		running := vm.MustRun(ctx, t, "sha256sum < /proc/$(systemctl show --property=MainPID --value chatbox.service)/exe")
		if running != b.good {
			t.Errorf("after the reboot the service runs a binary with sha256 %q, want the rolled-back one's %q\n%s", running, b.good, journal(ctx, vm))
		}
	}
}

// firewall checks that ufw lets 80 and 443 through and drops another port.
func (b *vmBox) firewall(ctx context.Context, t *testing.T) {
	vm := b.vm
	t.Run("the firewall lets 80 and 443 through and drops another port", func(t *testing.T) {
		defer vmtest.Step(t, "firewall")()
		vm.MustRun(ctx, t, "(setsid python3 -m http.server 8081 >/dev/null 2>&1 &)")
		vm.MustRun(ctx, t, "for i in $(seq 50); do python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", 8081), timeout=1)' 2>/dev/null && exit 0; sleep 0.2; done; exit 1")
		if err := rawGet(vm.Ports[8081]); err == nil {
			t.Error("the test listener on 8081 answered the host through the firewall")
		} else {
			t.Logf("8081 through ufw: %v", err)
		}
		if err := rawGet(vm.HTTPPort); err != nil {
			t.Errorf("port 80 through ufw: %v", err)
		}
		// The same listener answers once ufw lets it: the drop was ufw's.
		vm.MustRun(ctx, t, "ufw allow 8081/tcp")
		if err := rawGet(vm.Ports[8081]); err != nil {
			t.Errorf("8081 allowed in ufw: %v", err)
		}
	})

}

// automaticUpdates has the machine's own update timers install a newer
// package, and chatbox update --system the next.
func (b *vmBox) automaticUpdates(ctx context.Context, t *testing.T) {
	vm, repo := b.vm, b.repo
	t.Run("the update timers install a newer package, and update --system reports the next", func(t *testing.T) {
		defer vmtest.Step(t, "automatic updates")()
		const canary = "chatbox-canary"
		version := func() string { return vm.MustRun(ctx, t, "dpkg-query -W -f '${Version}' "+canary) }
		repo.Publish(ctx, t, canary, "1.0")
		vm.MustRun(ctx, t, vmtest.RepoGuestSetup()+" && apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "+canary+" >/dev/null")
		if v := version(); v != "1.0" {
			t.Fatalf("%s %s installed, want 1.0", canary, v)
		}
		// The archive publishes 1.1, and a day passes: the timers'
		// stamps no longer say they ran today. The services are what the
		// timers start; systemctl start waits for them (oneshot).
		repo.Publish(ctx, t, canary, "1.1")
		vm.MustRun(ctx, t, "rm -f /var/lib/apt/periodic/*stamp && systemctl start apt-daily.service && systemctl start apt-daily-upgrade.service")
		if v := version(); v != "1.1" {
			log, _ := vm.Run(ctx, "tail -n 30 /var/log/unattended-upgrades/unattended-upgrades.log; journalctl -b -u apt-daily.service -u apt-daily-upgrade.service --no-pager | tail -n 30")
			t.Fatalf("after apt-daily and apt-daily-upgrade %s is %s, want 1.1\n%s", canary, v, log)
		}
		if log := vm.MustRun(ctx, t, "cat /var/log/unattended-upgrades/unattended-upgrades.log"); !strings.Contains(log, canary) {
			t.Errorf("unattended-upgrades' log does not name %s:\n%s", canary, log)
		}
		// 1.2, applied by the owner's chatbox update --system.
		repo.Publish(ctx, t, canary, "1.2")
		out, err := vm.Run(ctx, "/root/chatbox update --system")
		t.Logf("update --system:\n%s", out)
		if err != nil || !strings.Contains(out, "apt upgraded 1 packages") {
			t.Errorf("update --system: %v, want it to report one package upgraded", err)
		}
		if v := version(); v != "1.2" {
			t.Errorf("after update --system %s is %s, want 1.2", canary, v)
		}
	})

}

// brokenUpdate has update --self install a binary that exits at once, and
// wants it rolled back; b.good is then the binary that must run.
func (b *vmBox) brokenUpdate(ctx context.Context, t *testing.T) {
	vm := b.vm
	defer vmtest.Step(t, "update --self with a broken binary")()
	good := vm.MustRun(ctx, t, "sha256sum < /usr/local/bin/chatbox")
	broken, err := os.ReadFile(buildBroken(ctx, t))
	if err != nil {
		t.Fatal(err)
	}
	if err := vm.Copy(ctx, broken, "/root/broken", 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := vm.Run(ctx, "/root/chatbox update --self /root/broken")
	t.Logf("update --self (a binary that exits at once):\n%s", out)
	if err == nil || !strings.Contains(out, "The previous binary is back in place and running") {
		t.Fatalf("want a failed update that rolled back, got %v", err)
	}
	if now := vm.MustRun(ctx, t, "sha256sum < /usr/local/bin/chatbox"); now != good {
		t.Fatalf("after the rollback /usr/local/bin/chatbox has sha256 %q, want the previous one's %q", now, good)
	}
	b.good = good
}

// uninstall has uninstall --purge remove chatbox, and checks after a
// reboot that nothing of it runs or remains.
func (b *vmBox) uninstall(ctx context.Context, t *testing.T) {
	vm := b.vm
	t.Run("uninstall --purge, then a reboot: nothing of chatbox runs or remains", func(t *testing.T) {
		defer vmtest.Step(t, "uninstall --purge, then reboot")()
		out, err := vm.Run(ctx, "/root/chatbox uninstall --purge --yes")
		t.Logf("uninstall --purge:\n%s", out)
		if err != nil {
			t.Fatalf("uninstall --purge: %v", err)
		}
		vm.Reboot(ctx, t, 15*time.Minute)
		for _, p := range []string{"/etc/systemd/system/chatbox.service", "/etc/systemd/system/multi-user.target.wants/chatbox.service",
			"/etc/systemd/system/chatbox-update.timer", "/etc/systemd/system/timers.target.wants/chatbox-update.timer",
			"/etc/systemd/system/chatbox-backup.timer", "/etc/systemd/system/timers.target.wants/chatbox-backup.timer",
			"/usr/local/bin/chatbox", "/usr/local/bin/chatbox.prev", "/etc/chatbox", "/var/lib/chatbox"} {
			if out, err := vm.Run(ctx, "test ! -e "+p+" && test ! -L "+p); err != nil {
				t.Errorf("%s is still there after uninstall --purge and a reboot (%v %s)", p, err, out)
			}
		}
		checks := map[string]string{
			// list-unit-files exits 1 when nothing matches: the output is
			// what is checked.
			"units named chatbox": "systemctl list-units --all --no-legend --plain 'chatbox*'; systemctl list-unit-files --no-legend --plain 'chatbox*'; true",
			"chatbox processes":   "pgrep -a -x chatbox || true",
			"the chatbox user":    "getent passwd chatbox || true",
			"listeners on 80/443": "ss -Htln '( sport = :80 or sport = :443 )'",
		}
		for what, cmd := range checks {
			if out := vm.MustRun(ctx, t, cmd); out != "" {
				t.Errorf("%s after uninstall --purge and a reboot:\n%s", what, out)
			}
		}
	})
}

// rawGet asks for / over plain HTTP on host loopback's port and wants any
// HTTP answer within 5 s. Through QEMU's forward the host's connection is
// accepted at once; a guest firewall that drops shows as no answer.
func rawGet(port int) error {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
	buf := make([]byte, 12)
	n, err := io.ReadAtLeast(c, buf, 8)
	if err != nil {
		return fmt.Errorf("no answer: %v", err)
	}
	if !strings.HasPrefix(string(buf[:n]), "HTTP/") {
		return fmt.Errorf("answer %q", buf[:n])
	}
	return nil
}

// vmHTTPS is a client that reaches vmDomain on the machine's forwarded
// 443 and trusts only roots.
func vmHTTPS(vm *vmtest.VM, roots *x509.CertPool) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second}
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: vmDomain},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", vm.HTTPSPort))
		},
	}}
}

// wsMessage sends text over a WebSocket to the box and waits for the
// message event that carries it back.
func wsMessage(ctx context.Context, t *testing.T, vm *vmtest.VM, roots *x509.CertPool, text string) {
	t.Helper()
	nd := &net.Dialer{Timeout: 10 * time.Second}
	d := websocket.Dialer{
		TLSClientConfig:  &tls.Config{RootCAs: roots, ServerName: vmDomain},
		HandshakeTimeout: 20 * time.Second,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return nd.DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", vm.HTTPSPort))
		},
	}
	conn, res, err := d.DialContext(ctx, "wss://"+vmDomain+"/ws?nick=host", nil)
	if err != nil {
		t.Fatalf("dial the WebSocket: %v (%v)", err, res)
	}
	defer conn.Close()
	if err := conn.WriteJSON(map[string]string{"type": "message", "text": text}); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		var ev struct {
			Type    string `json:"type"`
			Message struct {
				Text string `json:"text"`
			} `json:"message"`
		}
		if err := conn.ReadJSON(&ev); err != nil {
			t.Fatalf("waiting for the message event: %v", err)
		}
		if ev.Type == "message" && ev.Message.Text == text {
			return
		}
	}
}

func journal(ctx context.Context, vm *vmtest.VM) string {
	out, _ := vm.Run(ctx, "journalctl --no-pager --lines=40 --unit=chatbox.service")
	return "journal:\n" + out
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return prefix + strings.Join(lines, "\n"+prefix)
}
