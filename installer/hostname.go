package installer

import (
	"context"

	"github.com/chatbox-dev/chatbox/config"
)

// SetHostname validates name (RFC 1123) and sets it as the host name,
// keeping /etc/hosts consistent.
func (in *Installer) SetHostname(ctx context.Context, name, retry string) error {
	if err := config.ValidateHostname(name); err != nil {
		return &UsageError{Msg: err.Error()}
	}
	steps := []step{{"Setting the host name to " + name, func(ctx context.Context) (string, error) {
		return "", in.Platform.SetHostname(ctx, in.Host, name)
	}, ""}}
	_, err := in.plan(ctx, "hostname", steps, retry)
	return err
}
