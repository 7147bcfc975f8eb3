package box

import (
	"strings"
	"testing"

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
