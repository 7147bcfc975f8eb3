package box

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/mholt/acmez/v3/acme"

	"github.com/chatbox-dev/chatbox/config"
)

func TestFailureHintSaysWhatToFix(t *testing.T) {
	cases := []struct {
		name      string
		domain    string
		ip        string
		challenge string
		want      string
	}{
		{"a domain box points at DNS and ports", "chat.example.com", "", "auto", "points at this box's public address"},
		{"a dns-01 box points at the token's permissions", "chat.example.com", "", "dns-01", "Zone:Read and DNS:Edit"},
		{"a box on a public IP points at its ports", "", "203.0.113.7", "auto", "ports 80 and 443 are reachable"},
		{"a box on a private IP points at the local CA", "", "192.168.1.20", "auto", "trust the box's own CA"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Server.Domain, cfg.Server.IP, cfg.TLS.Challenge = tc.domain, tc.ip, tc.challenge
			name, err := boxName(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := failureHint(cfg, name); !strings.Contains(got, tc.want) {
				t.Errorf("failureHint = %q, want it to mention %q", got, tc.want)
			}
		})
	}
}

func TestWhatToFixReadsTheError(t *testing.T) {
	ca, _ := url.Parse("https://acme.example/directory")
	m := &certManager{caURL: ca}
	id := &identity{hint: "check the name and the ports"}
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"a rate limit says to wait", fmt.Errorf("[chat.example.com] Obtain: %w",
			acme.Problem{Type: acme.ProblemTypeRateLimited, Detail: "too many certificates"}), "rate limit"},
		{"an unreachable CA points at tls.ca", fmt.Errorf("registering account: %w",
			&url.Error{Op: "Get", URL: "https://acme.example/directory", Err: errors.New("connection refused")}), "tls.ca"},
		{"a failed validation points at the name and ports", fmt.Errorf("authorization failed: %w",
			acme.Problem{Type: acme.ProblemTypeConnection, Detail: "timeout"}), "check the name and the ports"},
		{"a DNS provider's network error is not blamed on the CA", fmt.Errorf("adding temporary record: %w",
			&url.Error{Op: "Post", URL: "https://api.example/zones", Err: errors.New("timeout")}), "check the name and the ports"},
		{"a CA without the profile says so, not that the address is private", fmt.Errorf("[127.0.0.1] Obtain: creating new order: %w",
			errors.New("unknown profile name 'shortlived'; supported profiles: [classic tlsserver]")), "does not offer the ACME profile \"shortlived\""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := m.whatToFix(id, tc.err); !strings.Contains(got, tc.want) {
				t.Errorf("whatToFix = %q, want it to mention %q", got, tc.want)
			}
		})
	}
}
