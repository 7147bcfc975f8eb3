package main

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/internal/release"
	"github.com/chatbox-dev/chatbox/internal/release/releasetest"
)

// A throwaway key is trusted by a binary built with the chatbox_testkey
// tag and the key set with -X, and by no other: a normal build given the
// same -X (by mistake or on purpose) refuses a release the key signed.
// Both are real binaries reading a real config over HTTPS, as the
// booted-Debian update test uses them.
func TestUpdateTrustsTheTestKeyOnlyInATestBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds chatbox twice")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ch := releasetest.New(t)
	m := release.Manifest{Version: "v1.1.0", Files: []release.File{releasetest.FileFor("linux", "amd64", "chatbox-linux-amd64", []byte("bin"))}}
	ch.Publish(t, releasetest.Dir(""), m, ch.Key, nil)

	root := t.TempDir()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ch.Server.Certificate().Raw})
	if err := os.WriteFile(filepath.Join(root, "channel-ca.pem"), ca, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "etc/chatbox"), 0o755); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf("[update]\nurl = %q\nca_root = \"/channel-ca.pem\"\n", ch.Server.URL+"/releases")
	if err := os.WriteFile(filepath.Join(root, "etc/chatbox/config.toml"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		testBuild bool
		code      int
		want      string
	}{
		{"a test build trusts its test key", true, exitNewer, "chatbox v1.1.0 is available (this is v1.0.0)"},
		{"a normal build given the same -X refuses the release", false, 1, "which this chatbox does not trust and no trusted key vouches for"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := releasetest.Build(ctx, t, "v1.0.0", ch.Public, tt.testBuild)
			out, err := exec.CommandContext(ctx, bin, "update", "--check", "--root", root, "--os", "debian").CombinedOutput()
			code := 0
			if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code || !strings.Contains(string(out), tt.want) {
				t.Errorf("update --check exited %d, want %d, saying:\n%s\nwant it to say %q", code, tt.code, out, tt.want)
			}
		})
	}
}
