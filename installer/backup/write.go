package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/chatbox-dev/chatbox/chat/datadir"
)

// Source is what a backup is made of.
type Source struct {
	// Snapshot returns a consistent copy of the room's store and its size
	// (admin.Client.Snapshot, through the running service).
	Snapshot func(ctx context.Context) (io.ReadCloser, int64, error)
	// Layout is the service's data directory; its uploads and certificate
	// storage are read from there.
	Layout datadir.Layout
	// ConfigPath is the config file to keep, or "" for none.
	ConfigPath string
	// Version is the chatbox version written in the manifest.
	Version string
	// Now stamps the manifest; time.Now when nil.
	Now func() time.Time
}

// Write writes a backup of src to w and returns its manifest. The store
// is copied first, then the files as they are after it, so every file a
// message in the copy names is there unless it was deleted meanwhile.
// Nothing is held in memory but one buffer and the manifest.
func Write(ctx context.Context, w io.Writer, src Source) (Manifest, error) {
	now := src.Now
	if now == nil {
		now = time.Now
	}
	m := Manifest{Format: Format, Version: src.Version, Created: now().UTC()}
	gz, err := gzip.NewWriterLevel(w, gzip.BestSpeed) // uploads are mostly compressed already
	if err != nil {
		return m, err
	}
	aw := &archiveWriter{ctx: ctx, tw: tar.NewWriter(gz), m: &m, mtime: m.Created}

	db, size, err := src.Snapshot(ctx)
	if err != nil {
		return m, fmt.Errorf("copy the store: %w", err)
	}
	err = aw.add(storeName, size, db)
	db.Close()
	if err != nil {
		return m, fmt.Errorf("copy the store: %w", err)
	}
	for _, d := range dataDirs {
		if err := aw.addTree(src.Layout.Dir, d); err != nil {
			return m, err
		}
	}
	if src.ConfigPath != "" {
		if err := aw.addFile(src.ConfigPath, configName); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return m, err
		}
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	hdr := &tar.Header{Name: manifestName, Mode: 0o640, Size: int64(len(raw)), ModTime: m.Created, Typeflag: tar.TypeReg}
	if err := aw.tw.WriteHeader(hdr); err != nil {
		return m, fmt.Errorf("write the manifest: %w", err)
	}
	if _, err := aw.tw.Write(raw); err != nil {
		return m, fmt.Errorf("write the manifest: %w", err)
	}
	if err := aw.tw.Close(); err != nil {
		return m, fmt.Errorf("finish the archive: %w", err)
	}
	if err := gz.Close(); err != nil {
		return m, fmt.Errorf("finish the archive: %w", err)
	}
	return m, nil
}

type archiveWriter struct {
	ctx   context.Context
	tw    *tar.Writer
	m     *Manifest
	mtime time.Time
}

// add writes an entry of exactly size bytes from r, hashing as it goes.
func (aw *archiveWriter) add(name string, size int64, r io.Reader) error {
	if err := aw.ctx.Err(); err != nil {
		return err
	}
	hdr := &tar.Header{Name: name, Mode: 0o640, Size: size, ModTime: aw.mtime, Typeflag: tar.TypeReg}
	if err := aw.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	h := sha256.New()
	n, err := io.CopyN(io.MultiWriter(aw.tw, h), ctxReader{aw.ctx, r}, size)
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("read %s: it ended after %d of its %d bytes", name, n, size)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	aw.m.Entries = append(aw.m.Entries, Entry{Path: name, Size: size, SHA256: hex.EncodeToString(h.Sum(nil))})
	return nil
}

// addFile adds the regular file at path as name. Its size is taken when
// it is opened: a file that grows meanwhile is kept at that size.
func (aw *archiveWriter) addFile(path, name string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("read %s: it is not a regular file", path)
	}
	return aw.add(name, fi.Size(), f)
}

// addTree adds the regular files under dir/sub, in lexical order. Uploads
// still arriving (files/.incoming) are left out, and so are links and
// anything else that is not a plain file; a file deleted while the walk
// runs is skipped.
func (aw *archiveWriter) addTree(dir, sub string) error {
	root := filepath.Join(dir, sub)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if d.IsDir() && p == filepath.Join(dir, "files", ".incoming") {
			return fs.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		err = aw.addFile(p, dataPrefix+filepath.ToSlash(rel))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("back up %s: %w", root, err)
	}
	return nil
}

// ctxReader stops reading when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
