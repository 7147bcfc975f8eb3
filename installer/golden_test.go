package installer

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	file := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./installer -run Golden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the plan in %s changed; review the difference and run with -update if it is right.\n--- got:\n%s\n--- want:\n%s", file, got, want)
	}
}

// installed returns an installer for osID on a simulated host where
// chatbox has been installed, printing further plans to out.
func installed(t *testing.T, osID string, out *bytes.Buffer) *Installer {
	t.Helper()
	in, sim, _ := newSim(t, osID, io.Discard)
	opts := InstallOptions{Domain: "chat.example.com", Binary: testBinary(t, "chatbox v1")}
	if err := in.Install(context.Background(), opts); err != nil {
		t.Fatalf("install: %v", err)
	}
	sim.rec.W = out
	in.Out = out
	in.DryRun = true
	return in
}

// The dry-run plans of every command on every supported OS are checked in
// under testdata/OS/COMMAND.txt and read like shell scripts.
func TestGoldenPlans(t *testing.T) {
	ctx := context.Background()
	for _, osID := range Backends().IDs() {
		t.Run("install on "+osID+" plans the documented steps", func(t *testing.T) {
			var out bytes.Buffer
			in, _, _ := newSim(t, osID, &out)
			in.DryRun = true
			opts := InstallOptions{Domain: "chat.example.com", Email: "admin@example.com", Private: true,
				Binary: testBinary(t, "chatbox v1"), Retry: "sudo chatbox install --domain=chat.example.com"}
			if err := in.Install(ctx, opts); err != nil {
				t.Fatal(err)
			}
			golden(t, osID+"/install.txt", out.Bytes())
		})
		t.Run("install --behind-proxy on "+osID+" leaves 80 and 443 to the web server", func(t *testing.T) {
			var out bytes.Buffer
			in, _, _ := newSim(t, osID, &out)
			in.DryRun = true
			opts := InstallOptions{Domain: "chat.example.com", BehindProxy: true, Binary: testBinary(t, "chatbox v1"),
				Retry: "sudo chatbox install --domain=chat.example.com --behind-proxy"}
			if err := in.Install(ctx, opts); err != nil {
				t.Fatal(err)
			}
			golden(t, osID+"/install-behind-proxy.txt", out.Bytes())
		})
		t.Run("uninstall --purge on "+osID+" removes what install added", func(t *testing.T) {
			var out bytes.Buffer
			in := installed(t, osID, &out)
			if err := in.Uninstall(ctx, UninstallOptions{Purge: true}); err != nil {
				t.Fatal(err)
			}
			golden(t, osID+"/uninstall.txt", out.Bytes())
		})
		t.Run("install on "+osID+" with daily backups and no automatic updates schedules the one and removes the other", func(t *testing.T) {
			var out bytes.Buffer
			in, sim, _ := newSim(t, osID, io.Discard)
			o := InstallOptions{Domain: "chat.example.com", Binary: testBinary(t, "chatbox v1")}
			if err := in.Install(ctx, o); err != nil {
				t.Fatal(err)
			}
			setConfig(t, sim, "keep = 0", "keep = 7")
			setConfig(t, sim, "auto = true", "auto = false")
			sim.rec.W, in.Out, in.DryRun = &out, &out, true
			if err := in.Install(ctx, o); err != nil {
				t.Fatal(err)
			}
			golden(t, osID+"/schedules.txt", out.Bytes())
		})
		t.Run("hostname on "+osID+" sets the name its own way", func(t *testing.T) {
			var out bytes.Buffer
			in, _, _ := newSim(t, osID, &out)
			in.DryRun = true
			if err := in.SetHostname(ctx, "chat.example.com", "sudo chatbox hostname chat.example.com"); err != nil {
				t.Fatal(err)
			}
			golden(t, osID+"/hostname.txt", out.Bytes())
		})
		t.Run("update --system --self on "+osID+" updates the OS and swaps the binary", func(t *testing.T) {
			var out bytes.Buffer
			in := installed(t, osID, &out)
			if err := in.Update(ctx, UpdateOptions{System: true, Self: releaseBinaryFile(t, "v2.0.0")}); err != nil {
				t.Fatal(err)
			}
			golden(t, osID+"/update.txt", out.Bytes())
		})
	}
}
