// Package openbsd is the chatbox platform for OpenBSD: rc.d and rcctl,
// /etc/myname, pf, syspatch and pkg_add -u.
package openbsd

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/chatbox-dev/chatbox/packaging"
	"github.com/chatbox-dev/chatbox/platform"
	"github.com/chatbox-dev/chatbox/platform/firewall"
)

// Backend makes OpenBSD platforms.
type Backend struct{}

// Family is OpenBSD 7.4+.
func (Backend) Family() platform.Family {
	return platform.Family{{ID: "openbsd", Name: "OpenBSD", Min: "7.4"}}
}

// Platform returns the platform for a release of the Family, nil for
// other systems.
func (b Backend) Platform(rel platform.OSRelease) (platform.Platform, error) {
	name, err := b.Family().Match(rel)
	if name == "" {
		return nil, err
	}
	return &OpenBSD{rel: rel, name: name}, nil
}

// OpenBSD is an OpenBSD host. The service cannot bind ports below 1024 as
// its own user, so it listens on loopback ports and pf redirects 80 and
// 443 to them.
type OpenBSD struct {
	rel  platform.OSRelease
	name string
}

const (
	rcScript = "/etc/rc.d/chatbox"
	anchor   = "/etc/pf.chatbox.conf"
)

// ID returns "openbsd".
func (o *OpenBSD) ID() string { return o.rel.ID }

// Name returns the OS name and version.
func (o *OpenBSD) Name() string { return o.name }

// Paths returns OpenBSD's paths: data in /var/chatbox, an rc.d script.
func (o *OpenBSD) Paths() platform.Paths {
	return platform.Paths{
		Binary:      "/usr/local/bin/chatbox",
		ConfigDir:   "/etc/chatbox",
		Config:      "/etc/chatbox/config.toml",
		DataDir:     "/var/chatbox",
		ServiceFile: rcScript,
	}
}

// User returns the service account, named the OpenBSD way.
func (o *OpenBSD) User() string { return "_chatbox" }

// Listen returns the loopback ports pf redirects 80 and 443 to.
func (o *OpenBSD) Listen() platform.Listen {
	return platform.Listen{HTTP: "127.0.0.1:8080", HTTPS: "127.0.0.1:8443"}
}

// RepairPackages does nothing: pkg_add leaves no half-configured state.
func (o *OpenBSD) RepairPackages(context.Context, *platform.Host) error { return nil }

// InstallPackages does nothing: the base system has all chatbox needs
// (CA certificates in /etc/ssl/cert.pem, syspatch, pf).
func (o *OpenBSD) InstallPackages(context.Context, *platform.Host) error { return nil }

// CreateUser adds the _chatbox daemon account and its directories.
func (o *OpenBSD) CreateUser(ctx context.Context, h *platform.Host) error {
	if !h.HasUser(o.User()) {
		if err := h.Exec(ctx, "useradd", "-L", "daemon", "-g", "=uid", "-d", o.Paths().DataDir,
			"-s", "/sbin/nologin", "-c", "chatbox service", o.User()); err != nil {
			return err
		}
	}
	return platform.MakeDirs(ctx, h, o.User(), o.Paths())
}

// RemoveUser deletes the _chatbox account.
func (o *OpenBSD) RemoveUser(ctx context.Context, h *platform.Host) error {
	if !h.HasUser(o.User()) {
		return nil
	}
	return h.Exec(ctx, "userdel", o.User())
}

// FixLabels does nothing: OpenBSD has no file labels.
func (o *OpenBSD) FixLabels(context.Context, *platform.Host, ...string) error { return nil }

// SetHostname writes /etc/myname, sets the running name and adds the name
// to the 127.0.0.1 line of /etc/hosts.
func (o *OpenBSD) SetHostname(ctx context.Context, h *platform.Host, name string) error {
	old, _ := h.ReadFile("/etc/myname")
	if strings.TrimSpace(string(old)) != name {
		if _, err := h.WriteFile(ctx, "/etc/myname", []byte(name+"\n"), 0o644, ""); err != nil {
			return err
		}
		if h.Live {
			if err := h.Exec(ctx, "hostname", name); err != nil {
				return err
			}
		}
	}
	return platform.SetHostsName(ctx, h, "127.0.0.1", name)
}

const (
	updatesBegin = "# chatbox: automatic updates (begin)"
	updatesEnd   = "# chatbox: automatic updates (end)"
	updatesBlock = updatesBegin + `
# Written by chatbox install; daily(8) runs this file every night and
# mails the output to root. syspatch exits 2 both when it has updated
# itself and when nothing is left to do, so it runs twice; a kernel patch
# waits for the next reboot. Routine updates never run sysupgrade.
/usr/sbin/syspatch
/usr/sbin/syspatch
/usr/sbin/pkg_add -u -I
` + updatesEnd + "\n"
)

// EnableAutoUpdates adds syspatch and pkg_add -u to /etc/daily.local.
func (o *OpenBSD) EnableAutoUpdates(ctx context.Context, h *platform.Host) error {
	old, _ := h.ReadFile("/etc/daily.local")
	_, err := h.WriteFile(ctx, "/etc/daily.local", platform.WithBlock(old, updatesBegin, updatesEnd, updatesBlock), 0o644, "")
	return err
}

const (
	anchorRules = `# Written by chatbox install: let the web in and hand it to chatbox,
# which listens on 127.0.0.1:8080 (HTTP) and 127.0.0.1:8443 (HTTPS).
pass in proto tcp to port 80 rdr-to 127.0.0.1 port 8080
pass in proto tcp to port 443 rdr-to 127.0.0.1 port 8443
`
	pfBegin = "# chatbox (begin)"
	pfEnd   = "# chatbox (end)"
	pfBlock = pfBegin + `
anchor "chatbox"
load anchor "chatbox" from "` + anchor + `"
` + pfEnd + "\n"
)

// OpenFirewall adds the chatbox anchor to /etc/pf.conf, which pf loads at
// every boot. The new ruleset is checked with pfctl -n before it is
// loaded; a ruleset that does not parse is put back as it was. Existing
// rules, SSH among them, are left alone.
func (o *OpenBSD) OpenFirewall(ctx context.Context, h *platform.Host) error {
	if _, err := h.WriteFile(ctx, anchor, []byte(anchorRules), 0o600, ""); err != nil {
		return err
	}
	// A missing pf.conf is an empty ruleset, which passes everything.
	old, _ := h.ReadFile("/etc/pf.conf")
	conf := platform.WithBlock(old, pfBegin, pfEnd, pfBlock)
	if bytes.Equal(conf, old) {
		return nil
	}
	if _, err := h.WriteFile(ctx, "/etc/pf.conf", conf, 0o600, ""); err != nil {
		return err
	}
	if !h.Live {
		return nil
	}
	if err := h.Exec(ctx, "pfctl", "-n", "-f", "/etc/pf.conf"); err != nil {
		if _, rerr := h.WriteFile(ctx, "/etc/pf.conf", old, 0o600, ""); rerr != nil {
			return fmt.Errorf("%w; putting pf.conf back failed too: %v", err, rerr)
		}
		return err
	}
	return h.Exec(ctx, "pfctl", "-f", "/etc/pf.conf")
}

// FirewallState reads pf's loaded rules (pfctl -sr) and those of the
// anchors they load (pfctl -a NAME -sr), and whether pf is on (pfctl -si).
func (o *OpenBSD) FirewallState(ctx context.Context, h *platform.Host, ports ...int) (firewall.State, error) {
	info, err := h.Output(ctx, "pfctl", "-si")
	if err != nil {
		return firewall.State{}, fmt.Errorf("ask pf whether it is on: %w", err)
	}
	enabled := bytes.Contains(info, []byte("Status: Enabled"))
	main, err := h.Output(ctx, "pfctl", "-sr")
	if err != nil {
		return firewall.State{}, fmt.Errorf("read pf's rules: %w", err)
	}
	pf, err := firewall.ParsePF(enabled, main, nil)
	if err != nil {
		return firewall.State{}, err
	}
	anchors := map[string][]byte{}
	for _, name := range pf.Anchors() {
		if anchors[name], err = h.Output(ctx, "pfctl", "-a", name, "-sr"); err != nil {
			return firewall.State{}, fmt.Errorf("read the rules of pf's anchor %s: %w", name, err)
		}
	}
	if pf, err = firewall.ParsePF(enabled, main, anchors); err != nil {
		return firewall.State{}, err
	}
	return pf.State(ports...), nil
}

// Packaged is always false: chatbox has no OpenBSD package.
func (o *OpenBSD) Packaged(context.Context, *platform.Host) (platform.Package, bool) {
	return platform.Package{}, false
}

func (o *OpenBSD) enabled(h *platform.Host) bool {
	conf, _ := h.ReadFile("/etc/rc.conf.local")
	for _, line := range strings.Split(string(conf), "\n") {
		if v, ok := strings.CutPrefix(line, "pkg_scripts="); ok && slices.Contains(strings.Fields(v), "chatbox") {
			return true
		}
	}
	return false
}

// InstallService writes /etc/rc.d/chatbox and enables it with rcctl.
func (o *OpenBSD) InstallService(ctx context.Context, h *platform.Host) error {
	if _, err := h.WriteFile(ctx, rcScript, packaging.OpenBSDRC(), 0o555, ""); err != nil {
		return err
	}
	if o.enabled(h) {
		return nil
	}
	return h.Exec(ctx, "rcctl", "enable", "chatbox")
}

// RestartService restarts the daemon.
func (o *OpenBSD) RestartService(ctx context.Context, h *platform.Host) error {
	if !h.Live {
		return nil
	}
	if err := h.Exec(ctx, "rcctl", "restart", "chatbox"); err != nil {
		return &platform.StartError{Err: err}
	}
	return nil
}

// StartCommands start the daemon.
func (o *OpenBSD) StartCommands() []string { return []string{"rcctl start chatbox"} }

// StopService stops the daemon.
func (o *OpenBSD) StopService(ctx context.Context, h *platform.Host) error {
	if !h.Live {
		return nil
	}
	return h.Exec(ctx, "rcctl", "stop", "chatbox")
}

// ServiceActive reports whether rcctl finds the daemon running.
func (o *OpenBSD) ServiceActive(ctx context.Context, h *platform.Host) bool {
	return h.Live && h.Query(ctx, "rcctl", "check", "chatbox")
}

// RemoveService stops and disables the daemon and deletes its script.
func (o *OpenBSD) RemoveService(ctx context.Context, h *platform.Host) error {
	if !h.Exists(rcScript) && !o.enabled(h) {
		return nil
	}
	if h.Live {
		if err := h.Exec(ctx, "rcctl", "stop", "chatbox"); err != nil {
			return err
		}
	}
	if o.enabled(h) {
		if err := h.Exec(ctx, "rcctl", "disable", "chatbox"); err != nil {
			return err
		}
	}
	return h.Remove(ctx, rcScript)
}

// UpdateSystem installs binary patches with syspatch and updates packages
// with pkg_add -u. syspatch exits 2 both when nothing is left to do and
// when it has just updated itself; after the latter it runs once more.
// A kernel patch needs a reboot, which is reported, never done.
func (o *OpenBSD) UpdateSystem(ctx context.Context, h *platform.Host) ([]string, error) {
	syspatch := platform.Cmd{Args: []string{"syspatch"}, OKExit: []int{2}}
	out, err := h.Run(ctx, syspatch)
	if err != nil {
		return nil, err
	}
	all := string(out)
	if strings.Contains(all, "updated itself") {
		out, err = h.Run(ctx, syspatch)
		if err != nil {
			return nil, err
		}
		all += string(out)
	}
	if err := h.Exec(ctx, "pkg_add", "-u", "-I"); err != nil {
		return nil, err
	}
	if strings.Contains(all, "reboot") {
		return []string{"syspatch installed a kernel patch: reboot to load the new kernel; chatbox does not reboot by itself"}, nil
	}
	return nil, nil
}

// Listeners cannot read OpenBSD's socket table (fstat(1) would, but its
// output cannot be asked for without running it as a change), so the
// installer falls back to trying the ports.
func (o *OpenBSD) Listeners(context.Context, *platform.Host, ...int) ([]platform.Listener, error) {
	return nil, platform.ErrCannotTell
}

// LogsCommand returns nil: the daemon logs through syslog to a file.
func (o *OpenBSD) LogsCommand(int, bool) []string { return nil }

// LogFile is where syslogd puts daemon.info messages.
func (o *OpenBSD) LogFile() string { return "/var/log/daemon" }

// InstallJob adds j to /etc/daily.local, which daily(8) runs every night.
func (o *OpenBSD) InstallJob(ctx context.Context, h *platform.Host, j platform.Job) error {
	old, _ := h.ReadFile("/etc/daily.local")
	begin, end, block := j.DailyBlock()
	_, err := h.WriteFile(ctx, "/etc/daily.local", platform.WithBlock(old, begin, end, block), 0o644, "")
	return err
}

// RemoveJob takes j's block out of /etc/daily.local.
func (o *OpenBSD) RemoveJob(ctx context.Context, h *platform.Host, j platform.Job) error {
	old, err := h.ReadFile("/etc/daily.local")
	if err != nil {
		return nil
	}
	begin, end, _ := j.DailyBlock()
	if now := platform.WithoutBlock(old, begin, end); !bytes.Equal(now, old) {
		_, err := h.WriteFile(ctx, "/etc/daily.local", now, 0o644, "")
		return err
	}
	return nil
}

// JobState reads /etc/daily.local back and wants j's block in it.
func (o *OpenBSD) JobState(_ context.Context, h *platform.Host, j platform.Job) error {
	text, _ := h.ReadFile("/etc/daily.local")
	_, _, block := j.DailyBlock()
	if !bytes.Contains(text, []byte(block)) {
		return fmt.Errorf("/etc/daily.local does not run %s", j.Name)
	}
	return nil
}

// PackageUpdates reports false: chatbox has no OpenBSD package, and
// daily.local runs chatbox update.
func (o *OpenBSD) PackageUpdates(context.Context, *platform.Host, bool) (bool, error) {
	return false, nil
}
