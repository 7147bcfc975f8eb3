package box_test

import (
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/config"
	"github.com/chatbox-dev/chatbox/internal/cloudflaretest"
)

const (
	testZone   = "box.test"
	testDomain = "chat.box.test"
	// issueTimeout bounds how long a box may take to get its first
	// certificate from Pebble, retries included.
	issueTimeout = 60 * time.Second
)

// checkServedChain checks that resp came over a chain from the leaf for
// name up to Pebble's root, and returns the leaf.
func checkServedChain(t *testing.T, resp *http.Response, name string, roots *x509.CertPool) *x509.Certificate {
	t.Helper()
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
		t.Fatal("the response did not come over TLS")
	}
	leaf := resp.TLS.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range resp.TLS.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, Intermediates: inter})
	if err != nil {
		t.Fatalf("the served certificate does not verify for %s against Pebble's root: %v", name, err)
	}
	if n := len(chains[0]); n < 3 {
		t.Errorf("the verified chain has %d certificates, want leaf, intermediate and root", n)
	}
	return leaf
}

func TestBoxGetsACertificate(t *testing.T) {
	requireE2E(t)
	cases := []struct {
		name      string
		challenge string
		// nonceReject is Pebble's percentage of rejected good nonces.
		nonceReject int
	}{
		{"over HTTP-01, with Pebble rejecting nonces", "http-01", 30},
		{"over TLS-ALPN-01", "tls-alpn-01", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := freePorts(t)
			dnsSrv := startDNS(t, testZone, map[string]string{testDomain: "127.0.0.1"}, nil)
			// Pebble rejects each good nonce at random, so an order of a
			// few requests may meet no rejection at all (about 1 in 17 at
			// 30%): then the retries went untested, and the issuance is
			// done again with a fresh CA and box, up to 5 times.
			var (
				ca   *pebbleCA
				cfg  config.Config
				b    *runningBox
				resp *http.Response
			)
			for attempt := 1; ; attempt++ {
				ca = startPebble(t, p, dnsSrv.addr, tc.nonceReject)
				cfg = boxConfig(t, p, ca.directory, ca.serverRoot)
				cfg.Server.Domain = testDomain
				cfg.TLS.Challenge = tc.challenge
				b = startBox(t, cfg)
				resp = waitForTrustedCert(t, testDomain, p, ca.roots, issueTimeout)
				if tc.nonceReject == 0 || ca.rejectedNonces() > 0 || attempt == 5 {
					break
				}
				t.Logf("attempt %d: Pebble rejected no nonce; issuing again so that the box's retries are tested", attempt)
				resp.Body.Close()
				b.stop(t)
				ca.stop()
			}
			leaf := checkServedChain(t, resp, testDomain, ca.roots)
			if got := ca.profiles(); len(got) == 0 || slices.ContainsFunc(got, func(p string) bool { return p != "" }) {
				t.Errorf("the box ordered with profiles %q, want the CA's default (none named)", got)
			}
			if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=63072000; includeSubDomains" {
				t.Errorf("HSTS header = %q", got)
			}
			if resp.ProtoMajor != 2 {
				t.Errorf("HTTPS spoke %s, want HTTP/2", resp.Proto)
			}
			checkRedirect(t, p, testDomain)
			if usedHTTP := strings.Contains(ca.log.String(), "validate w/ HTTP"); usedHTTP != (tc.challenge == "http-01") {
				t.Errorf("Pebble validated over HTTP-01: %v; want that only with tls.challenge = http-01", usedHTTP)
			}
			if tc.nonceReject > 0 && ca.rejectedNonces() == 0 {
				t.Errorf("Pebble rejected no nonce, so the box's retries went untested; raise nonceReject")
			}

			if tc.challenge == "http-01" {
				// A restart reuses the stored certificate, even with the CA gone.
				b.stop(t)
				ca.stop()
				startBox(t, cfg)
				resp := waitForTrustedCert(t, testDomain, p, ca.roots, 10*time.Second)
				again := checkServedChain(t, resp, testDomain, ca.roots)
				if !again.Equal(leaf) {
					t.Errorf("after a restart the box serves a different certificate (serial %v, was %v)", again.SerialNumber, leaf.SerialNumber)
				}
			}
		})
	}
}

// checkRedirect checks the box's plain-HTTP listener: /healthz answered
// directly, everything else redirected to HTTPS with 308.
func checkRedirect(t *testing.T, p ports, host string) {
	t.Helper()
	c := client(fmt.Sprintf("127.0.0.1:%d", p.http), nil, false)
	base := fmt.Sprintf("http://%s:%d", host, p.http)
	resp, body, err := get(c, base+"/healthz")
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(body, `"status":"ok"`) {
		t.Errorf("GET %s/healthz over plain HTTP = %v %q, %v; want 200 ok", base, resp, body, err)
	}
	resp, _, err = get(c, base+"/api/room?x=1")
	if err != nil {
		t.Fatalf("GET over plain HTTP: %v", err)
	}
	want := fmt.Sprintf("https://%s/api/room?x=1", net.JoinHostPort(host, fmt.Sprint(p.https)))
	if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
		t.Errorf("GET %s/api/room?x=1 = %s to %q, want 308 to %q", base, resp.Status, resp.Header.Get("Location"), want)
	}
}

func TestIPOnlyBoxGetsAShortLivedCertificate(t *testing.T) {
	requireE2E(t)
	for _, challenge := range []string{"http-01", "tls-alpn-01"} {
		t.Run("over "+strings.ToUpper(challenge), func(t *testing.T) {
			p := freePorts(t)
			dnsSrv := startDNS(t, testZone, nil, nil)
			ca := startPebble(t, p, dnsSrv.addr, 5)
			cfg := boxConfig(t, p, ca.directory, ca.serverRoot)
			cfg.Server.IP = "127.0.0.1"
			cfg.TLS.Challenge = challenge
			cfg.TLS.Email = "" // the account contact is optional
			startBox(t, cfg)

			// Go sends no SNI for an IP address: the box must pick its
			// certificate by its default server name.
			resp := waitForTrustedCert(t, "127.0.0.1", p, ca.roots, issueTimeout)
			leaf := checkServedChain(t, resp, "127.0.0.1", ca.roots)
			if len(leaf.IPAddresses) != 1 || !leaf.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) {
				t.Errorf("the certificate is for IPs %v, want 127.0.0.1", leaf.IPAddresses)
			}
			if got := ca.profiles(); len(got) == 0 || slices.ContainsFunc(got, func(p string) bool { return p != "shortlived" }) {
				t.Errorf("the box ordered with profiles %q, want shortlived", got)
			}
			if life := leaf.NotAfter.Sub(leaf.NotBefore); life > 7*24*time.Hour {
				t.Errorf("the certificate lives %v, want the shortlived profile (6 days)", life)
			}
			checkRedirect(t, p, "127.0.0.1")
		})
	}
}

// An IP-only box on an IPv6 address: listening on every address, as an
// installed box does (":80", ":443"), it answers on its IPv6 address and
// its IP certificate is for that address. ::1 stands in for a global IPv6
// address: Pebble checks the box at the address itself, and loopback is
// the only IPv6 address every machine running the tests has.
func TestIPv6OnlyBoxGetsACertificateForItsAddress(t *testing.T) {
	requireE2E(t)
	if ln, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Fatalf("this machine has no IPv6 loopback to test on: %v", err)
	} else {
		ln.Close()
	}
	for _, challenge := range []string{"http-01", "tls-alpn-01"} {
		t.Run("over "+strings.ToUpper(challenge), func(t *testing.T) {
			p := freePorts(t)
			dnsSrv := startDNS(t, testZone, nil, nil)
			ca := startPebble(t, p, dnsSrv.addr, 5)
			cfg := boxConfig(t, p, ca.directory, ca.serverRoot)
			cfg.Server.HTTPListen = fmt.Sprintf(":%d", p.http)
			cfg.Server.HTTPSListen = fmt.Sprintf(":%d", p.https)
			cfg.Server.IP = "::1"
			cfg.TLS.Challenge = challenge
			startBox(t, cfg)

			resp := waitForTrustedCert(t, "::1", p, ca.roots, issueTimeout)
			leaf := checkServedChain(t, resp, "::1", ca.roots)
			if len(leaf.IPAddresses) != 1 || !leaf.IPAddresses[0].Equal(net.IPv6loopback) {
				t.Errorf("the certificate is for IPs %v, want ::1", leaf.IPAddresses)
			}
			if got := ca.profiles(); len(got) == 0 || slices.ContainsFunc(got, func(p string) bool { return p != "shortlived" }) {
				t.Errorf("the box ordered with profiles %q, want shortlived", got)
			}
			// Plain HTTP on the IPv6 address sends the browser to the
			// bracketed address.
			c := client(net.JoinHostPort("::1", fmt.Sprint(p.http)), nil, false)
			res, _, err := get(c, fmt.Sprintf("http://[::1]:%d/api/room?x=1", p.http))
			if err != nil {
				t.Fatalf("GET over plain HTTP on [::1]: %v", err)
			}
			if want := fmt.Sprintf("https://[::1]:%d/api/room?x=1", p.https); res.StatusCode != http.StatusPermanentRedirect || res.Header.Get("Location") != want {
				t.Errorf("plain HTTP on [::1] answered %s to %q, want 308 to %q", res.Status, res.Header.Get("Location"), want)
			}
		})
	}
}

func TestIssuanceFailureKeepsTheRoomServing(t *testing.T) {
	requireE2E(t)
	p := freePorts(t)
	// The DNS server knows nothing of the box's name, as when the record
	// does not point here yet: Pebble cannot validate.
	const name = "unresolved.box.test"
	dnsSrv := startDNS(t, testZone, nil, nil)
	ca := startPebble(t, p, dnsSrv.addr, 5)
	cfg := boxConfig(t, p, ca.directory, ca.serverRoot)
	cfg.Server.Domain = name
	b := startBox(t, cfg)

	waitFor(t, issueTimeout, "the failure to be logged with what to fix", func() error {
		log := b.log.String()
		if strings.Contains(log, "could not get a certificate") && strings.Contains(log, "points at this box's public address") {
			return nil
		}
		return errNotYet
	})

	// The log points at the page that explains how to trust the box's CA.
	trustURL := fmt.Sprintf("http://%s:%d/trust", name, p.http)
	if !strings.Contains(b.log.String(), trustURL) {
		t.Errorf("the log does not mention %s", trustURL)
	}
	plain := client(fmt.Sprintf("127.0.0.1:%d", p.http), nil, false)
	resp, page, err := get(plain, trustURL)
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(page, "chatbox-ca.crt") {
		t.Fatalf("GET %s = %v %q, %v; want the trust page", trustURL, resp, page, err)
	}
	resp, caPEM, err := get(plain, fmt.Sprintf("http://%s:%d/chatbox-ca.crt", name, p.http))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /chatbox-ca.crt = %v, %v", resp, err)
	}
	localRoots := x509.NewCertPool()
	if !localRoots.AppendCertsFromPEM([]byte(caPEM)) {
		t.Fatalf("/chatbox-ca.crt is not a PEM certificate: %q", caPEM)
	}

	// A browser that trusts the box's CA reaches the room without warnings.
	url := fmt.Sprintf("https://%s:%d/healthz", name, p.https)
	resp, body, err := get(client(fmt.Sprintf("127.0.0.1:%d", p.https), localRoots, false), url)
	if err != nil {
		t.Fatalf("GET %s trusting the box's local CA: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"status":"ok"`) {
		t.Errorf("GET %s = %s %q, want 200 ok", url, resp.Status, body)
	}
	if fp := sha256.Sum256(resp.TLS.VerifiedChains[0][1].Raw); !strings.Contains(page, fmt.Sprintf("%02X:%02X:%02X", fp[0], fp[1], fp[2])) {
		t.Errorf("the trust page does not show the fingerprint of the CA that signed the served certificate")
	}
	leaf := resp.TLS.PeerCertificates[0]
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: ca.roots}); err == nil {
		t.Errorf("the stand-in certificate verifies against Pebble's root; it should come from the box's own CA")
	}

	// Once the name points here, the box's own retry (certmagic waits a
	// minute before the first one) gets the certificate, and the room
	// switches to it without a restart.
	dnsSrv.setHost(name, "127.0.0.1")
	resp = waitForTrustedCert(t, name, p, ca.roots, 100*time.Second)
	checkServedChain(t, resp, name, ca.roots)
}

func TestBoxGetsACertificateOverDNS01(t *testing.T) {
	requireE2E(t)
	const token = "dns-edit-token"
	cf := cloudflaretest.NewServer()
	t.Cleanup(cf.Close)
	cf.AddZone(testZone)
	cf.AddToken(token, cloudflaretest.FullAccess())
	// The DNS server answers the TXT records the real libdns client stored
	// in the Cloudflare stand-in, and no A record for the box: only DNS-01
	// can succeed.
	dnsSrv := startDNS(t, testZone, nil, func(fqdn string) []string {
		var txt []string
		for _, r := range cf.Records(testZone, fqdn, "TXT") {
			txt = append(txt, r.Text())
		}
		return txt
	})
	p := freePorts(t)
	ca := startPebble(t, p, dnsSrv.addr, 5)
	cfg := boxConfig(t, p, ca.directory, ca.serverRoot)
	cfg.Server.Domain = testDomain
	cfg.TLS.Challenge = "dns-01"
	cfg.TLS.Resolvers = []string{dnsSrv.addr}
	cfg.DNS = config.DNS{Provider: "cloudflare", APIToken: token, APIURL: cf.URL()}
	// Dynamic DNS runs inside serve too. The address is a documentation
	// one: it only goes into the stand-in's records, nothing connects to it.
	cfg.DynDNS.Enabled = true
	cfg.DynDNS.IPv4 = "static:203.0.113.7"
	startBox(t, cfg)

	resp := waitForTrustedCert(t, testDomain, p, ca.roots, issueTimeout)
	checkServedChain(t, resp, testDomain, ca.roots)
	if strings.Contains(ca.log.String(), "validate w/ HTTP") {
		t.Errorf("Pebble validated over HTTP-01; want DNS-01 only")
	}
	waitFor(t, 10*time.Second, "the challenge's TXT record to be deleted", func() error {
		if n := len(cf.Records(testZone, "_acme-challenge."+testDomain, "TXT")); n > 0 {
			return fmt.Errorf("%d TXT records left", n)
		}
		return nil
	})
	waitFor(t, 10*time.Second, "dynamic DNS to publish the box's address", func() error {
		a := cf.Records(testZone, testDomain, "A")
		if len(a) != 1 || a[0].Content != "203.0.113.7" {
			return fmt.Errorf("A records %+v", a)
		}
		return nil
	})
}
