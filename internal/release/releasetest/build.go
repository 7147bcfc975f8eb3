package releasetest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"aead.dev/minisign"

	"github.com/chatbox-dev/chatbox/internal/release"
)

// Build builds chatbox for this machine as version, with key given as its
// test key (-X). A test build (testBuild: the chatbox_testkey tag) trusts
// that key beside the embedded ones; a normal build has no such variable
// and must trust only the embedded keys.
func Build(ctx context.Context, t *testing.T, version string, key minisign.PublicKey, testBuild bool) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "chatbox")
	args := []string{"build", "-o", bin}
	if testBuild {
		args = append(args, "-tags", release.TestKeyTag)
	}
	args = append(args, "-ldflags",
		"-X github.com/chatbox-dev/chatbox/internal/buildinfo.Version="+version+
			" -X github.com/chatbox-dev/chatbox/internal/release.testKey="+key.String(),
		"github.com/chatbox-dev/chatbox/cmd/chatbox")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build chatbox %s with a test key (test build %v): %v\n%s", version, testBuild, err, out)
	}
	return bin
}
