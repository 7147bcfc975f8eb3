package linux

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/platform"
)

// netnsSwitch names the environment variable that lets
// TestRealFirewallsInAFreshNetworkNamespace change the firewall: set it
// only in a throwaway network namespace. The installer's Debian
// end-to-end test builds this package's tests and runs them, with it set,
// in a fresh network namespace over the booted Debian's files, with
// Debian's nftables and ufw packages installed.
const netnsSwitch = "CHATBOX_FIREWALL_NETNS"

// The Debian backend against the real nft and ufw: a drop policy keeps
// the ports out and the fix it prints lets them in; ufw's default deny
// keeps them out until OpenFirewall adds its rules, and a deny rule put
// before them is named.
func TestRealFirewallsInAFreshNetworkNamespace(t *testing.T) {
	if os.Getenv(netnsSwitch) != "1" {
		t.Skip("this changes the firewall of the network namespace it runs in; set " + netnsSwitch + "=1 only in a throwaway one (the installer's Debian e2e test does)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := Backend{}.Platform(platform.OSRelease{ID: "debian", VersionID: "12"})
	if err != nil {
		t.Fatal(err)
	}
	h := &platform.Host{Root: "/", Live: true, Runner: platform.Exec{Root: "/"}}
	sh := func(t *testing.T, script string) {
		t.Helper()
		if out, err := exec.CommandContext(context.WithoutCancel(ctx), "sh", "-ec", script).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", script, err, out)
		}
	}
	state := func(t *testing.T, wantOpen bool, wantFirewall, wantWhy string) string {
		t.Helper()
		st, err := p.FirewallState(ctx, h, 80, 443)
		if err != nil {
			t.Fatalf("read the firewall back: %v", err)
		}
		t.Logf("%s (fix: %q)", st, st.Fix)
		if st.Open() != wantOpen || st.Firewall != wantFirewall || !strings.Contains(st.String(), wantWhy) {
			t.Errorf("the firewall says %q (open %v), want %s open=%v naming %q", st, st.Open(), wantFirewall, wantOpen, wantWhy)
		}
		return st.Fix
	}
	sh(t, "ufw --force reset >/dev/null; ufw disable >/dev/null; nft flush ruleset")
	t.Cleanup(func() { sh(t, "ufw --force reset >/dev/null; ufw disable >/dev/null; nft flush ruleset") })

	t.Run("an nftables drop policy keeps 80 and 443 out and the printed fix opens them", func(t *testing.T) {
		rules := filepath.Join(t.TempDir(), "rules.nft")
		if err := os.WriteFile(rules, []byte(`table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iifname "lo" accept
		tcp dport 22 accept
	}
}
`), 0o644); err != nil {
			t.Fatal(err)
		}
		sh(t, "nft -f "+rules)
		fix := state(t, false, "nftables", "policy drop of chain inet filter input")
		cmd, _, _ := strings.Cut(fix, " (")
		if !strings.HasPrefix(cmd, "nft insert rule ") {
			t.Fatalf("the fix %q does not start with an nft command", fix)
		}
		sh(t, cmd)
		state(t, true, "nftables", "nftables lets TCP 80 and 443 in")
		sh(t, "nft flush ruleset")
	})

	t.Run("ufw's default deny keeps them out until OpenFirewall allows them", func(t *testing.T) {
		sh(t, "ufw default deny incoming >/dev/null; ufw allow 22/tcp >/dev/null; ufw --force enable >/dev/null")
		state(t, false, "ufw", "default deny (incoming)")
		if err := p.OpenFirewall(ctx, h); err != nil {
			t.Fatal(err)
		}
		state(t, true, "ufw", "ufw lets TCP 80 and 443 in")
		sh(t, "ufw deny 443/tcp >/dev/null") // ufw turns its allow rule into a deny
		state(t, false, "ufw", `443/tcp                    DENY IN     Anywhere`)
	})
}
