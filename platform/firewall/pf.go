package firewall

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// PF is an OpenBSD pf ruleset as `pfctl -sr` prints it, with the rules
// of the anchors it loads (`pfctl -a NAME -sr`).
type PF struct {
	// Enabled is false when pf is off (pfctl -si says "Status: Disabled").
	Enabled bool
	rules   []pfRule
	anchors map[string][]pfRule
}

type pfRule struct {
	line   string
	action string // pass, block, match or anchor
	anchor string
	in     bool // in, or no direction
	quick  bool
	// applies is false when the rule matches only some connections from
	// the Internet (a source address, loopback, another protocol).
	applies bool
	port    func(int) bool // nil: any port
}

// ParsePF reads `pfctl -sr` output (main) and the output of `pfctl -a
// NAME -sr` for the anchors main loads. enabled is what `pfctl -si`
// says.
func ParsePF(enabled bool, main []byte, anchors map[string][]byte) (*PF, error) {
	pf := &PF{Enabled: enabled, anchors: map[string][]pfRule{}}
	var err error
	if pf.rules, err = parsePFRules(main); err != nil {
		return nil, err
	}
	for name, data := range anchors {
		if pf.anchors[name], err = parsePFRules(data); err != nil {
			return nil, fmt.Errorf("anchor %q: %w", clean(name), err)
		}
	}
	return pf, nil
}

// Anchors lists the anchors the main ruleset loads, for pfctl -a.
func (pf *PF) Anchors() []string {
	var names []string
	for _, r := range pf.rules {
		if r.action == "anchor" && r.anchor != "" {
			names = append(names, r.anchor)
		}
	}
	return names
}

func parsePFRules(data []byte) ([]pfRule, error) {
	var rules []pfRule
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r, err := parsePFRule(line)
		if err != nil {
			return nil, err
		}
		rules = append(rules, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read pf's rules: %w", err)
	}
	return rules, nil
}

func parsePFRule(line string) (pfRule, error) {
	f := strings.Fields(line)
	r := pfRule{line: clean(line), in: true, applies: true}
	switch f[0] {
	case "pass", "block", "match":
		r.action = f[0]
	case "anchor":
		r.action = "anchor"
		if len(f) > 1 {
			r.anchor = strings.Trim(f[1], `"`)
		}
	default:
		return r, fmt.Errorf("read pf's rules: %q is not a pass, block, match or anchor rule", r.line)
	}
	for i := 1; i < len(f); i++ {
		switch f[i] {
		case "out":
			r.in = false
		case "quick":
			r.quick = true
		case "on":
			if i+1 < len(f) && f[i+1] == "!" {
				i++ // on ! lo0: every interface but one
				continue
			}
			if i+1 < len(f) && strings.HasPrefix(f[i+1], "lo") {
				r.applies = false
			}
		case "proto":
			if i+1 < len(f) && f[i+1] != "tcp" && f[i+1] != "6" {
				r.applies = false
			}
		case "from":
			if i+1 < len(f) && f[i+1] != "any" {
				r.applies = false // some sources only
			}
			if i+3 < len(f) && f[i+2] == "port" {
				r.applies = false // a source port: not every connection
			}
		case "to":
			if i+1 < len(f) && !anyAddr(f[i+1]) {
				r.applies = false
			}
			if i+2 < len(f) && f[i+2] == "port" {
				match, n := pfPort(f[i+3:])
				if match == nil {
					r.applies = false
				}
				r.port = match
				i += 2 + n
			}
		case "rdr-to", "nat-to", "divert-to", "route-to", "af-to":
			i = len(f) // the rest says where the packet goes, not which
		}
	}
	return r, nil
}

func anyAddr(a string) bool {
	return a == "any" || a == "self" || a == "(self)" || a == "egress" || a == "(egress)"
}

// pfPort reads a port operator as pfctl prints it ("= 80", "80",
// "6000:6010", "!= 22", "> 1023", "1000 >< 2000") and returns a test and
// how many words it took; nil when it cannot read it.
func pfPort(w []string) (func(int) bool, int) {
	if len(w) == 0 {
		return nil, 0
	}
	num := func(s string) (int, bool) { n, err := strconv.Atoi(s); return n, err == nil }
	if len(w) >= 3 && (w[1] == "><" || w[1] == "<>") {
		a, ok1 := num(w[0])
		b, ok2 := num(w[2])
		if !ok1 || !ok2 {
			return nil, 3
		}
		if w[1] == "><" {
			return func(p int) bool { return a < p && p < b }, 3
		}
		return func(p int) bool { return p < a || p > b }, 3
	}
	if lo, hi, ok := strings.Cut(w[0], ":"); ok {
		a, ok1 := num(lo)
		b, ok2 := num(hi)
		if !ok1 || !ok2 {
			return nil, 1
		}
		return func(p int) bool { return a <= p && p <= b }, 1
	}
	if n, ok := num(w[0]); ok {
		return func(p int) bool { return p == n }, 1
	}
	if len(w) < 2 {
		return nil, 1
	}
	n, ok := num(w[1])
	if !ok {
		n, ok = services[w[1]]
	}
	if !ok {
		return nil, 2
	}
	switch w[0] {
	case "=":
		return func(p int) bool { return p == n }, 2
	case "!=":
		return func(p int) bool { return p != n }, 2
	case "<":
		return func(p int) bool { return p < n }, 2
	case "<=":
		return func(p int) bool { return p <= n }, 2
	case ">":
		return func(p int) bool { return p > n }, 2
	case ">=":
		return func(p int) bool { return p >= n }, 2
	}
	return nil, 2
}

// State says what pf does with new TCP connections from the Internet to
// ports: the last matching rule decides unless a quick rule stops first,
// and anchors are evaluated where they are loaded. A pass rule limited to
// some sources does not count as opening a port.
func (pf *PF) State(ports ...int) State {
	if !pf.Enabled {
		return State{Verdicts: verdicts(ports, func(int) Verdict { return Verdict{Open: true, Why: "pf is disabled"} })}
	}
	st := State{Firewall: "pf", Verdicts: verdicts(ports, pf.verdict)}
	var nums []string
	for _, v := range st.Closed() {
		nums = append(nums, strconv.Itoa(v.Port))
	}
	if len(nums) > 0 {
		st.Fix = fmt.Sprintf("add \"pass in quick proto tcp to port { %s }\" to /etc/pf.conf and run pfctl -f /etc/pf.conf", strings.Join(nums, " "))
	}
	return st
}

func (pf *PF) verdict(port int) Verdict {
	last := Verdict{Open: true, Why: "no rule matches, and pf passes by default"}
	stop := false
	var run func(rules []pfRule, depth int)
	run = func(rules []pfRule, depth int) {
		for _, r := range rules {
			if stop {
				return
			}
			if r.action == "anchor" {
				if sub, ok := pf.anchors[r.anchor]; ok && depth < maxJumps && r.applies && r.in {
					run(sub, depth+1)
				}
				continue
			}
			if r.action == "match" || !r.in || !r.applies || (r.port != nil && !r.port(port)) {
				continue
			}
			last = Verdict{Open: r.action == "pass", Why: "rule " + strconv.Quote(r.line)}
			if r.quick {
				stop = true
			}
		}
	}
	run(pf.rules, 0)
	return last
}
