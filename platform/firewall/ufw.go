package firewall

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// UFW is what `ufw status verbose` shows.
type UFW struct {
	// Active is false when ufw is installed but not filtering.
	Active bool
	// Incoming is the default for incoming connections: allow, deny or
	// reject.
	Incoming string
	rules    []ufwRule
}

type ufwRule struct {
	to, action, dir, from string
	v6                    bool
	line                  string
}

// ufwRow splits a rule line: the To column (which may overflow its width
// by a space), the action and direction, and the From column.
var ufwRow = regexp.MustCompile(`^(.+?)\s+(ALLOW|DENY|REJECT|LIMIT)(?: (IN|OUT|FWD))?\s+(.+?)\s*$`)

// ParseUFW reads the output of `ufw status verbose`.
func ParseUFW(data []byte) (*UFW, error) {
	u := &UFW{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	sawStatus, inTable := false, false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Status: "):
			sawStatus = true
			u.Active = strings.TrimSpace(strings.TrimPrefix(line, "Status: ")) == "active"
		case strings.HasPrefix(line, "Default: "):
			// Default: deny (incoming), allow (outgoing), disabled (routed)
			for _, part := range strings.Split(strings.TrimPrefix(line, "Default: "), ",") {
				if f := strings.Fields(part); len(f) == 2 && f[1] == "(incoming)" {
					u.Incoming = f[0]
				}
			}
		case strings.HasPrefix(line, "--"):
			inTable = true
		case inTable && strings.TrimSpace(line) != "":
			m := ufwRow.FindStringSubmatch(line)
			if m == nil {
				return nil, fmt.Errorf("read ufw's status: a rule line %q has no action", clean(line))
			}
			r := ufwRule{to: m[1], action: m[2], dir: m[3], from: m[4], line: clean(strings.TrimSpace(line))}
			if r.dir == "" {
				r.dir = "IN"
			}
			if strings.Contains(r.to, "(v6)") || strings.Contains(r.from, "(v6)") {
				r.v6 = true
			}
			u.rules = append(u.rules, r)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read ufw's status: %w", err)
	}
	if !sawStatus {
		return nil, errors.New(`read ufw's status: there is no "Status:" line`)
	}
	if u.Active && u.Incoming == "" {
		return nil, errors.New(`read ufw's status: there is no "Default: … (incoming)" (run ufw status verbose)`)
	}
	return u, nil
}

// State says what ufw does with new TCP connections from anywhere over
// IPv4 to ports: the first rule that applies decides, else the default
// for incoming connections. A rule limited to some sources, addresses or
// interfaces does not count as opening a port.
func (u *UFW) State(ports ...int) State {
	if !u.Active {
		return State{Verdicts: verdicts(ports, func(int) Verdict { return Verdict{Open: true, Why: "ufw is inactive"} })}
	}
	st := State{Firewall: "ufw", Verdicts: verdicts(ports, u.verdict)}
	var fixes []string
	for _, v := range st.Closed() {
		if strings.HasPrefix(v.Why, "rule ") {
			fixes = append(fixes, fmt.Sprintf("delete the %s (ufw status numbered, then ufw delete N) and run ufw allow %d/tcp", v.Why, v.Port))
		} else {
			fixes = append(fixes, fmt.Sprintf("ufw allow %d/tcp", v.Port))
		}
	}
	st.Fix = strings.Join(fixes, "; ")
	return st
}

func (u *UFW) verdict(port int) Verdict {
	for _, r := range u.rules {
		if r.v6 || r.dir != "IN" || !anywhere(r.from) {
			continue
		}
		if !toAnywhere(r.to, port) {
			continue
		}
		if r.action == "ALLOW" || r.action == "LIMIT" {
			return Verdict{Open: true, Why: "rule " + strconv.Quote(r.line)}
		}
		return Verdict{Why: "rule " + strconv.Quote(r.line)}
	}
	if u.Incoming == "allow" {
		return Verdict{Open: true, Why: "default allow (incoming)"}
	}
	return Verdict{Why: "default " + clean(u.Incoming) + " (incoming) and no rule allows it"}
}

func anywhere(from string) bool {
	f := strings.Fields(from)
	return len(f) > 0 && f[0] == "Anywhere" && (len(f) == 1 || f[1] == "(v6)")
}

// toAnywhere reports whether a To column ("80/tcp", "443", "80,443/tcp
// (WWW Full)", "80:443/tcp", "Anywhere") takes TCP connections to port on
// any of the host's addresses and interfaces.
func toAnywhere(to string, port int) bool {
	// An application profile's name follows its ports in parentheses.
	if i := strings.Index(to, " ("); i >= 0 {
		to = to[:i]
	}
	f := strings.Fields(to)
	if len(f) != 1 {
		return false // an address and a port, or "on eth0"
	}
	spec := f[0]
	if spec == "Anywhere" {
		return true
	}
	ports, proto, _ := strings.Cut(spec, "/")
	if proto != "" && proto != "tcp" {
		return false
	}
	for _, p := range strings.Split(ports, ",") {
		lo, hi, isRange := strings.Cut(p, ":")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return false // an address alone, or a service name
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				return false
			}
		}
		if a <= port && port <= b {
			return true
		}
	}
	return false
}
