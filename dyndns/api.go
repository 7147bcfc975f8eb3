package dyndns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/chatbox-dev/chatbox/config"
	"github.com/libdns/cloudflare"
)

// cloudflareBaseURL is the base URL of Cloudflare's v4 API, built into
// github.com/libdns/cloudflare v0.2.2.
const cloudflareBaseURL = "https://api.cloudflare.com/client/v4"

// maxAttempts bounds how often one API request is tried.
const maxAttempts = 5

// APIError is an error answer from Cloudflare's API.
type APIError struct {
	Method string
	Path   string // the request path below the API base URL
	Status int
	Errors []APIMessage
}

// APIMessage is one entry of the errors list of a Cloudflare answer.
type APIMessage struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("cloudflare: %s %s: HTTP %d: %s", e.Method, e.Path, e.Status, e.summary())
}

func (e *APIError) summary() string {
	if len(e.Errors) == 0 {
		return http.StatusText(e.Status)
	}
	parts := make([]string, len(e.Errors))
	for i, m := range e.Errors {
		parts[i] = fmt.Sprintf("%s (%d)", m.Message, m.Code)
	}
	return strings.Join(parts, "; ")
}

// Unauthorized reports whether Cloudflare refused the token. An unknown
// token or one that lacks a permission comes back as 401 or 403, whatever
// its code (9109, 10000); a malformed one as 400 with code 6003 (invalid
// request headers) or 6111 (invalid format for the Authorization header).
func (e *APIError) Unauthorized() bool {
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		return true
	}
	for _, m := range e.Errors {
		if m.Code == 6003 || m.Code == 6111 {
			return true
		}
	}
	return false
}

// retryable reports whether a request may be sent again: always after a
// 429 (the API did nothing), and after a 5xx unless it created something
// (a POST), since the API may have done it anyway.
func (e *APIError) retryable() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500 && e.Method != http.MethodPost
}

// permissionHint turns a refused token into a sentence that says what to
// fix; other errors are returned as they are.
func permissionHint(err error, zone string) error {
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Unauthorized() {
		return fmt.Errorf("cloudflare refused the API token in dns.api_token (%s): it needs the permissions Zone:Read and DNS:Edit for the zone %s", apiErr.summary(), zone)
	}
	return err
}

// apiClient sends the libdns client's requests to the configured API base
// URL, retries rate-limited and failed ones with backoff, and turns error
// answers into *APIError. It implements cloudflare.HTTPClient.
type apiClient struct {
	base       string
	token      string
	http       *http.Client
	retryDelay time.Duration
	log        *slog.Logger
}

func newAPIClient(cfg config.DNS, opts Options) (*apiClient, error) {
	if cfg.Provider != "cloudflare" {
		return nil, fmt.Errorf("dns.provider: %q is not supported; use cloudflare", cfg.Provider)
	}
	if cfg.APIToken == "" {
		return nil, errors.New("dns.api_token: the cloudflare provider needs an API token with Zone:Read and DNS:Edit")
	}
	base := cloudflareBaseURL
	if cfg.APIURL != "" {
		u, err := url.Parse(cfg.APIURL)
		if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && loopbackHost(u.Hostname()))) {
			return nil, fmt.Errorf("dns.api_url: %q is not an https:// URL (plain http is allowed only to loopback)", cfg.APIURL)
		}
		base = strings.TrimSuffix(cfg.APIURL, "/")
	}
	c := &apiClient{
		base:       base,
		token:      cfg.APIToken,
		http:       &http.Client{Timeout: 30 * time.Second},
		retryDelay: opts.RetryDelay,
		log:        opts.logger(),
	}
	if c.retryDelay <= 0 {
		c.retryDelay = time.Second
	}
	return c, nil
}

// Provider returns the libdns Cloudflare provider for cfg, for DNS-01
// challenges (it is a libdns RecordAppender and RecordDeleter). Its requests
// go to dns.api_url when set, rate-limited and failed requests are retried
// with backoff, and error answers come back as *APIError.
func Provider(cfg config.DNS) (*cloudflare.Provider, error) {
	c, err := newAPIClient(cfg, Options{})
	if err != nil {
		return nil, err
	}
	return c.provider(), nil
}

func (c *apiClient) provider() *cloudflare.Provider {
	return &cloudflare.Provider{APIToken: c.token, HTTPClient: c}
}

// Do sends req, a request for Cloudflare's API, to the configured base URL.
func (c *apiClient) Do(req *http.Request) (*http.Response, error) {
	path, ok := strings.CutPrefix(req.URL.String(), cloudflareBaseURL)
	if !ok {
		return nil, fmt.Errorf("cloudflare: refusing a request for %s outside the API", req.URL.Host)
	}
	to, err := url.Parse(c.base + path)
	if err != nil {
		return nil, err
	}
	ctx := req.Context()
	delay := c.retryDelay
	for attempt := 1; ; attempt++ {
		r := req.Clone(ctx)
		r.URL, r.Host = to, to.Host
		if req.Body != nil && req.GetBody != nil && attempt > 1 {
			if r.Body, err = req.GetBody(); err != nil {
				return nil, err
			}
		}
		resp, err := c.http.Do(r)
		if err != nil {
			// The request may or may not have reached the API; only a read
			// is safe to send again.
			unreachable := &UnreachableError{API: c.base, Err: err}
			if req.Method != http.MethodGet || attempt == maxAttempts || ctx.Err() != nil {
				return nil, unreachable
			}
			c.log.Warn("could not reach the DNS API; retrying", "api", c.base, "cause", unreachable.cause(),
				"attempt", attempt, "of", maxAttempts, "in", delay)
		} else {
			if resp.StatusCode < 400 {
				return resp, nil
			}
			apiPath, _, _ := strings.Cut(path, "?")
			apiErr := readAPIError(resp, req.Method, apiPath)
			canRetry := apiErr.retryable() && attempt < maxAttempts && (req.Body == nil || req.GetBody != nil)
			if !canRetry {
				return nil, apiErr
			}
			if d, ok := retryAfter(resp.Header.Get("Retry-After")); ok {
				delay = max(delay, d)
			}
			c.log.Debug("cloudflare answered an error; retrying", "method", req.Method, "status", resp.StatusCode, "in", delay)
		}
		t := time.NewTimer(min(delay, time.Minute))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		delay *= 2
	}
}

// UnreachableError is a request that did not get an answer from the DNS
// provider's API: the connection was refused, reset or timed out, or the
// API's name did not resolve.
type UnreachableError struct {
	// API is the base URL the request was sent to.
	API string
	// Err is what the HTTP client returned.
	Err error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("could not reach the DNS API at %s (%s); check dns.api_url if it is set, "+
		"and that this box's network and DNS work and allow outgoing HTTPS", e.API, e.cause())
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// cause is the innermost error, such as "connection refused", without
// the URL and address the chain repeats.
func (e *UnreachableError) cause() string {
	err := e.Err
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// readAPIError reads and closes an error answer.
func readAPIError(resp *http.Response, method, path string) *APIError {
	defer resp.Body.Close()
	var env struct {
		Errors []APIMessage `json:"errors"`
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = json.Unmarshal(body, &env)
	return &APIError{Method: method, Path: path, Status: resp.StatusCode, Errors: env.Errors}
}

// retryAfter reads a Retry-After header given in seconds.
func retryAfter(v string) (time.Duration, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// findZone returns the name of the Cloudflare zone that holds domain: zone
// itself when set, otherwise the longest parent of domain (itself included)
// that the token can see.
func (c *apiClient) findZone(ctx context.Context, domain, zone string) (string, error) {
	candidates := []string{strings.TrimSuffix(zone, ".")}
	if zone == "" {
		candidates = nil
		labels := strings.Split(strings.TrimSuffix(domain, "."), ".")
		for i := 0; i+2 <= len(labels); i++ {
			candidates = append(candidates, strings.Join(labels[i:], "."))
		}
	}
	for _, name := range candidates {
		found, err := c.zoneExists(ctx, name)
		if err != nil {
			return "", permissionHint(err, name)
		}
		if found {
			return name, nil
		}
	}
	return "", fmt.Errorf("no Cloudflare zone named %s is visible to the API token: check server.domain and dns.zone, and that the token has Zone:Read and DNS:Edit for the zone", strings.Join(candidates, " or "))
}

func (c *apiClient) zoneExists(ctx context.Context, name string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cloudflareBaseURL+"/zones?"+url.Values{"name": {name}}.Encode(), nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	var env struct {
		Result []struct {
			Name string `json:"name"`
		} `json:"result"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&env); err != nil {
		return false, fmt.Errorf("cloudflare: list zones: %w", err)
	}
	for _, z := range env.Result {
		if strings.EqualFold(z.Name, name) {
			return true, nil
		}
	}
	return false, nil
}
