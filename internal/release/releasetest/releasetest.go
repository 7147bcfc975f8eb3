// Package releasetest serves a release channel over HTTPS for tests: a
// signing key made for the test, manifests signed with it (or any other
// key), files, and faults such as 5xx answers and truncated bodies.
package releasetest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"aead.dev/minisign"
	"github.com/chatbox-dev/chatbox/internal/release"
)

// Channel is a release channel on a local HTTPS server.
type Channel struct {
	// Server serves the channel; its Client trusts its certificate.
	Server *httptest.Server
	// Key signs manifests; Public is what a client must trust.
	Key    minisign.PrivateKey
	Public minisign.PublicKey

	mu       sync.Mutex
	files    map[string][]byte
	truncate map[string]bool
	fail     map[string]int
	hits     map[string]int
}

// New starts a channel with a fresh key pair; it stops with the test.
func New(t testing.TB) *Channel {
	t.Helper()
	c := &Channel{files: map[string][]byte{}, truncate: map[string]bool{}, fail: map[string]int{}, hits: map[string]int{}}
	c.Public, c.Key = NewKey(t)
	c.Server = httptest.NewTLSServer(http.HandlerFunc(c.serve))
	t.Cleanup(c.Server.Close)
	return c
}

// NewKey returns a fresh minisign key pair.
func NewKey(t testing.TB) (minisign.PublicKey, minisign.PrivateKey) {
	t.Helper()
	pub, priv, err := minisign.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func (c *Channel) serve(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.hits[r.URL.Path]++
	body, ok := c.files[r.URL.Path]
	truncate := c.truncate[r.URL.Path]
	failing := c.fail[r.URL.Path] > 0
	if failing {
		c.fail[r.URL.Path]--
	}
	c.mu.Unlock()
	switch {
	case failing:
		http.Error(w, "try again", http.StatusInternalServerError)
	case !ok:
		http.NotFound(w, r)
	case truncate:
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body[:len(body)/2])
	default:
		w.Write(body)
	}
}

// Client returns a release client for the channel that trusts Public
// (and the extra keys), backs off for a millisecond and uses the server's
// certificate.
func (c *Channel) Client(extra ...minisign.PublicKey) release.Client {
	return release.Client{
		URL:     c.Server.URL + "/releases",
		HTTP:    c.Server.Client(),
		Keys:    append([]minisign.PublicKey{c.Public}, extra...),
		Backoff: time.Millisecond,
	}
}

// Put serves body at path.
func (c *Channel) Put(path string, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.files[path] = body
}

// Truncate makes path's answer stop halfway through its declared length.
func (c *Channel) Truncate(path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.truncate[path] = true
}

// Fail makes the next n requests for path answer 500.
func (c *Channel) Fail(path string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fail[path] = n
}

// Hits is how many requests path had.
func (c *Channel) Hits(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits[path]
}

// Dir is the path of version's release directory ("" for the latest).
func Dir(version string) string {
	if version == "" {
		return "/releases/latest/download/"
	}
	return "/releases/download/" + version + "/"
}

// FileFor returns a manifest entry for body at name.
func FileFor(goos, arch, name string, body []byte) release.File {
	sum := sha256.Sum256(body)
	return release.File{OS: goos, Arch: arch, URL: name, Size: int64(len(body)), SHA256: hex.EncodeToString(sum[:])}
}

// Publish serves m, signed by key, in dir, with files (by name) beside it.
func (c *Channel) Publish(t testing.TB, dir string, m release.Manifest, key minisign.PrivateKey, files map[string][]byte) {
	t.Helper()
	if m.Date.IsZero() {
		m.Date = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	c.Put(dir+release.ManifestName, data)
	c.Put(dir+release.SignatureName, release.Sign(data, key))
	for name, body := range files {
		c.Put(dir+name, body)
	}
}
