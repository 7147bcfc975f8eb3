//go:build !linux && !openbsd

package installer

import "math"

// freeBytes does not know other systems, where chatbox only plans
// (a dry run for another OS) and never installs.
func freeBytes(string) (uint64, error) { return math.MaxUint64, nil }
