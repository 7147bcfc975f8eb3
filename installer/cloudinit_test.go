package installer

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/platform"
)

// install waits while cloud-init still sets the host up, saying so, and
// stops with what to do when cloud-init outlasts the wait.
func TestInstallWaitsForCloudInit(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		status string
		wait   func(ctx context.Context) ([]byte, error)
		want   string // in the output, or the error when fail
		fail   bool
		waited bool
		under  bool // install runs from cloud-init's runcmd
	}{
		{"cloud-init done: no wait", "status: done\n", nil, "", false, false, false},
		{"cloud-init running, then done", "status: running\n",
			func(context.Context) ([]byte, error) { return []byte("\nstatus: done\n"), nil },
			"cloud-init is still setting this host up (packages, host name); waiting for it to finish, up to 2s", false, true, false},
		{"cloud-init running, then failed", "status: running\n",
			func(context.Context) ([]byte, error) {
				return []byte("\nstatus: error\n"), &platform.CmdError{Cmd: "cloud-init status --wait", Code: 1}
			},
			"cloud-init finished with errors (error; `cloud-init status --long` shows them); going on", false, true, false},
		{"cloud-init still running after the wait", "status: running\n",
			func(ctx context.Context) ([]byte, error) { <-ctx.Done(); return nil, ctx.Err() },
			"cloud-init was still setting this host up after 2s; wait until `cloud-init status --wait` returns, then run install again", true, true, false},
		{"run from cloud-init's runcmd: no wait", "status: running\n",
			func(ctx context.Context) ([]byte, error) { <-ctx.Done(); return nil, ctx.Err() },
			"running from cloud-init, which is still setting this host up; not waiting for it", false, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			in, sim, probe := newSim(t, "ubuntu", &out)
			probe.underCloudInit = c.under
			sim.rec.W = &bytes.Buffer{}
			in.CloudInitTimeout = 2 * time.Second
			sim.put("/usr/bin/cloud-init", "#!/bin/sh\n")
			if err := os.Chmod(sim.path("/usr/bin/cloud-init"), 0o755); err != nil {
				t.Fatal(err)
			}
			sim.fwOutput = map[string]string{"cloud-init status": c.status}
			waited := false
			if c.wait != nil {
				sim.cloudInitWait = func(ctx context.Context) ([]byte, error) { waited = true; return c.wait(ctx) }
			}
			before := sim.n
			err := in.Install(ctx, opts(t))
			if waited != c.waited {
				t.Errorf("waited for cloud-init: %v, want %v", waited, c.waited)
			}
			if c.fail {
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("install: %v, want an error saying %q", err, c.want)
				}
				if sim.n != before {
					t.Errorf("install changed the host %d times before giving up on cloud-init", sim.n-before)
				}
				return
			}
			if err != nil {
				t.Fatalf("install: %v\n%s", err, out.String())
			}
			if !strings.Contains(out.String(), c.want) {
				t.Errorf("install does not say %q:\n%s", c.want, out.String())
			}
		})
	}
}

// SystemProbe.UnderCloudInit finds cloud-init among the ancestors: the
// test runs itself under a shell whose command line names cloud-init.
func TestUnderCloudInitReadsTheAncestors(t *testing.T) {
	if os.Getenv("CHATBOX_UNDER_CLOUD_INIT_CHILD") == "1" {
		if (SystemProbe{}).UnderCloudInit() {
			os.Exit(0)
		}
		os.Exit(3)
	}
	if (SystemProbe{}).UnderCloudInit() {
		t.Fatal("the test itself says it runs under cloud-init")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", `"$0" -test.run '^TestUnderCloudInitReadsTheAncestors$'; status=$?; : /usr/bin/cloud-init modules; exit $status`, self)
	cmd.Env = append(os.Environ(), "CHATBOX_UNDER_CLOUD_INIT_CHILD=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("a process under a cloud-init command line does not see it (%v):\n%s", err, out)
	}
}
