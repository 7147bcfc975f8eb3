package installer

import (
	"context"
	"fmt"

	"github.com/chatbox-dev/chatbox/config"
)

// SetHostname sets name as the host name, keeping /etc/hosts consistent.
// A name that is not a valid host name (RFC 1123) is refused before
// anything changes.
func (in *Installer) SetHostname(ctx context.Context, name, retry string) error {
	if err := config.ValidateHostname(name); err != nil {
		return fmt.Errorf("set the host name: %w", err)
	}
	steps := []step{{"Setting the host name to " + name, func(ctx context.Context, r *run) (string, error) {
		return "", in.Platform.SetHostname(ctx, r.host, name)
	}, ""}}
	_, err := in.plan(ctx, "hostname", steps, retry)
	return err
}
