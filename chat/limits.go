package chat

import (
	"errors"
	"sync"
	"syscall"
	"time"

	"golang.org/x/time/rate"
)

// maxAddresses bounds the buckets a limiter keeps. A full table churned
// by a flood from ever-new addresses holds under 12 MiB of heap (about 200
// bytes a bucket with its key, plus the partly used memory the churn
// leaves; TestTheLimiterStaysBoundedUnderManyAddresses measures 7.5 MiB),
// so the four limiters kept per address hold under 48 MiB. Forgetting a bucket only gives its address
// a full one again, so the bound costs a flood from that many addresses a
// burst each, never a person their budget.
const maxAddresses = 10_000

// limiter keeps one token bucket per client address and forgets addresses
// that have been quiet for a while, and at most maxAddresses of them.
type limiter struct {
	mu      sync.Mutex
	every   rate.Limit
	burst   int
	buckets map[string]*bucket
	// scanned counts the buckets looked at to forget some, so a test can
	// tell that the work per new address stays bounded.
	scanned int
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
		if len(l.buckets) >= maxAddresses {
			l.evictLocked(now)
		}
		b = &bucket{lim: rate.NewLimiter(l.every, l.burst)}
		l.buckets[addr] = b
	}
	// Callers read the clock before they take the lock, so a call may
	// come with a time before the last one's; the bucket would then count
	// the time between them twice and give tokens it never earned.
	if now.Before(b.seen) {
		now = b.seen
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

// wait says how long addr must wait before its budget holds a token
// again; zero when it may act now. It takes nothing.
func (l *limiter) wait(addr string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[addr]
	if b == nil {
		return 0
	}
	tokens := b.lim.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) / float64(l.every) * float64(time.Second))
}

// sweep forgets buckets unused for ten minutes.
func (l *limiter) sweep(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(now)
}

func (l *limiter) sweepLocked(now time.Time) {
	for k, b := range l.buckets {
		l.scanned++
		if now.Sub(b.seen) > 10*time.Minute {
			delete(l.buckets, k)
		}
	}
}

// evictLocked makes room in a full table: it forgets the quiet buckets,
// and when that frees less than a tenth of the table, others as well (the
// map's order picks which) until a tenth is free. One pass over the table
// thus buys room for a tenth of it, so each new address costs about ten
// buckets looked at, amortized.
func (l *limiter) evictLocked(now time.Time) {
	l.sweepLocked(now)
	for k := range l.buckets {
		if len(l.buckets) <= maxAddresses-maxAddresses/10 {
			break
		}
		l.scanned++
		delete(l.buckets, k)
	}
}

func isDiskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
