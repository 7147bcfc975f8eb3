// Package atomicfile replaces a file whole: a crash, a power cut or a
// full disk leaves either the old file or the new one, never a mix.
package atomicfile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Write writes data to path with the permissions perm. The folder must
// exist.
func Write(path string, data []byte, perm fs.FileMode) error {
	return WriteOwned(path, data, perm, -1, -1)
}

// WriteOwned is Write that also gives the file to uid and gid, unless uid
// is negative. The data goes to a temporary file beside path, which gets
// its mode and owner, is flushed and renamed over path; then the folder
// is flushed so that the rename itself survives a power cut.
func WriteOwned(path string, data []byte, perm fs.FileMode, uid, gid int) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	if err = tmp.Chmod(perm.Perm()); err != nil {
		return err
	}
	if uid >= 0 {
		if err = tmp.Chown(uid, gid); err != nil {
			return err
		}
	}
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir flushes a folder's entries to the disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
