package installer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"

	"github.com/chatbox-dev/chatbox/config"
	"github.com/nxadm/tail"

	"github.com/chatbox-dev/chatbox/chat/datadir"
)

// Status is what `chatbox status` reports.
type Status struct {
	OS        string `json:"os"`
	Installed bool   `json:"installed"`
	Running   bool   `json:"running"`
	Healthy   bool   `json:"healthy"`
	URL       string `json:"url,omitempty"`
	Config    string `json:"config"`
	// PushKey says whether the box has its Web Push (VAPID) key; the
	// service makes it at its first start.
	PushKey bool `json:"push_key"`
	// PushKeyFile is where it is kept.
	PushKeyFile string `json:"push_key_file,omitempty"`
	// Public is true when the room answered through its public URL, from
	// this host.
	Public bool `json:"public"`
	// LocalCA is true when the room serves a certificate of the box's
	// own local CA, which browsers warn about until it is trusted.
	LocalCA bool `json:"local_ca"`
	// Warning says, in a sentence, what works but not as it should.
	Warning string `json:"warning,omitempty"`
	// Problem says what is wrong, in a sentence, when something is.
	Problem string `json:"problem,omitempty"`
}

// Status looks at the installed box without changing it.
func (in *Installer) Status(ctx context.Context) Status {
	p, h := in.Platform, in.Host
	paths := p.Paths()
	st := Status{OS: p.Name(), Config: paths.Config}
	st.Installed = h.Exists(paths.Binary) && h.Exists(paths.ServiceFile)
	if pkg, ok := p.Packaged(ctx, h); ok {
		st.Installed = h.Exists(pkg.Binary) && h.Exists(pkg.Unit) && h.Exists(paths.Config)
	}
	if !st.Installed {
		st.Problem = "not installed on this host"
		return st
	}
	st.Running = p.ServiceActive(ctx, h)
	if _, err := h.ReadFile(paths.Config); err != nil && !errors.Is(err, fs.ErrNotExist) && !in.probe().IsRoot() {
		// The config holds the room's address and where the service
		// answers; a guess from defaults would look like an answer.
		st.Problem = fmt.Sprintf("cannot read %s, which holds the room's address (%v); it needs root: run `sudo chatbox status`",
			paths.Config, errors.Unwrap(err))
		if !st.Running {
			st.Problem = "the chatbox service is not running (`sudo chatbox logs` shows why); " + st.Problem
		}
		return st
	}
	cfg := in.loadConfig()
	st.URL = in.roomURL(cfg)
	st.PushKeyFile = datadir.Layout{Dir: cfg.Server.DataDir}.VAPIDKey()
	st.PushKey = h.Exists(st.PushKeyFile)
	if !st.Running {
		st.Problem = "the chatbox service is not running; `chatbox logs` shows why"
		return st
	}
	url := healthURL(cfg)
	if err := in.probe().Healthy(ctx, url); err != nil {
		st.Problem = fmt.Sprintf("the service runs but does not answer %s: %v", url, err)
		return st
	}
	st.Healthy = true
	st.LocalCA, st.Warning = in.localCA(ctx, cfg)
	if !st.LocalCA && strings.HasPrefix(st.URL, "https://") {
		// Through DNS, the firewall, the reverse proxy and a certificate
		// browsers trust: what a person's browser goes through.
		public := strings.TrimSuffix(st.URL, "/") + "/healthz"
		if err := in.probe().Healthy(ctx, public); err != nil {
			st.Warning = fmt.Sprintf("the room answers on this host but not at %s (%v); check the name's DNS record, the firewall and any reverse proxy from another machine (some routers do not let a host reach its own public address)", public, err)
		} else {
			st.Public = true
		}
	}
	return st
}

// localCAIssuer begins the name of the box's own CA (box/localca.go).
const localCAIssuer = "chatbox local CA"

// localCA asks the running box which certificate it serves and, when it
// is one of its local CA, says that browsers warn and how to fix it.
func (in *Installer) localCA(ctx context.Context, cfg config.Config) (bool, string) {
	if cfg.Server.Mode == config.ModeProxy {
		return false, ""
	}
	name := cfg.Server.Domain
	if name == "" {
		name = cfg.Server.IP
	}
	_, port, err := net.SplitHostPort(cfg.Server.HTTPSListen)
	if err != nil || name == "" {
		return false, ""
	}
	issuer, err := in.probe().CertIssuer(ctx, net.JoinHostPort("127.0.0.1", port), name)
	if err != nil || !strings.HasPrefix(issuer, localCAIssuer) {
		return false, ""
	}
	trust := (&url.URL{Scheme: "http", Host: hostForURL(name), Path: "/trust"}).String()
	fix := "a public certificate has not been issued yet; `sudo chatbox logs` says why (usually the name's DNS record, or ports 80 and 443 not reachable from the Internet)"
	if ip := net.ParseIP(name); ip != nil && (ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || cgnat.Contains(ip)) {
		fix = fmt.Sprintf("public CAs issue certificates only for public addresses, so for one browsers trust set server.domain (a name pointing here) or server.ip (the public address) in %s and run systemctl restart chatbox", in.Platform.Paths().Config)
	}
	return true, fmt.Sprintf("the room serves a certificate of the box's own CA, so browsers warn until each person trusts it (%s shows how); %s", trust, fix)
}

// cgnat is the shared address space of carrier-grade NAT (RFC 6598).
var cgnat = &net.IPNet{IP: net.IPv4(100, 64, 0, 0), Mask: net.CIDRMask(10, 32)}

// hostForURL brackets an IPv6 address for a URL.
func hostForURL(host string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]"
	}
	return host
}

// Logs writes the service's last lines of log to w and, with follow,
// keeps writing new ones until ctx ends.
func (in *Installer) Logs(ctx context.Context, lines int, follow bool, w, errw io.Writer) error {
	if args := in.Platform.LogsCommand(lines, follow); args != nil {
		// journalctl run by someone else shows only their own lines and a
		// hint about groups, which reads as if the service logged nothing.
		if !in.probe().IsRoot() && !in.readsSystemJournal() {
			return errors.New("only root (or the adm and systemd-journal groups) can read the service's log; run `sudo chatbox logs`")
		}
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Stdout, cmd.Stderr = w, errw
		if err := cmd.Run(); err != nil && ctx.Err() == nil {
			return fmt.Errorf("%s: %w", strings.Join(args, " "), err)
		}
		return nil
	}
	err := tailFile(ctx, in.Host.Path(in.Platform.LogFile()), "chatbox", lines, follow, w)
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%w; it needs root: run `sudo chatbox logs`", err)
	}
	return err
}

// readsSystemJournal reports whether this process is in a group that may
// read the whole systemd journal.
func (in *Installer) readsSystemJournal() bool {
	if in.journalGroups != nil {
		return in.journalGroups()
	}
	gids, err := os.Getgroups()
	if err != nil {
		return false
	}
	for _, gid := range gids {
		g, err := user.LookupGroupId(strconv.Itoa(gid))
		if err == nil && (g.Name == "adm" || g.Name == "systemd-journal" || g.Name == "wheel") {
			return true
		}
	}
	return false
}

// tailFile prints the last n lines of file that contain match and, with
// follow, the ones added later.
func tailFile(ctx context.Context, file, match string, n int, follow bool, w io.Writer) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read the log: %w", err)
	}
	var hits []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, match) {
			hits = append(hits, line)
		}
	}
	if len(hits) > n {
		hits = hits[len(hits)-n:]
	}
	for _, l := range hits {
		fmt.Fprintln(w, l)
	}
	if !follow {
		return nil
	}
	t, err := tail.TailFile(file, tail.Config{
		Follow: true, ReOpen: true, Logger: tail.DiscardingLogger,
		Location: &tail.SeekInfo{Offset: int64(len(data)), Whence: io.SeekStart},
	})
	if err != nil {
		return fmt.Errorf("follow the log: %w", err)
	}
	defer t.Cleanup()
	for {
		select {
		case <-ctx.Done():
			_ = t.Stop()
			return nil
		case line, ok := <-t.Lines:
			if !ok {
				return t.Err()
			}
			if strings.Contains(line.Text, match) {
				fmt.Fprintln(w, line.Text)
			}
		}
	}
}
