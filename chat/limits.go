package chat

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/time/rate"
)

// limiter keeps one token bucket per client address and forgets addresses
// that have been quiet for a while.
type limiter struct {
	mu      sync.Mutex
	every   rate.Limit
	burst   int
	buckets map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter(perMinute, burst int) *limiter {
	return &limiter{
		every:   rate.Limit(float64(perMinute) / 60),
		burst:   burst,
		buckets: make(map[string]*bucket),
	}
}

// allow takes n tokens for addr (at most a full bucket, so that nothing
// allowed is impossible to send). When it refuses, retry says when to come
// back.
func (l *limiter) allow(addr string, n int, now time.Time) (ok bool, retry time.Duration) {
	n = min(n, l.burst)
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[addr]
	if b == nil {
		if len(l.buckets) > 100000 {
			l.sweepLocked(now)
		}
		b = &bucket{lim: rate.NewLimiter(l.every, l.burst)}
		l.buckets[addr] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, n)
	if !r.OK() {
		return false, time.Minute
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep forgets buckets unused for ten minutes.
func (l *limiter) sweep(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(now)
}

func (l *limiter) sweepLocked(now time.Time) {
	for k, b := range l.buckets {
		if now.Sub(b.seen) > 10*time.Minute {
			delete(l.buckets, k)
		}
	}
}

// addrResolver finds the client's address, believing X-Forwarded-For only
// from trusted proxies.
type addrResolver struct {
	trusted []netip.Prefix
}

func newAddrResolver(trusted []string) addrResolver {
	var r addrResolver
	for _, t := range trusted {
		if p, err := netip.ParsePrefix(t); err == nil {
			r.trusted = append(r.trusted, p)
		} else if a, err := netip.ParseAddr(t); err == nil {
			r.trusted = append(r.trusted, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return r
}

func (r addrResolver) isTrusted(a netip.Addr) bool {
	for _, p := range r.trusted {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// clientAddr returns the address requests from r are counted against.
func (r addrResolver) clientAddr(req *http.Request) string {
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		host = req.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	// Walk X-Forwarded-For from the right while the hop is a trusted proxy.
	if r.isTrusted(addr) {
		hops := strings.Split(strings.Join(req.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			addr = a
			if !r.isTrusted(a) {
				break
			}
		}
	}
	addr = addr.Unmap()
	if addr.Is6() {
		// One person usually holds a whole /64.
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

func isDiskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
