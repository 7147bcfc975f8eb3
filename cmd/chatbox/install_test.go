package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatbox-dev/chatbox/installer"
)

// Mistakes in how the host commands are called are one sentence and exit
// 2, and change nothing: --root points at an empty directory that must
// stay empty.
func TestHostCommandsRefuseBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"an invalid host name is refused", []string{"hostname", "bad_name!"}, "may hold only letters, digits, hyphens and dots"},
		{"a host name with an empty label is refused", []string{"hostname", "chat..example.com"}, "label that is empty"},
		{"hostname without a name is refused", []string{"hostname"}, "exactly one NAME"},
		{"an unknown --os is refused with the supported list", []string{"install", "--os", "arch", "--dry-run"}, `--os "arch" is not supported; chatbox installs on Debian 11+`},
		{"a --domain that is an IP address is refused", []string{"install", "--domain", "203.0.113.7"}, "is an IP address, not a domain name"},
		{"a --domain with a scheme is refused", []string{"install", "--domain", "https://chat.example.com"}, "has a scheme"},
		{"--domain and --ip together are refused", []string{"install", "--domain", "chat.example.com", "--ip", "203.0.113.7"}, "either --domain or --ip"},
		{"--dns cloudflare without a token is refused", []string{"install", "--domain", "chat.example.com", "--dns", "cloudflare"}, "needs --dns-token"},
		{"--dns cloudflare without a domain is refused", []string{"install", "--ip", "203.0.113.7", "--dns", "cloudflare", "--dns-token", "t"}, "--dns cloudflare needs --domain"},
		{"--dns-token without --dns is refused", []string{"install", "--domain", "chat.example.com", "--dns-token", "t"}, "--dns-token needs --dns cloudflare"},
		{"an unknown --dns provider is refused", []string{"install", "--domain", "chat.example.com", "--dns", "route53"}, `--dns: "route53" is not supported`},
		{"an --ip that is no address is refused", []string{"install", "--ip", "chat"}, `--ip: "chat" is not an IP address`},
		{"an --email without @ is refused", []string{"install", "--domain", "chat.example.com", "--email", "you"}, `--email: "you" is not an email address`},
		{"an invalid --hostname for install is refused", []string{"install", "--hostname", "-bad"}, "starts or ends with a hyphen"},
		{"update --self with a missing file is refused", []string{"update", "--self", "/nonexistent/chatbox"}, "is not a file"},
		{"logs -n 0 is refused", []string{"logs", "-n", "0"}, "at least 1"},
		{"a first install without --domain or --ip is refused", []string{"install", "--os", "debian", "--dry-run"}, "--domain NAME, or --ip ADDR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			args := tt.args
			if args[0] != "logs" {
				args = append(args, "--root", root)
			}
			var out, errb bytes.Buffer
			code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
			if code != 2 {
				t.Errorf("exit code %d, want 2 (stderr %q)", code, errb.String())
			}
			if !strings.Contains(errb.String(), tt.want) {
				t.Errorf("stderr %q does not say %q", errb.String(), tt.want)
			}
			if n := strings.Count(strings.TrimSpace(errb.String()), "\n"); n != 0 {
				t.Errorf("the error is %d lines, want one sentence: %q", n+1, errb.String())
			}
			if entries, _ := os.ReadDir(root); len(entries) != 0 {
				t.Errorf("the root was changed: %v", entries)
			}
		})
	}
}

func TestHostCommandsRefuseANonRootRunWithoutDryRun(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(root+"/etc", 0o755)
	os.WriteFile(root+"/etc/os-release", []byte("ID=debian\nVERSION_ID=12\n"), 0o644)
	s := &streams{in: strings.NewReader(""), out: &bytes.Buffer{}, err: &bytes.Buffer{}}
	host := hostOptions{root: root, euid: func() int { return 1000 }}
	err := runInstall(context.Background(), s, installOptions{host: host, opts: installer.InstallOptions{Domain: "chat.example.com"}, yes: true})
	var u *usageError
	if !errors.As(err, &u) || !strings.Contains(err.Error(), "must run as root") {
		t.Fatalf("got %v, want a usage error saying it must run as root", err)
	}
	host.dryRun = true
	if err := runInstall(context.Background(), s, installOptions{host: host, opts: installer.InstallOptions{Domain: "chat.example.com"}}); err != nil {
		t.Errorf("a dry run as a normal user: %v", err)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 1 {
		t.Errorf("the root was changed: %v", entries)
	}
}

func TestInstallDryRunPlansForOpenBSDOnAnyMachine(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"install", "--dry-run", "--os", "openbsd", "--domain", "chat.example.com"}, strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"write: /etc/rc.d/chatbox (0555)", "run: rcctl enable chatbox", "write: /etc/chatbox/config.toml (0640)", "# end of plan: nothing was changed"} {
		if !strings.Contains(out.String(), want+"\n") {
			t.Errorf("the plan lacks %q:\n%s", want, out.String())
		}
	}
}

func TestInstallAsksBeforeChanging(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("install refuses to run as a normal user before it asks; run the tests as root to check the question")
	}
	root := t.TempDir()
	os.MkdirAll(root+"/etc", 0o755)
	os.WriteFile(root+"/etc/os-release", []byte("ID=debian\nVERSION_ID=12\n"), 0o644)
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"install", "--root", root, "--domain", "chat.example.com"}, strings.NewReader("n\n"), &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "Go ahead? [y/N]") || !strings.Contains(out.String(), "Nothing was changed.") {
		t.Errorf("no question or answer:\n%s", out.String())
	}
	if entries, _ := os.ReadDir(root); len(entries) != 1 {
		t.Errorf("the root was changed after answering no: %v", entries)
	}
}

// `install --os ID --dry-run` for an OS other than this machine's plans
// for a fresh host of it, exactly the golden plan, and leaves nothing
// behind: nothing of this machine (its firewall, its host name tools)
// leaks into the plan.
func TestInstallDryRunForAnotherOSIsTheGoldenPlan(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	for _, osID := range installer.Backends().IDs() {
		if isThisMachine(context.Background(), osID) {
			continue
		}
		t.Run("on "+osID, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), []string{"install", "--dry-run", "--os", osID, "--domain", "chat.example.com",
				"--email", "admin@example.com", "--private"}, strings.NewReader(""), &out, &errb)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			want, err := os.ReadFile(filepath.Join("..", "..", "installer", "testdata", osID, "install.txt"))
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != string(want) {
				t.Errorf("the plan is not the golden plan installer/testdata/%s/install.txt:\n--- got:\n%s--- want:\n%s", osID, out.String(), want)
			}
		})
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("the plans left %d fresh hosts behind", len(entries))
	}
}

// docs/cloud-init.yaml is cloud-config whose runcmd runs install.sh with
// flags chatbox install accepts.
func TestTheCloudInitExampleRunsAValidInstall(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "cloud-init.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "#cloud-config\n") {
		t.Error("the example does not begin with #cloud-config, so cloud-init ignores it")
	}
	var args []string
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "  - sh /root/chatbox-install.sh "); ok {
			args = strings.Fields(rest)
		}
	}
	if len(args) == 0 {
		t.Fatal("the example's runcmd does not run install.sh")
	}
	var out, errb bytes.Buffer
	plan := append([]string{"install", "--dry-run", "--os", "debian"}, args...)
	if code := run(context.Background(), plan, strings.NewReader(""), &out, &errb); code != 0 {
		t.Errorf("chatbox %s: exit %d: %s", strings.Join(plan, " "), code, errb.String())
	}
}

// --ip auto asks a "what is my IP" service, as dyndns does: a public
// answer is shown and used, a private one refused with why and what the
// box would do, and garbage refused with what to give instead.
func TestInstallIPAuto(t *testing.T) {
	answers := map[string]string{"/public": "203.0.113.7\n", "/private": "fl=1\nip=10.1.2.3\nts=1\n", "/garbage": "<html>not an address</html>"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, answers[r.URL.Path])
	}))
	defer srv.Close()
	cases := []struct {
		path, in string
		code     int
		want     string // in stdout when it works, stderr when not
	}{
		{"/public", "y\nn\n", 0, "This box's public address, found with url:" + srv.URL + "/public: 203.0.113.7\nUse 203.0.113.7 for the room? [y/N] "},
		{"/public", "n\n", 1, "--ip auto: 203.0.113.7 was not confirmed; nothing was changed"},
		{"/private", "y\n", 1, "says this box's address is 10.1.2.3, and 10.1.2.3 is not a public address (it is in 10.0.0.0/8): a public CA issues certificates only for public addresses it can reach. " +
			"Give the public address with --ip ADDR or a name with --domain NAME; with --ip 10.1.2.3 the room would serve its own CA's certificate, which each person trusts once at http://10.1.2.3/trust"},
		{"/garbage", "y\n", 1, "--ip auto: the public address could not be found with url:" + srv.URL + "/garbage ("},
	}
	for _, c := range cases {
		t.Run(c.path+" answered "+strings.TrimSpace(c.in), func(t *testing.T) {
			var out, errb bytes.Buffer
			args := []string{"install", "--ip", "auto", "--ip-detect", "url:" + srv.URL + c.path, "--os", "openbsd", "--root", t.TempDir()}
			code := run(context.Background(), args, strings.NewReader(c.in), &out, &errb)
			if c.code == 0 {
				// Not root here: the install itself stops after the
				// address was found and confirmed.
				if !strings.Contains(out.String(), c.want) {
					t.Errorf("stdout lacks %q:\n%s\nstderr:\n%s", c.want, out.String(), errb.String())
				}
				if strings.Contains(errb.String(), "--ip auto") {
					t.Errorf("the address was refused: %s", errb.String())
				}
				// The next answer stays for the next question: the plan's
				// (asked of root only; others are refused before it).
				if os.Geteuid() == 0 && !strings.Contains(out.String(), "Go ahead? [y/N] Nothing was changed.") {
					t.Errorf("the plan's question did not get its own answer:\n%s", out.String())
				}
				return
			}
			if code != c.code || !strings.Contains(errb.String(), c.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and %q", code, errb.String(), c.code, c.want)
			}
		})
	}
	t.Run("a dry run shows the address and plans with it", func(t *testing.T) {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"install", "--dry-run", "--os", "rocky", "--ip", "auto", "--ip-detect", "url:" + srv.URL + "/public"},
			strings.NewReader(""), &out, &errb)
		if code != 0 || !strings.Contains(out.String(), "found with url:"+srv.URL+"/public: 203.0.113.7\n# chatbox install on Rocky Linux") {
			t.Errorf("exit %d:\n%s%s", code, out.String(), errb.String())
		}
	})
}

// On an IPv6-only box --ip auto finds no IPv4 address and asks over IPv6:
// a global address is used, and unique local, link-local and loopback
// ones are refused with why. The service listens on [::1] only, as one
// reached over IPv6 alone: the IPv4 attempt cannot connect to it.
func TestInstallIPAutoOnIPv6(t *testing.T) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Fatalf("this machine has no IPv6 loopback to test on: %v", err)
	}
	answers := map[string]string{"/global": "2001:db8::7\n", "/ula": "fd12:3456::1\n", "/linklocal": "fl=1\nip=fe80::1\nts=1\n", "/loopback": "::1"}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, answers[r.URL.Path])
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()
	refusal := func(addr, prefix string) string {
		return "says this box's address is " + addr + ", and " + addr + " is not a public address (it is in " + prefix + "): a public CA issues certificates only for public addresses it can reach. " +
			"Give the public address with --ip ADDR or a name with --domain NAME; with --ip " + addr + " the room would serve its own CA's certificate, which each person trusts once at http://[" + addr + "]/trust"
	}
	cases := []struct {
		path, want string // the refusal in stderr; "" for an address that is used
	}{
		{"/global", ""},
		{"/ula", refusal("fd12:3456::1", "fc00::/7")},
		{"/linklocal", refusal("fe80::1", "fe80::/10")},
		{"/loopback", refusal("::1", "::1/128")},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			var out, errb bytes.Buffer
			method := "url:" + srv.URL + c.path
			code := run(context.Background(), []string{"install", "--ip", "auto", "--ip-detect", method, "--os", "openbsd", "--root", t.TempDir()},
				strings.NewReader("y\nn\n"), &out, &errb)
			if c.want != "" {
				if code != 1 || !strings.Contains(errb.String(), c.want) {
					t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and %q", code, errb.String(), c.want)
				}
				return
			}
			for _, want := range []string{"No public IPv4 address was found with " + method + " (detect public IPv4 address: ",
				"the room will be reachable over IPv6 only.\nThis box's public address, found with " + method + ": 2001:db8::7\nUse 2001:db8::7 for the room? [y/N] "} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("stdout lacks %q:\n%s\nstderr:\n%s", want, out.String(), errb.String())
				}
			}
			if strings.Contains(errb.String(), "--ip auto") {
				t.Errorf("the address was refused: %s", errb.String())
			}
		})
	}
	t.Run("a dry run shows the address and plans with it", func(t *testing.T) {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"install", "--dry-run", "--os", "debian", "--ip", "auto", "--ip-detect", "url:" + srv.URL + "/global"},
			strings.NewReader(""), &out, &errb)
		if code != 0 || !strings.Contains(out.String(), ": 2001:db8::7\n# chatbox install on Debian") {
			t.Errorf("exit %d:\n%s%s", code, out.String(), errb.String())
		}
	})
}
