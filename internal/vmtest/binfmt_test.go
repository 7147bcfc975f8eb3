//go:build linux

package vmtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// An arm64 program runs on this machine once runForeign has registered
// the emulator: the way an arm64 image's debootstrap and apt run.
func TestRunForeignRunsAnARM64Program(t *testing.T) {
	if os.Getenv("CHATBOX_E2E") != "1" || os.Getenv("CHATBOX_VM") == "0" || os.Geteuid() != 0 {
		t.Skip("registers an emulator with the kernel: set CHATBOX_E2E=1 and run as root")
	}
	if err := runForeign("arm64"); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "hello")
	src := filepath.Join(t.TempDir(), "hello.go")
	if err := os.WriteFile(src, []byte("package main\n\nimport (\"fmt\"; \"runtime\")\n\nfunc main() { fmt.Println(\"hello from\", runtime.GOARCH) }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-o", bin, src)
	build.Env = append(os.Environ(), "GOARCH=arm64", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "hello from arm64" {
		t.Fatalf("the arm64 program: %v %q", err, out)
	}
	if raw, _ := os.ReadFile(filepath.Join(binfmtDir, "qemu-aarch64")); !usable(string(raw)) {
		t.Errorf("the entry is not usable as it reads:\n%s", raw)
	}
}
