// Package platform describes the hosts chatbox installs itself on: which
// operating system a host runs (Detect), what a backend for it can do (the
// Platform interface), and the one way every change reaches the host (the
// Runner). Backends live in the linux, centos and openbsd subpackages.
package platform

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/chatbox-dev/chatbox/platform/firewall"
)

// Paths are where chatbox keeps its files on a host.
type Paths struct {
	Binary      string // the installed binary, e.g. /usr/local/bin/chatbox
	ConfigDir   string // e.g. /etc/chatbox
	Config      string // e.g. /etc/chatbox/config.toml
	DataDir     string // e.g. /var/lib/chatbox
	ServiceFile string // the systemd unit or rc.d script
}

// PrevBinary is where the binary before the current one is kept.
func (p Paths) PrevBinary() string { return p.Binary + ".prev" }

// Listen are the addresses the service listens on, for the config file.
type Listen struct {
	HTTP  string
	HTTPS string
}

// Platform is what the installer needs from one operating system. Every
// method that changes the host checks first and changes nothing when the
// host is already as asked, so each is safe to run again; all changes go
// through the Host's Runner.
type Platform interface {
	// ID is the os-release ID this platform was made for (debian, rocky…).
	ID() string
	// Name is the operating system as a person calls it, e.g. "Debian 12".
	Name() string
	// Paths are where chatbox's files go.
	Paths() Paths
	// User is the service account the room runs as.
	User() string
	// Listen are the addresses the service should listen on.
	Listen() Listen

	// RepairPackages finishes a package manager run that was interrupted.
	RepairPackages(ctx context.Context, h *Host) error
	// InstallPackages installs what chatbox needs from the OS.
	InstallPackages(ctx context.Context, h *Host) error
	// CreateUser adds the service account and its directories.
	CreateUser(ctx context.Context, h *Host) error
	// RemoveUser deletes the service account.
	RemoveUser(ctx context.Context, h *Host) error
	// FixLabels restores security labels (SELinux) on files just moved
	// into place; a no-op where there are none.
	FixLabels(ctx context.Context, h *Host, paths ...string) error
	// SetHostname sets the host name, keeping /etc/hosts consistent.
	SetHostname(ctx context.Context, h *Host, name string) error
	// EnableAutoUpdates turns on automatic security updates.
	EnableAutoUpdates(ctx context.Context, h *Host) error
	// PackageUpdates reports whether chatbox itself is installed from the
	// OS's package manager (a deb or rpm), so the OS's automatic updates
	// update it, not a chatbox-update timer. When it is, on says whether
	// they should: the backend then makes sure chatbox's package origin
	// is among what they apply, or takes it out.
	PackageUpdates(ctx context.Context, h *Host, on bool) (bool, error)
	// InstallJob schedules j: a systemd timer, or a block in OpenBSD's
	// /etc/daily.local. It changes nothing when j is scheduled as asked.
	InstallJob(ctx context.Context, h *Host, j Job) error
	// RemoveJob takes j off the schedule; a no-op when it is not on it.
	RemoveJob(ctx context.Context, h *Host, j Job) error
	// JobState reads back from the host that j is scheduled: nil, or an
	// error saying what the host reports instead. It changes nothing.
	JobState(ctx context.Context, h *Host, j Job) error
	// OpenFirewall lets TCP 80 and 443 in, permanently, never closing SSH.
	// Where it cannot do so safely (another program's rules, such as an
	// nftables drop policy) it leaves the firewall alone, and
	// FirewallState tells.
	OpenFirewall(ctx context.Context, h *Host) error
	// FirewallState reads back, from the firewall's own view of itself,
	// what it does with new TCP connections to ports. It changes nothing.
	FirewallState(ctx context.Context, h *Host, ports ...int) (firewall.State, error)
	// InstallService writes the service definition and enables it.
	InstallService(ctx context.Context, h *Host) error
	// RestartService (re)starts the service.
	RestartService(ctx context.Context, h *Host) error
	// StartCommands are the shell commands a person types to start the
	// service by hand after clearing any failure state.
	StartCommands() []string
	// StopService stops the service (it stays enabled) and returns once
	// it has stopped.
	StopService(ctx context.Context, h *Host) error
	// ServiceActive reports whether the service is running.
	ServiceActive(ctx context.Context, h *Host) bool
	// Listeners names the programs listening on the host's TCP ports, and
	// their packages where the platform can tell; ErrCannotTell when it
	// cannot read its socket table. It changes nothing.
	Listeners(ctx context.Context, h *Host, ports ...int) ([]Listener, error)
	// Packaged says whether chatbox's own deb or rpm package is installed,
	// and then how its package manager updates and removes it: the package
	// owns the binary and the unit, and install, update --self and
	// uninstall leave them to it.
	Packaged(ctx context.Context, h *Host) (Package, bool)
	// RemoveService stops, disables and deletes the service definition.
	RemoveService(ctx context.Context, h *Host) error
	// UpdateSystem applies OS updates now. It returns sentences a person
	// should read, such as "reboot to load the new kernel".
	UpdateSystem(ctx context.Context, h *Host) ([]string, error)
	// LogsCommand is the command that shows the service's log, or nil when
	// the log is a file (see LogFile).
	LogsCommand(lines int, follow bool) []string
	// LogFile is the file the service logs to when LogsCommand is nil.
	LogFile() string
}

// Package is chatbox installed from its deb or rpm package.
type Package struct {
	// Binary and Unit are the package's files.
	Binary, Unit string
	// Upgrade and Remove are the package manager's commands that update
	// and remove the package.
	Upgrade, Remove string
}

// Packaged binary and unit: where the deb and rpm packages put them.
const (
	PackagedBinary = "/usr/bin/chatbox"
	PackagedUnit   = "/usr/lib/systemd/system/chatbox.service"
)

// Host is one machine (or a tree under Root) that is being changed.
type Host struct {
	// Root is "/" for the machine itself or a directory to treat as "/".
	Root string
	// Live is true when the host is running (services can be started and
	// queried); false for a tree under Root, where services are only enabled.
	Live bool
	// Runner makes every change.
	Runner Runner
	// Notef tells the person something while a step runs, such as that it
	// waits for another package manager. May be nil.
	Notef func(format string, args ...any)
}

// Path returns p (absolute, as on the host) under the Host's Root.
func (h *Host) Path(p string) string {
	if h.Root == "" || h.Root == "/" {
		return p
	}
	return filepath.Join(h.Root, filepath.FromSlash(path.Clean("/"+p)))
}

// ReadFile reads p from the host.
func (h *Host) ReadFile(p string) ([]byte, error) { return os.ReadFile(h.Path(p)) }

// Exists reports whether p exists on the host.
func (h *Host) Exists(p string) bool {
	_, err := os.Lstat(h.Path(p))
	return err == nil
}

// HasCommand reports whether one of the usual bin directories on the host
// holds an executable called name.
func (h *Host) HasCommand(name string) bool {
	for _, dir := range []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"} {
		fi, err := os.Stat(h.Path(dir + "/" + name))
		if err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return true
		}
	}
	return false
}

// Note passes a sentence to Notef when there is one.
func (h *Host) Note(format string, args ...any) {
	if h.Notef != nil {
		h.Notef(format, args...)
	}
}

// Run runs c through the Runner.
func (h *Host) Run(ctx context.Context, c Cmd) ([]byte, error) { return h.Runner.Run(ctx, c) }

// Exec runs the command args through the Runner.
func (h *Host) Exec(ctx context.Context, args ...string) error {
	_, err := h.Runner.Run(ctx, Command(args...))
	return err
}

// Query reports whether a read-only command succeeds on the host. A
// recording Runner answers false, so plans show every change.
func (h *Host) Query(ctx context.Context, args ...string) bool {
	return h.Runner.Query(ctx, Command(args...))
}

// Output runs the read-only command args and returns its standard output.
func (h *Host) Output(ctx context.Context, args ...string) ([]byte, error) {
	return h.Runner.Output(ctx, Command(args...))
}

// WriteFile writes data to p unless p already holds exactly data with the
// given mode; it reports whether it wrote.
func (h *Host) WriteFile(ctx context.Context, p string, data []byte, mode fs.FileMode, owner string) (bool, error) {
	if h.SameFile(p, data, mode) {
		return false, nil
	}
	return true, h.Runner.WriteFile(ctx, File{Path: p, Data: data, Mode: mode, Owner: owner})
}

// SameFile reports whether p holds exactly data with permission bits mode.
func (h *Host) SameFile(p string, data []byte, mode fs.FileMode) bool {
	fi, err := os.Stat(h.Path(p))
	if err != nil || fi.Mode().Perm() != mode.Perm() {
		return false
	}
	old, err := os.ReadFile(h.Path(p))
	return err == nil && string(old) == string(data)
}

// Remove deletes p (a file or a whole directory) when it exists.
func (h *Host) Remove(ctx context.Context, p string) error {
	if !h.Exists(p) {
		return nil
	}
	return h.Runner.Remove(ctx, p)
}

// HasUser reports whether the host's /etc/passwd has an account name.
func (h *Host) HasUser(name string) bool {
	data, err := h.ReadFile("/etc/passwd")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, name+":") {
			return true
		}
	}
	return false
}

// ErrUnsupported is wrapped by errors about an operating system that
// chatbox does not support.
var ErrUnsupported = errors.New("unsupported operating system")

// UnsupportedError says which OS was found and which are supported.
type UnsupportedError struct {
	Found string
	// Supported names the supported systems (Backends.Supported); Detect
	// fills it in.
	Supported string
}

func (e *UnsupportedError) Error() string {
	if e.Supported == "" {
		return fmt.Sprintf("%s is not supported", e.Found)
	}
	return fmt.Sprintf("%s is not supported; chatbox installs on %s", e.Found, e.Supported)
}

func (e *UnsupportedError) Unwrap() error { return ErrUnsupported }
