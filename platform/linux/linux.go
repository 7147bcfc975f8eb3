// Package linux is the chatbox platform for Debian, Ubuntu and Raspberry Pi
// OS: apt-get, unattended-upgrades, systemd, hostnamectl and ufw.
package linux

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"slices"
	"strings"

	"github.com/chatbox-dev/chatbox/packaging"
	"github.com/chatbox-dev/chatbox/platform"
)

// Backend makes Debian-family platforms.
type Backend struct{}

// Family is Debian 11+, Ubuntu 22.04+ and Raspberry Pi OS 11+.
func (Backend) Family() platform.Family {
	return platform.Family{
		{ID: "debian", Name: "Debian", Min: "11"},
		{ID: "ubuntu", Name: "Ubuntu", Min: "22.04"},
		{ID: "raspbian", Name: "Raspberry Pi OS", Min: "11"},
	}
}

// Platform returns the platform for a release of the Family, nil for
// other families.
func (b Backend) Platform(rel platform.OSRelease) (platform.Platform, error) {
	name, err := b.Family().Match(rel)
	if name == "" {
		return nil, err
	}
	return &Debian{rel: rel, name: name, SystemdLinux: platform.SystemdLinux{
		Service: platform.Systemd{Name: "chatbox.service", Unit: packaging.SystemdUnit()},
		Nologin: "/usr/sbin/nologin",
	}}, nil
}

// Debian is a Debian-family host.
type Debian struct {
	platform.SystemdLinux
	rel  platform.OSRelease
	name string
}

// ID returns the os-release ID.
func (d *Debian) ID() string { return d.rel.ID }

// Name returns the OS name and version.
func (d *Debian) Name() string { return d.name }

// Listeners reads the socket table from /proc and names each listener's
// package from dpkg's file lists.
func (d *Debian) Listeners(ctx context.Context, h *platform.Host, ports ...int) ([]platform.Listener, error) {
	ls, err := d.SystemdLinux.Listeners(ctx, h, ports...)
	for i := range ls {
		ls[i].Package = platform.DpkgOwner(h, ls[i].Exe)
	}
	return ls, err
}

// packages are what chatbox needs from apt.
func packages() []string { return []string{"ca-certificates", "unattended-upgrades"} }

// apt returns an apt-get command that never asks a question (needrestart
// on Ubuntu included) and waits up to ten minutes for the dpkg lock.
func apt(args ...string) platform.Cmd {
	return platform.Cmd{
		Env: []string{"DEBIAN_FRONTEND=noninteractive", "NEEDRESTART_MODE=a"},
		Args: append([]string{"apt-get", "-y", "-q",
			"-o", "DPkg::Lock::Timeout=600",
			"-o", "Dpkg::Options::=--force-confdef",
			"-o", "Dpkg::Options::=--force-confold"}, args...),
	}
}

// waitNote tells the person when another package manager holds the dpkg
// lock, which apt then waits for.
func waitNote(h *platform.Host) {
	if lockHeld(h.Path("/var/lib/dpkg/lock-frontend")) || lockHeld(h.Path("/var/lib/dpkg/lock")) {
		h.Note("another package manager (on a fresh server usually unattended-upgrades) is running; waiting for it to finish, up to 10 minutes")
	}
}

// RepairPackages runs dpkg --configure -a when an earlier dpkg run was
// interrupted half-way.
func (d *Debian) RepairPackages(ctx context.Context, h *platform.Host) error {
	entries, _ := os.ReadDir(h.Path("/var/lib/dpkg/updates"))
	if len(entries) == 0 {
		return nil
	}
	waitNote(h)
	_, err := h.Run(ctx, platform.Cmd{
		Env:  []string{"DEBIAN_FRONTEND=noninteractive", "NEEDRESTART_MODE=a"},
		Args: []string{"dpkg", "--force-confdef", "--force-confold", "--configure", "-a"},
	})
	return err
}

// InstallPackages installs the packages that are missing.
func (d *Debian) InstallPackages(ctx context.Context, h *platform.Host) error {
	installed := dpkgInstalled(h)
	var missing []string
	for _, p := range packages() {
		if !installed[p] {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	waitNote(h)
	if _, err := h.Run(ctx, apt("update")); err != nil {
		return err
	}
	_, err := h.Run(ctx, apt(append([]string{"install", "--no-install-recommends"}, missing...)...))
	return err
}

// dpkgInstalled reads which packages dpkg's status file says are installed.
func dpkgInstalled(h *platform.Host) map[string]bool {
	data, _ := h.ReadFile("/var/lib/dpkg/status")
	installed := map[string]bool{}
	var pkg string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Package: "):
			pkg = strings.TrimSpace(strings.TrimPrefix(line, "Package: "))
		case strings.HasPrefix(line, "Status: "):
			if strings.HasSuffix(strings.TrimSpace(line), " installed") && strings.Contains(line, "install ok") {
				installed[pkg] = true
			}
		}
	}
	return installed
}

// FixLabels does nothing: Debian does not use SELinux by default.
func (d *Debian) FixLabels(context.Context, *platform.Host, ...string) error { return nil }

// SetHostname sets the name with hostnamectl and maps it to 127.0.1.1,
// the Debian convention.
func (d *Debian) SetHostname(ctx context.Context, h *platform.Host, name string) error {
	return platform.SetHostnameSystemd(ctx, h, name, "127.0.1.1")
}

const autoUpgrades = `// Written by chatbox install: fetch package lists and apply security
// updates every day (unattended-upgrades).
APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "1";
`

// Raspberry Pi OS packages come from origins Debian's default
// unattended-upgrades configuration does not list.
const raspbianOrigins = `// Written by chatbox install: let unattended-upgrades update Raspberry
// Pi OS packages, which come from origins the default list lacks.
Unattended-Upgrade::Origins-Pattern {
	"origin=Raspbian,codename=${distro_codename},label=Raspbian";
	"origin=Raspberry Pi Foundation,codename=${distro_codename},label=Raspberry Pi Foundation";
};
`

// EnableAutoUpdates turns on unattended-upgrades' daily run.
func (d *Debian) EnableAutoUpdates(ctx context.Context, h *platform.Host) error {
	if _, err := h.WriteFile(ctx, "/etc/apt/apt.conf.d/99chatbox-auto-upgrades", []byte(autoUpgrades), 0o644, ""); err != nil {
		return err
	}
	if d.rel.ID == "raspbian" {
		if _, err := h.WriteFile(ctx, "/etc/apt/apt.conf.d/99chatbox-raspbian-origins", []byte(raspbianOrigins), 0o644, ""); err != nil {
			return err
		}
	}
	return nil
}

// OpenFirewall allows TCP 80 and 443 in ufw when ufw is installed. It only
// adds allow rules, never enables ufw or changes its policy, so SSH stays
// as reachable as it was. ufw keeps its rules across reboots.
func (d *Debian) OpenFirewall(ctx context.Context, h *platform.Host) error {
	if h.HasCommand("ufw") {
		rules, _ := h.ReadFile("/etc/ufw/user.rules")
		for _, port := range []string{"80", "443"} {
			if bytes.Contains(rules, []byte("-p tcp --dport "+port+" -j ACCEPT")) {
				continue
			}
			if err := h.Exec(ctx, "ufw", "allow", port+"/tcp"); err != nil {
				return err
			}
		}
		return nil
	}
	if h.HasCommand("nft") {
		conf, _ := h.ReadFile("/etc/nftables.conf")
		if bytes.Contains(conf, []byte("policy drop")) && !bytes.Contains(conf, []byte("dport { 80, 443 }")) {
			h.Note("/etc/nftables.conf drops incoming connections by default; add `tcp dport { 80, 443 } accept` to its input chain")
		}
	}
	return nil
}

// UpdateSystem repairs an interrupted dpkg run and applies every update
// (apt-get full-upgrade).
func (d *Debian) UpdateSystem(ctx context.Context, h *platform.Host) ([]string, error) {
	if err := d.RepairPackages(ctx, h); err != nil {
		return nil, err
	}
	waitNote(h)
	if _, err := h.Run(ctx, apt("update")); err != nil {
		return nil, err
	}
	if _, err := h.Run(ctx, apt("full-upgrade")); err != nil {
		return nil, err
	}
	var notes []string
	if h.Exists("/var/run/reboot-required") || h.Exists("/run/reboot-required") {
		data, _ := h.ReadFile("/run/reboot-required.pkgs")
		pkgs := strings.Fields(string(data))
		slices.Sort(pkgs)
		note := "a reboot is needed to finish the updates"
		if len(pkgs) > 0 {
			note += " (" + strings.Join(slices.Compact(pkgs), ", ") + ")"
		}
		notes = append(notes, note+"; chatbox does not reboot by itself")
	}
	return notes, nil
}
