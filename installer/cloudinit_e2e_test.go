package installer

// cloud-init in the booted Debian of debian_e2e_test.go: Debian's own
// cloud-init package with a NoCloud seed that names another host and asks
// cloud-init to manage /etc/hosts, across reboots of the container.

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	// cloudSeedName is the host name the seed gives; cloud-init would
	// set it and render /etc/hosts with it.
	cloudSeedName = "cloud-named"
	// cloudRenamed is the name chatbox sets once cloud-init is there.
	cloudRenamed = "chatbox-renamed.example.org"
)

// checkCloudInit installs cloud-init after chatbox named the host
// e2eHostname, boots it on a NoCloud seed (its first boot), then has
// chatbox rename the host with cloud-init there and boots again. After
// each reboot the host keeps chatbox's name and the name resolves, though
// the seed names another host and manage_etc_hosts rewrites /etc/hosts at
// every boot. It leaves the host named e2eHostname.
func checkCloudInit(ctx context.Context, t *testing.T, c *container) {
	if _, err := os.Stat(filepath.Join(c.tree, "etc/cloud/cloud.cfg")); err == nil {
		t.Fatal("cloud-init is already installed; this check installs it after chatbox named the host")
	}
	if got, _ := c.exec(ctx, "hostname"); got != e2eHostname {
		t.Fatalf("before cloud-init the host is named %q, want %q as install set it", got, e2eHostname)
	}
	// The tree resolves the Debian mirror only through /etc/hosts, which
	// cloud-init rewrites at every boot: the later subtests install
	// packages, so the mirror's lines go back in when this check ends.
	hostsPath := filepath.Join(c.tree, "etc/hosts")
	before, err := os.ReadFile(hostsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		now, err := os.ReadFile(hostsPath)
		if err != nil {
			t.Errorf("read /etc/hosts to put the mirror back: %v", err)
			return
		}
		if len(now) > 0 && now[len(now)-1] != '\n' {
			now = append(now, '\n')
		}
		for _, line := range strings.Split(string(before), "\n") {
			if line != "" && !strings.Contains(line, "localhost") && !strings.Contains(string(now), line) {
				now = append(now, line+"\n"...)
			}
		}
		if err := os.WriteFile(hostsPath, now, 0o644); err != nil {
			t.Errorf("put the mirror back in /etc/hosts: %v", err)
		}
	}()
	write := func(p, data string) {
		t.Helper()
		name := filepath.Join(c.tree, p)
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The seed: what a cloud provider's data source would give.
	write("var/lib/cloud/seed/nocloud/meta-data", "instance-id: chatbox-e2e-1\nlocal-hostname: "+cloudSeedName+"\n")
	write("var/lib/cloud/seed/nocloud/user-data", "#cloud-config\nhostname: "+cloudSeedName+"\nmanage_etc_hosts: true\n")
	// The container shares this machine's network: cloud-init must not
	// configure it, and must look for no data source but the seed.
	write("etc/cloud/cloud.cfg.d/10-e2e.cfg", "datasource_list: [ NoCloud ]\nnetwork: {config: disabled}\n")
	out, err := c.exec(ctx, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", "--no-install-recommends", "cloud-init")
	if err != nil {
		t.Fatalf("install cloud-init: %v\n%s", err, out)
	}

	// rebootAndCheck reboots and wants cloud-init to have run on the seed
	// and rendered /etc/hosts, the host still named name, and name to
	// resolve through /etc/hosts.
	rebootAndCheck := func(t *testing.T, name string) {
		t.Helper()
		booted := time.Now()
		if err := c.reboot(ctx, t); err != nil {
			t.Fatalf("reboot the container: %v", err)
		}
		// Some of cloud-init's modules fail in this bare container (locale:
		// no update-locale); status --long names those, not the source.
		status, _ := c.exec(ctx, "cloud-init", "status", "--long")
		t.Logf("cloud-init status --long after the reboot:\n%s", status)
		// /var/lib/cloud/instance is an absolute link: read it inside.
		if ds, err := c.exec(ctx, "cat", "/var/lib/cloud/instance/datasource"); err != nil || !strings.Contains(ds, "DataSourceNoCloud") {
			t.Fatalf("cloud-init did not run on the NoCloud seed at boot (/var/lib/cloud/instance/datasource: %q %v)", ds, err)
		}
		hosts, _ := os.ReadFile(filepath.Join(c.tree, "etc/hosts"))
		fi, err := os.Stat(filepath.Join(c.tree, "etc/hosts"))
		if err != nil || fi.ModTime().Before(booted) || !strings.Contains(string(hosts), "configured 'manage_etc_hosts' as True") {
			t.Fatalf("cloud-init did not render /etc/hosts from its template at this boot (%v):\n%s", err, hosts)
		}
		if got, _ := c.exec(ctx, "hostname"); got != name {
			t.Errorf("after the reboot hostname says %q, want %q", got, name)
		}
		if got, _ := c.exec(ctx, "hostnamectl", "--static"); got != name {
			t.Errorf("after the reboot hostnamectl --static says %q, want %q", got, name)
		}
		for _, n := range []string{name, strings.Split(name, ".")[0]} {
			if out, err := c.exec(ctx, "getent", "hosts", n); err != nil {
				t.Errorf("after the reboot getent hosts %s fails (%v %s); /etc/hosts:\n%s", n, err, out, hosts)
			}
		}
	}

	t.Run("installed after chatbox named the host, cloud-init's first boot keeps the name", func(t *testing.T) {
		rebootAndCheck(t, e2eHostname)
	})
	t.Run("chatbox renames the host under cloud-init, and the next boot keeps the new name", func(t *testing.T) {
		out, err := c.exec(ctx, "/root/chatbox", "hostname", cloudRenamed)
		t.Logf("chatbox hostname %s:\n%s", cloudRenamed, out)
		if err != nil {
			t.Fatalf("chatbox hostname %s: %v", cloudRenamed, err)
		}
		rebootAndCheck(t, cloudRenamed)
	})
	if out, err := c.exec(ctx, "/root/chatbox", "hostname", e2eHostname); err != nil {
		t.Errorf("name the host %s again: %v\n%s", e2eHostname, err, out)
	}
}
