package backup

import (
	"archive/tar"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// BadArchiveError is the refusal of an archive that is not a whole
// chatbox backup: truncated, corrupt, foreign or unsafe.
type BadArchiveError struct {
	// Reason completes "the archive ...".
	Reason string
}

func (e *BadArchiveError) Error() string { return "the archive " + e.Reason }

func bad(format string, args ...any) error {
	return &BadArchiveError{Reason: fmt.Sprintf(format, args...)}
}

// Verify reads the whole archive in r and checks it without writing
// anything: a manifest of a known format as its last entry, every entry's
// name safe and one a backup holds, every entry a plain file whose size
// and SHA-256 match the manifest, and the compression's own checksum. It
// returns the manifest, or a *BadArchiveError saying what is wrong.
func Verify(r io.Reader) (Manifest, error) {
	return walk(r, nil)
}

// VerifyFile verifies the archive in the file at path.
func VerifyFile(path string) (Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return Manifest{}, fmt.Errorf("open the backup: %w", err)
	}
	defer f.Close()
	return Verify(f)
}

// walk reads the archive in r, checking it as Verify does, and hands each
// entry but the manifest to fn (when not nil) as it goes. Only when walk
// returns nil were the entries fn saw the whole, intact backup.
func walk(r io.Reader, fn func(name string, size int64, content io.Reader) error) (Manifest, error) {
	var m Manifest
	gz, err := gzip.NewReader(r)
	if errors.Is(err, io.EOF) {
		return m, bad("is empty")
	}
	if err != nil {
		return m, readError(err, "is not gzip-compressed")
	}
	gz.Multistream(false)
	tr := tar.NewReader(gz)
	seen := map[string]Entry{}
	var order []string
	var haveManifest bool
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// A header that makes no sense after entries that did is a
			// damaged archive; one that never did is not a tar at all.
			if len(order) > 0 || haveManifest {
				return m, readError(err, "is corrupt: an entry's header was damaged")
			}
			return m, readError(err, "is not a tar archive")
		}
		if haveManifest {
			return m, bad("has %s after its manifest, which must come last", quote(hdr.Name))
		}
		if hdr.Typeflag != tar.TypeReg {
			return m, bad("holds %s, which is %s; a backup holds only plain files", quote(hdr.Name), typeName(hdr.Typeflag))
		}
		if hdr.Name == manifestName {
			if hdr.Size > maxManifest {
				return m, bad("has a manifest of %d bytes, more than a backup's can be", hdr.Size)
			}
			raw, err := io.ReadAll(tr)
			if err != nil {
				return m, readError(err, "is not a tar archive")
			}
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&m); err != nil {
				return m, bad("has a manifest that is not one chatbox writes: %v", err)
			}
			haveManifest = true
			continue
		}
		if why := checkName(hdr.Name); why != "" {
			return m, bad("%s", why)
		}
		if _, dup := seen[hdr.Name]; dup {
			return m, bad("holds %s twice", quote(hdr.Name))
		}
		h := sha256.New()
		content := io.TeeReader(tr, h)
		if fn != nil {
			if err := fn(hdr.Name, hdr.Size, content); err != nil {
				return m, err
			}
		}
		// Whatever fn left unread still counts.
		if _, err := io.Copy(h, tr); err != nil {
			return m, readError(err, "is corrupt: an entry could not be read whole")
		}
		seen[hdr.Name] = Entry{Path: hdr.Name, Size: hdr.Size, SHA256: hex.EncodeToString(h.Sum(nil))}
		order = append(order, hdr.Name)
	}
	// The tar ends before gzip's own trailer: read it, and its checksum.
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return m, readError(err, "")
	}
	if !haveManifest {
		return m, bad("has no manifest: it is cut short, or it is not a chatbox backup")
	}
	if m.Format != Format {
		return m, bad("is in format %d, which this chatbox does not know (it knows %d); restore it with the chatbox that made it (%s) or a newer one", m.Format, Format, m.Version)
	}
	if len(m.Entries) != len(order) {
		return m, bad("holds %d entries but its manifest lists %d", len(order), len(m.Entries))
	}
	for i, e := range m.Entries {
		got, ok := seen[e.Path]
		switch {
		case !ok || order[i] != e.Path:
			return m, bad("does not hold %s where its manifest lists it", quote(e.Path))
		case got.Size != e.Size:
			return m, bad("holds %s of %d bytes, but its manifest says %d", quote(e.Path), got.Size, e.Size)
		case got.SHA256 != e.SHA256:
			return m, bad("holds %s whose SHA-256 does not match its manifest: it is corrupt", quote(e.Path))
		}
	}
	if _, ok := seen[storeName]; !ok {
		return m, bad("holds no copy of the room's store (%s)", storeName)
	}
	return m, nil
}

// readError turns a failure to read the archive into a refusal that says
// why; notWhat completes "the archive ..." for a header that makes no
// sense.
func readError(err error, notWhat string) error {
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return bad("is cut short: it ends before its last entry is complete")
	case errors.Is(err, gzip.ErrChecksum), errors.As(err, &corrupt):
		return bad("is corrupt: its content does not match the checksum it was written with")
	case errors.Is(err, gzip.ErrHeader), errors.Is(err, tar.ErrHeader):
		if notWhat == "" {
			notWhat = "is corrupt"
		}
		return bad("%s", notWhat)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("read the backup: %w", err)
	default:
		return fmt.Errorf("read the backup: %w", err)
	}
}

func typeName(flag byte) string {
	switch flag {
	case tar.TypeSymlink:
		return "a symbolic link"
	case tar.TypeLink:
		return "a hard link"
	case tar.TypeDir:
		return "a folder"
	case tar.TypeChar, tar.TypeBlock:
		return "a device"
	case tar.TypeFifo:
		return "a named pipe"
	default:
		return fmt.Sprintf("of tar type %q", flag)
	}
}
