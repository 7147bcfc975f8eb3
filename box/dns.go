package box

import (
	"github.com/caddyserver/certmagic"

	"github.com/chatbox-dev/chatbox/config"
	"github.com/chatbox-dev/chatbox/dyndns"
)

// dnsProvider returns the DNS provider that solves DNS-01 challenges, or
// nil when cfg.TLS.Challenge is not "dns-01".
func dnsProvider(cfg config.Config) (certmagic.DNSProvider, error) {
	if cfg.TLS.Challenge != "dns-01" {
		return nil, nil
	}
	p, err := dyndns.Provider(cfg.DNS)
	if err != nil {
		return nil, err
	}
	return p, nil
}
