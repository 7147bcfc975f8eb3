package installer

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fwFixture is a firewall state, as its own tool prints it, from the
// parsers' test data.
func fwFixture(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "platform", "firewall", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// The firewall step reports done only when the firewall's own view says
// 80 and 443 are open; otherwise it fails with the rule to add.
func TestTheFirewallStepReadsTheFirewallBack(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name, osID string
		nft        bool              // nft is installed
		outputs    map[string]string // what the firewall tools print
		skip       bool              // --skip-firewall
		want       string            // in the output, or in the error when fail
		fail       bool
	}{
		{"an nftables drop policy without 80 and 443 fails with the rule to add", "debian", true,
			map[string]string{"nft -j list ruleset": fwFixture(t, "nft/drop-closed.json")}, false,
			"nftables keeps TCP 80 (policy drop of chain inet filter input) and TCP 443 (policy drop of chain inet filter input) out, so the room cannot be reached from the Internet; " +
				"to open them: nft insert rule inet filter input tcp dport { 80, 443 } accept", true},
		{"an nftables drop policy with 80 and 443 on separate lines is open", "debian", true,
			map[string]string{"nft -j list ruleset": fwFixture(t, "nft/drop-separate-lines-open.json")}, false,
			"[7/12] Opening ports 80 and 443 in the firewall ... already done (nftables lets TCP 80 and 443 in)", false},
		{"nft with no ruleset filters nothing", "debian", true,
			map[string]string{"nft -j list ruleset": fwFixture(t, "nft/empty.json")}, false,
			"already done (no firewall filters incoming connections)", false},
		{"--skip-firewall leaves a closed firewall to its owner", "debian", true,
			map[string]string{"nft -j list ruleset": fwFixture(t, "nft/drop-closed.json")}, true,
			"firewall ... skipped (--skip-firewall: TCP 80 and 443 are yours to open)", false},
		{"ufw's allow rules are read back", "ubuntu", false, nil, false,
			"firewall ... done (ufw lets TCP 80 and 443 in)", false},
		{"a ufw deny rule before chatbox's allow fails naming it", "ubuntu", false,
			map[string]string{"ufw status verbose": fwFixture(t, "ufw/active-source-and-deny-first.txt")}, false,
			`ufw keeps TCP 443 (rule "443/tcp                    DENY IN     Anywhere") out`, true},
		{"firewalld's services are read back", "rocky", false, nil, false,
			"firewall ... done (firewalld lets TCP 80 and 443 in)", false},
		{"pf's anchor is read back", "openbsd", false, nil, false,
			"firewall ... done (pf lets TCP 80 and 443 in)", false},
		{"a quick block in pf.conf fails naming it", "openbsd", false,
			map[string]string{"pfctl -sr": fwFixture(t, "pf/strict.txt")}, false,
			`pf keeps TCP 443 (rule "block drop in quick on egress proto tcp from any to any port = 443") out`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			in, sim, _ := newSim(t, c.osID, &out)
			sim.rec.W = &bytes.Buffer{}
			if c.nft {
				sim.put("/usr/sbin/nft", "#!/bin/sh\n")
				if err := os.Chmod(sim.path("/usr/sbin/nft"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			sim.fwOutput = c.outputs
			o := opts(t)
			o.SkipFirewall = c.skip
			err := in.Install(ctx, o)
			if !c.fail {
				if err != nil {
					t.Fatalf("install: %v\n%s", err, out.String())
				}
				if !strings.Contains(out.String(), c.want) {
					t.Errorf("the install does not say %q:\n%s", c.want, out.String())
				}
				return
			}
			var fwErr *FirewallError
			var stepErr *StepError
			if !errors.As(err, &fwErr) || !errors.As(err, &stepErr) || stepErr.N != 7 {
				t.Fatalf("install: %v, want a FirewallError at step 7\n%s", err, out.String())
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "--skip-firewall") {
				t.Errorf("the error does not say %q and --skip-firewall:\n%v", c.want, err)
			}
			if strings.Contains(out.String(), "is running") {
				t.Errorf("a failed firewall step still ended with a running room:\n%s", out.String())
			}
		})
	}
}
