package release

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"aead.dev/minisign"
)

// Limits of what the client reads from a channel.
const (
	// MaxManifestSize bounds a manifest and its signature.
	MaxManifestSize = 1 << 20
	// MaxBinarySize bounds a release file, whatever the manifest says.
	MaxBinarySize = 512 << 20
)

// Client fetches and verifies releases from a channel. Only URL is needed.
type Client struct {
	// URL is the channel, like https://github.com/chatbox-dev/chatbox/releases.
	URL string
	// HTTP makes the requests; nil uses one with timeouts that follows
	// redirects only to https (or to loopback addresses).
	HTTP *http.Client
	// Keys are the trusted signing keys; nil means TrustedKeys().
	Keys []minisign.PublicKey
	// Attempts bounds the tries of one request when the server answers
	// 5xx or the network fails; zero means 4.
	Attempts int
	// Backoff is the wait before the second try, doubled for each next
	// one; zero means one second.
	Backoff time.Duration
}

// Latest returns the newest release's verified manifest and its URL.
func (c *Client) Latest(ctx context.Context) (*Manifest, *url.URL, error) {
	return c.manifest(ctx, "latest/download/")
}

// Version returns release version's verified manifest and its URL.
func (c *Client) Version(ctx context.Context, version string) (*Manifest, *url.URL, error) {
	if !ValidVersion(version) {
		return nil, nil, fmt.Errorf("%q is not a release version like v1.2.3", version)
	}
	m, u, err := c.manifest(ctx, "download/"+url.PathEscape(version)+"/")
	if err == nil && m.Version != version {
		return nil, nil, fmt.Errorf("the manifest for %s is signed for %s instead; the channel mixed up its releases", version, m.Version)
	}
	return m, u, err
}

func (c *Client) manifest(ctx context.Context, dir string) (*Manifest, *url.URL, error) {
	base, err := url.Parse(strings.TrimSuffix(c.URL, "/") + "/")
	if err != nil || !allowedURL(base) {
		return nil, nil, fmt.Errorf("the release channel %q is not an https:// URL", c.URL)
	}
	mu := base.JoinPath(dir, ManifestName)
	data, final, err := c.get(ctx, mu, MaxManifestSize)
	if err != nil {
		return nil, nil, err
	}
	sig, _, err := c.get(ctx, final.JoinPath("..", SignatureName), MaxManifestSize)
	if err != nil {
		return nil, nil, err
	}
	keys := c.Keys
	if keys == nil {
		keys = TrustedKeys()
	}
	m, err := Verify(data, sig, keys)
	if err != nil {
		return nil, nil, err
	}
	return m, final, nil
}

// Download writes f, found relative to the manifest at base, to w, and
// checks its size and SHA-256 against the manifest's.
func (c *Client) Download(ctx context.Context, base *url.URL, f File, w io.Writer) error {
	if f.Size > MaxBinarySize {
		return fmt.Errorf("the release's %s is %d bytes, more than the %d a chatbox binary may be", f.URL, f.Size, MaxBinarySize)
	}
	ref, err := url.Parse(f.URL)
	if err != nil {
		return fmt.Errorf("the release's URL %q: %w", f.URL, err)
	}
	u := base.ResolveReference(ref)
	h := sha256.New()
	n, err := c.do(ctx, u, f.Size+1, io.MultiWriter(w, h))
	if err != nil {
		return err
	}
	if n != f.Size {
		return fmt.Errorf("the download of %s is %d bytes, not the %d the signed manifest says", u, n, f.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, f.SHA256) {
		return fmt.Errorf("the SHA-256 of %s is %s, not the %s the signed manifest says", u, got, f.SHA256)
	}
	return nil
}

// get reads u whole, at most limit bytes, and returns it and the URL it
// came from after redirects.
func (c *Client) get(ctx context.Context, u *url.URL, limit int64) ([]byte, *url.URL, error) {
	var b strings.Builder
	final := u
	n, err := c.doFinal(ctx, u, limit+1, &b, &final)
	if err != nil {
		return nil, nil, err
	}
	if n > limit {
		return nil, nil, fmt.Errorf("%s is more than %d bytes", u, limit)
	}
	return []byte(b.String()), final, nil
}

func (c *Client) do(ctx context.Context, u *url.URL, limit int64, w io.Writer) (int64, error) {
	var final *url.URL
	return c.doFinal(ctx, u, limit, w, &final)
}

// doFinal copies at most limit bytes of u's body to w, trying again with
// backoff on 5xx answers and network errors that happen before any byte
// was written.
func (c *Client) doFinal(ctx context.Context, u *url.URL, limit int64, w io.Writer, final **url.URL) (int64, error) {
	attempts := c.Attempts
	if attempts <= 0 {
		attempts = 4
	}
	wait := c.Backoff
	if wait <= 0 {
		wait = time.Second
	}
	var last error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return 0, fmt.Errorf("fetch %s: %w", u, ctx.Err())
			case <-t.C:
			}
			wait *= 2
		}
		n, err := c.once(ctx, u, limit, w, final)
		if err == nil || errors.Is(err, errSkip) || n > 0 || ctx.Err() != nil {
			return n, unskip(err)
		}
		last = err
	}
	return 0, fmt.Errorf("%w (tried %d times)", last, attempts)
}

func (c *Client) once(ctx context.Context, u *url.URL, limit int64, w io.Writer, final **url.URL) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, fmt.Errorf("fetch %s: %w: %w", u, err, errSkip)
	}
	resp, err := c.client().Do(req)
	if err != nil {
		return 0, fmt.Errorf("fetch %s: %w", u, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 500:
		return 0, fmt.Errorf("fetch %s: the server answered %s", u, resp.Status)
	case resp.StatusCode != http.StatusOK:
		return 0, fmt.Errorf("fetch %s: the server answered %s: %w", u, resp.Status, errSkip)
	}
	*final = resp.Request.URL
	n, err := io.Copy(w, io.LimitReader(resp.Body, limit))
	if err != nil {
		return n, fmt.Errorf("fetch %s: %w", u, err)
	}
	return n, nil
}

func unskip(err error) error {
	if err == nil || !errors.Is(err, errSkip) {
		return err
	}
	msg := strings.TrimSuffix(err.Error(), ": "+errSkip.Error())
	return errors.New(msg)
}

func (c *Client) client() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return NewHTTPClient(nil)
}

// NewHTTPClient returns the client a channel is read with: bounded
// connection and header timeouts, redirects only to https or loopback. A
// nil transport uses a clone of http.DefaultTransport.
func NewHTTPClient(tr *http.Transport) *http.Client {
	if tr == nil {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	tr.TLSHandshakeTimeout = 10 * time.Second
	tr.ResponseHeaderTimeout = 30 * time.Second
	tr.DialContext = (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	return &http.Client{
		Transport: tr,
		// A whole release binary over a slow home connection fits.
		Timeout: 15 * time.Minute,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return errors.New("too many redirects")
			}
			if !allowedURL(req.URL) {
				return fmt.Errorf("a redirect to %s is not https", req.URL)
			}
			return nil
		},
	}
}

// allowedURL reports whether u may be fetched: https, or http to a
// loopback address for tests.
func allowedURL(u *url.URL) bool {
	return u.Scheme == "https" || u.Scheme == "http" && IsLoopback(u.Hostname())
}

// IsLoopback reports whether host is localhost or a loopback address.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
