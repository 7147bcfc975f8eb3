package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/chatbox-dev/chatbox/dyndns"
	"github.com/chatbox-dev/chatbox/internal/roomurl"
)

// ipAuto is the value of --ip that finds the box's public address.
const ipAuto = "auto"

// findPublicIP finds the box's public address with method, the way dyndns
// does (cloudflare.trace, or url:https://… answering the address): IPv4
// first, and IPv6 when there is no public IPv4 address (an IPv6-only VPS,
// or IPv4 only behind carrier-grade NAT). It shows the address and asks
// before it is used unless yes (or a dry run). An address a public CA
// cannot issue for (private, carrier-grade NAT, loopback; IPv6 unique
// local and link-local) is refused with why, and what the box would do
// with it.
func findPublicIP(ctx context.Context, s *streams, method string, yes bool) (string, error) {
	var (
		addr             netip.Addr
		refused          netip.Addr // the first address found and refused
		refusedErr       error
		failures, noIPv4 []string
	)
	for _, family := range []dyndns.Family{dyndns.IPv4, dyndns.IPv6} {
		d, err := dyndns.NewDetector(method, family, dyndns.Options{})
		if err != nil || d == nil {
			return "", usagef("--ip-detect: %v", err)
		}
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		a, err := d.Detect(dctx)
		cancel()
		if err == nil {
			addr = a
			break
		}
		if a.IsValid() && !refused.IsValid() {
			refused, refusedErr = a, err
		}
		if family == dyndns.IPv4 {
			noIPv4 = append(noIPv4, err.Error())
		}
		failures = append(failures, fmt.Sprintf("%s: %v", family, err))
	}
	switch {
	case !addr.IsValid() && refused.IsValid():
		return "", fmt.Errorf("--ip auto: %s says this box's address is %s, and %v: a public CA issues certificates only for public addresses it can reach. "+
			"Give the public address with --ip ADDR or a name with --domain NAME; with --ip %s the room would serve its own CA's certificate, which each person trusts once at %strust",
			method, refused, refusedErr, refused, roomurl.New("http", refused.String(), 80))
	case !addr.IsValid():
		return "", fmt.Errorf("--ip auto: the public address could not be found with %s (%s); give it with --ip ADDR", method, strings.Join(failures, "; "))
	}
	if addr.Is6() && len(noIPv4) > 0 {
		fmt.Fprintf(s.out, "No public IPv4 address was found with %s (%s); the room will be reachable over IPv6 only.\n", method, noIPv4[0])
	}
	fmt.Fprintf(s.out, "This box's public address, found with %s: %s\n", method, addr)
	if !yes {
		fmt.Fprintf(s.out, "Use %s for the room? [y/N] ", addr)
		if a := strings.ToLower(strings.TrimSpace(readLine(s.in))); a != "y" && a != "yes" {
			return "", fmt.Errorf("--ip auto: %s was not confirmed; nothing was changed (give the address with --ip ADDR)", addr)
		}
	}
	return addr.String(), nil
}

// readLine reads one line from r a byte at a time, so that what follows
// it (the answer to the next question) stays in r.
func readLine(r io.Reader) string {
	var line []byte
	b := make([]byte, 1)
	for len(line) < 1024 {
		n, err := r.Read(b)
		if n == 1 {
			if b[0] == '\n' {
				break
			}
			line = append(line, b[0])
		}
		if err != nil {
			break
		}
	}
	return string(line)
}
