//go:build linux

package vmtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// binfmtDir is where the kernel's binfmt_misc is mounted.
const binfmtDir = "/proc/sys/fs/binfmt_misc"

// aarch64ELF is the start of an arm64 ELF executable's header, and the
// mask of the bytes that must match (as Debian's qemu-user-static
// registers it).
const (
	aarch64Magic = `\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00`
	aarch64Mask  = `\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff`
)

// runForeign lets this machine run programs of arch (debootstrap's second
// stage and apt in an arm64 tree) through qemu-user-static: binfmt_misc
// is mounted if it is not, and qemu-aarch64-static registered with the F
// flag, so that the kernel opens the emulator once and finds it from
// inside a chroot too. An entry of that name that could not work (its
// emulator missing, or without F) is replaced. The registration is the
// machine's, not the test's: it stays, as qemu-user-static's own would.
func runForeign(arch string) error {
	if arch != "arm64" {
		return fmt.Errorf("no emulator is known for %s", arch)
	}
	if _, err := os.Stat(filepath.Join(binfmtDir, "register")); err != nil {
		if err := syscall.Mount("binfmt_misc", binfmtDir, "binfmt_misc", 0, ""); err != nil {
			return fmt.Errorf("mount binfmt_misc on %s (needed to build an %s image): %w", binfmtDir, arch, err)
		}
	}
	emulator, err := exec.LookPath("qemu-aarch64-static")
	if err != nil {
		return fmt.Errorf("building an %s image needs qemu-aarch64-static (apt-get install qemu-user-static): %w", arch, err)
	}
	entry := filepath.Join(binfmtDir, "qemu-aarch64")
	if raw, err := os.ReadFile(entry); err == nil {
		if usable(string(raw)) {
			return nil
		}
		if err := os.WriteFile(entry, []byte("-1"), 0); err != nil {
			return fmt.Errorf("remove the binfmt_misc entry %s that cannot run a chroot's programs: %w", entry, err)
		}
	}
	reg := fmt.Sprintf(":qemu-aarch64:M::%s:%s:%s:F", aarch64Magic, aarch64Mask, emulator)
	if err := os.WriteFile(filepath.Join(binfmtDir, "register"), []byte(reg), 0); err != nil {
		return fmt.Errorf("register %s with binfmt_misc: %w", emulator, err)
	}
	return nil
}

// usable says whether a binfmt_misc entry, as its file reads, is enabled,
// fixes its emulator (F) and names one that exists.
func usable(entry string) bool {
	var enabled, fixed, exists bool
	for _, line := range strings.Split(entry, "\n") {
		switch {
		case line == "enabled":
			enabled = true
		case strings.HasPrefix(line, "flags:"):
			fixed = strings.Contains(line, "F")
		case strings.HasPrefix(line, "interpreter "):
			_, err := os.Stat(strings.TrimPrefix(line, "interpreter "))
			exists = err == nil
		}
	}
	return enabled && fixed && exists
}
