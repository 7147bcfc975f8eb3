package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Service starts and stops the chatbox service around a restore.
type Service interface {
	// Stop stops the service and returns once it has let go of its data.
	Stop(ctx context.Context) error
	// Start starts the service and returns once it answers, healthy.
	Start(ctx context.Context) error
}

// Target is where a restore puts a backup.
type Target struct {
	// DataDir is the service's data directory. The restored one takes its
	// place whole; the one it replaces is kept beside it (see Result).
	DataDir string
	// ConfigPath is the config file the service reads; the backup's takes
	// its place, the one it replaces is kept beside it.
	ConfigPath string
	// UID and GID own the restored data (the service's account); the
	// config file gets GID as its group. -1 leaves ownership as written.
	UID, GID int
	// Service is stopped before the swap and started after it.
	Service Service
	// Now names the folders kept aside; time.Now when nil.
	Now func() time.Time
}

// Result is what a restore did.
type Result struct {
	// Manifest is the restored backup's.
	Manifest Manifest
	// OldData and OldConfig are where the data directory and the config
	// file that were replaced are kept; "" when there was none.
	OldData, OldConfig string
	// MovedFrom is the data directory the backup's config named when it
	// was not this box's; the restored config names this box's instead.
	MovedFrom string
}

// Modes of restored files: the store is the service's alone.
const (
	dirMode   = 0o750
	fileMode  = 0o640
	storeMode = 0o600
)

// Restore puts the backup in the file archive in t's place. It verifies
// the whole archive first and refuses one that is not a whole, intact
// chatbox backup (a *BadArchiveError) with nothing changed. It unpacks
// into a folder beside the data directory, stops the service, swaps the
// folders (and config files) by renaming, and starts the service again,
// waiting for it to answer. A failure before the swap leaves the box as
// it was; one while swapping puts the old data back.
func Restore(ctx context.Context, archive string, t Target) (Result, error) {
	var res Result
	m, err := VerifyFile(archive)
	if err != nil {
		return res, err
	}
	res.Manifest = m
	now := t.Now
	if now == nil {
		now = time.Now
	}
	dataDir := filepath.Clean(t.DataDir)
	staging, err := os.MkdirTemp(filepath.Dir(dataDir), "."+filepath.Base(dataDir)+".restore-")
	if err != nil {
		return res, fmt.Errorf("make a folder to unpack the backup into: %w", err)
	}
	swapped := false
	defer func() {
		if !swapped {
			os.RemoveAll(staging)
		}
	}()
	var config string
	if t.ConfigPath != "" {
		config = filepath.Join(staging, ".config.toml")
	}
	if err := unpack(archive, staging, config, t); err != nil {
		return res, err
	}
	if config != "" {
		if _, err := os.Stat(config); err == nil {
			if res.MovedFrom, err = pointConfigAt(config, dataDir); err != nil {
				return res, err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}

	if err := t.Service.Stop(ctx); err != nil {
		return res, fmt.Errorf("stop chatbox before restoring: %w", err)
	}
	stamp := now().UTC().Format("20060102-150405")
	if config != "" {
		if _, err := os.Stat(config); err == nil {
			// The config leaves the staging folder before it becomes the
			// data directory.
			next := t.ConfigPath + ".restore-" + stamp
			if err := os.Rename(config, next); err != nil {
				return res, fmt.Errorf("put the backup's config beside %s: %w", t.ConfigPath, err)
			}
			config = next
			defer os.Remove(next) // gone once renamed into place
		} else {
			config = ""
		}
	}
	old := dataDir + ".before-restore-" + stamp
	if _, err := os.Lstat(dataDir); err == nil {
		if err := os.Rename(dataDir, old); err != nil {
			return res, startAgain(ctx, t, fmt.Errorf("move the current data aside: %w", err))
		}
		res.OldData = old
	}
	if err := os.Rename(staging, dataDir); err != nil {
		if res.OldData != "" {
			if rerr := os.Rename(old, dataDir); rerr != nil {
				return res, fmt.Errorf("put the restored data in place: %w; and putting the old data back failed too (%v): it is in %s", err, rerr, old)
			}
			res.OldData = ""
		}
		return res, startAgain(ctx, t, fmt.Errorf("put the restored data in place: %w", err))
	}
	swapped = true
	if config != "" {
		oldConfig := t.ConfigPath + ".before-restore-" + stamp
		if err := os.Link(t.ConfigPath, oldConfig); err == nil {
			res.OldConfig = oldConfig
		} else if !errors.Is(err, fs.ErrNotExist) {
			return res, fmt.Errorf("keep the current config as %s: %w; the restored data is in place, the previous data in %s", oldConfig, err, res.OldData)
		}
		if err := os.Rename(config, t.ConfigPath); err != nil {
			return res, fmt.Errorf("put the backup's config in place: %w; the restored data is in place, the previous data in %s", err, res.OldData)
		}
	}
	syncDir(filepath.Dir(dataDir))
	if config != "" {
		syncDir(filepath.Dir(t.ConfigPath))
	}
	if err := t.Service.Start(ctx); err != nil {
		return res, fmt.Errorf("start chatbox on the restored data: %w; the previous data is kept in %s", err, orNone(res.OldData))
	}
	return res, nil
}

// startAgain starts the service after a restore that changed nothing
// failed, and returns err.
func startAgain(ctx context.Context, t Target, err error) error {
	if serr := t.Service.Start(ctx); serr != nil {
		return fmt.Errorf("%w; and starting chatbox again failed: %v", err, serr)
	}
	return err
}

func orNone(dir string) string {
	if dir == "" {
		return "(none: there was no data directory)"
	}
	return dir
}

// unpack writes the archive's data entries under dir and its config file
// to config (none when config is ""), with the modes and owners of an
// installed box, checking the archive again as it goes.
func unpack(archive, dir, config string, t Target) error {
	f, err := os.Open(archive)
	if err != nil {
		return fmt.Errorf("open the backup: %w", err)
	}
	defer f.Close()
	if err := os.Chmod(dir, dirMode); err != nil {
		return err
	}
	if err := chown(dir, t.UID, t.GID); err != nil {
		return err
	}
	_, err = walk(f, func(name string, size int64, content io.Reader) error {
		var dst string
		mode := fs.FileMode(fileMode)
		uid := t.UID
		switch {
		case name == configName:
			if config == "" {
				return nil
			}
			dst, uid = config, -1
		case strings.HasPrefix(name, dataPrefix):
			rel := strings.TrimPrefix(name, dataPrefix)
			dst = filepath.Join(dir, filepath.FromSlash(rel))
			if name == storeName || strings.HasPrefix(rel, pushDir+"/") {
				mode = storeMode
			}
			if err := mkdirs(dir, path.Dir(rel), t); err != nil {
				return err
			}
		default:
			return nil
		}
		return writeFile(dst, content, size, mode, uid, t.GID)
	})
	if err != nil {
		return err
	}
	return syncDir(dir)
}

// mkdirs makes the folders of rel (slash-separated) under dir.
func mkdirs(dir, rel string, t Target) error {
	if rel == "." {
		return nil
	}
	p := dir
	for _, part := range strings.Split(rel, "/") {
		p = filepath.Join(p, part)
		err := os.Mkdir(p, dirMode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("unpack the backup: %w", err)
		}
		if err := os.Chmod(p, dirMode); err != nil { // past the umask
			return err
		}
		if err := chown(p, t.UID, t.GID); err != nil {
			return err
		}
	}
	return nil
}

// writeFile writes exactly size bytes of r to a new file at dst and
// flushes it to disk.
func writeFile(dst string, r io.Reader, size int64, mode fs.FileMode, uid, gid int) error {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("unpack the backup: %w", err)
	}
	_, err = io.CopyN(f, r, size)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil && (uid >= 0 || gid >= 0) {
		err = f.Chown(uid, gid)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("unpack %s: %w", filepath.Base(dst), err)
	}
	return nil
}

func chown(p string, uid, gid int) error {
	if uid < 0 && gid < 0 {
		return nil
	}
	if err := os.Lchown(p, uid, gid); err != nil {
		return fmt.Errorf("give %s to the service's account: %w", p, err)
	}
	return nil
}

// syncDir flushes a directory's entries to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("flush %s: %w", dir, err)
	}
	return nil
}
