package box

import (
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLocalCASignsOnlyForTheBox(t *testing.T) {
	cases := []struct {
		name     string
		box      string
		other    string
		otherErr bool
	}{
		{"a domain's CA signs for that domain", "chat.example.com", "chat.example.com", false},
		{"a domain's CA does not sign for another domain", "chat.example.com", "bank.example", true},
		{"a domain's CA does not sign for an IP address", "chat.example.com", "203.0.113.7", true},
		{"an IP's CA signs for that IP", "192.168.1.20", "192.168.1.20", false},
		{"an IP's CA does not sign for another IP", "192.168.1.20", "192.168.1.21", true},
		{"an IP's CA does not sign for a domain", "192.168.1.20", "bank.example", true},
		{"an IPv6 address's CA signs for it", "2001:db8::20", "2001:db8::20", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Now()
			ca, err := newLocalCA(tc.box, now)
			if err != nil {
				t.Fatal(err)
			}
			leaf, err := ca.issue(tc.other, now)
			if err != nil {
				t.Fatal(err)
			}
			roots := x509.NewCertPool()
			roots.AddCert(ca.cert)
			opts := x509.VerifyOptions{Roots: roots, DNSName: tc.other}
			if ip := net.ParseIP(tc.other); ip != nil {
				opts.DNSName = ip.String()
			}
			_, err = leaf.Leaf.Verify(opts)
			if (err != nil) != tc.otherErr {
				t.Errorf("verifying a certificate for %s from %s's CA: %v, want error: %v", tc.other, tc.box, err, tc.otherErr)
			}
		})
	}
}

func TestLocalCAIsKeptAcrossRestarts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "localca")
	now := time.Now()
	first, err := loadOrCreateLocalCA(dir, "192.168.1.20", now)
	if err != nil {
		t.Fatal(err)
	}
	again, err := loadOrCreateLocalCA(dir, "192.168.1.20", now.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if again.fingerprint() != first.fingerprint() {
		t.Errorf("a restart made a new CA; want the stored one kept")
	}
	if fi, err := os.Stat(filepath.Join(dir, localCAKey)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the CA key file: %v, %v; want mode 0600", fi.Mode(), err)
	}
	moved, err := loadOrCreateLocalCA(dir, "192.168.1.30", now)
	if err != nil {
		t.Fatal(err)
	}
	if moved.fingerprint() == first.fingerprint() {
		t.Errorf("after the box's address changed the old CA was kept; it cannot sign for the new address")
	}
	late, err := loadOrCreateLocalCA(dir, "192.168.1.30", now.AddDate(10, 0, -1))
	if err != nil {
		t.Fatal(err)
	}
	if late.fingerprint() == moved.fingerprint() {
		t.Errorf("a CA about to expire was kept; want a new one")
	}
}
