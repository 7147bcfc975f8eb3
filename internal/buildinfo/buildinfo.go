// Package buildinfo tells which chatbox this binary is.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is set at release time with -ldflags "-X ...buildinfo.Version=v1.2.3".
var Version = "dev"

// String returns "chatbox VERSION (COMMIT, GOOS/GOARCH, GOVERSION)".
func String() string {
	commit := "unknown commit"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				commit = s.Value[:12]
			}
		}
	}
	return fmt.Sprintf("chatbox %s (%s, %s/%s, %s)", Version, commit, runtime.GOOS, runtime.GOARCH, runtime.Version())
}
