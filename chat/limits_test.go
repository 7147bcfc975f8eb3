package chat

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// TestTheLimiterStaysBoundedUnderManyAddresses plays an attacker who
// rotates through 400,000 addresses within a minute (an IPv6 /48 holds
// 65,536 /64s, so a few of them are enough), each sending one write. The
// limiter must keep at most maxAddresses buckets, whatever their age,
// and must not scan its whole table for every new address: an address
// that arrives when the table is full costs about ten buckets looked at,
// amortized, not a sweep of all the buckets under the lock every write
// needs (which is what it did once it held 100,000: each new address then
// looked at all of them).
func TestTheLimiterStaysBoundedUnderManyAddresses(t *testing.T) {
	l := newLimiter(120, 20)
	now := time.Unix(1_800_000_000, 0)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const addresses = 400_000
	for i := range addresses {
		addr := fmt.Sprintf("2001:db8:%x:%x::/64", i>>16, i&0xffff)
		if ok, _ := l.allow(addr, 1, now.Add(time.Duration(i)*100*time.Microsecond)); !ok {
			t.Fatalf("address %d's first write was refused", i)
		}
	}
	if n := len(l.buckets); n > maxAddresses {
		t.Fatalf("%d addresses left %d buckets, want at most %d", addresses, n, maxAddresses)
	}
	if l.scanned > 12*addresses {
		t.Fatalf("%d new addresses made the limiter look at %d buckets; the work per address must stay bounded", addresses, l.scanned)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("%d addresses: %d buckets kept, %d looked at, heap grew %d KiB", addresses, len(l.buckets), l.scanned, grew>>10)
	// The bound maxAddresses's comment states.
	if limit := int64(12 << 20); grew > limit {
		t.Fatalf("the limiter's heap grew %d bytes, want at most %d", grew, limit)
	}
}

// Requests read the clock before they take the budget's lock, so a
// bucket may be asked with a time a little before the last one's. That
// must not count the time between them twice: an attacker's many
// goroutines would make tokens out of the jitter.
func TestABudgetAskedOutOfOrderGivesNoExtraTokens(t *testing.T) {
	l := newLimiter(60, 5) // one a second, five at once
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for i := range 5 {
		if ok, _ := l.allow("a", 1, t0); !ok {
			t.Fatalf("event %d of the burst refused", i)
		}
	}
	given := 0
	for i := range 100 {
		// Two requests that read the clock a second apart, served in the
		// other order.
		late, early := t0.Add(time.Duration(i+1)*time.Second), t0.Add(time.Duration(i)*time.Second)
		for _, at := range []time.Time{late, early} {
			if ok, _ := l.allow("a", 1, at); ok {
				given++
			}
		}
	}
	if given > 100 {
		t.Fatalf("100 seconds at one a second gave %d tokens", given)
	}
}
