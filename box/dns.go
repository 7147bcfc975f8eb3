package box

import (
	"context"
	"errors"
	"log/slog"

	"github.com/caddyserver/certmagic"
	"github.com/chatbox-dev/chatbox/config"
)

// dnsProvider returns the DNS provider that solves DNS-01 challenges, or
// nil when cfg.TLS.Challenge is not "dns-01".
func dnsProvider(cfg config.Config) (certmagic.DNSProvider, error) {
	if cfg.TLS.Challenge != "dns-01" {
		return nil, nil
	}
	return nil, errors.New("tls.challenge: dns-01 is not available in this build yet")
}

// runDynDNS keeps the box's DNS records pointing at its public address
// until ctx ends.
func runDynDNS(ctx context.Context, cfg config.Config, log *slog.Logger) {
	log.Warn("dynamic DNS is not available in this build yet", "key", "dyndns.enabled")
}
