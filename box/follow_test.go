package box

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/chatbox-dev/chatbox/config"
)

// fakeDetector answers the addresses (or errors) of answers in turn, the
// last one from then on.
type fakeDetector struct {
	mu      sync.Mutex
	answers []any // netip.Addr or error
	calls   int
}

func (d *fakeDetector) Detect(context.Context) (netip.Addr, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	a := d.answers[min(d.calls, len(d.answers)-1)]
	d.calls++
	if err, ok := a.(error); ok {
		return netip.Addr{}, err
	}
	return a.(netip.Addr), nil
}

func (d *fakeDetector) String() string { return "fake" }

// fakeSwitcher records the switches asked of it; fail makes the next one
// fail.
type fakeSwitcher struct {
	current  string
	switches []string
	fail     error
}

func (s *fakeSwitcher) name() string { return s.current }

func (s *fakeSwitcher) switchTo(_ context.Context, name string) error {
	s.switches = append(s.switches, name)
	if err := s.fail; err != nil {
		s.fail = nil
		return err
	}
	s.current = name
	return nil
}

func TestIPFollowerSwitchesOnlyWhenTheAddressChanges(t *testing.T) {
	addr := netip.MustParseAddr
	down := errors.New("the service is down")
	steps := []struct {
		name      string
		answer    any
		failWith  error
		wantName  string
		wantSwaps []string
		wantLog   string
	}{
		{"the same address changes nothing", addr("203.0.113.7"), nil, "203.0.113.7", nil, ""},
		{"a failed detection changes nothing", down, nil, "203.0.113.7", nil, "could not detect the public address"},
		{"a new address is switched to", addr("203.0.113.8"), nil, "203.0.113.8", []string{"203.0.113.8"}, "the public address changed"},
		{"a failed switch keeps the old address", addr("198.51.100.9"), errors.New("disk full"), "203.0.113.8", []string{"198.51.100.9"}, "could not switch"},
		{"the next check tries the switch again", addr("198.51.100.9"), nil, "198.51.100.9", []string{"198.51.100.9"}, "the public address changed"},
		{"an IPv4-mapped answer is the IPv4 address", addr("::ffff:198.51.100.9"), nil, "198.51.100.9", nil, ""},
	}
	certs := &fakeSwitcher{current: "203.0.113.7"}
	for _, st := range steps {
		// check runs in this goroutine: a plain buffer will do.
		var logs bytes.Buffer
		f := &ipFollower{
			detect: &fakeDetector{answers: []any{st.answer}},
			every:  time.Minute,
			certs:  certs,
			log:    slog.New(slog.NewTextHandler(&logs, nil)),
		}
		certs.switches, certs.fail = nil, st.failWith
		f.check(context.Background())
		if certs.current != st.wantName || !slices.Equal(certs.switches, st.wantSwaps) {
			t.Errorf("%s: serving %s after switches %q, want %s after %q", st.name, certs.current, certs.switches, st.wantName, st.wantSwaps)
		}
		if st.wantLog != "" && !strings.Contains(logs.String(), st.wantLog) {
			t.Errorf("%s: the log %q does not say %q", st.name, logs.String(), st.wantLog)
		}
		if st.wantLog == "" && logs.String() != "" {
			t.Errorf("%s: logged %q, want nothing", st.name, logs.String())
		}
	}
}

// cancelAfter is a detector that ends ctx on its nth call.
type cancelAfter struct {
	n      int
	calls  int
	cancel context.CancelFunc
}

func (d *cancelAfter) Detect(context.Context) (netip.Addr, error) {
	d.calls++
	if d.calls == d.n {
		d.cancel()
	}
	return netip.MustParseAddr("203.0.113.7"), nil
}

func (d *cancelAfter) String() string { return "cancel-after" }

func TestIPFollowerChecksAtOnceAndStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := &cancelAfter{n: 3, cancel: cancel}
	f := &ipFollower{detect: d, every: time.Millisecond, certs: &fakeSwitcher{current: "203.0.113.7"}, log: slog.New(slog.DiscardHandler)}
	done := make(chan struct{})
	go func() { f.run(ctx); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
	if d.calls != 3 {
		t.Errorf("run detected %d times, want 3 (once at start, then every interval until the context ended)", d.calls)
	}
}

func TestStartAddressDetectsOnlyWhenNoneIsGiven(t *testing.T) {
	d := &fakeDetector{answers: []any{netip.MustParseAddr("203.0.113.7")}}
	cfg := config.Default()
	cfg.Server.IP = "198.51.100.9"
	if err := startAddress(context.Background(), &cfg, d); err != nil || cfg.Server.IP != "198.51.100.9" || d.calls != 0 {
		t.Errorf("with server.ip set: ip %s after %d detections, %v; want it kept without detecting", cfg.Server.IP, d.calls, err)
	}
	cfg.Server.IP = ""
	if err := startAddress(context.Background(), &cfg, d); err != nil || cfg.Server.IP != "203.0.113.7" {
		t.Errorf("without server.ip: ip %q, %v; want the detected 203.0.113.7", cfg.Server.IP, err)
	}
	cfg.Server.IP = ""
	d.answers = []any{errors.New("the service is down")}
	err := startAddress(context.Background(), &cfg, d)
	if err == nil || !strings.Contains(err.Error(), "server.ip_detect") || !strings.Contains(err.Error(), "the service is down") {
		t.Errorf("a failed detection at start = %v, want an error naming server.ip_detect and the cause", err)
	}
}

func TestIPDetectorFamilyFollowsServerIP(t *testing.T) {
	cfg := config.Default()
	if d, err := ipDetector(cfg, false); err != nil || d != nil {
		t.Fatalf("without server.ip_detect: %v, %v; want no detector", d, err)
	}
	cfg.Server.IPDetect = "static:2001:db8::7"
	if _, err := ipDetector(cfg, false); err == nil || !strings.Contains(err.Error(), "server.ip_detect") {
		t.Errorf("an IPv6 static address for an IPv4 box = %v, want an error naming server.ip_detect", err)
	}
	cfg.Server.IP = "2001:db8::1"
	d, err := ipDetector(cfg, false)
	if err != nil {
		t.Fatalf("an IPv6 static address for an IPv6 box: %v", err)
	}
	if a, err := d.Detect(context.Background()); err != nil || a != netip.MustParseAddr("2001:db8::7") {
		t.Errorf("Detect = %v, %v", a, err)
	}
	cfg.Server.IP, cfg.Server.IPDetect = "", "static:127.0.0.2"
	if _, err := ipDetector(cfg, false); err == nil {
		t.Errorf("a loopback address was accepted without allowLoopback")
	}
	if _, err := ipDetector(cfg, true); err != nil {
		t.Errorf("a loopback address with allowLoopback: %v", err)
	}
}

// storeCertificate puts a certificate for name into m's storage as if the
// ACME issuer had obtained it, so managing name loads it without a CA.
func storeCertificate(t *testing.T, m *certManager, name string) *x509.Certificate {
	t.Helper()
	ca, err := newLocalCA(name, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.issue(name, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var chain []byte
	for _, der := range cert.Certificate {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	issuer := m.issuer.IssuerKey()
	ctx := context.Background()
	for key, value := range map[string][]byte{
		certmagic.StorageKeys.SiteCert(issuer, name):       chain,
		certmagic.StorageKeys.SitePrivateKey(issuer, name): pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		certmagic.StorageKeys.SiteMeta(issuer, name):       fmt.Appendf(nil, `{"sans":[%q]}`, name),
	} {
		if err := m.magic.Storage.Store(ctx, key, value); err != nil {
			t.Fatal(err)
		}
	}
	return cert.Leaf
}

// served returns the leaf certificate m gives a handshake without SNI.
func served(t *testing.T, m *certManager) *x509.Certificate {
	t.Helper()
	// certmagic logs the connection's addresses.
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	cert, err := m.getCertificate(&tls.ClientHelloInfo{SupportedProtos: []string{"h2", "http/1.1"}, Conn: c1})
	if err != nil || cert == nil || len(cert.Certificate) == 0 {
		t.Fatalf("getCertificate = %v, %v", cert, err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

// waitUntil polls cond every 10ms until it holds, failing t after 10s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// dataDir is a temporary directory for certmagic's storage, removed once
// the issuance goroutines that outlive their context (they release their
// locks after it ends) have let go of it.
func dataDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "chatbox-box-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		waitUntil(t, "certmagic to let go of "+dir, func() bool { return os.RemoveAll(dir) == nil })
	})
	return dir
}

func TestSwitchToServesTheNewAddressAndDropsTheOld(t *testing.T) {
	const oldIP, newIP, privateIP = "203.0.113.7", "198.51.100.9", "192.168.1.20"
	cfg := config.Default()
	cfg.Server.IP = oldIP
	cfg.Server.IPDetect = "static:" + oldIP
	cfg.Server.DataDir = dataDir(t)
	cfg.Server.HTTPListen, cfg.Server.HTTPSListen = "127.0.0.1:8080", "127.0.0.1:8443"
	// Nothing listens there: any attempt to reach the CA fails at once,
	// and the certificates come from storage.
	cfg.TLS.CA = "https://127.0.0.1:1/directory"
	m, err := newCertManager(cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.stop()
	oldLeaf := storeCertificate(t, m, oldIP)
	newLeaf := storeCertificate(t, m, newIP)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := m.manage(ctx); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the stored certificate for "+oldIP+" to be served", func() bool { return served(t, m).Equal(oldLeaf) })

	if err := m.switchTo(ctx, newIP); err != nil {
		t.Fatal(err)
	}
	if m.managed(oldIP) {
		t.Errorf("%s is still managed after the switch to %s", oldIP, newIP)
	}
	waitUntil(t, "the stored certificate for "+newIP+" to be served", func() bool { return served(t, m).Equal(newLeaf) })

	// An issuance for the old address that ends after the switch does not
	// bring it back.
	if _, err := m.magic.CacheManagedCertificate(ctx, oldIP); err != nil {
		t.Fatal(err)
	}
	if m.managed(oldIP) {
		t.Errorf("a certificate for the old address cached after the switch stayed managed")
	}
	if !served(t, m).Equal(newLeaf) {
		t.Errorf("after a late certificate for the old address, the box no longer serves the new one")
	}

	// A private address has no certificate: the box serves one from its
	// local CA, made for that address, and the plain-HTTP side follows.
	if err := m.switchTo(ctx, privateIP); err != nil {
		t.Fatal(err)
	}
	if m.managed(newIP) {
		t.Errorf("%s is still managed after the switch to %s", newIP, privateIP)
	}
	leaf := served(t, m)
	_, ca := m.site()
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: privateIP}); err != nil {
		t.Errorf("the stand-in for %s does not verify against the local CA: %v", privateIP, err)
	}
	if !ca.permits(privateIP) || ca.permits(newIP) {
		t.Errorf("the local CA is constrained to %v, want %s only", ca.cert.PermittedIPRanges, privateIP)
	}
	h := httpHandler(m.site, 443, http.NotFoundHandler())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/room", nil))
	if loc := rec.Header().Get("Location"); loc != "https://"+privateIP+"/room" {
		t.Errorf("the redirect goes to %q, want https://%s/room", loc, privateIP)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/trust", nil))
	if page := rec.Body.String(); !strings.Contains(page, ca.fingerprint()) || !strings.Contains(page, privateIP) {
		t.Errorf("the trust page does not show the new local CA for %s", privateIP)
	}

	// Back at the first address, its stored certificate is served again.
	if err := m.switchTo(ctx, oldIP); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the stored certificate for "+oldIP+" to be served again", func() bool { return served(t, m).Equal(oldLeaf) })
	if m.managed(newIP) || m.managed(privateIP) {
		t.Errorf("after returning to %s, an old address is still managed", oldIP)
	}
	if !m.managed(oldIP) {
		t.Errorf("%s is served but not managed", oldIP)
	}
}
