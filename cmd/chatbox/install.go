package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/chatbox-dev/chatbox/config"
	"github.com/chatbox-dev/chatbox/installer"
	"github.com/chatbox-dev/chatbox/platform"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type installOptions struct {
	host hostOptions
	opts installer.InstallOptions
	yes  bool
	// ipDetect is how --ip auto finds the public address.
	ipDetect string
}

func newInstallCmd(s *streams) *cobra.Command {
	o := installOptions{}
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Provision this host as a chatbox",
		Long: `Provision this host as a chatbox: install what it needs from the OS, create
the service user, install this binary as /usr/local/bin/chatbox, write
/etc/chatbox/config.toml, set the host name, open ports 80 and 443, turn on
automatic security updates, install and start the service, and print the
room's address.

Every step checks first, so running install again changes nothing when
nothing needs changing, and repairs what an interrupted run left. An
edited config file is never overwritten. Without --yes the plan is shown
and confirmed first; --dry-run only shows it.`,
		Example: `  sudo chatbox install --domain chat.example.com --email you@example.com
  sudo chatbox install --ip 203.0.113.7 --private
  sudo chatbox install --ip auto
  sudo chatbox install --domain chat.example.com --behind-proxy
  sudo chatbox install --domain chat.example.com --dns cloudflare --dns-token TOKEN
  chatbox install --dry-run --os openbsd --domain chat.example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.opts.Retry = retryLine(cmd)
			return runInstall(cmd.Context(), s, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.opts.Domain, "domain", "", "the room's DNS name, e.g. chat.example.com")
	f.StringVar(&o.opts.IP, "ip", "", "the box's public IP address, when it has no DNS name; auto finds it (see --ip-detect) and asks")
	f.StringVar(&o.ipDetect, "ip-detect", "cloudflare.trace", "how --ip auto finds the public address: cloudflare.trace, or url:https://… answering it")
	f.StringVar(&o.opts.Email, "email", "", "contact address for the certificate authority (optional)")
	f.StringVar(&o.opts.Hostname, "hostname", "", "host name to set (default: the --domain)")
	f.BoolVar(&o.opts.Private, "private", false, "protect the room with a password")
	f.BoolVar(&o.opts.Encrypted, "encrypted", false, "make the room encrypted: the browsers encrypt, the box keeps only ciphertext (its first visitor makes the key and the link to share)")
	f.StringVar(&o.opts.DNS, "dns", "", "DNS provider for certificates and dynamic DNS: cloudflare")
	f.StringVar(&o.opts.DNSToken, "dns-token", "", "the DNS provider's API token")
	f.BoolVar(&o.opts.BehindProxy, "behind-proxy", false, "serve the room through the web server (nginx, Apache, Caddy) that holds ports 80 and 443; needs --domain")
	f.BoolVar(&o.opts.SkipFirewall, "skip-firewall", false, "leave the firewall alone: you open TCP 80 and 443 yourself (a cloud firewall, rules of your own)")
	f.BoolVarP(&o.yes, "yes", "y", false, "do not ask before changing the system")
	o.host.addFlags(f)
	return cmd
}

func runInstall(ctx context.Context, s *streams, o installOptions) error {
	if err := validateInstall(o.opts); err != nil {
		return err
	}
	if o.opts.IP == ipAuto {
		ip, err := findPublicIP(ctx, s, o.ipDetect, o.yes || o.host.dryRun)
		if err != nil {
			return err
		}
		o.opts.IP = ip
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this binary: %w", err)
	}
	o.opts.Binary = self
	in, cleanup, err := o.host.installer(ctx, s)
	if err != nil {
		return err
	}
	defer cleanup()
	if !o.host.dryRun && !o.yes {
		ok, err := confirm(ctx, s, o.host, func(plan *installer.Installer) error { return installUsage(plan.Install(ctx, o.opts)) })
		if err != nil || !ok {
			return err
		}
	}
	return installUsage(in.Install(ctx, o.opts))
}

// validateInstall checks the install flags before anything is looked at;
// each mistake is a usage error naming the flag.
func validateInstall(o installer.InstallOptions) error {
	if o.Domain != "" {
		if err := config.ValidateDomain(o.Domain); err != nil {
			return usagef("--domain: %v", err)
		}
	}
	if o.IP != "" {
		if o.Domain != "" {
			return usagef("give either --domain or --ip, not both")
		}
		if o.IP != ipAuto && net.ParseIP(o.IP) == nil {
			return usagef("--ip: %q is not an IP address", o.IP)
		}
	}
	if o.Hostname != "" {
		if err := config.ValidateHostname(o.Hostname); err != nil {
			return usagef("--hostname: %v", err)
		}
	}
	if o.Email != "" && (!strings.Contains(o.Email, "@") || strings.ContainsAny(o.Email, " <>")) {
		return usagef("--email: %q is not an email address", o.Email)
	}
	if o.BehindProxy {
		if o.Domain == "" {
			return usagef("--behind-proxy needs --domain: the name your web server answers to")
		}
		if o.DNS != "" {
			return usagef("--behind-proxy leaves certificates to your web server; leave out --dns")
		}
	}
	switch o.DNS {
	case "":
		if o.DNSToken != "" {
			return usagef("--dns-token needs --dns cloudflare")
		}
	case "cloudflare":
		if o.DNSToken == "" {
			return usagef("--dns cloudflare needs --dns-token (a Cloudflare API token with Zone:Read and DNS:Edit)")
		}
		if o.Domain == "" {
			return usagef("--dns cloudflare needs --domain")
		}
	default:
		return usagef("--dns: %q is not supported; use cloudflare", o.DNS)
	}
	return nil
}

// installUsage turns the installer's refusal of a first install without
// an address into the usage error that names the flags.
func installUsage(err error) error {
	if errors.Is(err, installer.ErrNoAddress) {
		return usagef("give the room's DNS name with --domain NAME, or --ip ADDR for a box without a name")
	}
	return err
}

// hostOptions are the flags every command that changes the host shares.
type hostOptions struct {
	osID   string
	root   string
	dryRun bool
	// euid is the effective user id; nil means os.Geteuid (tests set it).
	euid func() int
}

func (o *hostOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.osID, "os", "", "plan for this OS instead of the detected one: "+strings.Join(installer.Backends().IDs(), ", "))
	f.StringVar(&o.root, "root", "", "apply everything under this directory as if it were / (a chroot)")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the plan, one line per action, and change nothing")
}

// installer detects the platform and sets up the host to change: a
// Recorder printing the plan for a dry run (on a fresh host of --os when
// that is not this machine's OS), the real machine otherwise. The caller
// calls cleanup when done.
func (o hostOptions) installer(ctx context.Context, s *streams) (*installer.Installer, func(), error) {
	root := "/"
	if o.root != "" {
		abs, err := filepath.Abs(o.root)
		if err != nil {
			return nil, noCleanup, usagef("--root: %v", err)
		}
		if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
			return nil, noCleanup, usagef("--root: %s is not a directory", o.root)
		}
		root = abs
	}
	if backends := installer.Backends(); o.osID != "" && !slices.Contains(backends.IDs(), o.osID) {
		return nil, noCleanup, usagef("--os %q is not supported; chatbox installs on %s", o.osID, backends.Supported())
	}
	p, err := installer.Detect(ctx, root, o.osID)
	if err != nil {
		return nil, noCleanup, err
	}
	var r platform.Runner = platform.Exec{Root: root}
	live := root == "/"
	cleanup := noCleanup
	if o.dryRun && o.osID != "" && o.root == "" && !isThisMachine(ctx, o.osID) {
		// A plan for another OS is a plan for a fresh host of it, never
		// one read from this machine.
		fresh, ferr := os.MkdirTemp("", "chatbox-fresh-"+o.osID+"-")
		if ferr != nil {
			return nil, noCleanup, fmt.Errorf("make a fresh %s host to plan on: %w", o.osID, ferr)
		}
		cleanup = func() { os.RemoveAll(fresh) }
		if ferr := installer.FreshHost(fresh, o.osID); ferr != nil {
			cleanup()
			return nil, noCleanup, ferr
		}
		root = fresh
		r = &platform.Recorder{W: s.out, Answer: installer.FreshAnswer}
	} else if o.dryRun {
		r = &platform.Recorder{W: s.out}
	} else if euid := o.euid; euid == nil && os.Geteuid() != 0 || euid != nil && euid() != 0 {
		return nil, noCleanup, usagef("this changes the system and must run as root; try sudo, or add --dry-run to see the plan")
	}
	return &installer.Installer{
		Platform: p,
		Host:     &platform.Host{Root: root, Live: live, Runner: r},
		Out:      s.out,
		DryRun:   o.dryRun,
	}, cleanup, nil
}

func noCleanup() {}

// isThisMachine reports whether osID is the OS this machine runs.
func isThisMachine(ctx context.Context, osID string) bool {
	p, err := installer.Detect(ctx, "/", "")
	return err == nil && p.ID() == osID
}

// confirm prints the plan and asks whether to go ahead.
func confirm(ctx context.Context, s *streams, o hostOptions, plan func(*installer.Installer) error) (bool, error) {
	o.dryRun = true
	in, cleanup, err := o.installer(ctx, s)
	if err != nil {
		return false, err
	}
	defer cleanup()
	if err := plan(in); err != nil {
		return false, err
	}
	fmt.Fprint(s.out, "\nGo ahead? [y/N] ")
	line, _ := bufio.NewReader(s.in).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	fmt.Fprintln(s.out, "Nothing was changed.")
	return false, nil
}

// retryLine is the command line that repeats cmd, for the message after a
// failed step. A DNS token is not repeated on the screen.
func retryLine(cmd *cobra.Command) string {
	parts := []string{"sudo", cmd.CommandPath()}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		switch {
		case f.Name == "dns-token":
			parts = append(parts, "--dns-token=YOUR_TOKEN")
		case f.Value.Type() == "bool":
			parts = append(parts, "--"+f.Name)
		default:
			parts = append(parts, "--"+f.Name+"="+platform.Command(f.Value.String()).String())
		}
	})
	for _, a := range cmd.Flags().Args() {
		parts = append(parts, platform.Command(a).String())
	}
	return strings.Join(parts, " ")
}
