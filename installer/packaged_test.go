package installer

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/chatbox-dev/chatbox/platform"
)

// On a host where chatbox's deb or rpm is installed, the package owns the
// binary and the unit: install uses them, update --self refuses, and
// uninstall leaves them and says which command removes the package.
func TestAPackagedInstallDefersToThePackageManager(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct{ osID, upgrade, remove string }{
		{"debian", "apt-get install --only-upgrade chatbox", "apt-get purge chatbox"},
		{"rocky", "dnf upgrade chatbox", "dnf remove chatbox"},
	} {
		t.Run("on "+c.osID, func(t *testing.T) {
			var out bytes.Buffer
			in, sim, _ := newSim(t, c.osID, &out)
			sim.rec.W = &out
			if c.osID == "debian" {
				sim.appendLine("/var/lib/dpkg/status", "Package: chatbox\nStatus: install ok installed\nVersion: 1.0.0-1\n")
			} else {
				sim.rpm["chatbox"] = true
			}
			sim.put(platform.PackagedBinary, "chatbox from the package")
			sim.put(platform.PackagedUnit, "[Service]\nExecStart=/usr/bin/chatbox serve\n")

			if err := in.Install(ctx, opts(t)); err != nil {
				t.Fatalf("install: %v\n%s", err, out.String())
			}
			for _, want := range []string{"[4/12] Using the chatbox package's binary, /usr/bin/chatbox ... left to the package (" + c.upgrade + " updates it)",
				"run: systemctl enable chatbox.service"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("install does not say %q:\n%s", want, out.String())
				}
			}
			for _, p := range []string{"/usr/local/bin/chatbox", "/etc/systemd/system/chatbox.service"} {
				if sim.exists(p) {
					t.Errorf("install wrote %s beside the package's files", p)
				}
			}

			before := snapshot(t, sim.root)
			out.Reset()
			err := in.Update(ctx, UpdateOptions{Self: releaseBinaryFile(t, "v2.0.0")})
			if err == nil || !strings.Contains(err.Error(), "update it with "+c.upgrade+"; nothing was changed") {
				t.Errorf("update --self on a packaged install: %v, want a refusal naming %q", err, c.upgrade)
			}
			if after := snapshot(t, sim.root); after != before {
				t.Error("the refused update --self changed files")
			}

			out.Reset()
			if err := in.Uninstall(ctx, UninstallOptions{Purge: true}); err != nil {
				t.Fatalf("uninstall: %v\n%s", err, out.String())
			}
			if !sim.exists(platform.PackagedBinary) || !sim.exists(platform.PackagedUnit) {
				t.Error("uninstall deleted the package's files")
			}
			if !strings.Contains(out.String(), "its package is still installed: remove it with "+c.remove+".") {
				t.Errorf("uninstall does not say how to remove the package:\n%s", out.String())
			}
			if strings.Contains(out.String(), "chatbox is uninstalled") {
				t.Errorf("uninstall says chatbox is uninstalled while its package stays:\n%s", out.String())
			}
		})
	}
}
