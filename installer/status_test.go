package installer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A user who cannot read the config is told to use sudo, not shown an
// address guessed from defaults.
func TestStatusAsNonRootSaysItNeedsRoot(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	in, sim, probe := newSim(t, "debian", &out)
	if err := in.Install(ctx, opts(t)); err != nil {
		t.Fatal(err)
	}
	// root reads every file, so the unreadable config is one that
	// cannot be read by anyone: a directory in its place.
	file := filepath.Join(sim.root, "/etc/chatbox/config.toml")
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(file, 0o700); err != nil {
		t.Fatal(err)
	}
	probe.notRoot = true
	st := in.Status(ctx)
	if st.URL != "" {
		t.Errorf("status shows the room at %q, a guess from defaults", st.URL)
	}
	if !strings.Contains(st.Problem, "sudo chatbox status") || !strings.Contains(st.Problem, "/etc/chatbox/config.toml") {
		t.Errorf("problem = %q, want it to name the config and say to run with sudo", st.Problem)
	}
}

// A user outside the journal's groups is told to use sudo before
// journalctl shows them nothing of the service.
func TestLogsAsNonRootSaysItNeedsRoot(t *testing.T) {
	var out, errOut bytes.Buffer
	in, _, probe := newSim(t, "debian", &out)
	probe.notRoot = true
	in.journalGroups = func() bool { return false }
	err := in.Logs(context.Background(), 10, false, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "sudo chatbox logs") {
		t.Errorf("logs = %v, want it to say the log needs root (sudo chatbox logs)", err)
	}
}

// Status says whether the box has its Web Push key, which backups must
// hold: without it every browser's subscription ends.
func TestStatusShowsThePushKey(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	in, sim, _ := newSim(t, "debian", &out)
	if err := in.Install(ctx, opts(t)); err != nil {
		t.Fatal(err)
	}
	st := in.Status(ctx)
	if st.PushKey || !strings.HasSuffix(st.PushKeyFile, "/push/vapid.json") {
		t.Fatalf("before the first start: push key %v at %q", st.PushKey, st.PushKeyFile)
	}
	key := filepath.Join(sim.root, st.PushKeyFile)
	if err := os.MkdirAll(filepath.Dir(key), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if st := in.Status(ctx); !st.PushKey {
		t.Error("status does not see the push key")
	}
}
