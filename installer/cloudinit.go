package installer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/chatbox-dev/chatbox/platform"
)

func (in *Installer) cloudInitTimeout() time.Duration {
	if in.CloudInitTimeout == 0 {
		return 10 * time.Minute
	}
	return in.CloudInitTimeout
}

// cloudInitStatus reads the first line of `cloud-init status`, "status:
// running", and returns the state: running, done, error, disabled, not
// started, or "" when the output has none.
func cloudInitStatus(out []byte) string {
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "status:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// waitCloudInit waits, bounded, while cloud-init is still setting up the
// host: on a fresh cloud server it runs apt, sets the host name and writes
// /etc/hosts during the first minutes, and install would race it. It
// says what it waits for, and fails with what to do when the wait is
// over before cloud-init is.
func (in *Installer) waitCloudInit(ctx context.Context, h *platform.Host) error {
	if !h.HasCommand("cloud-init") {
		return nil
	}
	// cloud-init status exits non-zero when it finished with errors; the
	// state is in its output either way.
	out, _ := h.Output(ctx, "cloud-init", "status")
	if cloudInitStatus(out) != "running" {
		return nil
	}
	if in.probe().UnderCloudInit() {
		// Run from cloud-init's own runcmd: cloud-init waits for install,
		// so install must not wait for it.
		h.Note("running from cloud-init, which is still setting this host up; not waiting for it")
		return nil
	}
	timeout := in.cloudInitTimeout()
	h.Note("cloud-init is still setting this host up (packages, host name); waiting for it to finish, up to %s", timeout)
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := h.Output(wctx, "cloud-init", "status", "--wait")
	switch {
	case errors.Is(wctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
		return fmt.Errorf("cloud-init was still setting this host up after %s; wait until `cloud-init status --wait` returns, then run install again", timeout)
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		h.Note("cloud-init finished with errors (%s; `cloud-init status --long` shows them); going on", cloudInitStatus(out))
	}
	return nil
}
