package dyndns_test

import (
	"strings"
	"testing"

	"github.com/chatbox-dev/chatbox/dyndns"
)

// trace is what Cloudflare's /cdn-cgi/trace answers (shortened).
const trace = `fl=123f45
h=1.1.1.1
ip=203.0.113.7
ts=1700000000.123
visit_scheme=https
uag=Go-http-client/1.1
colo=FRA
http=http/1.1
loc=DE
tls=TLSv1.3
sni=off
warp=off
gateway=off
`

func TestParseAddress(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"a trace answer gives its ip= line", trace, "203.0.113.7"},
		{"a trace answer over IPv6 gives the IPv6 address", strings.Replace(trace, "203.0.113.7", "2001:db8::7", 1), "2001:db8::7"},
		{"a bare address with a newline is read", "203.0.113.7\n", "203.0.113.7"},
		{"white space around the address is ignored", "  \t2001:db8::7 \r\n", "2001:db8::7"},
		{"an empty answer is refused", "", ""},
		{"an HTML page is refused", "<html><body>203.0.113.7</body></html>", ""},
		{"two addresses are refused", "203.0.113.7 203.0.113.8", ""},
		{"a trace answer with an empty ip= is refused", "fl=1\nip=\nts=2\n", ""},
		{"an address with a zone is refused", "fe80::1%eth0", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dyndns.ParseAddress([]byte(tt.body))
			if tt.want == "" {
				if err == nil {
					t.Fatalf("ParseAddress(%q) = %v, want an error", tt.body, got)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("ParseAddress(%q) = %v, %v; want %s", tt.body, got, err, tt.want)
			}
		})
	}
}

// FuzzParseAddress checks that any answer either fails with a short error
// or gives a valid address without a zone, and that an address always reads
// back as itself.
func FuzzParseAddress(f *testing.F) {
	f.Add([]byte(trace))
	f.Add([]byte("203.0.113.7\n"))
	f.Add([]byte("2001:db8::7"))
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := dyndns.ParseAddress(body)
		if err != nil {
			if len(err.Error()) > 200 {
				t.Errorf("error is %d bytes long; a long answer must be shortened", len(err.Error()))
			}
			return
		}
		if !a.IsValid() || a.Zone() != "" {
			t.Fatalf("ParseAddress(%q) = %v, which is invalid or has a zone", body, a)
		}
		back, err := dyndns.ParseAddress([]byte(a.String()))
		if err != nil || back != a {
			t.Fatalf("ParseAddress(%q) = %v, %v; want %v back", a.String(), back, err, a)
		}
	})
}
