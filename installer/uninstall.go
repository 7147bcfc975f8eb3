package installer

import (
	"context"
	"fmt"
)

// UninstallOptions are the choices of `chatbox uninstall`.
type UninstallOptions struct {
	// Purge also removes the room's data and the service account.
	Purge bool
	// Retry is the command line that repeats this uninstall.
	Retry string
}

// Uninstall stops and removes the service, the binary and the config, and
// with Purge the data and the service account. It never removes packages
// (chatbox's own included: it says how)
// and leaves the host name, firewall rules and automatic updates, which
// serve the host without chatbox too; DataLeft says whether the data
// stayed.
func (in *Installer) Uninstall(ctx context.Context, o UninstallOptions) error {
	p := in.Platform
	paths := p.Paths()
	if !in.DryRun {
		fmt.Fprintf(in.Out, "Uninstalling chatbox from %s\n", p.Name())
	}
	pkg, packaged := p.Packaged(ctx, in.Host)
	binary := step{"Removing " + paths.Binary, func(ctx context.Context, r *run) (string, error) {
		if err := r.host.Remove(ctx, paths.Binary); err != nil {
			return "", err
		}
		return "", r.host.Remove(ctx, paths.PrevBinary())
	}, "nothing to remove"}
	if packaged {
		binary = step{"Leaving " + pkg.Binary + " to the chatbox package", func(context.Context, *run) (string, error) {
			return "left for " + pkg.Remove, nil
		}, ""}
	}
	steps := []step{
		{"Stopping and removing the chatbox service and its timers", func(ctx context.Context, r *run) (string, error) {
			if err := in.removeJobs(ctx, r.host); err != nil {
				return "", err
			}
			return "", p.RemoveService(ctx, r.host)
		}, "nothing to remove"},
		binary,
		{"Removing " + paths.ConfigDir, func(ctx context.Context, r *run) (string, error) {
			return "", r.host.Remove(ctx, paths.ConfigDir)
		}, "nothing to remove"},
	}
	if o.Purge {
		steps = append(steps,
			step{"Removing the room's data in " + paths.DataDir, func(ctx context.Context, r *run) (string, error) {
				return "", r.host.Remove(ctx, paths.DataDir)
			}, "nothing to remove"},
			step{"Removing the " + p.User() + " user", func(ctx context.Context, r *run) (string, error) {
				return "", p.RemoveUser(ctx, r.host)
			}, "nothing to remove"},
		)
	}
	res, err := in.plan(ctx, "uninstall", steps, o.Retry)
	if err != nil || in.DryRun {
		return err
	}
	switch {
	case packaged:
		fmt.Fprintf(in.Out, "chatbox's service and config are removed; its package is still installed: remove it with %s.\n", pkg.Remove)
	case res.changes == 0:
		fmt.Fprintln(in.Out, "Nothing to do: chatbox was not installed here.")
	default:
		fmt.Fprintln(in.Out, "chatbox is uninstalled.")
	}
	return nil
}

// DataLeft returns the room's data directory when it is still on the host
// (after an uninstall without Purge), or "".
func (in *Installer) DataLeft() string {
	if dir := in.Platform.Paths().DataDir; in.Host.Exists(dir) {
		return dir
	}
	return ""
}
