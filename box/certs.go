package box

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/mholt/acmez/v3/acme"

	"github.com/chatbox-dev/chatbox/chat/datadir"
	"github.com/chatbox-dev/chatbox/config"
	"github.com/chatbox-dev/chatbox/internal/roomurl"
)

// acmeTLS1 is the ALPN protocol of the ACME TLS-ALPN-01 challenge (RFC 8737).
const acmeTLS1 = "acme-tls/1"

// shortlivedProfile is the ACME profile for IP-address certificates.
const shortlivedProfile = "shortlived"

// certManager obtains and renews the box's one certificate through ACME and
// picks the certificate each TLS handshake gets: the managed one when there
// is one, otherwise a stand-in from the box's local CA, so the room stays
// reachable while issuance is retried. The name the certificate is for
// changes when an IP-only box's public address does (see switchTo).
type certManager struct {
	cfg    config.Config
	magic  *certmagic.Config
	cache  *certmagic.Cache
	issuer *certmagic.ACMEIssuer
	log    *slog.Logger
	// caURL is the ACME directory.
	caURL *url.URL
	// httpPort is the plain-HTTP port, for the trust page's URL.
	httpPort int

	// id is the box's current identity, read by every handshake and
	// request; it is replaced whole, never changed in place.
	id atomic.Pointer[identity]

	// mu serializes manage and switchTo.
	mu sync.Mutex
	// stopObtain ends the background issuance for the current name.
	stopObtain context.CancelFunc
}

// identity is what the box is known as at one time: the name its
// certificate is for, and the local CA and stand-in certificate for that
// name.
type identity struct {
	name     string
	localCA  *localCA
	fallback *tls.Certificate
	// trustURL is the page that explains how to trust the local CA.
	trustURL string
	// hint says what usually makes issuance for name fail.
	hint string
}

// boxName is the identifier the box's certificate is for: its domain, or
// its IP address when it has no domain.
func boxName(cfg config.Config) (string, error) {
	switch {
	case cfg.Server.Domain != "":
		return strings.ToLower(cfg.Server.Domain), nil
	case cfg.Server.IP != "":
		// The form certmagic names the certificate by: lower case, an
		// IPv4 address without an IPv6 prefix.
		return net.ParseIP(cfg.Server.IP).String(), nil
	}
	return "", errors.New("server.domain or server.ip must be set to serve HTTPS (or run serve --dev)")
}

// newCertManager configures certificate management for cfg. dns solves
// DNS-01 challenges and must be set when cfg.TLS.Challenge is "dns-01".
// Nothing is obtained before manage is called.
func newCertManager(cfg config.Config, log *slog.Logger, dns certmagic.DNSProvider) (*certManager, error) {
	name, err := boxName(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.TLS.Challenge == "dns-01" && dns == nil {
		return nil, errors.New("tls.challenge: dns-01 needs a DNS provider in dns.provider")
	}
	m := &certManager{cfg: cfg, log: log}
	if m.caURL, err = url.Parse(cfg.TLS.CA); err != nil {
		return nil, fmt.Errorf("tls.ca: %w", err)
	}

	var roots *x509.CertPool
	if cfg.TLS.CARoot != "" {
		pem, err := os.ReadFile(cfg.TLS.CARoot)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_root: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_root: %s holds no PEM certificate", cfg.TLS.CARoot)
		}
	}
	if m.httpPort, err = listenPort(cfg.Server.HTTPListen); err != nil {
		return nil, fmt.Errorf("server.http_listen: %w", err)
	}
	tlsPort, err := listenPort(cfg.Server.HTTPSListen)
	if err != nil {
		return nil, fmt.Errorf("server.https_listen: %w", err)
	}
	listenHost, _, _ := net.SplitHostPort(cfg.Server.HTTPListen)
	id, err := m.newIdentity(name)
	if err != nil {
		return nil, err
	}
	m.id.Store(id)

	zl := newZapLogger(log)
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return m.magic, nil },
		Logger:           zl,
	})
	m.magic = certmagic.New(m.cache, certmagic.Config{
		Storage: &certmagic.FileStorage{Path: datadir.Layout{Dir: cfg.Server.DataDir}.CertMagic()},
		// No DefaultServerName: getCertificate asks for the current
		// name itself, as that name may change while the box runs.
		OnEvent: m.onEvent,
		Logger:  zl,
	})

	profile := cfg.TLS.Profile
	if profile == "" && cfg.Server.Domain == "" {
		profile = shortlivedProfile
	}
	tmpl := certmagic.ACMEIssuer{
		CA:                      cfg.TLS.CA,
		Email:                   cfg.TLS.Email,
		Agreed:                  true,
		Profile:                 profile,
		TrustedRoots:            roots,
		ListenHost:              listenHost,
		AltHTTPPort:             m.httpPort,
		AltTLSALPNPort:          tlsPort,
		DisableHTTPChallenge:    cfg.TLS.Challenge == "tls-alpn-01",
		DisableTLSALPNChallenge: cfg.TLS.Challenge == "http-01",
		Logger:                  zl,
	}
	if cfg.TLS.Challenge == "dns-01" {
		tmpl.DNS01Solver = &certmagic.DNS01Solver{DNSManager: certmagic.DNSManager{
			DNSProvider: dns,
			Resolvers:   cfg.TLS.Resolvers,
			Logger:      zl,
		}}
	}
	m.issuer = certmagic.NewACMEIssuer(m.magic, tmpl)
	m.magic.Issuers = []certmagic.Issuer{m.issuer}
	return m, nil
}

// listenPort returns the port of a host:port listen address.
func listenPort(addr string) (int, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	p, err := net.LookupPort("tcp", port)
	if err != nil {
		return 0, err
	}
	return p, nil
}

// newIdentity makes the box's identity for name: the local CA for name
// (the stored one when it fits) and a stand-in certificate from it.
func (m *certManager) newIdentity(name string) (*identity, error) {
	now := time.Now()
	ca, err := loadOrCreateLocalCA(datadir.Layout{Dir: m.cfg.Server.DataDir}.LocalCA(), name, now)
	if err != nil {
		return nil, err
	}
	fallback, err := ca.issue(name, now)
	if err != nil {
		return nil, fmt.Errorf("make the stand-in certificate for %s: %w", name, err)
	}
	trust := roomurl.New("http", name, m.httpPort)
	trust.Path = trustPath
	return &identity{name: name, localCA: ca, fallback: fallback, trustURL: trust.String(), hint: failureHint(m.cfg, name)}, nil
}

// servesLocalCA reports whether handshakes get the local CA's stand-in
// right now: the certificate cache holds no valid one for the box's name.
func (m *certManager) servesLocalCA() bool {
	for _, c := range m.cache.AllMatchingCertificates(m.name()) {
		if !c.Expired() {
			return false
		}
	}
	return true
}

// trustURL is the page that offers the box's local CA.
func (m *certManager) trustURL() string { return m.id.Load().trustURL }

// name is the name the box's certificate is for right now.
func (m *certManager) name() string { return m.id.Load().name }

// site returns the box's current name and local CA, for the plain-HTTP
// listener.
func (m *certManager) site() (string, *localCA) {
	id := m.id.Load()
	return id.name, id.localCA
}

// manage loads the certificate from storage or starts obtaining it in the
// background; failures are retried with backoff until ctx ends or the name
// is switched away from.
func (m *certManager) manage(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	stop, err := m.manageName(ctx, m.name())
	if err != nil {
		return err
	}
	m.stopObtain = stop
	return nil
}

// manageName starts managing the certificate for name under a context of
// its own, derived from ctx, and returns what cancels that context.
func (m *certManager) manageName(ctx context.Context, name string) (context.CancelFunc, error) {
	ctx, cancel := context.WithCancel(ctx)
	if err := m.magic.ManageAsync(ctx, []string{name}); err != nil {
		cancel()
		return nil, fmt.Errorf("manage the certificate for %s: %w", name, err)
	}
	return cancel, nil
}

// switchTo makes name (an IP-only box's new public address) the box's
// name: handshakes without SNI, the HTTP redirect and the trust page use it
// from now on; its certificate is loaded from storage or obtained in the
// background (served from the local CA until then); and the old name's
// certificate is no longer managed (it stays in storage, so a return to
// that address reuses it). Issuance for name goes on until ctx ends or the
// next switch. manage must have been called.
func (m *certManager) switchTo(ctx context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.id.Load()
	if name == old.name {
		return nil
	}
	id, err := m.newIdentity(name)
	if err != nil {
		return err
	}
	// The new identity goes first: onEvent drops every certificate
	// cached for another name, and the new one may be cached at once.
	m.id.Store(id)
	stop, err := m.manageName(ctx, name)
	if err != nil {
		m.id.Store(old)
		return err
	}
	m.stopObtain()
	m.stopObtain = stop
	m.unmanage(old.name)
	m.log.Info("the certificate follows the new address; the old address's is no longer managed", "old", old.name, "new", name)
	return nil
}

// stop ends certificate maintenance.
func (m *certManager) stop() { m.cache.Stop() }

// unmanage stops maintaining the certificates cached for name.
func (m *certManager) unmanage(name string) {
	m.cache.RemoveManaged([]certmagic.SubjectIssuer{{Subject: name}})
}

// managed reports whether a certificate for name is in the cache, which
// holds only managed certificates.
func (m *certManager) managed(name string) bool {
	return len(m.cache.AllMatchingCertificates(name)) > 0
}

// tlsConfig is the HTTPS listener's TLS configuration: HTTP/2, HTTP/1.1
// and the ACME TLS-ALPN-01 challenge.
func (m *certManager) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1", acmeTLS1},
		GetCertificate: m.getCertificate,
	}
}

// httpChallenge answers ACME HTTP-01 requests and passes the rest to next.
func (m *certManager) httpChallenge(next http.Handler) http.Handler {
	return m.issuer.HTTPChallengeHandler(next)
}

// getCertificate serves the managed certificate for the box's current
// name, whatever name the client asked for (browsers send none for an IP
// address), or the local CA's stand-in while there is none. A TLS-ALPN-01
// challenge handshake gets only the challenge certificate.
func (m *certManager) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acmeTLS1 {
		return m.magic.GetCertificate(hello)
	}
	id := m.id.Load()
	named := *hello
	named.ServerName = id.name
	cert, err := m.magic.GetCertificate(&named)
	if err != nil || cert == nil || len(cert.Certificate) == 0 {
		return id.fallback, nil
	}
	return cert, nil
}

// onEvent logs certmagic's outcomes, saying what to fix when issuance
// fails, and drops a certificate cached for a name the box no longer has
// (one whose issuance finished just as the address changed).
func (m *certManager) onEvent(_ context.Context, event string, data map[string]any) error {
	id := m.id.Load()
	switch event {
	case "cert_obtained":
		m.log.Info("certificate obtained", "name", data["identifier"], "renewal", data["renewal"], "issuer", data["issuer"])
	case "cert_failed":
		serving := "a certificate from its local CA (" + id.trustURL + " explains how to trust it)"
		if renewal, _ := data["renewal"].(bool); renewal {
			serving = "the current certificate"
		}
		err, _ := data["error"].(error)
		m.log.Error("could not get a certificate; the room keeps serving "+serving+" and chatbox retries with backoff",
			"name", data["identifier"], "err", err, "fix", m.whatToFix(id, err))
	case "cached_managed_cert":
		if m.cfg.Server.IPDetect == "" {
			break
		}
		if sans, _ := data["sans"].([]string); len(sans) > 0 && !slices.Contains(sans, id.name) {
			for _, san := range sans {
				m.unmanage(san)
			}
			m.log.Info("dropped a certificate for an old address", "names", sans, "current", id.name)
		}
	}
	return nil
}

// whatToFix says what to do about err, a failure to get a certificate.
func (m *certManager) whatToFix(id *identity, err error) string {
	var problem acme.Problem
	if errors.As(err, &problem) && problem.Type == acme.ProblemTypeRateLimited {
		return "the CA's rate limit was reached; chatbox tries again later on its own (for experiments, use a staging CA in tls.ca)"
	}
	if profile, offered, ok := unknownProfile(err); ok {
		return fmt.Sprintf("the CA at %s does not offer the ACME profile %q (it offers %s); "+
			"set tls.profile to one it offers, or tls.ca to a CA that offers %q (Let's Encrypt does, and needs it for IP addresses)",
			m.caURL, profile, offered, profile)
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		if u, perr := url.Parse(urlErr.URL); perr == nil && u.Host == m.caURL.Host {
			return fmt.Sprintf("the CA at %s could not be reached; check tls.ca and that this box can make outgoing HTTPS connections", m.caURL)
		}
	}
	return id.hint
}

// unknownProfile reads acmez's refusal to order a profile the CA's directory
// does not list ("unknown profile name 'x'; supported profiles: [a b]"),
// which has no type of its own, and returns the profile and those offered.
func unknownProfile(err error) (profile, offered string, ok bool) {
	if err == nil {
		return "", "", false
	}
	const marker = "unknown profile name '"
	msg := err.Error()
	i := strings.Index(msg, marker)
	if i < 0 {
		return "", "", false
	}
	rest := msg[i+len(marker):]
	end := strings.IndexByte(rest, '\'')
	if end < 0 {
		return "", "", false
	}
	profile, offered = rest[:end], "none"
	if _, list, found := strings.Cut(rest[end:], "supported profiles: "); found {
		if list = strings.Trim(strings.TrimSpace(list), "[]"); list != "" {
			offered = strings.Join(strings.Fields(list), ", ")
		}
	}
	return profile, offered, true
}

// failureHint says what usually makes issuance for cfg fail and how to fix it.
func failureHint(cfg config.Config, name string) string {
	switch {
	case cfg.TLS.Challenge == "dns-01":
		return fmt.Sprintf("check that dns.api_token may read the zone of %s and edit its DNS records (Zone:Read and DNS:Edit)", name)
	case cfg.Server.Domain != "":
		return fmt.Sprintf("check that %s points at this box's public address and that ports 80 and 443 are reachable from the internet; "+
			"if they cannot be, set tls.challenge = \"dns-01\" with a DNS provider", name)
	}
	if ip := net.ParseIP(name); ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() {
		return fmt.Sprintf("%s is not a public address, and public CAs issue certificates only for public ones; "+
			"set server.ip to the box's public address, or have people trust the box's own CA", name)
	}
	return fmt.Sprintf("check that %s is this box's public address and that ports 80 and 443 are reachable from the internet at it", name)
}
