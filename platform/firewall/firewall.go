// Package firewall reads what a host's firewall really does, from the
// firewall's own view of itself: `nft -j list ruleset`, `ufw status
// verbose`, `firewall-cmd --list-all` and `pfctl -sr`. Each parser turns
// that output into a value that answers one question: is a new TCP
// connection from anywhere to this port accepted? The installer asks it
// after opening ports, so it says "done" only when they are open.
//
// The answers are deliberately cautious: a rule whose conditions the
// parser does not understand (a source address, an interface other than
// loopback, a named set it was not given) is taken not to open the port,
// so a port is reported open only when the ruleset plainly opens it to
// everyone.
package firewall

import (
	"fmt"
	"strings"
	"unicode"
)

// Verdict is what a firewall does with a new TCP connection to one port
// from an address on the Internet.
type Verdict struct {
	Port int
	Open bool
	// Why names the rule or policy that decided, as the firewall shows
	// it: "policy drop of chain inet filter input".
	Why string
}

// State is what a host's firewall does with some ports.
type State struct {
	// Firewall names what filters incoming connections ("nftables",
	// "ufw", "firewalld", "pf"), or is "" when nothing does.
	Firewall string
	Verdicts []Verdict
	// Fix is what a person runs or adds to open the closed ports, for this
	// firewall; "" when every port is open.
	Fix string
}

// Closed returns the verdicts of the ports that are not open.
func (s State) Closed() []Verdict {
	var closed []Verdict
	for _, v := range s.Verdicts {
		if !v.Open {
			closed = append(closed, v)
		}
	}
	return closed
}

// Open reports whether every port is open.
func (s State) Open() bool { return len(s.Closed()) == 0 }

// String says in one sentence what the firewall does with the ports:
// "ufw lets TCP 80 and 443 in" or "nftables keeps TCP 80 and 443 out
// (policy drop of chain inet filter input)".
func (s State) String() string {
	name := s.Firewall
	if name == "" {
		return "no firewall filters incoming connections"
	}
	closed := s.Closed()
	if len(closed) == 0 {
		var ports []int
		for _, v := range s.Verdicts {
			ports = append(ports, v.Port)
		}
		return fmt.Sprintf("%s lets TCP %s in", name, portList(ports))
	}
	var parts []string
	for _, v := range closed {
		parts = append(parts, fmt.Sprintf("TCP %d (%s)", v.Port, v.Why))
	}
	return fmt.Sprintf("%s keeps %s out", name, strings.Join(parts, " and "))
}

// portList writes ports as "80", "80 and 443" or "22, 80 and 443".
func portList(ports []int) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = fmt.Sprint(p)
	}
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// verdicts asks decide about each port.
func verdicts(ports []int, decide func(port int) Verdict) []Verdict {
	out := make([]Verdict, len(ports))
	for i, p := range ports {
		out[i] = decide(p)
		out[i].Port = p
	}
	return out
}

// clean drops control characters (C0, DEL and C1) and format characters
// such as bidirectional overrides from text taken from a firewall's output
// before it is shown to a person, so what the box prints reads as it is.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, s)
}
