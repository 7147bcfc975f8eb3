package chat

import (
	"testing"
	"time"
)

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
