package roomurl_test

import (
	"testing"

	"github.com/chatbox-dev/chatbox/internal/roomurl"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name, scheme, host string
		port               int
		want               string
	}{
		{"a domain on https's own port has no port", "https", "chat.example.com", 443, "https://chat.example.com/"},
		{"a domain on plain http's own port has no port", "http", "chat.example.com", 80, "http://chat.example.com/"},
		{"port 0 means the scheme's default", "https", "chat.example.com", 0, "https://chat.example.com/"},
		{"another port is kept", "https", "chat.example.com", 8443, "https://chat.example.com:8443/"},
		{"http's port on https is kept", "https", "chat.example.com", 80, "https://chat.example.com:80/"},
		{"an IPv4 address stays bare", "https", "203.0.113.7", 443, "https://203.0.113.7/"},
		{"an IPv6 address is bracketed", "https", "2001:db8::7", 443, "https://[2001:db8::7]/"},
		{"an IPv6 address with a port is bracketed once", "http", "::1", 8080, "http://[::1]:8080/"},
		{"a bracketed IPv6 address is not bracketed again", "https", "[2001:db8::7]", 443, "https://[2001:db8::7]/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := roomurl.New(tt.scheme, tt.host, tt.port).String(); got != tt.want {
				t.Errorf("New(%q, %q, %d) = %q, want %q", tt.scheme, tt.host, tt.port, got, tt.want)
			}
		})
	}
}

func TestFromAuthority(t *testing.T) {
	tests := []struct {
		name, scheme, authority, want string
	}{
		{"a bare name", "https", "chat.example.com", "https://chat.example.com/"},
		{"a name with the default port loses it", "https", "chat.example.com:443", "https://chat.example.com/"},
		{"a name with another port keeps it", "http", "127.0.0.1:8080", "http://127.0.0.1:8080/"},
		{"a bracketed IPv6 address without a port", "https", "[2001:db8::7]", "https://[2001:db8::7]/"},
		{"a bracketed IPv6 address with a port", "https", "[2001:db8::7]:8443", "https://[2001:db8::7]:8443/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := roomurl.FromAuthority(tt.scheme, tt.authority).String(); got != tt.want {
				t.Errorf("FromAuthority(%q, %q) = %q, want %q", tt.scheme, tt.authority, got, tt.want)
			}
		})
	}
}

func TestRoom(t *testing.T) {
	tests := []struct{ name, host, want string }{
		{"a domain", "chat.example.com", "https://chat.example.com/"},
		{"an IPv4 address", "203.0.113.7", "https://203.0.113.7/"},
		{"an IPv6 address", "2001:db8::7", "https://[2001:db8::7]/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := roomurl.Room(tt.host); got != tt.want {
				t.Errorf("Room(%q) = %q, want %q", tt.host, got, tt.want)
			}
		})
	}
}

func TestHealth(t *testing.T) {
	tests := []struct{ name, listen, want string }{
		{"all addresses are asked on loopback", ":80", "http://127.0.0.1/healthz"},
		{"the unspecified IPv4 address is asked on loopback", "0.0.0.0:80", "http://127.0.0.1/healthz"},
		{"the unspecified IPv6 address is asked on loopback", "[::]:8080", "http://127.0.0.1:8080/healthz"},
		{"a loopback port of its own is kept (OpenBSD)", "127.0.0.1:8080", "http://127.0.0.1:8080/healthz"},
		{"an IPv6 listener is bracketed", "[::1]:8080", "http://[::1]:8080/healthz"},
		{"no address at all is port 80 on loopback", "", "http://127.0.0.1/healthz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := roomurl.Health(tt.listen); got != tt.want {
				t.Errorf("Health(%q) = %q, want %q", tt.listen, got, tt.want)
			}
		})
	}
}
