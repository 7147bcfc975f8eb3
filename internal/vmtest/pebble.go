//go:build linux

package vmtest

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"
)

// PebbleGuestAddr is where a guest given Pebble.Forward reaches Pebble.
const PebbleGuestAddr = "10.0.2.101:14000"

// PebbleName is the name the guest uses for Pebble (its TLS certificate,
// httptest's, is for this name); map it to 10.0.2.101 in the guest's
// /etc/hosts.
const PebbleName = "example.com"

// Pebble is an in-process Pebble ACME server with a DNS server of its own
// (challtestsrv's part) that resolves every name to 127.0.0.1. Its
// validations reach a guest through the guest's forwarded 80 and 443.
type Pebble struct {
	// Directory is the ACME directory URL as the guest reaches it.
	Directory string
	// ServerRoot is the PEM of the certificate Pebble's own HTTPS server
	// uses, for the guest to trust (tls.ca_root).
	ServerRoot []byte
	// Roots holds the root that issued certificates chain to.
	Roots *x509.CertPool
	// Log is what Pebble logged.
	Log *SyncBuffer

	hostAddr string
	orders   atomic.Int32
}

// StartPebble starts Pebble, validating on host loopback's httpPort and
// httpsPort (a VM's HTTPPort and HTTPSPort), until the test ends.
func StartPebble(t *testing.T, httpPort, httpsPort int) *Pebble {
	t.Helper()
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0")
	p := &Pebble{Log: &SyncBuffer{}}
	dnsAddr := startDNS(t)
	logger := log.New(p.Log, "pebble ", log.Lmicroseconds)
	store := db.NewMemoryStore()
	authority := ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{
		"default":    {Description: "ninety days", ValidityPeriod: 90 * 24 * 3600},
		"shortlived": {Description: "six days", ValidityPeriod: 6 * 24 * 3600},
	})
	validator := va.New(logger, httpPort, httpsPort, false, dnsAddr, store)
	front := wfe.New(logger, store, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)
	handler := front.Handler()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/order-plz" {
			p.orders.Add(1)
		}
		handler.ServeHTTP(w, r)
	}))
	srv.Config.ErrorLog = logger
	srv.StartTLS()
	t.Cleanup(srv.Close)
	p.hostAddr = srv.Listener.Addr().String()
	p.ServerRoot = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	p.Roots = x509.NewCertPool()
	p.Roots.AddCert(authority.GetRootCert(0).Cert)
	_, port, _ := net.SplitHostPort(PebbleGuestAddr)
	p.Directory = "https://" + PebbleName + ":" + port + wfe.DirectoryPath
	return p
}

// Forward is the guest forward that lets a machine reach Pebble.
func (p *Pebble) Forward() GuestForward {
	return GuestForward{Guest: PebbleGuestAddr, Host: p.hostAddr}
}

// Orders returns how many new orders Pebble has received.
func (p *Pebble) Orders() int { return int(p.orders.Load()) }

// startDNS serves A records of 127.0.0.1 for every name, over UDP and TCP
// on host loopback, and returns its address.
func startDNS(t *testing.T) string {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			pc.Close()
			continue
		}
		handler := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
			m := new(dns.Msg)
			m.SetReply(req)
			m.Authoritative = true
			for _, q := range req.Question {
				if q.Qtype == dns.TypeA {
					m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(127, 0, 0, 1)})
				}
			}
			w.WriteMsg(m)
		})
		for _, srv := range []*dns.Server{{PacketConn: pc, Handler: handler}, {Listener: ln, Handler: handler}} {
			go srv.ActivateAndServe()
			t.Cleanup(func() { srv.Shutdown() })
		}
		return pc.LocalAddr().String()
	}
	t.Fatal("no free port for Pebble's DNS server")
	return ""
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Contains reports whether s was written.
func (b *SyncBuffer) Contains(s string) bool { return strings.Contains(b.String(), s) }
