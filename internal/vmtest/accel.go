//go:build linux

package vmtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Accel returns the accelerator img's machines use: for amd64, "kvm" when
// the host has a KVM that boots img's kernel, "tcg" (software emulation)
// otherwise; for another architecture, "tcg".
// A /dev/kvm whose guests hang is not a working one, so the probe boots
// the kernel without a root and waits, at most 20 seconds, for it to give
// up on mounting one; KVM gets there in a second or two. The answer is
// remembered in the cache for the host's current boot. CHATBOX_VM_ACCEL
// (kvm or tcg) overrides the probe.
func (e *Env) Accel(ctx context.Context, img *Image) string {
	if img.Release.Arch != "amd64" {
		return "tcg" // another architecture is always emulated here
	}
	e.accelOnce.Do(func() { e.accel = e.probeAccel(ctx, img) })
	return e.accel
}

func (e *Env) probeAccel(ctx context.Context, img *Image) string {
	if a := os.Getenv("CHATBOX_VM_ACCEL"); a == "kvm" || a == "tcg" {
		return a
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return "tcg"
	}
	f.Close()
	bootID, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	memo := filepath.Join(e.Cache, "vm-accel-"+strings.TrimSpace(string(bootID)))
	if a, err := os.ReadFile(memo); err == nil {
		return string(a)
	}
	accel := "tcg"
	dir, err := os.MkdirTemp("", "vmtest-kvm-probe")
	if err != nil {
		return accel
	}
	defer os.RemoveAll(dir)
	console := filepath.Join(dir, "console")
	cmd := niceCommand("qemu-system-x86_64", "-accel", "kvm", "-cpu", "host", "-m", "256", "-nodefaults", "-no-user-config",
		"-display", "none", "-no-reboot", "-serial", "file:"+console, "-kernel", img.Kernel,
		"-append", "console=ttyS0 panic=-1 root=/dev/vmtest-none")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if cmd.Start() == nil {
		WaitFor(ctx, "a KVM guest's kernel to look for its root", 20*time.Second, 200*time.Millisecond, func(context.Context) (bool, error) {
			out, _ := os.ReadFile(console)
			if strings.Contains(string(out), "VFS: Unable to mount root") || strings.Contains(string(out), "Kernel panic") {
				accel = "kvm"
				return true, nil
			}
			return false, nil
		})
		cmd.Process.Kill()
		cmd.Wait()
	}
	os.WriteFile(memo, []byte(accel), 0o644)
	return accel
}
