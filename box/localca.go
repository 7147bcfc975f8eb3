package box

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/chatbox-dev/chatbox/internal/atomicfile"
)

// localCA is a certificate authority kept on the box. It signs the
// certificate the box serves while it has no publicly trusted one (a box on
// a private address, or before the first issuance). Its name constraints
// limit it to the box's own name and to server certificates, so a person
// who trusts it in a browser trusts nothing else.
type localCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

const (
	localCACert = "ca.pem"
	localCAKey  = "ca-key.pem"
)

// loadOrCreateLocalCA loads the CA kept in dir, or makes a new one when
// there is none, when it is not for name, or when it expires within a
// month.
func loadOrCreateLocalCA(dir, name string, now time.Time) (*localCA, error) {
	ca, err := loadLocalCA(dir)
	if err == nil && ca.permits(name) && now.Before(ca.cert.NotAfter.AddDate(0, -1, 0)) {
		return ca, nil
	}
	ca, err = newLocalCA(name, now)
	if err != nil {
		return nil, fmt.Errorf("make the local certificate authority: %w", err)
	}
	if err := ca.save(dir); err != nil {
		return nil, fmt.Errorf("save the local certificate authority: %w", err)
	}
	return ca, nil
}

func loadLocalCA(dir string) (*localCA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, localCACert))
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, localCAKey))
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("the local CA key is not an ECDSA key")
	}
	return &localCA{cert: pair.Leaf, key: key}, nil
}

// newLocalCA makes a CA, valid for ten years, that may sign server
// certificates for name only.
func newLocalCA(name string, now time.Time) (*localCA, error) {
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "chatbox local CA for " + name, Organization: []string{"chatbox"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,

		PermittedDNSDomainsCritical: true,
	}
	if ip := net.ParseIP(name); ip != nil {
		bits := 8 * len(ip.To16())
		if ip4 := ip.To4(); ip4 != nil {
			ip, bits = ip4, 32
		}
		tmpl.PermittedIPRanges = []*net.IPNet{{IP: ip, Mask: net.CIDRMask(bits, bits)}}
		// No DNS name at all: ".invalid" can never be a real one.
		tmpl.PermittedDNSDomains = []string{".invalid"}
	} else {
		tmpl.PermittedDNSDomains = []string{name}
		tmpl.ExcludedIPRanges = []*net.IPNet{
			{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)},
			{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)},
		}
	}
	cert, key, err := createCertificate(tmpl, nil, nil)
	if err != nil {
		return nil, err
	}
	return &localCA{cert: cert, key: key}, nil
}

// permits reports whether the CA may sign a certificate for name.
func (ca *localCA) permits(name string) bool {
	if ip := net.ParseIP(name); ip != nil {
		return slices.ContainsFunc(ca.cert.PermittedIPRanges, func(n *net.IPNet) bool {
			ones, bits := n.Mask.Size()
			return ones == bits && n.IP.Equal(ip)
		})
	}
	return slices.Contains(ca.cert.PermittedDNSDomains, name)
}

func (ca *localCA) save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(ca.key)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, localCAKey), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, localCACert), ca.pem(), 0o644)
}

// pem returns the CA certificate in PEM form.
func (ca *localCA) pem() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})
}

// fingerprint is the SHA-256 of the CA certificate as browsers show it:
// upper-case hex pairs separated by colons.
func (ca *localCA) fingerprint() string {
	sum := sha256.Sum256(ca.cert.Raw)
	pairs := make([]string, len(sum))
	for i, b := range sum {
		pairs[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(pairs, ":")
}

// issue signs a server certificate for name, valid for a year (within what
// browsers accept from a CA a person added).
func (ca *localCA) issue(name string, now time.Time) (*tls.Certificate, error) {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: name},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.AddDate(1, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ip := net.ParseIP(name); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{name}
	}
	leaf, key, err := createCertificate(tmpl, ca.cert, ca.key)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{leaf.Raw, ca.cert.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

// createCertificate makes a P-256 key and a certificate for it from tmpl,
// signed by parent's key, or self-signed when parent is nil.
func createCertificate(tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, err
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}
