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
	"path/filepath"
	"strings"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/chatbox-dev/chatbox/config"
	"github.com/mholt/acmez/v3/acme"
)

// acmeTLS1 is the ALPN protocol of the ACME TLS-ALPN-01 challenge (RFC 8737).
const acmeTLS1 = "acme-tls/1"

// shortlivedProfile is the ACME profile for IP-address certificates.
const shortlivedProfile = "shortlived"

// certManager obtains and renews the box's one certificate through ACME and
// picks the certificate each TLS handshake gets: the managed one when there
// is one, otherwise a stand-in from the box's local CA, so the room stays
// reachable while issuance is retried.
type certManager struct {
	name     string
	magic    *certmagic.Config
	cache    *certmagic.Cache
	issuer   *certmagic.ACMEIssuer
	localCA  *localCA
	fallback *tls.Certificate
	log      *slog.Logger
	hint     string
	// trustURL is the page that explains how to trust the local CA.
	trustURL string
	// caURL is the ACME directory.
	caURL *url.URL
}

// boxName is the identifier the box's certificate is for: its domain, or
// its IP address when it has no domain.
func boxName(cfg config.Config) (string, error) {
	switch {
	case cfg.Server.Domain != "":
		return strings.ToLower(cfg.Server.Domain), nil
	case cfg.Server.IP != "":
		return cfg.Server.IP, nil
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
	m := &certManager{name: name, log: log, hint: failureHint(cfg, name)}
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
	httpPort, err := listenPort(cfg.Server.HTTPListen)
	if err != nil {
		return nil, fmt.Errorf("server.http_listen: %w", err)
	}
	tlsPort, err := listenPort(cfg.Server.HTTPSListen)
	if err != nil {
		return nil, fmt.Errorf("server.https_listen: %w", err)
	}
	listenHost, _, _ := net.SplitHostPort(cfg.Server.HTTPListen)
	trust := siteURL("http", name, httpPort)
	trust.Path = trustPath
	m.trustURL = trust.String()

	m.localCA, err = loadOrCreateLocalCA(filepath.Join(cfg.Server.DataDir, "localca"), name, time.Now())
	if err != nil {
		return nil, err
	}
	m.fallback, err = m.localCA.issue(name, time.Now())
	if err != nil {
		return nil, fmt.Errorf("make the stand-in certificate: %w", err)
	}

	zl := newZapLogger(log)
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return m.magic, nil },
		Logger:           zl,
	})
	m.magic = certmagic.New(m.cache, certmagic.Config{
		Storage:            &certmagic.FileStorage{Path: filepath.Join(cfg.Server.DataDir, "certmagic")},
		DefaultServerName:  name,
		FallbackServerName: name,
		OnEvent:            m.onEvent,
		Logger:             zl,
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
		AltHTTPPort:             httpPort,
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

// manage loads the certificate from storage or starts obtaining it in the
// background; failures are retried with backoff until ctx ends.
func (m *certManager) manage(ctx context.Context) error {
	if err := m.magic.ManageAsync(ctx, []string{m.name}); err != nil {
		return fmt.Errorf("manage the certificate for %s: %w", m.name, err)
	}
	return nil
}

// stop ends certificate maintenance.
func (m *certManager) stop() { m.cache.Stop() }

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

// getCertificate serves the managed certificate, or the local CA's
// stand-in while there is none. A TLS-ALPN-01 challenge handshake gets
// only the challenge certificate.
func (m *certManager) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	cert, err := m.magic.GetCertificate(hello)
	if len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acmeTLS1 {
		return cert, err
	}
	if err != nil || cert == nil || len(cert.Certificate) == 0 {
		return m.fallback, nil
	}
	return cert, nil
}

// onEvent logs certmagic's outcomes, saying what to fix when issuance fails.
func (m *certManager) onEvent(_ context.Context, event string, data map[string]any) error {
	switch event {
	case "cert_obtained":
		m.log.Info("certificate obtained", "name", data["identifier"], "renewal", data["renewal"], "issuer", data["issuer"])
	case "cert_failed":
		serving := "a certificate from its local CA (" + m.trustURL + " explains how to trust it)"
		if renewal, _ := data["renewal"].(bool); renewal {
			serving = "the current certificate"
		}
		err, _ := data["error"].(error)
		m.log.Error("could not get a certificate; the room keeps serving "+serving+" and chatbox retries with backoff",
			"name", data["identifier"], "err", err, "fix", m.whatToFix(err))
	}
	return nil
}

// whatToFix says what to do about err, a failure to get a certificate.
func (m *certManager) whatToFix(err error) string {
	var problem acme.Problem
	if errors.As(err, &problem) && problem.Type == acme.ProblemTypeRateLimited {
		return "the CA's rate limit was reached; chatbox tries again later on its own (for experiments, use a staging CA in tls.ca)"
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		if u, perr := url.Parse(urlErr.URL); perr == nil && u.Host == m.caURL.Host {
			return fmt.Sprintf("the CA at %s could not be reached; check tls.ca and that this box can make outgoing HTTPS connections", m.caURL)
		}
	}
	return m.hint
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
