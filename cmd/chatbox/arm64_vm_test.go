//go:build linux

package main

import (
	"debug/elf"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestVMArm64BinaryUnderQEMUUser runs the linux/arm64 release binary, built
// as packaging/release.sh builds it, under qemu-user: /healthz answers, a
// message is stored, and after SIGKILL the restarted binary still has it.
// It stands in for the arm64 Debian 13 machine the VM suite does not boot
// yet (see docs/DEVELOPING.md): it proves the binary runs on an arm64
// CPU's instruction set and Linux's arm64 system calls, not on a
// Raspberry Pi's kernel.
func TestVMArm64BinaryUnderQEMUUser(t *testing.T) {
	if os.Getenv("CHATBOX_E2E") != "1" {
		t.Skip("end-to-end test: set CHATBOX_E2E=1 to run it (./test.sh does)")
	}
	emulator, err := exec.LookPath("qemu-aarch64-static")
	if err != nil {
		t.Fatal("CHATBOX_E2E=1: qemu-aarch64-static is missing (apt-get install qemu-user-static)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "chatbox-linux-arm64")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build for linux/arm64: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	if f.Machine != elf.EM_AARCH64 {
		t.Fatalf("the binary is for %v, want AArch64", f.Machine)
	}
	f.Close()
	// startDev runs its argument as the chatbox binary.
	wrapper := filepath.Join(dir, "chatbox")
	writeFile(t, wrapper, fmt.Sprintf("#!/bin/sh\nexec %s %s \"$@\"\n", emulator, bin), 0o755)
	data := t.TempDir()

	start := time.Now()
	srv := startDev(t, wrapper, data)
	t.Logf("the arm64 binary served under qemu-user after %s", time.Since(start).Round(time.Millisecond))
	res, err := http.Get(srv.url + "/healthz")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %v %v", res, err)
	}
	res.Body.Close()
	c := &http.Client{Timeout: 30 * time.Second}
	res, raw, err := postJSON(t.Context(), c, srv.url+"/api/messages", map[string]string{"nick": "pi", "text": "from arm64"})
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("post: %v %v %s", res, err, raw)
	}
	srv.cmd.Process.Signal(syscall.SIGKILL)
	srv.cmd.Wait()

	srv = startDev(t, wrapper, data)
	var stored []storedMessage
	getJSON(t, srv.url+"/api/messages?after=0", &stored)
	if len(stored) != 1 || stored[0].Text != "from arm64" {
		t.Fatalf("after SIGKILL and a restart the arm64 binary has %+v", stored)
	}
}
