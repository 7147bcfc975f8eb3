package firewall

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Ruleset is an nftables ruleset as `nft -j list ruleset` prints it.
type Ruleset struct {
	chains map[string]*nftChain // by family/table/name
	sets   map[string][]json.RawMessage
	// base are the filter chains on the input hook, in the order the
	// kernel runs them (priority).
	base []*nftChain
}

type nftChain struct {
	Family string `json:"family"`
	Table  string `json:"table"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Hook   string `json:"hook"`
	Prio   int    `json:"prio"`
	Policy string `json:"policy"`
	rules  []nftRule
}

func (c *nftChain) String() string { return c.Family + " " + c.Table + " " + c.Name }

type nftRule struct {
	Family string            `json:"family"`
	Table  string            `json:"table"`
	Chain  string            `json:"chain"`
	Handle int               `json:"handle"`
	Expr   []json.RawMessage `json:"expr"`
}

type nftSet struct {
	Family string            `json:"family"`
	Table  string            `json:"table"`
	Name   string            `json:"name"`
	Elem   []json.RawMessage `json:"elem"`
}

func key(family, table, name string) string { return family + "/" + table + "/" + name }

// ParseNft reads the JSON of `nft -j list ruleset`.
func ParseNft(data []byte) (*Ruleset, error) {
	var doc struct {
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("read nft's ruleset: %w", err)
	}
	if doc.Nftables == nil {
		return nil, errors.New(`read nft's ruleset: there is no "nftables" list`)
	}
	rs := &Ruleset{chains: map[string]*nftChain{}, sets: map[string][]json.RawMessage{}}
	var rules []nftRule
	for _, obj := range doc.Nftables {
		for kind, raw := range obj {
			switch kind {
			case "chain":
				var c nftChain
				if err := json.Unmarshal(raw, &c); err != nil {
					return nil, fmt.Errorf("read nft's ruleset: a chain: %w", err)
				}
				rs.chains[key(c.Family, c.Table, c.Name)] = &c
			case "rule":
				var r nftRule
				if err := json.Unmarshal(raw, &r); err != nil {
					return nil, fmt.Errorf("read nft's ruleset: a rule: %w", err)
				}
				rules = append(rules, r)
			case "set":
				var s nftSet
				if err := json.Unmarshal(raw, &s); err != nil {
					return nil, fmt.Errorf("read nft's ruleset: a set: %w", err)
				}
				rs.sets[key(s.Family, s.Table, s.Name)] = s.Elem
			}
		}
	}
	for _, r := range rules {
		c := rs.chains[key(r.Family, r.Table, r.Chain)]
		if c == nil {
			return nil, fmt.Errorf("read nft's ruleset: a rule names chain %s %s %s, which it does not list", clean(r.Family), clean(r.Table), clean(r.Chain))
		}
		c.rules = append(c.rules, r)
	}
	for _, c := range rs.chains {
		if c.Hook == "input" && c.Type == "filter" && slices.Contains([]string{"ip", "ip6", "inet"}, c.Family) {
			rs.base = append(rs.base, c)
		}
	}
	slices.SortFunc(rs.base, func(a, b *nftChain) int {
		if a.Prio != b.Prio {
			return a.Prio - b.Prio
		}
		return strings.Compare(a.String(), b.String())
	})
	return rs, nil
}

// Filters reports whether the ruleset has any chain on the input hook,
// that is whether nftables looks at incoming connections at all.
func (rs *Ruleset) Filters() bool { return len(rs.base) > 0 }

// State says what the ruleset does with new TCP connections to ports.
// A connection gets in when every input chain accepts it: an accept in
// one chain passes it on to the next, a drop anywhere is final.
func (rs *Ruleset) State(ports ...int) State {
	st := State{Firewall: "nftables", Verdicts: verdicts(ports, rs.verdict)}
	if closed := st.Closed(); len(closed) > 0 {
		var nums []string
		for _, v := range closed {
			nums = append(nums, strconv.Itoa(v.Port))
		}
		_, chain := rs.decide(closed[0].Port)
		st.Fix = fmt.Sprintf("nft insert rule %s tcp dport { %s } accept (and the same rule in that chain in /etc/nftables.conf, so that it stays after a reboot)",
			clean(chain), strings.Join(nums, ", "))
	}
	return st
}

type nftDecision int

const (
	nftNone   nftDecision = iota // the chain ended, or returned
	nftAccept                    // accepted
	nftDrop                      // dropped or rejected
)

func (rs *Ruleset) verdict(port int) Verdict {
	v, _ := rs.decide(port)
	return v
}

// decide runs the connection through the input chains and returns the
// verdict and the chain that dropped it.
func (rs *Ruleset) decide(port int) (Verdict, string) {
	for _, c := range rs.base {
		d, why := rs.runChain(c, port, 0)
		if d == nftNone {
			if c.Policy == "drop" {
				return Verdict{Why: "policy drop of chain " + clean(c.String())}, c.String()
			}
			continue
		}
		if d == nftDrop {
			return Verdict{Why: why}, c.String()
		}
	}
	return Verdict{Open: true, Why: "accepted"}, ""
}

// maxJumps bounds how deep runChain follows jumps, against loops.
const maxJumps = 16

// runChain runs a new TCP connection to port from the Internet through
// chain c's rules, in order, following jumps; it says whether a rule
// decided and which.
func (rs *Ruleset) runChain(c *nftChain, port, depth int) (nftDecision, string) {
	if depth > maxJumps {
		return nftDrop, "jumps nested deeper than " + strconv.Itoa(maxJumps) + " chains in chain " + clean(c.String())
	}
	for _, r := range c.rules {
		verdict, target := rs.runRule(r, port)
		where := fmt.Sprintf("rule handle %d in chain %s", r.Handle, clean(c.String()))
		switch verdict {
		case "accept":
			return nftAccept, "accepted by " + where
		case "drop", "reject":
			return nftDrop, verdict + " " + where
		case "return":
			return nftNone, ""
		case "jump", "goto":
			next := rs.chains[key(c.Family, c.Table, target)]
			if next == nil {
				continue
			}
			d, why := rs.runChain(next, port, depth+1)
			if d != nftNone || verdict == "goto" {
				return d, why
			}
		}
	}
	return nftNone, ""
}

// runRule returns the verdict of rule r for the connection ("" when it
// does not match or has no verdict), and the target of a jump or goto.
func (rs *Ruleset) runRule(r nftRule, port int) (verdict, target string) {
	for _, raw := range r.Expr {
		var stmt map[string]json.RawMessage
		if json.Unmarshal(raw, &stmt) != nil {
			return "", ""
		}
		for kind, body := range stmt {
			switch kind {
			case "match":
				if rs.match(r, body, port) != yes {
					return "", ""
				}
			case "vmap":
				v, t := rs.vmap(r, body, port)
				if v == "" {
					return "", ""
				}
				return v, t
			case "accept", "drop", "reject", "return":
				return kind, ""
			case "jump", "goto":
				var t struct {
					Target string `json:"target"`
				}
				if json.Unmarshal(body, &t) != nil {
					return "", ""
				}
				return kind, t.Target
			case "counter", "log", "limit", "comment", "notrack", "meta", "mangle", "quota":
				// Statements that count, log or mark: the rule goes on.
			default:
				// Anything else (an iptables compatibility match, a
				// lookup, NAT) is not understood: take the rule as not
				// matching, so it can open nothing.
				return "", ""
			}
		}
	}
	return "", ""
}

type tri int

const (
	unknown tri = iota
	yes
	no
)

// match decides one "match" expression for the connection.
func (rs *Ruleset) match(r nftRule, body json.RawMessage, port int) tri {
	var m struct {
		Op    string          `json:"op"`
		Left  json.RawMessage `json:"left"`
		Right json.RawMessage `json:"right"`
	}
	if json.Unmarshal(body, &m) != nil {
		return unknown
	}
	got := rs.test(r, m.Left, m.Right, port)
	switch m.Op {
	case "==", "in", "":
		return got
	case "!=":
		switch got {
		case yes:
			return no
		case no:
			return yes
		}
	}
	return unknown
}

// test says whether the connection's value of left is in right.
func (rs *Ruleset) test(r nftRule, left, right json.RawMessage, port int) tri {
	var l struct {
		Payload *struct {
			Protocol string `json:"protocol"`
			Field    string `json:"field"`
		} `json:"payload"`
		Meta *struct {
			Key string `json:"key"`
		} `json:"meta"`
		CT *struct {
			Key string `json:"key"`
		} `json:"ct"`
	}
	if json.Unmarshal(left, &l) != nil {
		return unknown
	}
	switch {
	case l.Payload != nil && l.Payload.Field == "dport":
		switch l.Payload.Protocol {
		case "tcp", "th":
			return rs.holdsNumber(r, right, port)
		default:
			return no // udp, sctp…: not a TCP connection
		}
	case l.Payload != nil && l.Payload.Field == "sport" && l.Payload.Protocol != "tcp" && l.Payload.Protocol != "th":
		return no
	case l.Payload != nil && (l.Payload.Protocol == "ip" && l.Payload.Field == "protocol" || l.Payload.Protocol == "ip6" && l.Payload.Field == "nexthdr"):
		return rs.holdsString(r, right, "tcp")
	case l.Meta != nil && l.Meta.Key == "l4proto":
		return rs.holdsString(r, right, "tcp")
	case l.Meta != nil && (l.Meta.Key == "iifname" || l.Meta.Key == "iif"):
		// The connection comes from the Internet, never on loopback;
		// another interface name may or may not be the public one.
		if rs.holdsString(r, right, "lo") == yes {
			return no
		}
		return unknown
	case l.CT != nil && l.CT.Key == "state":
		return rs.holdsString(r, right, "new")
	}
	return unknown
}

// holdsNumber says whether right (a number, a range, a set, or a named
// set) holds n.
func (rs *Ruleset) holdsNumber(r nftRule, right json.RawMessage, n int) tri {
	var num int
	if json.Unmarshal(right, &num) == nil {
		return triOf(num == n)
	}
	var name string
	if json.Unmarshal(right, &name) == nil {
		if elems, ok := rs.named(r, name); ok {
			return anyOf(elems, func(e json.RawMessage) tri { return rs.holdsNumber(r, e, n) })
		}
		if p, ok := services[name]; ok {
			return triOf(p == n)
		}
		return unknown
	}
	var obj struct {
		Range []int             `json:"range"`
		Set   []json.RawMessage `json:"set"`
	}
	if json.Unmarshal(right, &obj) != nil {
		return unknown
	}
	switch {
	case len(obj.Range) == 2:
		return triOf(obj.Range[0] <= n && n <= obj.Range[1])
	case obj.Set != nil:
		return anyOf(obj.Set, func(e json.RawMessage) tri { return rs.holdsNumber(r, e, n) })
	}
	return unknown
}

// holdsString says whether right (a word, a list of words, a set or a
// named set) holds s.
func (rs *Ruleset) holdsString(r nftRule, right json.RawMessage, s string) tri {
	var word string
	if json.Unmarshal(right, &word) == nil {
		if elems, ok := rs.named(r, word); ok {
			return anyOf(elems, func(e json.RawMessage) tri { return rs.holdsString(r, e, s) })
		}
		return triOf(word == s)
	}
	var list []json.RawMessage
	if json.Unmarshal(right, &list) == nil {
		return anyOf(list, func(e json.RawMessage) tri { return rs.holdsString(r, e, s) })
	}
	var obj struct {
		Set []json.RawMessage `json:"set"`
	}
	if json.Unmarshal(right, &obj) == nil && obj.Set != nil {
		return anyOf(obj.Set, func(e json.RawMessage) tri { return rs.holdsString(r, e, s) })
	}
	var num int
	if json.Unmarshal(right, &num) == nil {
		// ip protocol 6 is tcp.
		return triOf(s == "tcp" && num == 6)
	}
	return unknown
}

// vmap looks the connection up in a verdict map on ct state or tcp dport.
func (rs *Ruleset) vmap(r nftRule, body json.RawMessage, port int) (verdict, target string) {
	var vm struct {
		Key  json.RawMessage `json:"key"`
		Data struct {
			Set [][2]json.RawMessage `json:"set"`
		} `json:"data"`
	}
	if json.Unmarshal(body, &vm) != nil {
		return "", ""
	}
	for _, pair := range vm.Data.Set {
		if rs.test(r, vm.Key, pair[0], port) != yes {
			continue
		}
		var v map[string]json.RawMessage
		if json.Unmarshal(pair[1], &v) != nil {
			return "", ""
		}
		for kind, body := range v {
			var t struct {
				Target string `json:"target"`
			}
			_ = json.Unmarshal(body, &t)
			return kind, t.Target
		}
	}
	return "", ""
}

// named returns the elements of the set @name in the rule's table.
func (rs *Ruleset) named(r nftRule, name string) ([]json.RawMessage, bool) {
	set, ok := strings.CutPrefix(name, "@")
	if !ok {
		return nil, false
	}
	elems, ok := rs.sets[key(r.Family, r.Table, set)]
	return elems, ok
}

// services are the port names nft may print instead of numbers.
var services = map[string]int{"http": 80, "https": 443, "ssh": 22, "www": 80}

func triOf(b bool) tri {
	if b {
		return yes
	}
	return no
}

// anyOf is yes when f is yes for an element, no when it is no for all,
// and unknown otherwise.
func anyOf(elems []json.RawMessage, f func(json.RawMessage) tri) tri {
	res := no
	for _, e := range elems {
		switch f(e) {
		case yes:
			return yes
		case unknown:
			res = unknown
		}
	}
	return res
}
