// Package release is chatbox's signed release channel: the manifest a
// release publishes (version, date, and one file per OS and architecture
// with its size and SHA-256), its minisign signature, the public keys this
// binary trusts, and a client that fetches and verifies them.
//
// A channel is a URL with two kinds of directory under it, laid out like a
// GitHub project's releases page:
//
//	URL/latest/download/manifest.json          the newest release
//	URL/download/VERSION/manifest.json         any release, by version
//
// each with manifest.json.minisig beside it and the files the manifest
// names, by URLs relative to the manifest's own.
package release

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"aead.dev/minisign"
	"golang.org/x/mod/semver"
)

// ManifestName and SignatureName are the file names of a release's
// manifest and of its minisign signature.
const (
	ManifestName  = "manifest.json"
	SignatureName = "manifest.json.minisig"
)

// Manifest describes one release.
type Manifest struct {
	// Version is the release's semantic version, like v1.2.3.
	Version string `json:"version"`
	// Date is when the release was made.
	Date time.Time `json:"date"`
	// Files are the release's binaries, one per OS and architecture.
	Files []File `json:"files"`
	// Keys are signing keys vouched for by other keys: the way a new
	// key comes to be trusted (see Verify).
	Keys []Endorsement `json:"keys,omitempty"`
}

// File is one binary of a release.
type File struct {
	// OS is a GOOS, like linux or openbsd.
	OS string `json:"os"`
	// Arch is a GOARCH, or armv6 or armv7 for 32-bit ARM.
	Arch string `json:"arch"`
	// URL is where the file is, relative to the manifest's URL.
	URL string `json:"url"`
	// Size is the file's length in bytes.
	Size int64 `json:"size"`
	// SHA256 is the hex SHA-256 of the file.
	SHA256 string `json:"sha256"`
}

// Endorsement is a public key signed by another key, so that a binary
// trusting the signer comes to trust the key too.
type Endorsement struct {
	// PublicKey is the endorsed key in minisign's one-line form.
	PublicKey string `json:"public_key"`
	// Signature is the minisign signature of EndorsementMessage(PublicKey).
	Signature string `json:"signature"`
}

// EndorsementMessage is what a key signs to vouch for another: a fixed
// prefix, so that no other signature can be passed off as an endorsement,
// and the endorsed key.
func EndorsementMessage(publicKey string) []byte {
	return []byte("chatbox release signing key\n" + publicKey + "\n")
}

// Endorse returns an endorsement of key signed by signer.
func Endorse(key minisign.PublicKey, signer minisign.PrivateKey) Endorsement {
	sig := minisign.SignWithComments(signer, EndorsementMessage(key.String()), "chatbox release signing key", "")
	return Endorsement{PublicKey: key.String(), Signature: string(sig)}
}

// Sign returns the minisign signature of a manifest's bytes.
func Sign(manifest []byte, key minisign.PrivateKey) []byte {
	return minisign.SignWithComments(key, manifest, "chatbox release manifest", "")
}

// Target names this machine's OS and architecture as a manifest does.
func Target() (goos, arch string) {
	return runtime.GOOS, targetArch(runtime.GOARCH, goarm())
}

func targetArch(goarch, goarm string) string {
	if goarch != "arm" {
		return goarch
	}
	if goarm == "7" {
		return "armv7"
	}
	return "armv6" // runs on every 32-bit ARM board chatbox supports
}

// goarm is the GOARM this binary was built with, or "".
func goarm() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "GOARM" {
				return strings.TrimSuffix(s.Value, ",softfloat")
			}
		}
	}
	return ""
}

// Find returns the manifest's file for goos and arch.
func (m *Manifest) Find(goos, arch string) (File, error) {
	for _, f := range m.Files {
		if f.OS == goos && f.Arch == arch {
			return f, nil
		}
	}
	return File{}, fmt.Errorf("release %s has no binary for %s/%s", m.Version, goos, arch)
}

// Compare compares semantic versions like semver: -1, 0 or +1. A version
// that is not semantic (a development build's "dev") is older than any.
func Compare(a, b string) int {
	return semver.Compare(a, b)
}

// ValidVersion reports whether v is a semantic version like v1.2.3.
func ValidVersion(v string) bool {
	return semver.IsValid(v) && semver.Canonical(v) == strings.SplitN(v, "+", 2)[0]
}

// Verify checks signature against data with the trusted keys, and the keys
// those vouch for in the manifest's Keys, and returns the parsed manifest.
//
// Rotation: a key is trusted when it is one of trusted, or when the
// manifest carries it with a signature by one of trusted (one step: a key
// vouched for by a vouched-for key is not trusted). A release signed by a
// new key therefore carries the new key endorsed by the old one until
// every box runs a binary that embeds the new key.
func Verify(data, signature []byte, trusted []minisign.PublicKey) (*Manifest, error) {
	var sig minisign.Signature
	if err := sig.UnmarshalText(signature); err != nil {
		return nil, fmt.Errorf("the manifest's signature is not a minisign signature: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("the manifest is not valid JSON: %w", err)
	}
	keys := append([]minisign.PublicKey(nil), trusted...)
	for _, e := range m.Keys {
		var k minisign.PublicKey
		if err := k.UnmarshalText([]byte(e.PublicKey)); err != nil {
			continue
		}
		for _, t := range trusted {
			if minisign.Verify(t, EndorsementMessage(e.PublicKey), []byte(e.Signature)) {
				keys = append(keys, k)
				break
			}
		}
	}
	for _, k := range keys {
		if k.ID() != sig.KeyID {
			continue
		}
		if !minisign.Verify(k, data, signature) {
			return nil, fmt.Errorf("the manifest's signature by key %X does not verify: it was changed after signing", sig.KeyID)
		}
		if err := m.check(); err != nil {
			return nil, err
		}
		return &m, nil
	}
	return nil, fmt.Errorf("the manifest is signed by key %X, which this chatbox does not trust and no trusted key vouches for", sig.KeyID)
}

// check validates a signed manifest's fields.
func (m *Manifest) check() error {
	if !ValidVersion(m.Version) {
		return fmt.Errorf("the manifest's version %q is not a semantic version like v1.2.3", m.Version)
	}
	for _, f := range m.Files {
		u, err := url.Parse(f.URL)
		if err != nil || f.URL == "" || u.IsAbs() || u.Host != "" || strings.HasPrefix(f.URL, "/") {
			return fmt.Errorf("the manifest's URL %q for %s/%s is not relative to the manifest", f.URL, f.OS, f.Arch)
		}
		if f.Size <= 0 {
			return fmt.Errorf("the manifest's size for %s/%s is not positive", f.OS, f.Arch)
		}
		if b, err := hex.DecodeString(f.SHA256); err != nil || len(b) != 32 {
			return fmt.Errorf("the manifest's SHA-256 for %s/%s is not 64 hex digits", f.OS, f.Arch)
		}
	}
	return nil
}

// errSkip marks a failure not worth retrying.
var errSkip = errors.New("not retried")
