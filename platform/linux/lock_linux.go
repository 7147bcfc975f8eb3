package linux

import (
	"os"
	"syscall"
)

// F_OFD_GETLK asks about a lock without taking one and, unlike F_GETLK,
// also sees locks this process holds through another descriptor.
const fOFDGetlk = 36

// lockHeld reports whether some process holds a write-blocking fcntl lock
// on path, as dpkg and apt do on their lock files.
func lockHeld(path string) bool {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0}
	if err := syscall.FcntlFlock(f.Fd(), fOFDGetlk, &lk); err != nil {
		return false
	}
	return lk.Type != syscall.F_UNLCK
}
