package datadir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckRefusesADataDirectoryOthersCanTamperWith(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, l Layout)
		want  string // in the error; "" for none
	}{
		{"a directory that does not exist yet passes", func(t *testing.T, l Layout) { os.Remove(l.Dir) }, ""},
		{"a directory of the box's own passes", func(t *testing.T, l Layout) {
			mkdir(t, l.Files("0123456789abcdef0123456789abcdef"))
			write(t, l.Messages())
		}, ""},
		{"a directory anyone can write is refused", func(t *testing.T, l Layout) { chmod(t, l.Dir, 0o777) }, "chmod go-w"},
		{"a group-writable store is refused", func(t *testing.T, l Layout) {
			write(t, l.Messages())
			chmod(t, l.Messages(), 0o660)
		}, "messages.db"},
		{"a link in place of the store is refused", func(t *testing.T, l Layout) {
			if err := os.Symlink("/etc/passwd", l.Messages()); err != nil {
				t.Fatal(err)
			}
		}, "symbolic link"},
		{"a link among the uploads is refused", func(t *testing.T, l Layout) {
			mkdir(t, l.Files())
			if err := os.Symlink("/etc", l.Files("0123456789abcdef0123456789abcdef")); err != nil {
				t.Fatal(err)
			}
		}, "symbolic link"},
		{"a link in the staging folder is refused", func(t *testing.T, l Layout) {
			mkdir(t, l.Files(".incoming"))
			if err := os.Symlink("/", l.Files(".incoming", "up-1")); err != nil {
				t.Fatal(err)
			}
		}, "symbolic link"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := Layout{Dir: filepath.Join(t.TempDir(), "data")}
			mkdir(t, l.Dir)
			tc.setup(t, l)
			err := l.Check()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Check() = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Check() = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
