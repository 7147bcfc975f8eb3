package firewall

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

func read(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// want is what a test expects of ports 80 and 443, and a word of why.
type want struct {
	open80, open443 bool
	why             string // in the first closed port's Why, or "" when all are open
	fix             string // in Fix
}

func check(t *testing.T, st State, w want) {
	t.Helper()
	if len(st.Verdicts) != 2 || st.Verdicts[0].Port != 80 || st.Verdicts[1].Port != 443 {
		t.Fatalf("verdicts %+v, want one for 80 then one for 443", st.Verdicts)
	}
	if st.Verdicts[0].Open != w.open80 || st.Verdicts[1].Open != w.open443 {
		t.Errorf("open 80=%v 443=%v, want 80=%v 443=%v (%s)", st.Verdicts[0].Open, st.Verdicts[1].Open, w.open80, w.open443, st)
	}
	closed := st.Closed()
	if len(closed) > 0 && !strings.Contains(closed[0].Why, w.why) {
		t.Errorf("why %q, want it to name %q", closed[0].Why, w.why)
	}
	if !strings.Contains(st.Fix, w.fix) || (len(closed) == 0) != (st.Fix == "") {
		t.Errorf("fix %q for %d closed ports, want it to hold %q", st.Fix, len(closed), w.fix)
	}
}

// The nft cases are real output of nft on Debian 12 (testdata/nft/README).
func TestNftRulesetsRealOutput(t *testing.T) {
	cases := map[string]want{
		"empty":                    {true, true, "", ""},
		"debian-default":           {true, true, "", ""},
		"drop-closed":              {false, false, "policy drop of chain inet filter input", "nft insert rule inet filter input tcp dport { 80, 443 } accept"},
		"drop-set-open":            {true, true, "", ""},
		"drop-separate-lines-open": {true, true, "", ""},
		"accept-but-443-rejected":  {true, false, "reject rule handle 2 in chain inet filter input", "tcp dport { 443 } accept"},
		"jump-chain-open":          {true, true, "", ""},
		"two-tables-one-drops":     {true, false, "policy drop of chain ip guard input", "nft insert rule ip guard input tcp dport { 443 } accept"},
		"source-limited":           {false, false, "policy drop of chain inet filter input", "tcp dport { 80, 443 }"},
	}
	for name, w := range cases {
		t.Run(name, func(t *testing.T) {
			rs, err := ParseNft(read(t, "nft/"+name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			check(t, rs.State(80, 443), w)
		})
	}
}

func TestNftEmptyRulesetFiltersNothing(t *testing.T) {
	rs, err := ParseNft(read(t, "nft/empty.json"))
	if err != nil {
		t.Fatal(err)
	}
	if rs.Filters() {
		t.Error("an empty ruleset says it filters")
	}
	rs, _ = ParseNft(read(t, "nft/drop-closed.json"))
	if !rs.Filters() {
		t.Error("a ruleset with an input chain says it filters nothing")
	}
}

func TestNftRefusesWhatIsNotARuleset(t *testing.T) {
	for _, in := range []string{"", "{}", `{"nftables": 3}`, "Error: Could not process rule: Operation not permitted",
		`{"nftables": [{"rule": {"family": "inet", "table": "t", "chain": "missing", "expr": []}}]}`} {
		if _, err := ParseNft([]byte(in)); err == nil {
			t.Errorf("ParseNft(%q) accepted it", in)
		}
	}
}

// The ufw cases are real output of ufw status verbose on Debian 12
// (testdata/ufw/README).
func TestUFWStatusRealOutput(t *testing.T) {
	cases := map[string]want{
		"active-closed": {false, false, "default deny (incoming)", "ufw allow 80/tcp; ufw allow 443/tcp"},
		"active-open":   {true, true, "", ""},
		// 80 is allowed from 10.0.0.0/8 only, but WWW Full opens it to
		// all; 443 is denied by a rule that comes before WWW Full.
		"active-source-and-deny-first": {true, false, `rule "443/tcp                    DENY IN     Anywhere"`, "ufw delete N"},
		"active-app-profile":           {true, true, "", ""},
		"default-allow-80-rejected":    {false, true, `rule "80/tcp                     REJECT IN   Anywhere"`, "ufw delete N"},
		"range-open":                   {true, true, "", ""},
		"inactive":                     {true, true, "", ""},
	}
	for name, w := range cases {
		t.Run(name, func(t *testing.T) {
			u, err := ParseUFW(read(t, "ufw/"+name+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			st := u.State(80, 443)
			check(t, st, w)
			if name == "inactive" && st.Firewall != "" {
				t.Errorf("inactive ufw is named as the firewall: %q", st.Firewall)
			}
		})
	}
}

func TestUFWRefusesWhatIsNotItsStatus(t *testing.T) {
	for _, in := range []string{"", "ERROR: You need to be root to run this script", "Status: active\n",
		"Status: active\nDefault: deny (incoming)\n\nTo Action From\n-- ------ ----\nnonsense\n"} {
		if _, err := ParseUFW([]byte(in)); err == nil {
			t.Errorf("ParseUFW(%q) accepted it", in)
		}
	}
}

// The firewalld cases are stand-ins in the documented format
// (testdata/firewalld/README): no RHEL-family host runs here.
func TestFirewalldListAllStandIns(t *testing.T) {
	cases := map[string]want{
		"fresh":                {false, false, "zone public (target default)", "firewall-cmd --permanent --zone=public --add-port=80/tcp --add-port=443/tcp && firewall-cmd --reload"},
		"services-added":       {true, true, "", ""},
		"ports-and-rich-rules": {true, false, "neither the service nor the port", "--add-port=443/tcp"},
		"trusted":              {true, true, "", ""},
	}
	for name, w := range cases {
		t.Run(name, func(t *testing.T) {
			z, err := ParseFirewalld(read(t, "firewalld/"+name+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			check(t, z.State(80, 443), w)
		})
	}
	if _, err := ParseFirewalld([]byte("FirewallD is not running\n")); err == nil {
		t.Error("ParseFirewalld accepted firewalld's refusal")
	}
}

// The pf cases are stand-ins in the documented format
// (testdata/pf/README): no OpenBSD host runs here.
func TestPFRulesStandIns(t *testing.T) {
	anchor := map[string][]byte{"chatbox": read(t, "pf/anchor-chatbox.txt")}
	cases := []struct {
		name    string
		enabled bool
		main    string
		anchors map[string][]byte
		w       want
	}{
		{"OpenBSD's default passes all", true, "default", nil, want{true, true, "", ""}},
		{"the chatbox anchor opens the ports", true, "with-anchor", anchor, want{true, true, "", ""}},
		{"a strict ruleset opens 80 to one network and blocks 443 quick", true, "strict", anchor,
			want{true, false, `rule "block drop in quick on egress proto tcp from any to any port = 443"`, "pass in quick proto tcp to port { 443 }"}},
		{"a strict ruleset without its anchor keeps both out", true, "strict", nil,
			want{false, false, `rule "block drop all"`, "pass in quick proto tcp to port { 80 443 }"}},
		{"a disabled pf lets everything in", false, "strict", nil, want{true, true, "", ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pf, err := ParsePF(c.enabled, read(t, "pf/"+c.main+".txt"), c.anchors)
			if err != nil {
				t.Fatal(err)
			}
			check(t, pf.State(80, 443), c.w)
		})
	}
	pf, _ := ParsePF(true, read(t, "pf/strict.txt"), nil)
	if got := pf.Anchors(); len(got) != 1 || got[0] != "chatbox" {
		t.Errorf("anchors %q, want chatbox", got)
	}
	if _, err := ParsePF(true, []byte("pfctl: /dev/pf: Permission denied\n"), nil); err == nil {
		t.Error("ParsePF accepted pfctl's refusal")
	}
}

// printable fails when text meant for a person holds a control character
// or a format character (a bidirectional override can make a line read
// otherwise than it is).
func printable(t *testing.T, st State) {
	t.Helper()
	for _, s := range append([]string{st.String(), st.Fix}, func() []string {
		var w []string
		for _, v := range st.Verdicts {
			w = append(w, v.Why)
		}
		return w
	}()...) {
		if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) >= 0 {
			t.Fatalf("%q holds a control or format character", s)
		}
	}
	if len(st.Verdicts) != 2 {
		t.Fatalf("%d verdicts for 2 ports", len(st.Verdicts))
	}
}

func seed(f *testing.F, dir string) {
	files, _ := filepath.Glob(filepath.Join("testdata", dir, "*"))
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
}

// The fuzz targets feed each parser arbitrary bytes, seeded with the real
// and stand-in outputs: none may panic or loop, and whatever it says
// about a port is printable.
func FuzzParseNft(f *testing.F) {
	seed(f, "nft")
	f.Add([]byte(`{"nftables":[{"chain":{"family":"inet","table":"t","name":"a","type":"filter","hook":"input","policy":"drop"}},{"chain":{"family":"inet","table":"t","name":"b"}},{"rule":{"family":"inet","table":"t","chain":"a","expr":[{"jump":{"target":"b"}}]}},{"rule":{"family":"inet","table":"t","chain":"b","expr":[{"jump":{"target":"a"}}]}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := ParseNft(data)
		if err != nil {
			return
		}
		printable(t, rs.State(80, 443))
	})
}

func FuzzParseUFW(f *testing.F) {
	seed(f, "ufw")
	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := ParseUFW(data)
		if err != nil {
			return
		}
		printable(t, u.State(80, 443))
	})
}

func FuzzParseFirewalld(f *testing.F) {
	seed(f, "firewalld")
	f.Fuzz(func(t *testing.T, data []byte) {
		z, err := ParseFirewalld(data)
		if err != nil {
			return
		}
		printable(t, z.State(80, 443))
	})
}

func FuzzParsePF(f *testing.F) {
	seed(f, "pf")
	f.Fuzz(func(t *testing.T, data []byte) {
		main, anchor, _ := strings.Cut(string(data), "\n--\n")
		pf, err := ParsePF(true, []byte(main), map[string][]byte{"chatbox": []byte(anchor)})
		if err != nil {
			return
		}
		printable(t, pf.State(80, 443))
	})
}
