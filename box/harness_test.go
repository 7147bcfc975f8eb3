package box_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"

	"github.com/chatbox-dev/chatbox/box"
	"github.com/chatbox-dev/chatbox/config"
)

// requireE2E skips t unless the end-to-end suites are switched on. Everything
// these tests need (Pebble, a DNS server) runs in-process, so there is no
// prerequisite that could be missing.
func requireE2E(t *testing.T) {
	t.Helper()
	if os.Getenv("CHATBOX_E2E") != "1" {
		t.Skip("end-to-end certificate test against an in-process Pebble; set CHATBOX_E2E=1 to run it")
	}
}

// logBuffer collects log output from goroutines and shows it when the test
// fails.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLogBuffer(t *testing.T, name string) *logBuffer {
	b := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s log:\n%s", name, b.String())
		}
	})
	return b
}

// freePort returns a loopback TCP port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// ports are where a test box listens; Pebble's VA validates there.
type ports struct{ http, https int }

func freePorts(t *testing.T) ports {
	t.Helper()
	return ports{http: freePort(t), https: freePort(t)}
}

// testDNS is an authoritative DNS server for one zone on loopback (UDP and
// TCP on one port): A records for the given names, SOA at the apex, TXT
// records from txt, NXDOMAIN for anything else.
type testDNS struct {
	zone string
	txt  func(fqdn string) []string
	addr string

	mu    sync.Mutex
	hosts map[string]net.IP
}

// setHost makes name resolve to ip from now on.
func (d *testDNS) setHost(name, ip string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.hosts[dns.Fqdn(strings.ToLower(name))] = net.ParseIP(ip)
}

func startDNS(t *testing.T, zone string, hosts map[string]string, txt func(fqdn string) []string) *testDNS {
	t.Helper()
	d := &testDNS{zone: dns.Fqdn(zone), hosts: map[string]net.IP{}, txt: txt}
	for name, ip := range hosts {
		d.setHost(name, ip)
	}
	var lastErr error
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			pc.Close()
			lastErr = err
			continue
		}
		d.addr = pc.LocalAddr().String()
		for _, srv := range []*dns.Server{{PacketConn: pc, Handler: d}, {Listener: ln, Handler: d}} {
			go srv.ActivateAndServe()
			t.Cleanup(func() { srv.Shutdown() })
		}
		return d
	}
	t.Fatalf("no free port for the test DNS server: %v", lastErr)
	return nil
}

func (d *testDNS) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: q.Name, Rrtype: t, Class: dns.ClassINET, Ttl: 1}
	}
	soa := &dns.SOA{
		Hdr: dns.RR_Header{Name: d.zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 1},
		Ns:  "ns1." + d.zone, Mbox: "hostmaster." + d.zone,
		Serial: 1, Refresh: 60, Retry: 60, Expire: 600, Minttl: 1,
	}
	if !dns.IsSubDomain(d.zone, name) {
		m.Rcode = dns.RcodeRefused
		w.WriteMsg(m)
		return
	}
	d.mu.Lock()
	ip, isHost := d.hosts[name]
	d.mu.Unlock()
	var txts []string
	if d.txt != nil {
		txts = d.txt(name)
	}
	switch {
	case q.Qtype == dns.TypeSOA && name == d.zone:
		m.Answer = append(m.Answer, soa)
	case q.Qtype == dns.TypeA && isHost && ip.To4() != nil:
		m.Answer = append(m.Answer, &dns.A{Hdr: hdr(dns.TypeA), A: ip})
	case q.Qtype == dns.TypeTXT:
		for _, v := range txts {
			m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr(dns.TypeTXT), Txt: []string{v}})
		}
	}
	if len(m.Answer) == 0 {
		m.Ns = append(m.Ns, soa)
		if !isHost && len(txts) == 0 && name != d.zone {
			m.Rcode = dns.RcodeNameError
		}
	}
	w.WriteMsg(m)
}

// pebbleCA is an in-process Pebble ACME server on loopback.
type pebbleCA struct {
	// directory is the ACME directory URL.
	directory string
	// serverRoot is a PEM file with the certificate of Pebble's own HTTPS
	// listener (the box's tls.ca_root).
	serverRoot string
	// roots holds the root that signs the certificates Pebble issues.
	roots *x509.CertPool
	// stop shuts Pebble down; its directory URL then refuses connections.
	stop func()

	// log is Pebble's log.
	log *logBuffer

	mu sync.Mutex
	// orderProfiles lists the profile of every new order, in order.
	orderProfiles []string
	// badNonces counts the badNonce errors Pebble answered.
	badNonces int
}

// problemWriter notes the ACME badNonce problems written through it.
type problemWriter struct {
	http.ResponseWriter
	p *pebbleCA
}

func (w problemWriter) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte("urn:ietf:params:acme:error:badNonce")) {
		w.p.mu.Lock()
		w.p.badNonces++
		w.p.mu.Unlock()
	}
	return w.ResponseWriter.Write(b)
}

// recordOrders notes the ACME profile each new-order request asks for and
// the badNonce errors Pebble answers.
// The payload of a JWS is readable without checking its signature.
func (p *pebbleCA) recordOrders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/order-plz" {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			var jws struct{ Payload string }
			var order struct{ Profile string }
			if json.Unmarshal(body, &jws) == nil {
				if payload, err := base64.RawURLEncoding.DecodeString(jws.Payload); err == nil && json.Unmarshal(payload, &order) == nil {
					p.mu.Lock()
					p.orderProfiles = append(p.orderProfiles, order.Profile)
					p.mu.Unlock()
				}
			}
		}
		next.ServeHTTP(problemWriter{w, p}, r)
	})
}

// rejectedNonces returns how many good nonces Pebble has rejected so far.
func (p *pebbleCA) rejectedNonces() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.badNonces
}

// profiles returns the profiles of the orders so far.
func (p *pebbleCA) profiles() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.orderProfiles)
}

// startPebble runs Pebble whose VA validates HTTP-01 and TLS-ALPN-01 on the
// box's ports and resolves names through the DNS server at dnsAddr.
// nonceReject is the percentage of good nonces Pebble rejects.
func startPebble(t *testing.T, p ports, dnsAddr string, nonceReject int) *pebbleCA {
	t.Helper()
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")
	t.Setenv("PEBBLE_WFE_NONCEREJECT", strconv.Itoa(nonceReject))
	pc := &pebbleCA{log: newLogBuffer(t, "pebble")}
	logger := log.New(pc.log, "pebble ", log.Lmicroseconds)
	store := db.NewMemoryStore()
	authority := ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{
		"default":    {Description: "ninety days", ValidityPeriod: 90 * 24 * 3600},
		"shortlived": {Description: "six days, as for IP addresses", ValidityPeriod: 6 * 24 * 3600},
	})
	validator := va.New(logger, p.http, p.https, false, dnsAddr, store)
	front := wfe.New(logger, store, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)
	srv := httptest.NewUnstartedServer(pc.recordOrders(front.Handler()))
	srv.Config.ErrorLog = logger
	srv.StartTLS()
	t.Cleanup(srv.Close)

	serverRoot := filepath.Join(t.TempDir(), "pebble-server.pem")
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(serverRoot, block, 0o644); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(authority.GetRootCert(0).Cert)
	pc.directory, pc.serverRoot, pc.roots, pc.stop = srv.URL+wfe.DirectoryPath, serverRoot, roots, srv.Close
	return pc
}

// boxConfig is the configuration of a box on loopback ports p that gets its
// certificate from the ACME directory at caURL.
func boxConfig(t *testing.T, p ports, caURL, caRoot string) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Server.HTTPListen = fmt.Sprintf("127.0.0.1:%d", p.http)
	cfg.Server.HTTPSListen = fmt.Sprintf("127.0.0.1:%d", p.https)
	cfg.Server.DataDir = t.TempDir()
	cfg.TLS.CA = caURL
	cfg.TLS.CARoot = caRoot
	cfg.TLS.Email = "admin@box.test"
	return cfg
}

// runningBox is box.Run in a goroutine.
type runningBox struct {
	log      *logBuffer
	cancel   context.CancelFunc
	done     chan error
	stopOnce sync.Once
}

// startBox runs box.Run with cfg until the test ends (or stop is called)
// and waits until its HTTP listener answers /healthz.
func startBox(t *testing.T, cfg config.Config) *runningBox {
	t.Helper()
	return startBoxWith(t, cfg, box.TestOptions{})
}

// startBoxWith is startBox with the options only tests may set.
func startBoxWith(t *testing.T, cfg config.Config, opts box.TestOptions) *runningBox {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test config is invalid: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &runningBox{log: newLogBuffer(t, "box"), cancel: cancel, done: make(chan error, 1)}
	go func() { b.done <- box.RunForTest(ctx, cfg, b.log, opts) }()
	t.Cleanup(func() { b.stop(t) })
	httpHost, httpPort, err := net.SplitHostPort(cfg.Server.HTTPListen)
	if err != nil {
		t.Fatal(err)
	}
	if httpHost == "" {
		httpHost = "127.0.0.1"
	}
	healthz := "http://" + net.JoinHostPort(httpHost, httpPort) + "/healthz"
	waitFor(t, 10*time.Second, "the box's HTTP listener to answer "+healthz, func() error {
		select {
		case err := <-b.done:
			b.done <- err
			t.Fatalf("box.Run returned early: %v", err)
		default:
		}
		resp, err := http.Get(healthz)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %s", resp.Status)
		}
		return nil
	})
	return b
}

// stop ends box.Run and checks it shut down cleanly.
func (b *runningBox) stop(t *testing.T) {
	t.Helper()
	b.stopOnce.Do(func() {
		b.cancel()
		select {
		case err := <-b.done:
			if err != nil {
				t.Errorf("box.Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("box.Run did not return within 20s of its context ending")
		}
	})
}

// waitFor polls check until it returns nil, failing t after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s: %v", timeout, what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// client returns an HTTP client that sends every connection to addr (so
// test names need no resolver), trusts roots (or nothing, when insecure)
// and does not follow redirects.
func client(addr string, roots *x509.CertPool, insecure bool) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, addr)
			},
			TLSClientConfig:   &tls.Config{RootCAs: roots, InsecureSkipVerify: insecure},
			ForceAttemptHTTP2: true,
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// get fetches url with c and returns the response with its body read.
func get(c *http.Client, url string) (*http.Response, string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

// waitForTrustedCert polls https://host:port/healthz until it is served
// with a certificate that chains to roots, and returns that response. The
// connection goes to host when it is an IP address, else to 127.0.0.1.
func waitForTrustedCert(t *testing.T, host string, p ports, roots *x509.CertPool, timeout time.Duration) *http.Response {
	t.Helper()
	dial := "127.0.0.1"
	if net.ParseIP(host) != nil {
		dial = host
	}
	c := client(net.JoinHostPort(dial, strconv.Itoa(p.https)), roots, false)
	url := fmt.Sprintf("https://%s/healthz", net.JoinHostPort(host, strconv.Itoa(p.https)))
	var resp *http.Response
	waitFor(t, timeout, "a trusted certificate for "+host, func() error {
		r, body, err := get(c, url)
		if err != nil {
			return err
		}
		if r.StatusCode != http.StatusOK || !strings.Contains(body, `"status":"ok"`) {
			return fmt.Errorf("GET %s: %s %q", url, r.Status, body)
		}
		resp = r
		return nil
	})
	return resp
}

// errNotYet is a waitFor result for a condition not met yet.
var errNotYet = errors.New("not yet")
