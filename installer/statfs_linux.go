package installer

import (
	"fmt"
	"syscall"
)

func freeBytes(path string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, fmt.Errorf("check free space on %s: %w", path, err)
	}
	return st.Bavail * uint64(st.Bsize), nil
}
