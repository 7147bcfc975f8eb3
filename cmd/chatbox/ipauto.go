package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/chatbox-dev/chatbox/dyndns"
)

// ipAuto is the value of --ip that finds the box's public address.
const ipAuto = "auto"

// findPublicIP finds the box's public IPv4 address with method, the way
// dyndns does (cloudflare.trace, or url:https://… answering the address),
// shows it, and asks before it is used unless yes (or a dry run). An
// address a public CA cannot issue for (private, carrier-grade NAT,
// loopback) is refused with why, and what the box would do with it.
func findPublicIP(ctx context.Context, s *streams, method string, yes bool) (string, error) {
	d, err := dyndns.NewDetector(method, dyndns.IPv4, dyndns.Options{})
	if err != nil || d == nil {
		return "", usagef("--ip-detect: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	addr, err := d.Detect(ctx)
	switch {
	case addr.IsValid() && err != nil:
		return "", fmt.Errorf("--ip auto: %s says this box's address is %s, and %v: a public CA issues certificates only for public addresses it can reach. "+
			"Give the public address with --ip ADDR or a name with --domain NAME; with --ip %s the room would serve its own CA's certificate, which each person trusts once at http://%s/trust",
			method, addr, err, addr, addr)
	case err != nil:
		return "", fmt.Errorf("--ip auto: the public address could not be found with %s (%v); give it with --ip ADDR", method, err)
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
