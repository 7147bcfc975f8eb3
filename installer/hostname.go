package installer

import (
	"context"
	"fmt"

	"github.com/chatbox-dev/chatbox/config"
)

// SetHostname validates name (RFC 1123) and sets it as the host name,
// keeping /etc/hosts consistent.
func (in *Installer) SetHostname(ctx context.Context, name, retry string) error {
	if err := config.ValidateHostname(name); err != nil {
		return &UsageError{Msg: err.Error()}
	}
	if in.DryRun {
		fmt.Fprintf(in.Out, "# chatbox hostname on %s: the plan (dry run, nothing is changed)\n", in.Platform.Name())
	}
	steps := []step{{"Setting the host name to " + name, func(ctx context.Context) (string, error) {
		return "", in.Platform.SetHostname(ctx, in.Host, name)
	}, ""}}
	if _, err := in.run(ctx, steps, retry); err != nil {
		return err
	}
	if in.DryRun {
		fmt.Fprintln(in.Out, "# end of plan: nothing was changed")
	}
	return nil
}
