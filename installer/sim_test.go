package installer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chatbox-dev/chatbox/platform"
)

// errInjected is the failure simHost makes its chosen change fail with.
var errInjected = errors.New("injected failure")

// simHost is a host in a temporary directory. It records and really
// writes files like a platform.Recorder with a Root, and gives the
// commands the installer runs the effects they have on a real host
// (useradd adds to /etc/passwd, systemctl enable makes the symlink…), so
// that checks see them on the next run.
type simHost struct {
	t      *testing.T
	root   string
	rec    *platform.Recorder
	failAt int // fail the failAt-th change (1-based); 0 never
	n      int // changes so far
	// onChange, when set, runs before each change with its number.
	onChange func(n int)

	active   bool            // the service runs
	onStart  func()          // runs when the service (re)starts
	rpm      map[string]bool // installed RPM packages
	firewall bool            // firewalld allows http and https
	// starts counts the service's starts since its failure state was last
	// cleared (systemctl reset-failed), auto-restarts included; at
	// startLimit (when not 0) systemd refuses the next start.
	starts, startLimit int
	// aptUpdate is what apt-get update prints; aptUpdateFails makes it
	// exit 100 as well, as apt does with --error-on=any.
	aptUpdate      string
	aptUpdateFails bool
	// aptUpgrade is what apt-get full-upgrade prints.
	aptUpgrade string
	// timersStayOff makes systemctl enable of a timer do nothing, as a
	// broken unit would.
	timersStayOff bool
	// fwOutput is what a command reading the firewall prints, by its
	// command line, instead of what the simulated firewall would.
	fwOutput map[string]string
	// cloudInitWait is `cloud-init status --wait`.
	cloudInitWait func(ctx context.Context) ([]byte, error)
}

func newSimHost(t *testing.T, root string, w io.Writer) *simHost {
	return &simHost{t: t, root: root, rec: &platform.Recorder{W: w, Root: root}, rpm: map[string]bool{}}
}

func (s *simHost) path(p string) string { return filepath.Join(s.root, p) }

// exists reports whether p is on the simulated host.
func (s *simHost) exists(p string) bool {
	_, err := os.Lstat(s.path(p))
	return err == nil
}

func (s *simHost) change() error {
	s.n++
	if s.onChange != nil {
		s.onChange(s.n)
	}
	if s.n == s.failAt {
		return errInjected
	}
	return nil
}

func (s *simHost) Run(ctx context.Context, c platform.Cmd) ([]byte, error) {
	if err := s.change(); err != nil {
		return nil, err
	}
	out, err := s.rec.Run(ctx, c)
	if err != nil {
		return nil, err
	}
	if c.Args[0] == "apt-get" && slices.Contains(c.Args, "update") {
		out = []byte(s.aptUpdate)
		if s.aptUpdateFails {
			return out, &platform.CmdError{Cmd: c.String(), Code: 100, Output: out}
		}
	}
	if c.Args[0] == "apt-get" && slices.Contains(c.Args, "full-upgrade") {
		out = []byte(s.aptUpgrade)
	}
	if err := s.apply(c.Args); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *simHost) WriteFile(ctx context.Context, f platform.File) error {
	if err := s.change(); err != nil {
		return err
	}
	return s.rec.WriteFile(ctx, f)
}

func (s *simHost) Remove(ctx context.Context, p string) error {
	if err := s.change(); err != nil {
		return err
	}
	return s.rec.Remove(ctx, p)
}

func (s *simHost) Query(_ context.Context, c platform.Cmd) bool {
	a := strings.Join(c.Args, " ")
	switch {
	case strings.HasPrefix(a, "systemctl") && strings.HasSuffix(a, ".timer"):
		// A timer is enabled, and active (waiting), once it is linked.
		return s.exists("/etc/systemd/system/timers.target.wants/" + c.Args[len(c.Args)-1])
	case strings.HasPrefix(a, "systemctl is-active"), strings.HasPrefix(a, "rcctl check"):
		return s.active
	case strings.HasPrefix(a, "dpkg --compare-versions"):
		// Enough of dpkg's order for the versions the fixtures hold.
		return c.Args[2] >= c.Args[4]
	case strings.HasPrefix(a, "rpm -q"):
		for _, p := range c.Args[3:] {
			if !s.rpm[p] {
				return false
			}
		}
		return true
	case strings.HasPrefix(a, "firewall-cmd --permanent --query-service"):
		return s.firewall
	case a == "firewall-cmd --state":
		return true
	}
	s.t.Errorf("simHost: unexpected query %q", a)
	return false
}

// Output answers the commands that read a firewall's state back with
// real output (and documented stand-ins) kept with the parsers, chosen by
// what the simulated firewall allows; fwOutput overrides a command.
func (s *simHost) Output(ctx context.Context, c platform.Cmd) ([]byte, error) {
	a := strings.Join(c.Args, " ")
	if a == "cloud-init status --wait" && s.cloudInitWait != nil {
		return s.cloudInitWait(ctx)
	}
	if out, ok := s.fwOutput[a]; ok {
		return []byte(out), nil
	}
	file := ""
	switch a {
	case "ufw status verbose":
		rules, _ := os.ReadFile(s.path("/etc/ufw/user.rules"))
		file = "ufw/active-closed.txt"
		if bytes.Contains(rules, []byte("--dport 80 ")) && bytes.Contains(rules, []byte("--dport 443 ")) {
			file = "ufw/active-open.txt"
		}
	case "firewall-cmd --list-all":
		file = "firewalld/fresh.txt"
		if s.firewall {
			file = "firewalld/services-added.txt"
		}
	case "pfctl -si":
		return []byte("Status: Enabled for 0 days 00:00:03           Debug: err\n"), nil
	case "pfctl -sr":
		conf, _ := os.ReadFile(s.path("/etc/pf.conf"))
		file = "pf/default.txt"
		if bytes.Contains(conf, []byte(`anchor "chatbox"`)) {
			file = "pf/with-anchor.txt"
		}
	case "pfctl -a chatbox -sr":
		file = "pf/anchor-chatbox.txt"
	default:
		s.t.Errorf("simHost: unexpected read %q", a)
		return nil, errInjected
	}
	return os.ReadFile(filepath.Join("..", "platform", "firewall", "testdata", file))
}

func (s *simHost) appendLine(p, line string) {
	old, _ := os.ReadFile(s.path(p))
	s.put(p, string(old)+line+"\n")
}

func (s *simHost) put(p, data string) {
	if err := os.MkdirAll(filepath.Dir(s.path(p)), 0o755); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(s.path(p), []byte(data), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

func (s *simHost) dropLines(p, prefix string) {
	old, _ := os.ReadFile(s.path(p))
	var keep []string
	for _, l := range strings.SplitAfter(string(old), "\n") {
		if !strings.HasPrefix(l, prefix) {
			keep = append(keep, l)
		}
	}
	s.put(p, strings.Join(keep, ""))
}

func (s *simHost) link(p string) {
	if err := os.MkdirAll(filepath.Dir(s.path(p)), 0o755); err != nil {
		s.t.Fatal(err)
	}
	_ = os.Symlink("/lib/systemd/system/"+filepath.Base(p), s.path(p))
}

func (s *simHost) started() {
	s.active = true
	if s.onStart != nil {
		s.onStart()
	}
}

// state is the host's state outside its files.
func (s *simHost) state() string {
	var pkgs []string
	for p := range s.rpm {
		pkgs = append(pkgs, p)
	}
	slices.Sort(pkgs)
	return fmt.Sprintf("active=%v rpm=%v firewall=%v\n", s.active, pkgs, s.firewall)
}

// errStartLimit is systemd refusing a start once the unit's start limit
// is hit.
var errStartLimit = errors.New("job for chatbox.service failed: start request repeated too quickly")

// autoRestart is systemd restarting a service that exited with an error
// (Restart=on-failure): the unit stays "activating (auto-restart)", not
// failed, and its start counter grows.
func (s *simHost) autoRestart() { s.starts++ }

// apply gives a command its effect on the host's files.
func (s *simHost) apply(args []string) error {
	last := args[len(args)-1]
	has := func(x string) bool { return slices.Contains(args, x) }
	switch args[0] {
	case "apt-get":
		if has("install") {
			for _, p := range args[slices.Index(args, "--no-install-recommends")+1:] {
				s.appendLine("/var/lib/dpkg/status", "Package: "+p+"\nStatus: install ok installed\n")
			}
		}
	case "dnf", "yum":
		if has("install") {
			for _, p := range args[3:] {
				s.rpm[p] = true
			}
		}
	case "useradd":
		s.appendLine("/etc/passwd", last+":x:999:999::/var/lib/chatbox:/usr/sbin/nologin")
		s.appendLine("/etc/group", last+":x:999:")
	case "userdel":
		s.dropLines("/etc/passwd", last+":")
		s.dropLines("/etc/group", last+":")
	case "install":
		if err := os.MkdirAll(s.path(last), 0o750); err != nil {
			s.t.Fatal(err)
		}
	case "systemctl":
		unit := last
		wants := "/etc/systemd/system/multi-user.target.wants/" + unit
		if strings.HasSuffix(unit, ".timer") {
			wants = "/etc/systemd/system/timers.target.wants/" + unit
		}
		switch {
		case strings.HasSuffix(unit, ".timer") && has("enable"):
			if !s.timersStayOff {
				s.link(wants)
			}
		case strings.HasSuffix(unit, ".timer") && has("disable"):
			os.Remove(s.path(wants))
		case strings.HasSuffix(unit, ".timer"):
			// restarting a timer changes no file
		case has("enable"):
			s.link(wants)
		case has("disable"):
			os.Remove(s.path(wants))
			s.active = false
		case has("reset-failed"):
			s.starts = 0
		case has("restart"):
			if s.startLimit > 0 && s.starts >= s.startLimit {
				return errStartLimit
			}
			s.starts++
			s.started()
		}
	case "hostnamectl":
		s.put("/etc/hostname", last+"\n")
	case "ufw":
		port, _, _ := strings.Cut(last, "/")
		s.appendLine("/etc/ufw/user.rules", "-A ufw-user-input -p tcp --dport "+port+" -j ACCEPT")
	case "firewall-cmd":
		if has("--permanent") {
			s.firewall = true
		}
	case "rcctl":
		switch args[1] {
		case "enable":
			s.appendLine("/etc/rc.conf.local", "pkg_scripts=chatbox")
		case "disable":
			s.dropLines("/etc/rc.conf.local", "pkg_scripts=")
		case "restart":
			s.started()
		case "stop":
			s.active = false
		}
	}
	return nil
}

// fakeProbe is a machine where everything preflight wants is fine.
type fakeProbe struct {
	notRoot  bool
	portUsed map[string]bool
	dns      map[string][]string
	addrs    []string
	health   func() error
	asked    int // health checks made
	// issuer is who issued the certificate the box serves; "" answers
	// that nothing serves one.
	issuer string
	// underCloudInit: install was started by cloud-init.
	underCloudInit bool
	// public is what the room's public https:// URL answers.
	public error
}

func (p *fakeProbe) CertIssuer(context.Context, string, string) (string, error) {
	if p.issuer == "" {
		return "", errors.New("connection refused")
	}
	return p.issuer, nil
}
func (p *fakeProbe) UnderCloudInit() bool             { return p.underCloudInit }
func (p *fakeProbe) IsRoot() bool                     { return !p.notRoot }
func (p *fakeProbe) FreeBytes(string) (uint64, error) { return 10 << 30, nil }
func (p *fakeProbe) PortInUse(port string) bool       { return p.portUsed[port] }
func (p *fakeProbe) LocalAddrs() []string             { return p.addrs }
func (p *fakeProbe) LookupHost(_ context.Context, name string) ([]string, error) {
	if a, ok := p.dns[name]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("lookup %s: no such host", name)
}
func (p *fakeProbe) Healthy(_ context.Context, url string) error {
	if strings.HasPrefix(url, "https://") {
		return p.public
	}
	p.asked++
	if p.health != nil {
		return p.health()
	}
	return nil
}

// fixture fills root with what a fresh host of osID has that the plans
// look at (FreshHost): the golden plans and `install --os ID --dry-run`
// plan from the same host.
func fixture(t *testing.T, root, osID string) {
	t.Helper()
	if err := FreshHost(root, osID); err != nil {
		t.Fatal(err)
	}
}

// snapshot describes every file under root: path, type, mode and content.
func snapshot(t *testing.T, root string) string {
	t.Helper()
	var b bytes.Buffer
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if strings.Contains(d.Name(), ".tmp-") {
			t.Errorf("a temporary file was left behind: %s", rel)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			fmt.Fprintf(&b, "%s -> %s\n", rel, target)
		case d.IsDir():
			fmt.Fprintf(&b, "%s/\n", rel)
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "%s %04o %x\n", rel, fi.Mode().Perm(), sha256.Sum256(data))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// testBinary writes a stand-in for the chatbox binary and returns its path.
func testBinary(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "chatbox")
	if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// newSim returns an installer for osID on a fresh simulated host.
func newSim(t *testing.T, osID string, out io.Writer) (*Installer, *simHost, *fakeProbe) {
	t.Helper()
	root := t.TempDir()
	fixture(t, root, osID)
	p, err := Detect(context.Background(), root, osID)
	if err != nil {
		t.Fatal(err)
	}
	sim := newSimHost(t, root, out)
	probe := &fakeProbe{addrs: []string{"127.0.0.1", "203.0.113.7"}, dns: map[string][]string{"chat.example.com": {"203.0.113.7"}}}
	in := &Installer{
		Platform: p,
		Host:     &platform.Host{Root: root, Live: true, Runner: sim},
		Out:      out,
		Probe:    probe,
	}
	return in, sim, probe
}
