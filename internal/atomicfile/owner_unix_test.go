//go:build unix

package atomicfile

import (
	"os"
	"syscall"
	"testing"
)

func statOwner(t *testing.T, path string) [2]int {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return [2]int{int(st.Uid), int(st.Gid)}
}
