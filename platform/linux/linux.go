// Package linux is the chatbox platform for Debian, Ubuntu and Raspberry Pi
// OS: apt-get, unattended-upgrades, systemd, hostnamectl and ufw.
package linux

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/chatbox-dev/chatbox/packaging"
	"github.com/chatbox-dev/chatbox/platform"
	"github.com/chatbox-dev/chatbox/platform/firewall"
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
		Package: debPackage,
	}}, nil
}

// debPackage reports whether dpkg says chatbox's package is installed.
func debPackage(_ context.Context, h *platform.Host) (platform.Package, bool) {
	if !dpkgInstalled(h)["chatbox"] {
		return platform.Package{}, false
	}
	return platform.Package{Binary: platform.PackagedBinary, Unit: platform.PackagedUnit,
		Upgrade: "apt-get install --only-upgrade chatbox", Remove: "apt-get purge chatbox"}, true
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
	if err := aptUpdate(ctx, h); err != nil {
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
	return platform.SetHostnameSystemd(ctx, h, name, "127.0.1.1", "debian")
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
// as reachable as it was. ufw keeps its rules across reboots. An nftables
// ruleset belongs to whoever wrote /etc/nftables.conf, so it is left
// alone: FirewallState says when it keeps the ports closed.
func (d *Debian) OpenFirewall(ctx context.Context, h *platform.Host) error {
	if !h.HasCommand("ufw") {
		return nil
	}
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

// FirewallState reads ufw's status when ufw is active, else the nftables
// ruleset.
func (d *Debian) FirewallState(ctx context.Context, h *platform.Host, ports ...int) (firewall.State, error) {
	if h.HasCommand("ufw") {
		out, err := h.Output(ctx, "ufw", "status", "verbose")
		if err != nil {
			return firewall.State{}, fmt.Errorf("read ufw's rules: %w", err)
		}
		u, err := firewall.ParseUFW(out)
		if err != nil {
			return firewall.State{}, err
		}
		if u.Active {
			return u.State(ports...), nil
		}
	}
	return platform.NftState(ctx, h, ports...)
}

// UpdateSystem repairs an interrupted dpkg run and applies every update
// (apt-get full-upgrade).
func (d *Debian) UpdateSystem(ctx context.Context, h *platform.Host) ([]string, error) {
	if err := d.RepairPackages(ctx, h); err != nil {
		return nil, err
	}
	waitNote(h)
	if err := aptUpdate(ctx, h); err != nil {
		return nil, err
	}
	out, err := h.Run(ctx, apt("full-upgrade"))
	if err != nil {
		return nil, err
	}
	var notes []string
	if m := upgradedRE.FindSubmatch(out); m != nil {
		notes = append(notes, "apt upgraded "+string(m[1])+" packages")
	}
	if h.Exists("/var/run/reboot-required") || h.Exists("/run/reboot-required") {
		data, _ := h.ReadFile("/run/reboot-required.pkgs")
		pkgs := strings.Fields(string(data))
		slices.Sort(pkgs)
		note := "a reboot is needed to finish the updates"
		if len(pkgs) > 0 {
			note += " (" + strings.Join(slices.Compact(pkgs), ", ") + ")"
		}
		notes = append(notes, note+"; chatbox does not reboot by itself")
	} else if h.Live {
		notes = append(notes, "no reboot is needed (there is no /var/run/reboot-required)")
	}
	return notes, nil
}

// upgradedRE finds apt-get's summary, "3 upgraded, 0 newly installed, …".
var upgradedRE = regexp.MustCompile(`(?m)^(\d+) upgraded, `)

// errorOnAny is the first apt whose update takes --error-on=any: older
// ones exit 0 when a mirror cannot be reached.
const errorOnAny = "2.1.16"

// aptUpdate refreshes the package lists and fails when a mirror could not
// be reached, which apt-get update reports with exit status 0 unless
// asked (--error-on=any, apt 2.1.16 and later); with an older apt its
// output is read for the failures instead.
func aptUpdate(ctx context.Context, h *platform.Host) error {
	v := dpkgVersion(h, "apt")
	strict := v != "" && h.Query(ctx, "dpkg", "--compare-versions", v, "ge", errorOnAny)
	args := []string{"update"}
	if strict {
		args = append(args, "--error-on=any")
	}
	out, err := h.Run(ctx, apt(args...))
	if err == nil && !strict && fetchFailed(out) {
		err = fmt.Errorf("apt-get update could not fetch every package list: %s", firstFailure(out))
	}
	if err != nil {
		return fmt.Errorf("the package mirror (%s) could not be reached: check the network and the mirrors in /etc/apt/sources.list and /etc/apt/sources.list.d: %w",
			strings.Join(mirrors(h), ", "), err)
	}
	return nil
}

// fetchFailed reports whether apt-get update's output shows a list it
// could not fetch.
func fetchFailed(out []byte) bool { return firstFailure(out) != "" }

func firstFailure(out []byte) string {
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "Err:") || strings.HasPrefix(line, "W: Failed to fetch") || strings.HasPrefix(line, "E: Failed to fetch") {
			return line
		}
	}
	return ""
}

// mirrors lists the URIs of the host's apt sources, one-line (.list) and
// deb822 (.sources) alike, or says where they are when none are found.
func mirrors(h *platform.Host) []string {
	files := []string{"/etc/apt/sources.list"}
	for _, ext := range []string{"*.list", "*.sources"} {
		m, _ := filepath.Glob(h.Path("/etc/apt/sources.list.d/" + ext))
		for _, f := range m {
			files = append(files, "/etc/apt/sources.list.d/"+filepath.Base(f))
		}
	}
	var uris []string
	for _, f := range files {
		data, _ := h.ReadFile(f)
		for _, line := range strings.Split(string(data), "\n") {
			fields := strings.Fields(line)
			switch {
			case len(fields) > 1 && (fields[0] == "deb" || fields[0] == "deb-src"):
				rest := fields[1:]
				if strings.HasPrefix(rest[0], "[") {
					for len(rest) > 0 && !strings.HasSuffix(rest[0], "]") {
						rest = rest[1:]
					}
					if len(rest) > 0 {
						rest = rest[1:]
					}
				}
				if len(rest) > 0 {
					uris = append(uris, rest[0])
				}
			case len(fields) > 1 && fields[0] == "URIs:":
				uris = append(uris, fields[1:]...)
			}
		}
	}
	slices.Sort(uris)
	uris = slices.Compact(uris)
	if len(uris) == 0 {
		return []string{"none is listed in /etc/apt/sources.list or /etc/apt/sources.list.d"}
	}
	return uris
}

// dpkgVersion is the installed version of pkg from dpkg's status file, or
// "".
func dpkgVersion(h *platform.Host, pkg string) string {
	data, _ := h.ReadFile("/var/lib/dpkg/status")
	var cur string
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "Package: "):
			cur = strings.TrimSpace(strings.TrimPrefix(line, "Package: "))
		case cur == pkg && strings.HasPrefix(line, "Version: "):
			return strings.TrimSpace(strings.TrimPrefix(line, "Version: "))
		}
	}
	return ""
}

// chatboxOrigin lets unattended-upgrades apply chatbox's own packages,
// from the apt repository packaging/aptrepo.sh makes (Origin chatbox,
// Codename stable).
const chatboxOrigin = `// Written by chatbox install: chatbox came from its apt repository, and
// unattended-upgrades keeps it up to date with the system.
Unattended-Upgrade::Origins-Pattern {
	"origin=chatbox,codename=stable";
};
`

// chatboxOriginFile holds chatboxOrigin.
const chatboxOriginFile = "/etc/apt/apt.conf.d/99chatbox-origin"

// PackageUpdates reports whether dpkg installed chatbox (as Packaged
// tells); then it adds chatbox's repository to unattended-upgrades'
// origins (on) or takes it out (off).
func (d *Debian) PackageUpdates(ctx context.Context, h *platform.Host, on bool) (bool, error) {
	if _, ok := debPackage(ctx, h); !ok {
		return false, nil
	}
	if !on {
		return true, h.Remove(ctx, chatboxOriginFile)
	}
	_, err := h.WriteFile(ctx, chatboxOriginFile, []byte(chatboxOrigin), 0o644, "")
	return true, err
}
