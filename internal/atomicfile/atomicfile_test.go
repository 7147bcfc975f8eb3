package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteReplacesTheFileWholeWithItsMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key.json")
	if err := os.WriteFile(path, []byte("old and longer than the new one"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "new" {
		t.Errorf("content = %q, want %q", got, "new")
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("the folder holds %d entries, want only the file (no temporary left)", len(entries))
	}
}

func TestWriteIntoAMissingFolderFailsAndSaysWhere(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nowhere", "key.json")
	err := Write(path, []byte("x"), 0o600)
	if err == nil {
		t.Fatal("Write into a missing folder succeeded")
	}
	if want := "write " + path; len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
		t.Errorf("error %q does not start with %q", err, want)
	}
}

func TestWriteOwnedSetsTheOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing a file's owner needs root")
	}
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := WriteOwned(path, []byte("x"), 0o640, 12345, 23456); err != nil {
		t.Fatal(err)
	}
	var st = statOwner(t, path)
	if st[0] != 12345 || st[1] != 23456 {
		t.Errorf("owner = %d:%d, want 12345:23456", st[0], st[1])
	}
}
