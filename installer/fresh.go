package installer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/chatbox-dev/chatbox/platform"
)

// FreshHost fills root with what a freshly installed host of osID has
// that install's plan looks at: the accounts files, the host name,
// systemd's run directory, dpkg's status and an apt source on the Debian
// family, firewalld, SELinux's restorecon and dnf on the RHEL family,
// cloud-init on the cloud images that carry it, ufw on Ubuntu, and
// pf.conf on OpenBSD. `install --os ID --dry-run` for another OS than
// this machine's plans from such a tree, so the plan never depends on this
// machine; the golden plans under testdata/ are made from it too.
func FreshHost(root, osID string) error {
	put := func(p, data string, mode os.FileMode) error {
		name := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return fmt.Errorf("make a fresh %s host: %w", osID, err)
		}
		if err := os.WriteFile(name, []byte(data), mode); err != nil {
			return fmt.Errorf("make a fresh %s host: %w", osID, err)
		}
		return nil
	}
	files := []freshFile{
		{"/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0o644},
		{"/etc/group", "root:x:0:\n", 0o644},
	}
	switch osID {
	case "openbsd":
		files = append(files,
			freshFile{"/etc/myname", "openbsd.my.domain\n", 0o644},
			freshFile{"/etc/hosts", "127.0.0.1\tlocalhost\n::1\t\tlocalhost\n", 0o644},
			freshFile{"/etc/pf.conf", "set skip on lo\nblock return\npass\n", 0o600})
	case "debian", "ubuntu", "raspbian":
		files = append(files, []freshFile{
			{"/etc/hostname", "localhost\n", 0o644},
			{"/etc/hosts", "127.0.0.1\tlocalhost\n127.0.1.1\tlocalhost\n", 0o644},
			{"/var/lib/dpkg/status", "Package: ca-certificates\nStatus: install ok installed\n\n" +
				"Package: apt\nStatus: install ok installed\nVersion: 2.6.1\n\n", 0o644},
			{"/etc/apt/sources.list.d/debian.sources", "Types: deb\nURIs: http://mirror.example/debian\nSuites: trixie trixie-updates\n", 0o644},
		}...)
	default:
		files = append(files, []freshFile{
			{"/etc/hostname", "localhost.localdomain\n", 0o644},
			{"/etc/hosts", "127.0.0.1   localhost localhost.localdomain\n", 0o644},
			{"/usr/bin/firewall-cmd", "#!/bin/sh\n", 0o755},
			{"/usr/sbin/restorecon", "#!/bin/sh\n", 0o755},
			{"/usr/bin/dnf", "#!/bin/sh\n", 0o755},
		}...)
	}
	// cloud-init's own config and its hosts template (the one its
	// manage_etc_hosts renders), as its packages ship them.
	switch osID {
	case "ubuntu":
		files = append(files, freshFile{"/etc/cloud/cloud.cfg", "preserve_hostname: false\n", 0o644},
			freshFile{"/etc/cloud/templates/hosts.debian.tmpl", "## template:jinja\n127.0.1.1 {{fqdn}} {{hostname}}\n127.0.0.1 localhost\n", 0o644})
	case "rocky", "almalinux":
		files = append(files, freshFile{"/etc/cloud/cloud.cfg", "preserve_hostname: false\n", 0o644},
			freshFile{"/etc/cloud/templates/hosts.redhat.tmpl", "## template:jinja\n127.0.0.1 {{fqdn}} {{hostname}}\n127.0.0.1 localhost.localdomain localhost\n", 0o644})
	}
	if osID == "ubuntu" {
		files = append(files, freshFile{"/usr/sbin/ufw", "#!/bin/sh\n", 0o755})
	}
	for _, f := range files {
		if err := put(f.path, f.data, f.mode); err != nil {
			return err
		}
	}
	if osID != "openbsd" {
		if err := os.MkdirAll(filepath.Join(root, "/run/systemd/system"), 0o755); err != nil {
			return fmt.Errorf("make a fresh %s host: %w", osID, err)
		}
	}
	return nil
}

// freshFile is a file of a fresh host.
type freshFile struct {
	path, data string
	mode       os.FileMode
}

// FreshAnswer answers the read-only queries a plan for a fresh host asks:
// firewalld runs on a fresh RHEL-family host, dpkg compares versions, and
// nothing else is installed or running yet.
func FreshAnswer(c platform.Cmd) bool {
	a := strings.Join(c.Args, " ")
	switch {
	case a == "firewall-cmd --state":
		return true
	case strings.HasPrefix(a, "dpkg --compare-versions") && len(c.Args) == 5:
		return platform.AtLeast(c.Args[2], c.Args[4]) == (c.Args[3] == "ge")
	}
	return false
}
