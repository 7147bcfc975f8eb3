// Package bytesize writes and reads byte counts the way the config file
// does: "10MiB", "512KiB", "1000".
package bytesize

import (
	"fmt"
	"strings"
	"unicode"
)

// Text writes n for a sentence: "10MiB", or "1000 bytes".
func Text(n int64) string {
	s := Format(n)
	if strings.IndexFunc(s, unicode.IsLetter) < 0 {
		s += " bytes"
	}
	return s
}

// Format writes n with the largest binary unit that divides it exactly.
func Format(n int64) string {
	units := []struct {
		suffix string
		n      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}
	for _, u := range units {
		if n != 0 && n%u.n == 0 {
			return fmt.Sprintf("%d%s", n/u.n, u.suffix)
		}
	}
	return fmt.Sprintf("%d", n)
}

// Parse parses a byte count such as "10MiB".
func Parse(text string) (int64, error) {
	t := strings.TrimSpace(text)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		n      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			mult = u.n
			t = strings.TrimSpace(strings.TrimSuffix(t, u.suffix))
			break
		}
	}
	var n int64
	if _, err := fmt.Sscanf(t, "%d", &n); err != nil || fmt.Sprint(n) != t || n < 0 {
		return 0, fmt.Errorf("%q is not a size like 512KiB or 10MiB", text)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is too large", text)
	}
	return n * mult, nil
}
