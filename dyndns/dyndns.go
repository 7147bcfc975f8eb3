// Package dyndns keeps a box's DNS records pointing at its public address.
//
// An Updater detects the public IPv4 and IPv6 addresses with the methods the
// config names (Cloudflare's trace endpoint, a "what is my IP" URL, a local
// interface, or a static address), refuses addresses that must not be
// published (private, loopback, link-local, CGNAT, Cloudflare's own), and
// makes the domain's A and AAAA records hold them through the libdns
// Cloudflare provider: it reads the records, compares, and writes only what
// differs, keeping an updated record's TTL and proxy setting and creating new
// records DNS-only. A detection error never deletes or overwrites anything.
//
// The provider is github.com/libdns/cloudflare v0.2.2. Its SetRecords keeps
// only the last of several records and it does no retries, so the Updater
// diffs and writes record by record itself, and requests that Cloudflare
// rate-limits (429) or fails (5xx) are retried with backoff.
package dyndns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chatbox-dev/chatbox/config"
	"github.com/libdns/cloudflare"
	"github.com/libdns/libdns"
)

// Options adjusts an Updater beyond what the config says. The zero value is
// right for a box.
type Options struct {
	// Logger receives what the Updater does. Nil means slog.Default().
	// The API token is never logged.
	Logger *slog.Logger
	// AllowLoopback accepts loopback addresses (127.0.0.0/8, ::1) as public
	// ones, so that a test can publish the address it listens on. Never set
	// it on a box.
	AllowLoopback bool
	// RetryDelay is the first wait before an API request that was
	// rate-limited or failed is sent again; it doubles each time. Zero means
	// one second.
	RetryDelay time.Duration
}

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.Default()
	}
	return o.Logger
}

// Action is what a pass did to the records of one type.
type Action string

// The actions.
const (
	Unchanged Action = "unchanged" // the record already held the address
	Created   Action = "created"   // there was no record; one was made
	Updated   Action = "updated"   // a record held another address; it was changed
)

// Change reports what one pass did for one record type.
type Change struct {
	Type   string       // "A" or "AAAA"
	Name   string       // the record's full name, e.g. "chat.example.com"
	Addr   netip.Addr   // the detected public address, now in the record
	Old    []netip.Addr // the addresses the records held before
	Action Action
}

// String describes the change in one line, e.g.
// "chat.example.com A 203.0.113.7: updated (was 203.0.113.1)".
func (c Change) String() string {
	s := fmt.Sprintf("%s %s %s: %s", c.Name, c.Type, c.Addr, c.Action)
	if c.Action != Unchanged && len(c.Old) > 0 {
		old := make([]string, len(c.Old))
		for i, a := range c.Old {
			old[i] = a.String()
		}
		s += " (was " + strings.Join(old, ", ") + ")"
	}
	return s
}

// Updater keeps the domain's A and AAAA records at the box's public
// addresses. Its methods may be called from several goroutines; passes run
// one at a time.
type Updater struct {
	domain    string
	zone      string // as configured; may be empty
	interval  time.Duration
	detectors []*Detector
	api       *apiClient
	provider  *cloudflare.Provider
	log       *slog.Logger

	mu        sync.Mutex // serializes passes and guards foundZone
	foundZone string
}

// New returns an Updater for cfg's server.domain, [dns] and [dyndns]
// sections. It does not look at dyndns.enabled: the caller decides whether to
// run it. Mistakes in the config are reported with the key.
func New(cfg config.Config, opts Options) (*Updater, error) {
	if cfg.Server.Domain == "" {
		return nil, errors.New("server.domain: dynamic DNS needs the box's domain name")
	}
	if err := config.ValidateDomain(cfg.Server.Domain); err != nil {
		return nil, fmt.Errorf("server.domain: %w", err)
	}
	api, err := newAPIClient(cfg.DNS, opts)
	if err != nil {
		return nil, err
	}
	u := &Updater{
		domain:   strings.ToLower(strings.TrimSuffix(cfg.Server.Domain, ".")),
		zone:     cfg.DNS.Zone,
		interval: cfg.DynDNS.Interval.Std(),
		api:      api,
		provider: api.provider(),
		log:      opts.logger(),
	}
	if u.interval <= 0 {
		u.interval = config.Default().DynDNS.Interval.Std()
	}
	for _, m := range []struct {
		key, method string
		family      Family
	}{{"dyndns.ipv4", cfg.DynDNS.IPv4, IPv4}, {"dyndns.ipv6", cfg.DynDNS.IPv6, IPv6}} {
		d, err := NewDetector(m.method, m.family, opts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.key, err)
		}
		if d != nil {
			u.detectors = append(u.detectors, d)
		}
	}
	if len(u.detectors) == 0 {
		return nil, errors.New("dyndns.ipv4 and dyndns.ipv6 are both none: there is no address to publish")
	}
	return u, nil
}

// Once detects the public addresses and brings the records in line, once.
// It returns what it did for each address family it could detect, and an
// error naming what failed; a family whose detection failed is left alone.
func (u *Updater) Once(ctx context.Context) ([]Change, error) {
	u.mu.Lock()
	defer u.mu.Unlock()

	type detected struct {
		family Family
		addr   netip.Addr
	}
	var found []detected
	var errs []error
	for _, d := range u.detectors {
		a, err := d.Detect(ctx)
		if err != nil {
			u.log.Warn("dynamic DNS: public address not detected; its record is left as it is",
				"family", d.family.String(), "method", d.String(), "err", err)
			errs = append(errs, err)
			continue
		}
		found = append(found, detected{d.family, a})
	}
	if len(found) == 0 {
		return nil, errors.Join(errs...)
	}

	zone, err := u.zoneName(ctx)
	if err != nil {
		return nil, errors.Join(append(errs, err)...)
	}
	records, err := u.provider.GetRecords(ctx, zone)
	if err != nil {
		return nil, errors.Join(append(errs, fmt.Errorf("read the records of %s: %w", zone, permissionHint(err, zone)))...)
	}
	var changes []Change
	for _, f := range found {
		c, err := u.apply(ctx, zone, f.family, f.addr, records)
		if err != nil {
			errs = append(errs, permissionHint(err, zone))
			continue
		}
		changes = append(changes, c)
	}
	return changes, errors.Join(errs...)
}

// zoneName finds the zone once and remembers it. Callers hold mu.
func (u *Updater) zoneName(ctx context.Context) (string, error) {
	if u.foundZone == "" {
		z, err := u.api.findZone(ctx, u.domain, u.zone)
		if err != nil {
			return "", err
		}
		u.foundZone = z
	}
	return u.foundZone, nil
}

// apply makes the domain's records of the family hold addr, given the
// zone's records as read.
func (u *Updater) apply(ctx context.Context, zone string, family Family, addr netip.Addr, records []libdns.Record) (Change, error) {
	name := libdns.RelativeName(u.domain, zone)
	c := Change{Type: family.RecordType(), Name: u.domain, Addr: addr, Action: Unchanged}
	var existing []libdns.Address
	for _, r := range records {
		if a, ok := r.(libdns.Address); ok && strings.EqualFold(a.Name, name) && a.RR().Type == c.Type {
			existing = append(existing, a)
			c.Old = append(c.Old, a.IP)
		}
	}
	// Keep the record that already holds addr, or else the first one, and
	// delete the rest: the box has one address per family.
	keep := slices.IndexFunc(existing, func(a libdns.Address) bool { return a.IP == addr })
	if keep < 0 && len(existing) > 0 {
		keep = 0
	}
	var stale []libdns.Record
	for i, a := range existing {
		if i != keep {
			stale = append(stale, a)
		}
	}
	if len(stale) > 0 {
		if _, err := u.provider.DeleteRecords(ctx, zone, stale); err != nil {
			return c, fmt.Errorf("delete stale %s records of %s: %w", c.Type, u.domain, err)
		}
		u.log.Info("dynamic DNS: deleted stale records", "name", u.domain, "type", c.Type, "count", len(stale))
	}
	switch {
	case keep < 0:
		// A new record: automatic TTL, DNS-only (the provider sends no
		// "proxied"), since Cloudflare's proxy would hide the box and break
		// TLS-ALPN-01.
		if _, err := u.provider.AppendRecords(ctx, zone, []libdns.Record{libdns.Address{Name: name, IP: addr}}); err != nil {
			return c, fmt.Errorf("create the %s record of %s: %w", c.Type, u.domain, err)
		}
		c.Action = Created
	case existing[keep].IP != addr:
		// SetRecords finds the one remaining record by name and type and
		// PATCHes the sent fields: the address, and the TTL it had. The
		// proxy setting is not sent, so Cloudflare keeps it.
		rec := libdns.Address{Name: name, IP: addr, TTL: existing[keep].TTL}
		if _, err := u.provider.SetRecords(ctx, zone, []libdns.Record{rec}); err != nil {
			return c, fmt.Errorf("update the %s record of %s: %w", c.Type, u.domain, err)
		}
		c.Action = Updated
	}
	level := slog.LevelInfo
	if c.Action == Unchanged {
		level = slog.LevelDebug
	}
	u.log.Log(ctx, level, "dynamic DNS: "+string(c.Action), "name", u.domain, "type", c.Type, "addr", addr.String(), "old", fmt.Sprint(c.Old))
	return c, nil
}

// Run calls Once now and then every dyndns.interval until ctx ends, and then
// returns nil. After a failed pass it tries again sooner, with backoff, but
// never later than the interval. Failures are logged, not returned.
func (u *Updater) Run(ctx context.Context) error {
	failures := 0
	for {
		_, err := u.Once(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := u.interval
		if err != nil {
			failures++
			wait = min(u.interval, 30*u.api.retryDelay<<min(failures-1, 10))
			u.log.Warn("dynamic DNS update failed; trying again later", "err", err, "in", wait.String())
		} else {
			failures = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}
