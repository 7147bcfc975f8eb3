// Package centos is the chatbox platform for CentOS Stream, RHEL, Rocky
// Linux, AlmaLinux and Fedora: dnf (or yum), dnf-automatic, systemd,
// firewalld and SELinux.
package centos

import (
	"context"
	"fmt"

	"github.com/chatbox-dev/chatbox/packaging"
	"github.com/chatbox-dev/chatbox/platform"
	"github.com/chatbox-dev/chatbox/platform/firewall"
)

// Backend makes RHEL-family platforms.
type Backend struct{}

// Family is CentOS Stream 9+, RHEL, Rocky Linux and AlmaLinux 8+ and
// Fedora 39+.
func (Backend) Family() platform.Family {
	return platform.Family{
		{ID: "centos", Name: "CentOS Stream", Min: "9"},
		{ID: "rhel", Name: "RHEL", Min: "8"},
		{ID: "rocky", Name: "Rocky Linux", Min: "8"},
		{ID: "almalinux", Name: "AlmaLinux", Min: "8"},
		{ID: "fedora", Name: "Fedora", Min: "39"},
	}
}

// Platform returns the platform for a release of the Family, nil for
// other families.
func (b Backend) Platform(rel platform.OSRelease) (platform.Platform, error) {
	name, err := b.Family().Match(rel)
	if name == "" {
		return nil, err
	}
	r := &RHEL{rel: rel, name: name}
	r.SystemdLinux = platform.SystemdLinux{
		Service: platform.Systemd{Name: "chatbox.service", Unit: packaging.SystemdUnit(), Relabel: r.FixLabels},
		Nologin: "/sbin/nologin",
		Package: func(ctx context.Context, h *platform.Host) (platform.Package, bool) {
			if !h.Query(ctx, "rpm", "-q", "--quiet", "chatbox") {
				return platform.Package{}, false
			}
			return platform.Package{Binary: platform.PackagedBinary, Unit: platform.PackagedUnit,
				Upgrade: pm(h) + " upgrade chatbox", Remove: pm(h) + " remove chatbox"}, true
		},
	}
	return r, nil
}

// RHEL is a RHEL-family host.
type RHEL struct {
	platform.SystemdLinux
	rel  platform.OSRelease
	name string
}

// ID returns the os-release ID.
func (r *RHEL) ID() string { return r.rel.ID }

// Name returns the OS name and version.
func (r *RHEL) Name() string { return r.name }

// dnf5 reports whether the release uses dnf5 (Fedora 41 and later), whose
// automatic-updates plugin has other names.
func (r *RHEL) dnf5() bool {
	return r.rel.ID == "fedora" && platform.AtLeast(r.rel.VersionID, "41")
}

func (r *RHEL) packages() []string {
	if r.dnf5() {
		return []string{"ca-certificates", "dnf5-plugin-automatic"}
	}
	return []string{"ca-certificates", "dnf-automatic"}
}

// pm returns the package manager: dnf, or yum where only yum exists.
func pm(h *platform.Host) string {
	if !h.HasCommand("dnf") && h.HasCommand("yum") {
		return "yum"
	}
	return "dnf"
}

// RepairPackages does nothing: rpm transactions do not stay half-done the
// way an interrupted dpkg run does.
func (r *RHEL) RepairPackages(context.Context, *platform.Host) error { return nil }

// InstallPackages installs what is missing.
func (r *RHEL) InstallPackages(ctx context.Context, h *platform.Host) error {
	if h.Query(ctx, append([]string{"rpm", "-q", "--quiet"}, r.packages()...)...) {
		return nil
	}
	return h.Exec(ctx, append([]string{pm(h), "-y", "install"}, r.packages()...)...)
}

// FixLabels restores the SELinux contexts of files moved into place: a
// file renamed from a temporary one keeps the temporary file's label, and
// systemd then cannot execute the binary (status 203/EXEC).
func (r *RHEL) FixLabels(ctx context.Context, h *platform.Host, paths ...string) error {
	if !h.Live || !h.HasCommand("restorecon") || len(paths) == 0 {
		return nil
	}
	return h.Exec(ctx, append([]string{"restorecon", "-RF"}, paths...)...)
}

// labeled returns h with a Runner that restores the SELinux label of
// every file it writes: a file renamed into /etc from a temporary one
// keeps the temporary file's label (etc_t where /etc/hosts needs
// net_conf_t, say).
func (r *RHEL) labeled(h *platform.Host) *platform.Host {
	l := *h
	l.Runner = labeling{Runner: h.Runner, fix: func(ctx context.Context, path string) error {
		return r.FixLabels(ctx, h, path)
	}}
	return &l
}

type labeling struct {
	platform.Runner
	fix func(ctx context.Context, path string) error
}

func (l labeling) WriteFile(ctx context.Context, f platform.File) error {
	if err := l.Runner.WriteFile(ctx, f); err != nil {
		return err
	}
	return l.fix(ctx, f.Path)
}

// SetHostname sets the name with hostnamectl.
func (r *RHEL) SetHostname(ctx context.Context, h *platform.Host, name string) error {
	return platform.SetHostnameSystemd(ctx, r.labeled(h), name, "127.0.1.1", "redhat")
}

const automaticConf = `# Written by chatbox install: download and apply updates automatically.
[commands]
apply_updates = yes
upgrade_type = default
`

// EnableAutoUpdates turns on the timer that downloads and installs
// updates (dnf-automatic-install.timer; dnf5-automatic.timer with
// apply_updates on Fedora 41 and later).
func (r *RHEL) EnableAutoUpdates(ctx context.Context, h *platform.Host) error {
	if r.dnf5() {
		if _, err := r.labeled(h).WriteFile(ctx, "/etc/dnf/automatic.conf", []byte(automaticConf), 0o644, ""); err != nil {
			return err
		}
		return platform.EnableTimer(ctx, h, "dnf5-automatic.timer")
	}
	return platform.EnableTimer(ctx, h, "dnf-automatic-install.timer")
}

// OpenFirewall allows http and https in firewalld's default zone,
// permanently, when firewalld is installed; it never removes a service,
// so SSH stays open.
func (r *RHEL) OpenFirewall(ctx context.Context, h *platform.Host) error {
	if !h.HasCommand("firewall-cmd") {
		return nil
	}
	if h.Query(ctx, "firewall-cmd", "--permanent", "--query-service=http") &&
		h.Query(ctx, "firewall-cmd", "--permanent", "--query-service=https") {
		return nil
	}
	if err := h.Exec(ctx, "firewall-cmd", "--permanent", "--add-service=http", "--add-service=https"); err != nil {
		return err
	}
	if h.Live && h.Query(ctx, "firewall-cmd", "--state") {
		return h.Exec(ctx, "firewall-cmd", "--reload")
	}
	return nil
}

// FirewallState reads firewalld's default zone (firewall-cmd --list-all)
// when firewalld runs, else the nftables ruleset.
func (r *RHEL) FirewallState(ctx context.Context, h *platform.Host, ports ...int) (firewall.State, error) {
	if !h.HasCommand("firewall-cmd") || !h.Query(ctx, "firewall-cmd", "--state") {
		return platform.NftState(ctx, h, ports...)
	}
	out, err := h.Output(ctx, "firewall-cmd", "--list-all")
	if err != nil {
		return firewall.State{}, fmt.Errorf("read firewalld's zone: %w", err)
	}
	z, err := firewall.ParseFirewalld(out)
	if err != nil {
		return firewall.State{}, err
	}
	return z.State(ports...), nil
}

// UpdateSystem applies every update now and says when a reboot is needed.
func (r *RHEL) UpdateSystem(ctx context.Context, h *platform.Host) ([]string, error) {
	if err := h.Exec(ctx, pm(h), "-y", "upgrade", "--refresh"); err != nil {
		return nil, err
	}
	if h.Live && h.HasCommand("needs-restarting") {
		if !h.Query(ctx, "needs-restarting", "-r") {
			return []string{"a reboot is needed to finish the updates (needs-restarting -r says so); chatbox does not reboot by itself"}, nil
		}
		return []string{"no reboot is needed (needs-restarting -r says so)"}, nil
	}
	return nil, nil
}

// PackageUpdates reports whether rpm installed chatbox. dnf-automatic
// applies the updates of every enabled repository, chatbox's included, so
// there is nothing to add or take out; on is for the other backends.
func (r *RHEL) PackageUpdates(ctx context.Context, h *platform.Host, _ bool) (bool, error) {
	return h.Query(ctx, "rpm", "-q", "--quiet", "chatbox"), nil
}
