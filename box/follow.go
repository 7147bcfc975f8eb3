package box

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/chatbox-dev/chatbox/config"
	"github.com/chatbox-dev/chatbox/dyndns"
)

// addressDetector finds the box's public address; a dyndns.Detector.
type addressDetector interface {
	Detect(ctx context.Context) (netip.Addr, error)
	String() string
}

// addressSwitcher is what follows the address: the certManager.
type addressSwitcher interface {
	// name is the address the box serves now.
	name() string
	// switchTo makes the box serve name instead.
	switchTo(ctx context.Context, name string) error
}

// ipFollower keeps an IP-only box (server.ip_detect) on its public address:
// every interval it detects the address, and when it differs from the one
// the box serves, it switches the box's certificate to the new one. A
// failed detection changes nothing; the next interval tries again.
type ipFollower struct {
	detect addressDetector
	every  time.Duration
	certs  addressSwitcher
	log    *slog.Logger
}

// ipDetector returns the detector server.ip_detect names, or nil when it is
// empty. The address family is that of server.ip, IPv4 when it is empty.
// allowLoopback accepts loopback addresses, for tests only.
func ipDetector(cfg config.Config, allowLoopback bool) (*dyndns.Detector, error) {
	if cfg.Server.IPDetect == "" {
		return nil, nil
	}
	family := dyndns.IPv4
	if ip := net.ParseIP(cfg.Server.IP); ip != nil && ip.To4() == nil {
		family = dyndns.IPv6
	}
	d, err := dyndns.NewDetector(cfg.Server.IPDetect, family, dyndns.Options{AllowLoopback: allowLoopback})
	if err != nil {
		return nil, fmt.Errorf("server.ip_detect: %w", err)
	}
	return d, nil
}

// startAddress fills in server.ip of a box that follows its address but
// was given none to start with, by asking detect.
func startAddress(ctx context.Context, cfg *config.Config, detect addressDetector) error {
	if cfg.Server.Domain != "" || cfg.Server.IP != "" {
		return nil
	}
	addr, err := detect.Detect(ctx)
	if err != nil {
		return fmt.Errorf("server.ip_detect: find the public address to start with (or set server.ip): %w", err)
	}
	cfg.Server.IP = addrName(addr)
	return nil
}

// addrName is addr as the box's name: the form certmagic names a
// certificate by (an IPv4 address without an IPv6 prefix, lower case).
func addrName(addr netip.Addr) string {
	return net.IP(addr.Unmap().AsSlice()).String()
}

// run checks the address at once and then every interval until ctx ends.
func (f *ipFollower) run(ctx context.Context) {
	tick := time.NewTicker(f.every)
	defer tick.Stop()
	for {
		f.check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// check detects the public address once and switches to it when it
// changed.
func (f *ipFollower) check(ctx context.Context) {
	current := f.certs.name()
	addr, err := f.detect.Detect(ctx)
	if err != nil {
		if ctx.Err() == nil {
			f.log.Warn("could not detect the public address; the box keeps serving the one it has and tries again later",
				"address", current, "method", f.detect.String(), "err", err, "next", f.every)
		}
		return
	}
	name := addrName(addr)
	if name == current {
		return
	}
	f.log.Info("the public address changed", "old", current, "new", name, "method", f.detect.String())
	if err := f.certs.switchTo(ctx, name); err != nil {
		f.log.Error("could not switch to the new public address; the box keeps serving the old one and tries again later",
			"old", current, "new", name, "err", err, "next", f.every)
	}
}
