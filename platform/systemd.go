package platform

import (
	"context"
	"fmt"
	"strings"
)

// Systemd manages one service unit on a systemd host. Linux backends
// share it.
type Systemd struct {
	Name string // "chatbox.service"
	Unit []byte // the unit file
	// Relabel, when set, restores security labels of the unit file right
	// after it is written, before systemd reads it.
	Relabel func(ctx context.Context, h *Host, paths ...string) error
}

// UnitPath is where the unit file goes.
func (s Systemd) UnitPath() string { return "/etc/systemd/system/" + s.Name }

func (s Systemd) enabled(h *Host) bool {
	return h.Exists("/etc/systemd/system/multi-user.target.wants/" + s.Name)
}

// systemctl returns a systemctl command for the host: run inside it when
// it is live, or given the tree with --root otherwise.
func (s Systemd) systemctl(h *Host, args ...string) Cmd {
	if h.Live {
		return Command(append([]string{"systemctl"}, args...)...)
	}
	c := Command(append([]string{"systemctl", "--root=" + h.Root}, args...)...)
	c.OnHost = true
	return c
}

// Install writes the unit and enables it.
func (s Systemd) Install(ctx context.Context, h *Host) error {
	wrote, err := h.WriteFile(ctx, s.UnitPath(), s.Unit, 0o644, "")
	if err != nil {
		return err
	}
	if wrote && s.Relabel != nil {
		if err := s.Relabel(ctx, h, s.UnitPath()); err != nil {
			return err
		}
	}
	if wrote && h.Live {
		if err := h.Exec(ctx, "systemctl", "daemon-reload"); err != nil {
			return err
		}
	}
	if !s.enabled(h) {
		if _, err := h.Run(ctx, s.systemctl(h, "enable", s.Name)); err != nil {
			return err
		}
	}
	return nil
}

// EnableVendor enables the unit a package put in systemd's vendor
// directory. A copy that chatbox install wrote to /etc/systemd/system
// before would take precedence and run another binary, so it goes.
func (s Systemd) EnableVendor(ctx context.Context, h *Host) error {
	if h.SameFile(s.UnitPath(), s.Unit, 0o644) {
		if err := h.Remove(ctx, s.UnitPath()); err != nil {
			return err
		}
		if h.Live {
			if err := h.Exec(ctx, "systemctl", "daemon-reload"); err != nil {
				return err
			}
		}
	}
	if !s.enabled(h) {
		if _, err := h.Run(ctx, s.systemctl(h, "enable", s.Name)); err != nil {
			return err
		}
	}
	return nil
}

// Restart restarts the service, clearing its failure state first, always:
// a unit with Restart=on-failure whose start failed sits in "activating
// (auto-restart)", where is-failed is false, while its start-limit counter
// grows until a good binary's start is refused as "repeated too quickly".
func (s Systemd) Restart(ctx context.Context, h *Host) error {
	if !h.Live {
		return nil
	}
	if err := h.Exec(ctx, "systemctl", "reset-failed", s.Name); err != nil {
		return err
	}
	if err := h.Exec(ctx, "systemctl", "restart", s.Name); err != nil {
		return &StartError{Err: err}
	}
	return nil
}

// StartCommands are the commands a person types to clear the service's
// failure state and start it.
func (s Systemd) StartCommands() []string {
	return []string{"systemctl reset-failed " + s.Name, "systemctl start " + s.Name}
}

// StartError is a service that did not start.
type StartError struct{ Err error }

func (e *StartError) Error() string {
	return "the chatbox service did not start; `chatbox logs` shows why"
}

func (e *StartError) Unwrap() error { return e.Err }

// Active reports whether the service is running.
func (s Systemd) Active(ctx context.Context, h *Host) bool {
	return h.Live && h.Query(ctx, "systemctl", "is-active", "--quiet", s.Name)
}

// Stop stops the service; systemctl returns once it has.
func (s Systemd) Stop(ctx context.Context, h *Host) error {
	if !h.Live {
		return nil
	}
	return h.Exec(ctx, "systemctl", "stop", s.Name)
}

// Remove stops and disables the service and deletes its unit from
// /etc/systemd/system (a package's unit is the package's).
func (s Systemd) Remove(ctx context.Context, h *Host) error {
	if !h.Exists(s.UnitPath()) && !s.enabled(h) {
		return nil
	}
	if h.Live {
		if err := h.Exec(ctx, "systemctl", "disable", "--now", s.Name); err != nil {
			return err
		}
	} else if _, err := h.Run(ctx, s.systemctl(h, "disable", s.Name)); err != nil {
		return err
	}
	if err := h.Remove(ctx, s.UnitPath()); err != nil {
		return err
	}
	if h.Live {
		return h.Exec(ctx, "systemctl", "daemon-reload")
	}
	return nil
}

// LogsCommand shows the unit's journal.
func (s Systemd) LogsCommand(lines int, follow bool) []string {
	args := []string{"journalctl", "--unit", s.Name, "--no-pager", "--lines", fmt.Sprint(lines)}
	if follow {
		args = append(args, "--follow")
	}
	return args
}

// SetHostnameSystemd sets the host name through hostnamectl when systemd
// runs the host, or by writing /etc/hostname otherwise; maps the name to
// hostsAddr in /etc/hosts; and tells cloud-init, installed now or later,
// to keep the name (KeepHostnameCloudInit). cloudFamily names cloud-init's
// hosts template for this OS: "debian" or "redhat".
func SetHostnameSystemd(ctx context.Context, h *Host, name, hostsAddr, cloudFamily string) error {
	old, _ := h.ReadFile("/etc/hostname")
	if strings.TrimSpace(string(old)) != name {
		if h.Live && h.Exists("/run/systemd/system") {
			if err := h.Exec(ctx, "hostnamectl", "set-hostname", name); err != nil {
				return err
			}
		} else {
			if _, err := h.WriteFile(ctx, "/etc/hostname", []byte(name+"\n"), 0o644, ""); err != nil {
				return err
			}
			if h.Live {
				if err := h.Exec(ctx, "hostname", name); err != nil {
					return err
				}
			}
		}
	}
	if err := SetHostsName(ctx, h, hostsAddr, name); err != nil {
		return err
	}
	return KeepHostnameCloudInit(ctx, h, name, hostsAddr, cloudFamily)
}

// CloudInitHostnameConfig is the drop-in through which cloud-init keeps the
// host name chatbox set.
const CloudInitHostnameConfig = "/etc/cloud/cloud.cfg.d/99-chatbox-hostname.cfg"

// KeepHostnameCloudInit makes cloud-init keep name at every boot.
//
// The drop-in CloudInitHostnameConfig is written whether cloud-init is
// installed or not: a cloud-init installed later would otherwise set the
// name its data source gives at its first boot. It keeps the name
// (preserve_hostname) and gives it as the fqdn that cloud-init's hosts
// template puts in /etc/hosts when it manages that file
// (manage_etc_hosts: true rewrites /etc/hosts at every boot).
//
// User data outranks that drop-in, and may name an fqdn of its own; so
// when cloud-init is installed, its hosts template for cloudFamily (the
// file its own header says to edit) maps hostsAddr to name as well.
func KeepHostnameCloudInit(ctx context.Context, h *Host, name, hostsAddr, cloudFamily string) error {
	short, _, _ := strings.Cut(name, ".")
	cfg := fmt.Sprintf("# Written by chatbox when it set the host name: cloud-init keeps it at\n"+
		"# every boot, and when it manages /etc/hosts (manage_etc_hosts) maps it there.\n"+
		"preserve_hostname: true\nfqdn: %q\nhostname: %q\n", name, short)
	if _, err := h.WriteFile(ctx, CloudInitHostnameConfig, []byte(cfg), 0o644, ""); err != nil {
		return err
	}
	tmpl := "/etc/cloud/templates/hosts." + cloudFamily + ".tmpl"
	old, err := h.ReadFile(tmpl)
	if err != nil {
		return nil // no cloud-init (yet): the drop-in is enough
	}
	changed, err := h.WriteFile(ctx, tmpl, HostsWithName(old, hostsAddr, name), 0o644, "")
	if err != nil {
		return err
	}
	if changed {
		h.Note("cloud-init's hosts template %s now maps %s to %s, so /etc/hosts keeps the name when cloud-init rewrites it at boot (manage_etc_hosts)", tmpl, hostsAddr, name)
	}
	return nil
}

// SetHostsName makes /etc/hosts map addr to name and its first label, so
// that sudo and other tools resolve the host's own name.
func SetHostsName(ctx context.Context, h *Host, addr, name string) error {
	old, _ := h.ReadFile("/etc/hosts")
	if _, err := h.WriteFile(ctx, "/etc/hosts", HostsWithName(old, addr, name), 0o644, ""); err != nil {
		return err
	}
	return nil
}

// HostsWithName returns hosts-file text in which the first line for addr
// lists name (and its first label when name has dots) after any localhost
// aliases that line had; other names on that line are dropped. Without a
// line for addr one is added.
func HostsWithName(hosts []byte, addr, name string) []byte {
	names := []string{name}
	if short, _, ok := strings.Cut(name, "."); ok {
		names = append(names, short)
	}
	lines := strings.Split(strings.TrimSuffix(string(hosts), "\n"), "\n")
	if len(hosts) == 0 {
		lines = nil
	}
	done := false
	for i, line := range lines {
		f := strings.Fields(line)
		if done || len(f) == 0 || f[0] != addr {
			continue
		}
		keep := []string{addr}
		for _, n := range f[1:] {
			if strings.HasPrefix(n, "#") {
				break
			}
			if strings.HasPrefix(n, "localhost") {
				keep = append(keep, n)
			}
		}
		lines[i] = strings.Join(append(keep, names...), "\t")
		done = true
	}
	if !done {
		lines = append(lines, strings.Join(append([]string{addr}, names...), "\t"))
	}
	return []byte(strings.Join(lines, "\n") + "\n")
}

// CreateUserLinux adds a system account with its own group and no login
// shell, and the config and data directories it owns.
func CreateUserLinux(ctx context.Context, h *Host, user, nologin string, paths Paths) error {
	if !h.HasUser(user) {
		if err := h.Exec(ctx, "useradd", "--system", "--user-group", "--home-dir", paths.DataDir,
			"--no-create-home", "--shell", nologin, "--comment", "chatbox service", user); err != nil {
			return err
		}
	}
	return MakeDirs(ctx, h, user, paths)
}

// MakeDirs creates the config directory (root-owned, readable by the
// service's group) and the data directory (the service's own).
func MakeDirs(ctx context.Context, h *Host, user string, paths Paths) error {
	if !h.Exists(paths.ConfigDir) {
		if err := h.Exec(ctx, "install", "-d", "-m", "0750", "-o", "root", "-g", user, paths.ConfigDir); err != nil {
			return err
		}
	}
	if !h.Exists(paths.DataDir) {
		if err := h.Exec(ctx, "install", "-d", "-m", "0750", "-o", user, "-g", user, paths.DataDir); err != nil {
			return err
		}
	}
	return nil
}

// EnableTimer enables and starts a timer unit that a package shipped.
func EnableTimer(ctx context.Context, h *Host, name string) error {
	if h.Exists("/etc/systemd/system/timers.target.wants/" + name) {
		return nil
	}
	if h.Live {
		return h.Exec(ctx, "systemctl", "enable", "--now", name)
	}
	c := Command("systemctl", "--root="+h.Root, "enable", name)
	c.OnHost = true
	_, err := h.Run(ctx, c)
	return err
}

// WithBlock returns text with the lines between the marker lines begin and
// end (inclusive) replaced by block, or block appended when the markers
// are absent. block must start with begin and end with end and a newline.
func WithBlock(text []byte, begin, end, block string) []byte {
	s := string(text)
	if i := strings.Index(s, begin+"\n"); i >= 0 {
		if j := strings.Index(s[i:], end+"\n"); j >= 0 {
			return []byte(s[:i] + block + s[i+j+len(end)+1:])
		}
	}
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return []byte(s + block)
}

// WithoutBlock returns text without the lines between the marker lines
// begin and end (inclusive); text as it is when they are absent.
func WithoutBlock(text []byte, begin, end string) []byte {
	s := string(text)
	if i := strings.Index(s, begin+"\n"); i >= 0 {
		if j := strings.Index(s[i:], end+"\n"); j >= 0 {
			return []byte(s[:i] + s[i+j+len(end)+1:])
		}
	}
	return text
}
