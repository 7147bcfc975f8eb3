package box

import (
	"context"
	"errors"
	"io"

	"github.com/chatbox-dev/chatbox/config"
)

// Run serves the room on a real box: HTTPS with managed certificates, HTTP
// redirecting to HTTPS, dynamic DNS and systemd readiness. It returns when
// ctx ends.
func Run(ctx context.Context, cfg config.Config, logw io.Writer) error {
	return errors.New("production serving (HTTPS) is not available in this build yet; use serve --dev")
}
