package vmtest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/internal/vmtest"
)

// A machine's forwards each need a port of their own. 200 ports picked
// one by one, each released at once, repeat more often than not (the
// birthday bound over the kernel's ephemeral range); picked together they
// never do.
func TestFreePortsAreAllDifferent(t *testing.T) {
	ports, err := vmtest.FreePorts(200)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Fatalf("FreePorts gave port %d twice, or not a port, in %v", p, ports)
		}
		seen[p] = true
	}
}

// A wait whose condition says no later poll can help (QEMU exited) ends at
// once with that reason, not at its limit.
func TestWaitForStopsOnAHopelessReason(t *testing.T) {
	start := time.Now()
	polls := 0
	err := vmtest.WaitFor(context.Background(), "a machine that is gone", time.Minute, 10*time.Millisecond, func(context.Context) (bool, error) {
		polls++
		if polls < 3 {
			return false, errors.New("not yet")
		}
		return false, vmtest.Hopeless(errors.New("QEMU exited"))
	})
	if err == nil || time.Since(start) > 10*time.Second || polls != 3 {
		t.Fatalf("after %d polls and %s the wait returned %v; want it to stop at the third poll", polls, time.Since(start), err)
	}
	if got := err.Error(); got != "waited 0s for a machine that is gone, and stopped: QEMU exited" {
		t.Errorf("the wait says %q", got)
	}
}
