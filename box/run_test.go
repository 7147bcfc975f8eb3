package box_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatbox-dev/chatbox/box"
	"github.com/chatbox-dev/chatbox/config"
)

func TestRunReportsMistakesBeforeListening(t *testing.T) {
	cases := []struct {
		name    string
		change  func(*config.Config)
		wantKey string
	}{
		{"a box with neither domain nor IP", func(c *config.Config) {}, "server.domain"},
		{"a missing ca_root file", func(c *config.Config) {
			c.Server.Domain = "chat.example.com"
			c.TLS.CARoot = filepath.Join(t.TempDir(), "missing.pem")
		}, "tls.ca_root"},
		{"dynamic DNS with an unknown detection method", func(c *config.Config) {
			c.Server.Domain = "chat.example.com"
			c.DNS = config.DNS{Provider: "cloudflare", APIToken: "token"}
			c.DynDNS.Enabled = true
			c.DynDNS.IPv4 = "carrier-pigeon"
		}, "dyndns.ipv4"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := freePorts(t)
			cfg := boxConfig(t, p, "https://127.0.0.1:1/dir", "")
			tc.change(&cfg)
			err := box.Run(context.Background(), cfg, newLogBuffer(t, "box"))
			if err == nil || !strings.Contains(err.Error(), tc.wantKey) {
				t.Fatalf("Run = %v, want an error naming %s", err, tc.wantKey)
			}
			for _, port := range []int{p.http, p.https} {
				ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
				if err != nil {
					t.Errorf("port %d is still taken after Run failed: %v", port, err)
					continue
				}
				ln.Close()
			}
		})
	}
}
