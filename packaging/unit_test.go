package packaging

import (
	"strconv"
	"strings"
	"testing"
)

// TestUnitRaisesTheOpenFileLimit checks the unit gives the service enough
// descriptors: the box derives its connection limits from this number.
func TestUnitRaisesTheOpenFileLimit(t *testing.T) {
	for line := range strings.Lines(string(SystemdUnit())) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "LimitNOFILE="); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 65536 {
				t.Fatalf("LimitNOFILE=%s, want at least 65536", v)
			}
			return
		}
	}
	t.Fatal("the unit sets no LimitNOFILE")
}
