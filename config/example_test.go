package config

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// configKeys lists every key of Config as "section.key".
func configKeys() []string {
	var keys []string
	ct := reflect.TypeFor[Config]()
	for i := range ct.NumField() {
		sec := ct.Field(i)
		for j := range sec.Type.NumField() {
			keys = append(keys, sec.Tag.Get("toml")+"."+sec.Type.Field(j).Tag.Get("toml"))
		}
	}
	return keys
}

func TestExampleHoldsTheDefaults(t *testing.T) {
	cfg, err := Parse([]byte(Example))
	if err != nil {
		t.Fatalf("example.toml does not parse: %v", err)
	}
	if !reflect.DeepEqual(cfg, Default()) {
		t.Errorf("example.toml's uncommented values differ from Default():\n got %+v\nwant %+v", cfg, Default())
	}
}

var (
	sectionLine   = regexp.MustCompile(`^\[([a-z_]+)\]$`)
	commentedLine = regexp.MustCompile(`^# ([a-z_0-9]+) = .+$`)
)

func TestExampleDocumentsEveryKey(t *testing.T) {
	var active toml.MetaData
	var err error
	if active, err = toml.Decode(Example, new(Config)); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, k := range active.Keys() {
		if len(k) == 2 {
			documented[k.String()] = true
		}
	}
	section := ""
	for n, line := range strings.Split(Example, "\n") {
		if m := sectionLine.FindStringSubmatch(line); m != nil {
			section = m[1]
			continue
		}
		m := commentedLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		// A commented example must be a real key with a value of the
		// right type once uncommented.
		md, err := toml.Decode("["+section+"]\n"+strings.TrimPrefix(line, "# "), new(Config))
		if err != nil {
			t.Errorf("example.toml line %d (%q) does not decode when uncommented: %v", n+1, line, err)
			continue
		}
		if u := md.Undecoded(); len(u) > 0 {
			t.Errorf("example.toml line %d shows %s, which is not a key", n+1, u[0])
			continue
		}
		documented[section+"."+m[1]] = true
	}
	for _, key := range configKeys() {
		if !documented[key] {
			t.Errorf("example.toml does not document %s", key)
		}
	}
	for key := range documented {
		if !slices.Contains(configKeys(), key) {
			t.Errorf("example.toml documents %s, which Config does not have", key)
		}
	}
}

func TestParseNamesTheKeyOfAMistake(t *testing.T) {
	cases := []struct {
		name    string
		toml    string
		wantKey string
	}{
		{"a domain with a scheme", "[server]\ndomain = \"https://chat.example.com\"", "server.domain"},
		{"an IP that is not one", "[server]\nip = \"300.1.2.3\"", "server.ip"},
		{"a listen address without a port", "[server]\nhttps_listen = \"0.0.0.0\"", "server.https_listen"},
		{"an empty data folder", "[server]\ndata_dir = \"\"", "server.data_dir"},
		{"a proxy that is neither address nor CIDR", "[server]\ntrusted_proxies = [\"proxy\"]", "server.trusted_proxies"},
		{"an unknown challenge", "[tls]\nchallenge = \"dns-02\"", "tls.challenge"},
		{"dns-01 without a provider", "[server]\ndomain = \"chat.example.com\"\n[tls]\nchallenge = \"dns-01\"", "tls.challenge"},
		{"a plain-HTTP ACME directory", "[tls]\nca = \"http://ca.example/dir\"", "tls.ca"},
		{"a resolver that is a name", "[tls]\nresolvers = [\"dns.example\"]", "tls.resolvers"},
		{"an unsupported DNS provider", "[dns]\nprovider = \"route53\"", "dns.provider"},
		{"cloudflare without a token", "[dns]\nprovider = \"cloudflare\"", "dns.api_token"},
		{"dynamic DNS without a provider", "[server]\ndomain = \"chat.example.com\"\n[dyndns]\nenabled = true", "dyndns.enabled"},
		{"a dynamic DNS interval that is too short", "[server]\ndomain = \"chat.example.com\"\n[dns]\nprovider = \"cloudflare\"\napi_token = \"t\"\n[dyndns]\nenabled = true\ninterval = \"1s\"", "dyndns.interval"},
		{"an unknown address detection method", "[server]\nip_detect = \"whatismyip\"", "server.ip_detect"},
		{"a url detection without a URL", "[server]\nip_detect = \"url:\"", "server.ip_detect"},
		{"a static detection without an address", "[server]\nip_detect = \"static:box\"", "server.ip_detect"},
		{"address detection for a box with a domain", "[server]\ndomain = \"chat.example.com\"\nip_detect = \"cloudflare.trace\"", "server.ip_detect"},
		{"address detection checked too often", "[server]\nip_detect = \"cloudflare.trace\"\n[dyndns]\ninterval = \"1s\"", "dyndns.interval"},
		{"a duration without a unit", "[room]\nretention_age = \"30\"", "retention_age"},
		{"a size that is not one", "[room]\nmax_file_size = \"big\"", "max_file_size"},
		{"a zero message length", "[room]\nmax_message_length = 0", "room.max_message_length"},
		{"a quota below the file size", "[room]\nquota = \"1MiB\"", "room.quota"},
		{"no clients allowed", "[limits]\nmax_clients = 0", "limits.max_clients"},
		{"a negative nickname hold", "[room]\nnick_hold = \"-1m\"", "room.nick_hold"},
		{"a nickname held for days", "[room]\nnick_hold = \"48h\"", "room.nick_hold"},
		{"an unknown key", "[server]\nport = 443", "server.port"},
		{"an unknown mode", "[server]\nmode = \"cdn\"", "server.mode"},
		{"proxy mode without a public URL", "[server]\nmode = \"proxy\"", "server.public_url"},
		{"proxy mode with a plain-HTTP public name", "[server]\nmode = \"proxy\"\npublic_url = \"http://chat.example.com/\"", "server.public_url"},
		{"proxy mode listening on every address", "[server]\nmode = \"proxy\"\nlisten = \":8080\"\npublic_url = \"https://chat.example.com/\"", "server.listen"},
		{"proxy mode listening on a public address", "[server]\nmode = \"proxy\"\nlisten = \"203.0.113.7:8080\"\npublic_url = \"https://chat.example.com/\"", "server.listen"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.toml))
			if err == nil || !strings.Contains(err.Error(), tc.wantKey) {
				t.Errorf("Parse(%q) = %v, want an error naming %s", tc.toml, err, tc.wantKey)
			}
		})
	}
}

func TestParseAcceptsProxyMode(t *testing.T) {
	for _, tc := range []string{
		"[server]\nmode = \"proxy\"\npublic_url = \"https://chat.example.com/\"",
		"[server]\nmode = \"proxy\"\nlisten = \"10.0.0.5:8080\"\npublic_url = \"https://chat.example.com/\"",
		"[server]\nmode = \"proxy\"\nlisten = \"[::1]:8080\"\npublic_url = \"http://127.0.0.1:8081/\"",
	} {
		cfg, err := Parse([]byte(tc))
		if err != nil {
			t.Errorf("Parse(%q): %v", tc, err)
			continue
		}
		if got := cfg.Server.Proxies(); len(got) != 2 || got[0] != "127.0.0.0/8" {
			t.Errorf("Parse(%q) trusts %v, want loopback", tc, got)
		}
	}
}

func TestParseAcceptsEachAddressDetectionMethod(t *testing.T) {
	for _, method := range []string{"cloudflare.trace", "url:https://ip.example/", "iface:eth0", "static:203.0.113.7", "static:2001:db8::7"} {
		for _, ip := range []string{"", "203.0.113.7"} {
			text := fmt.Sprintf("[server]\nip = %q\nip_detect = %q\n", ip, method)
			cfg, err := Parse([]byte(text))
			if err != nil {
				t.Errorf("Parse(%q): %v", text, err)
				continue
			}
			if cfg.Server.IPDetect != method || cfg.Server.IP != ip {
				t.Errorf("Parse(%q) = ip %q, ip_detect %q", text, cfg.Server.IP, cfg.Server.IPDetect)
			}
		}
	}
}
