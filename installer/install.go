package installer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/chatbox-dev/chatbox/chat/admin"
	"github.com/chatbox-dev/chatbox/chat/datadir"
	"github.com/chatbox-dev/chatbox/config"
	"github.com/chatbox-dev/chatbox/installer/proxyconf"
	"github.com/chatbox-dev/chatbox/internal/roomurl"
	"github.com/chatbox-dev/chatbox/platform"
	"github.com/chatbox-dev/chatbox/platform/firewall"
)

// minFree is the disk space install wants: the binary, its previous copy
// and room to start a message store.
const minFree = 200 << 20

// InstallOptions are the choices of `chatbox install`.
type InstallOptions struct {
	Domain   string // the box's DNS name
	IP       string // the box's public address when it has no name
	Email    string // ACME contact
	Hostname string // host name to set; defaults to Domain
	Private  bool   // a password-protected room
	// Encrypted makes the room an encrypted one (docs/ENCRYPTION.md).
	Encrypted bool
	DNS       string // "" or "cloudflare": DNS provider for DNS-01 and dynamic DNS
	DNSToken  string // the provider's API token
	// SkipFirewall leaves the firewall alone: the owner opens TCP 80 and
	// 443 another way (a cloud provider's firewall, rules of their own).
	SkipFirewall bool
	// BehindProxy installs in proxy mode: another web server keeps ports
	// 80 and 443 and passes the room's requests to chatbox on loopback.
	BehindProxy bool
	// Binary is the chatbox binary to install, normally this very one.
	Binary string
	// Retry is the command line that repeats this install.
	Retry string
}

// hostname is the host name install sets, or "" for none.
func (o InstallOptions) hostname() string {
	if o.Hostname != "" {
		return o.Hostname
	}
	return o.Domain
}

// NewConfig returns the configuration a fresh install writes for p.
func NewConfig(p platform.Platform, o InstallOptions) (config.Config, error) {
	cfg := config.Default()
	cfg.Server.Domain = o.Domain
	cfg.Server.IP = o.IP
	cfg.Server.DataDir = p.Paths().DataDir
	cfg.Server.HTTPListen = p.Listen().HTTP
	cfg.Server.HTTPSListen = p.Listen().HTTPS
	cfg.TLS.Email = o.Email
	cfg.Room.Private = o.Private
	cfg.Room.Encrypted = o.Encrypted
	if o.BehindProxy {
		cfg.Server.Mode = config.ModeProxy
		cfg.Server.PublicURL = roomurl.Room(o.Domain)
	}
	if o.DNS != "" {
		cfg.DNS.Provider = o.DNS
		cfg.DNS.APIToken = o.DNSToken
		cfg.TLS.Challenge = "dns-01"
		cfg.DynDNS.Enabled = true
	}
	if err := cfg.Validate(); err != nil {
		return config.Config{}, fmt.Errorf("the install options make no valid config: %w", err)
	}
	return cfg, nil
}

// installState is what the install steps learn from one another.
type installState struct {
	cfg           config.Config
	configWritten bool
	restart       bool // the binary, config or unit changed
	password      string
	started       bool
	warning       string // what works but not as it should, read from the running box
}

// ErrNoAddress is returned by Install for a first install (no config on
// the host yet) given neither a domain nor an IP address.
var ErrNoAddress = errors.New("a first install needs the room's domain or IP address")

// Install provisions the host: the steps of `chatbox install`, then the
// room's URL (and a private room's password) in a box. The options are
// trusted to be well formed (the command checks them); what would make an
// invalid config is refused before anything changes.
func (in *Installer) Install(ctx context.Context, o InstallOptions) error {
	cfg, err := NewConfig(in.Platform, o)
	if err != nil {
		return err
	}
	st := &installState{cfg: cfg}
	p := in.Platform
	paths := p.Paths()
	if o.Domain == "" && o.IP == "" && !in.Host.Exists(paths.Config) {
		return ErrNoAddress
	}
	if err := in.checkConfigAgrees(o); err != nil {
		return err
	}
	if !in.DryRun {
		fmt.Fprintf(in.Out, "Installing chatbox on %s\n", p.Name())
	}
	hostTitle := "Setting the host name"
	if name := o.hostname(); name != "" {
		hostTitle += " to " + name
	}
	// A deb or rpm of chatbox owns the binary and the unit; install uses
	// them as they are.
	pkg, packaged := p.Packaged(ctx, in.Host)
	binTitle := "Installing the binary as " + paths.Binary
	if packaged {
		binTitle = "Using the chatbox package's binary, " + pkg.Binary
	}
	firewall := step{"Opening ports 80 and 443 in the firewall", func(ctx context.Context, r *run) (string, error) {
		return in.openFirewall(ctx, r, o)
	}, ""}
	if o.BehindProxy {
		firewall = step{"Writing the reverse proxy's configuration", func(ctx context.Context, r *run) (string, error) {
			return in.writeProxyConfigs(ctx, r.host, st.cfg)
		}, ""}
	}
	steps := []step{
		{"Checking this host", func(ctx context.Context, r *run) (string, error) { return in.preflight(ctx, r.host, o, st.cfg) }, ""},
		{"Installing packages", func(ctx context.Context, r *run) (string, error) {
			if err := p.RepairPackages(ctx, r.host); err != nil {
				return "", err
			}
			return "", p.InstallPackages(ctx, r.host)
		}, "nothing to install"},
		{"Creating the " + p.User() + " user and directories", func(ctx context.Context, r *run) (string, error) {
			return "", p.CreateUser(ctx, r.host)
		}, ""},
		{binTitle, func(ctx context.Context, r *run) (string, error) {
			if packaged {
				return "left to the package (" + pkg.Upgrade + " updates it)", nil
			}
			changed, err := in.installBinary(ctx, r.host, o.Binary)
			st.restart = st.restart || changed
			return "", err
		}, ""},
		{"Writing " + paths.Config, func(ctx context.Context, r *run) (string, error) { return in.writeConfig(ctx, r.host, o, st) }, ""},
		{hostTitle, func(ctx context.Context, r *run) (string, error) {
			name := o.hostname()
			if name == "" {
				return "skipped (no host name or domain given)", nil
			}
			return "", p.SetHostname(ctx, r.host, name)
		}, ""},
		firewall,
		{"Turning on automatic security updates", func(ctx context.Context, r *run) (string, error) {
			return "", p.EnableAutoUpdates(ctx, r.host)
		}, ""},
		{"Scheduling automatic chatbox updates", func(ctx context.Context, r *run) (string, error) {
			return in.scheduleUpdates(ctx, r.host, st.cfg)
		}, ""},
		{"Scheduling daily backups", func(ctx context.Context, r *run) (string, error) {
			return in.scheduleBackups(ctx, r.host, st.cfg)
		}, ""},
		{"Installing the chatbox service", func(ctx context.Context, r *run) (string, error) {
			changed, err := r.changes(func() error { return p.InstallService(ctx, r.host) })
			st.restart = st.restart || changed
			return "", err
		}, ""},
		{"Starting chatbox", func(ctx context.Context, r *run) (string, error) { return in.start(ctx, r.host, st) }, ""},
	}
	res, err := in.plan(ctx, "install", steps, o.Retry)
	if err != nil || in.DryRun {
		return err
	}
	if res.changes == 0 {
		fmt.Fprintln(in.Out, "Nothing to do: chatbox is installed and running as asked; nothing was changed.")
	}
	if st.started {
		_, st.warning = in.localCA(ctx, st.cfg)
	}
	in.summary(st, o)
	return nil
}

// preflight refuses a host install cannot work on before changing it, and
// warns about what would keep the room from being reached.
func (in *Installer) preflight(ctx context.Context, h *platform.Host, o InstallOptions, cfg config.Config) (string, error) {
	named, err := in.checkListeners(ctx, h, cfg)
	if err != nil {
		return "", err
	}
	if in.DryRun {
		return "skipped in a dry run", nil
	}
	pr := in.probe()
	if !pr.IsRoot() {
		return "", fmt.Errorf("install changes the system and must run as root; try sudo %s", o.Retry)
	}
	free, err := pr.FreeBytes(h.Path("/"))
	if err != nil {
		return "", err
	}
	if free < minFree {
		return "", fmt.Errorf("only %d MiB are free on the disk and chatbox needs %d MiB", free>>20, minFree>>20)
	}
	if !h.Live {
		return "ok", nil
	}
	if err := in.waitCloudInit(ctx, h); err != nil {
		return "", err
	}
	ours := in.Platform.ServiceActive(ctx, h)
	for _, port := range in.ports(cfg) {
		p := strconv.Itoa(port)
		if !ours && !named[port] && pr.PortInUse(p) {
			return "", fmt.Errorf("port %s is in use by another program (a web server such as nginx or apache2?); stop it and run install again", p)
		}
	}
	if o.Domain != "" {
		in.checkDNS(ctx, h, o)
	}
	return "ok", nil
}

// ports are the TCP ports the service listens on: 80 and 443, or its
// loopback port behind a proxy.
func (in *Installer) ports(cfg config.Config) []int {
	var ports []int
	listen := in.Platform.Listen()
	addrs := []string{listen.HTTP, listen.HTTPS}
	if cfg.Server.Mode == config.ModeProxy {
		addrs = []string{cfg.Server.Listen}
	}
	for _, addr := range addrs {
		_, p, _ := net.SplitHostPort(addr)
		if n, err := strconv.Atoi(p); err == nil {
			ports = append(ports, n)
		}
	}
	return ports
}

// ListenerError is a port install needs that another program holds.
type ListenerError struct {
	Found platform.Listener
}

func (e *ListenerError) Error() string {
	return fmt.Sprintf("%s is listening on port %d, and chatbox will not take over another web server. "+
		"Either run install again with --behind-proxy to serve the room through that server, "+
		"or stop and disable it first and run install again", e.Found, e.Found.Port)
}

// checkListeners reads the running host's socket table, in a dry run as
// well, and refuses a port held by a program other than chatbox, naming
// it. It reports the ports whose listener it could name; where the
// platform cannot tell, preflight tries the ports instead.
func (in *Installer) checkListeners(ctx context.Context, h *platform.Host, cfg config.Config) (map[int]bool, error) {
	named := map[int]bool{}
	if !h.Live {
		return named, nil
	}
	found, err := in.Platform.Listeners(ctx, h, in.ports(cfg)...)
	if errors.Is(err, platform.ErrCannotTell) {
		return named, nil
	}
	if err != nil {
		return nil, err
	}
	for _, l := range found {
		named[l.Port] = true
		if !l.IsChatbox() {
			if cfg.Server.Mode == config.ModeProxy {
				return nil, fmt.Errorf("%s is listening on port %d, which chatbox is to listen on behind the proxy; set server.listen in %s to a free loopback port, or stop that program", l, l.Port, in.Platform.Paths().Config)
			}
			return nil, &ListenerError{Found: l}
		}
	}
	return named, nil
}

// checkDNS warns when the domain does not point at this host.
func (in *Installer) checkDNS(ctx context.Context, h *platform.Host, o InstallOptions) {
	pr := in.probe()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	addrs, err := pr.LookupHost(ctx, o.Domain)
	if err != nil || len(addrs) == 0 {
		h.Note("warning: %s does not resolve yet; point its DNS record at this host. The certificate is issued once it does.", o.Domain)
		return
	}
	mine := pr.LocalAddrs()
	if o.IP != "" {
		mine = append(mine, o.IP)
	}
	for _, a := range addrs {
		for _, m := range mine {
			if net.ParseIP(a).Equal(net.ParseIP(m)) {
				return
			}
		}
	}
	h.Note("warning: %s points at %s, which is not an address of this host; that is fine behind NAT or a port forward, otherwise fix the DNS record.", o.Domain, strings.Join(addrs, ", "))
}

// installBinary copies the binary into place, keeping the one it replaces
// as PrevBinary.
func (in *Installer) installBinary(ctx context.Context, h *platform.Host, src string) (bool, error) {
	paths := in.Platform.Paths()
	self, err := os.ReadFile(src)
	if err != nil {
		return false, fmt.Errorf("read the chatbox binary: %w", err)
	}
	cur, err := h.ReadFile(paths.Binary)
	if err == nil && bytes.Equal(cur, self) {
		return false, nil
	}
	placed := []string{paths.Binary}
	if err == nil {
		if _, err := h.WriteFile(ctx, paths.PrevBinary(), cur, 0o755, ""); err != nil {
			return true, err
		}
		placed = append(placed, paths.PrevBinary())
	}
	if _, err := h.WriteFile(ctx, paths.Binary, self, 0o755, ""); err != nil {
		return true, err
	}
	return true, in.Platform.FixLabels(ctx, h, placed...)
}

// checkConfigAgrees refuses, before anything changes, options that an
// existing config contradicts: install never overwrites the config, so
// going on would end "as asked" when it was not. The error names the key
// in the way.
func (in *Installer) checkConfigAgrees(o InstallOptions) error {
	file := in.Platform.Paths().Config
	data, err := in.Host.ReadFile(file)
	if err != nil {
		return nil
	}
	cfg, err := config.Parse(data)
	if err != nil {
		return nil // the config step reports the mistake
	}
	var clashes []string
	clash := func(key, have, asked string) {
		clashes = append(clashes, fmt.Sprintf("%s = %q (asked: %s)", key, have, asked))
	}
	if o.Domain != "" && cfg.Server.Domain != o.Domain {
		if cfg.Server.Domain == "" && cfg.Server.IP != "" {
			clash("server.ip", cfg.Server.IP, "the domain "+o.Domain)
		} else {
			clash("server.domain", cfg.Server.Domain, "the domain "+o.Domain)
		}
	}
	if o.IP != "" && cfg.Server.IP != o.IP {
		if cfg.Server.Domain != "" {
			clash("server.domain", cfg.Server.Domain, "the IP address "+o.IP)
		} else {
			clash("server.ip", cfg.Server.IP, "the IP address "+o.IP)
		}
	}
	if o.Email != "" && cfg.TLS.Email != o.Email {
		clash("tls.email", cfg.TLS.Email, "the email "+o.Email)
	}
	if o.DNS != "" && cfg.DNS.Provider != o.DNS {
		clash("dns.provider", cfg.DNS.Provider, "the DNS provider "+o.DNS)
	}
	if o.Private && !cfg.Room.Private {
		clash("room.private", "false", "a private room")
	}
	if o.Encrypted && !cfg.Room.Encrypted {
		clash("room.encrypted", "false", "an encrypted room")
	}
	if len(clashes) == 0 {
		return nil
	}
	return fmt.Errorf("nothing was changed: %s sets %s, and install never overwrites that file; edit it there and restart the chatbox service",
		file, strings.Join(clashes, " and "))
}

// writeConfig writes a fresh config; an existing one is kept exactly as it
// is (checkConfigAgrees has refused options it contradicts).
func (in *Installer) writeConfig(ctx context.Context, h *platform.Host, o InstallOptions, st *installState) (string, error) {
	p := in.Platform
	paths := p.Paths()
	old, err := h.ReadFile(paths.Config)
	if err == nil {
		cfg, err := config.Parse(old)
		if err != nil {
			return "", fmt.Errorf("%s has a mistake (%v); fix it and run install again", paths.Config, err)
		}
		st.cfg = cfg
		return "", nil
	}
	data, err := st.cfg.Encode()
	if err != nil {
		return "", err
	}
	head := "# chatbox configuration, written by chatbox install. Edit freely:\n# install and update never overwrite this file. See `chatbox serve --help`.\n\n"
	if _, err := h.WriteFile(ctx, paths.Config, append([]byte(head), data...), 0o640, "root:"+p.User()); err != nil {
		return "", err
	}
	st.configWritten = true
	st.restart = true
	return "", p.FixLabels(ctx, h, paths.ConfigDir)
}

// webPorts are the ports the room is reached on from the Internet.
var webPorts = []int{80, 443}

// FirewallError is a firewall that still keeps the room's ports closed
// after the firewall step: someone else's rules, which chatbox does not
// change.
type FirewallError struct {
	State firewall.State
}

func (e *FirewallError) Error() string {
	return fmt.Sprintf("%s, so the room cannot be reached from the Internet; to open them: %s (or, if another firewall in front of this host opens them, run install again with --skip-firewall)",
		e.State, e.State.Fix)
}

// openFirewall opens the room's ports, then reads the firewall's own view
// back and reports done only when it lets them in. A dry run or a tree
// under --root reads nothing back.
func (in *Installer) openFirewall(ctx context.Context, r *run, o InstallOptions) (string, error) {
	p := in.Platform
	if o.SkipFirewall {
		return "skipped (--skip-firewall: TCP 80 and 443 are yours to open)", nil
	}
	changed, err := r.changes(func() error { return p.OpenFirewall(ctx, r.host) })
	if err != nil {
		return "", err
	}
	if in.DryRun || !r.host.Live {
		return "", nil
	}
	st, err := p.FirewallState(ctx, r.host, webPorts...)
	if err != nil {
		return "", fmt.Errorf("%w; check that TCP 80 and 443 are open to the Internet, then run install again with --skip-firewall", err)
	}
	if !st.Open() {
		return "", &FirewallError{State: st}
	}
	status := "already done"
	if changed {
		status = "done"
	}
	return status + " (" + st.String() + ")", nil
}

// healthURL is where the service answers /healthz over plain HTTP.
func healthURL(cfg config.Config) string {
	if cfg.Server.Mode == config.ModeProxy {
		return roomurl.Health(cfg.Server.Listen)
	}
	return roomurl.Health(cfg.Server.HTTPListen)
}

// ProxyDocDir is where install --behind-proxy leaves the reverse proxy
// configurations.
const ProxyDocDir = "/usr/share/doc/chatbox"

// writeProxyConfigs writes a configuration for each reverse proxy chatbox
// knows under ProxyDocDir and prints them, with where each goes.
func (in *Installer) writeProxyConfigs(ctx context.Context, h *platform.Host, cfg config.Config) (string, error) {
	domain := cfg.Server.Domain
	if u, err := url.Parse(cfg.Server.PublicURL); err == nil && u.Hostname() != "" {
		domain = u.Hostname()
	}
	params := proxyconf.Params{Domain: domain, Upstream: cfg.Server.Listen, MaxFileSize: int64(cfg.Room.MaxFileSize)}
	for _, s := range proxyconf.ServersFor(in.Platform.ID()) {
		conf, err := s.Render(params)
		if err != nil {
			return "", err
		}
		path := ProxyDocDir + "/" + s.File
		if _, err := h.WriteFile(ctx, path, conf, 0o644, ""); err != nil {
			return "", err
		}
		h.Note("for %s: %s (put it in %s)", s.Name, path, s.Hint)
	}
	return "", nil
}

// start (re)starts the service when something changed or it is not
// running, waits until it answers, and picks up a new room's password.
func (in *Installer) start(ctx context.Context, h *platform.Host, st *installState) (string, error) {
	p, pr := in.Platform, in.probe()
	if !h.Live {
		return "skipped (not a running system: the service starts at boot)", nil
	}
	url := healthURL(st.cfg)
	if !in.DryRun && !st.restart && p.ServiceActive(ctx, h) && pr.Healthy(ctx, url) == nil {
		st.started = true
		return "", in.takePassword(ctx, h, st)
	}
	if err := p.RestartService(ctx, h); err != nil {
		return "", err
	}
	if in.DryRun {
		return "", nil
	}
	if err := waitHealthy(ctx, pr, url, in.healthTimeout(), in.healthPoll(), h.Note); err != nil {
		return "", err
	}
	st.started = true
	return "", in.takePassword(ctx, h, st)
}

// takePassword asks the running service for the password of the private
// room it created at start, which it hands over once. When a fresh install
// gets none (it was taken already, or the service restarted since), it
// sets a new one: nobody knows the old one, and a fresh install has no
// sessions to lose. A room installed before keeps its password.
func (in *Installer) takePassword(ctx context.Context, h *platform.Host, st *installState) error {
	if !st.cfg.Room.Private {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c := admin.New(h.Path(datadir.Layout{Dir: st.cfg.Server.DataDir}.AdminSocket()))
	password, ok, err := c.InitialPassword(ctx)
	if err != nil {
		return fmt.Errorf("get the room's password: %w", err)
	}
	if !ok {
		// The config says private, but the running room may predate that
		// (the config was edited and the service not restarted).
		info, err := c.Info(ctx)
		if err != nil {
			return fmt.Errorf("ask the room whether it is private: %w", err)
		}
		if info.Exists && !info.Private && info.Encrypted {
			// Its key may be derived from its first password: it stays
			// as it was made.
			h.Note("%s says room.private = true, but the room is public and encrypted, and an encrypted room's privacy cannot change; `chatbox room reset --private --encrypted` makes a private one", in.Platform.Paths().Config)
			return nil
		}
		if info.Exists && !info.Private {
			if password, err = c.SetPassword(ctx); err != nil {
				return fmt.Errorf("make the public room private: %w", err)
			}
			h.Note("the room was public though %s says room.private = true; it is private now, with a new password", in.Platform.Paths().Config)
			st.password = password
			return nil
		}
	}
	if !ok && st.configWritten {
		if password, err = c.SetPassword(ctx); err != nil {
			return fmt.Errorf("set the room's password: %w", err)
		}
	}
	st.password = password
	return nil
}

// roomURL is the address people open: at the configured domain or IP
// address, else at this host's first public address, IPv4 first.
func (in *Installer) roomURL(cfg config.Config) string {
	switch {
	case cfg.Server.Mode == config.ModeProxy && cfg.Server.PublicURL != "":
		return cfg.Server.PublicURL
	case cfg.Server.Domain != "":
		return roomurl.Room(cfg.Server.Domain)
	case cfg.Server.IP != "":
		return roomurl.Room(cfg.Server.IP)
	}
	var v6 string
	for _, a := range in.probe().LocalAddrs() {
		ip := net.ParseIP(a)
		if ip == nil || !ip.IsGlobalUnicast() {
			continue
		}
		if ip.To4() != nil {
			return roomurl.Room(a)
		}
		if v6 == "" {
			v6 = a
		}
	}
	if v6 != "" {
		return roomurl.Room(v6)
	}
	return "https://<this host's address>/"
}

// summary prints the room's URL and password in a box a person can copy.
func (in *Installer) summary(st *installState, o InstallOptions) {
	lines := []string{}
	if st.started {
		lines = append(lines, "chatbox is running. Open your room at:")
	} else {
		lines = append(lines, "chatbox is installed under", "    "+in.Host.Root, "and starts when that system boots. Its room will be at:")
	}
	lines = append(lines, "", "    "+in.roomURL(st.cfg), "")
	if st.cfg.Room.Private {
		if st.password != "" {
			lines = append(lines, "Password:  "+st.password, "(shown once; `chatbox room password` sets a new one)")
		} else {
			lines = append(lines, "The room's password is unchanged; `chatbox room password` sets a new one.")
		}
	} else {
		lines = append(lines, "Anyone with the link can join.")
	}
	if st.warning != "" {
		lines = append(lines, "")
		lines = append(lines, wrap("Warning: "+st.warning, 72)...)
	}
	if st.cfg.Server.Mode == config.ModeProxy {
		lines = append(lines, "", "Behind your web server: chatbox listens on "+st.cfg.Server.Listen+".",
			"Configurations for nginx, Caddy and Apache are in "+ProxyDocDir+"/.")
	}
	printBox(in, lines)
}

// wrap breaks s into lines of at most width runes, between words.
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len([]rune(line))+1+len([]rune(w)) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

func printBox(in *Installer, lines []string) {
	width := 0
	for _, l := range lines {
		width = max(width, len([]rune(l)))
	}
	rule := "+" + strings.Repeat("-", width+4) + "+"
	fmt.Fprintln(in.Out, rule)
	for _, l := range lines {
		fmt.Fprintf(in.Out, "|  %s%s  |\n", l, strings.Repeat(" ", width-len([]rune(l))))
	}
	fmt.Fprintln(in.Out, rule)
}
