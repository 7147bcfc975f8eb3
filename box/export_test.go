package box

import (
	"context"
	"io"
	"time"

	"github.com/chatbox-dev/chatbox/config"
)

// RunWatchdog is runWatchdog, for the external tests.
var RunWatchdog = runWatchdog

// TestOptions are the options of box.Run that only tests may set.
type TestOptions struct {
	// AllowLoopback lets server.ip_detect find a loopback address.
	AllowLoopback bool
	// IPCheckEvery replaces dyndns.interval for server.ip_detect.
	IPCheckEvery time.Duration
	// Managed, when set, receives a function that reports whether the box
	// manages a certificate for a name, once the box manages its own.
	Managed chan<- func(name string) bool
}

// RunForTest is Run with the options of o.
func RunForTest(ctx context.Context, cfg config.Config, logw io.Writer, o TestOptions) error {
	opts := runOptions{allowLoopback: o.AllowLoopback, ipCheckEvery: o.IPCheckEvery}
	if o.Managed != nil {
		opts.managing = func(m *certManager) { o.Managed <- m.managed }
	}
	return run(ctx, cfg, logw, opts)
}
