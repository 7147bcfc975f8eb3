// Package uploads keeps the files shared in a room on disk: each upload is
// staged, sniffed, cleaned of metadata, given a thumbnail when it is a
// picture, and renamed into place whole. It knows nothing of messages or
// of the transports that carry the bytes.
//
// Uploads live under <data_dir>/files/<id>/, one folder per upload:
//
//	original   the bytes as uploaded (JPEG and PNG without their metadata;
//	           an encrypted room's ciphertext as it came)
//	thumb      a re-encoded thumbnail (pictures only; no metadata), or
//	           the thumbnail an encrypted room's browser made and encrypted
//	meta.json  Meta, written by the server
//
// An upload is staged in files/.incoming/ and renamed into place whole, so
// files/<id>/ is either complete or absent. The client's file name is kept
// in meta.json only; it never becomes a path.
package uploads

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/chatbox-dev/chatbox/chat/datadir"
)

const (
	incomingDir  = ".incoming"
	originalName = "original"
	thumbName    = "thumb"
	metaName     = "meta.json"

	// MaxFileNameLength is the longest upload name kept, in bytes.
	MaxFileNameLength = 120
)

// Errors a caller turns into its own words.
var (
	// ErrTooLarge is a file over the size limit.
	ErrTooLarge = errors.New("the file is over the size limit")
	// ErrNotFound is an upload that does not exist (or a malformed id).
	ErrNotFound = errors.New("no such file")
	// ErrNoThumbnail is an upload that is not a picture.
	ErrNoThumbnail = errors.New("the file has no thumbnail")
)

// ReadError is a failure to read the bytes being uploaded (as opposed to
// a failure to write them): the client's fault, not the disk's. Err says
// what the reader reported.
type ReadError struct{ Err error }

func (e *ReadError) Error() string { return "read the upload: " + e.Err.Error() }
func (e *ReadError) Unwrap() error { return e.Err }

// Meta is the server's record of one upload, kept beside it.
type Meta struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
	// Type is sniffed from the bytes, never taken from the client.
	Type string `json:"type"`
	// Inline is true for pictures that are served to be shown in the page;
	// every other file is served as an attachment.
	Inline    bool   `json:"inline"`
	ThumbType string `json:"thumb_type,omitempty"`
	// ThumbPending is a picture whose thumbnail is queued (QueueThumbnail)
	// but not made yet.
	ThumbPending bool `json:"thumb_pending,omitempty"`
	// Opaque is an encrypted room's file: bytes the box cannot read,
	// served as they are, as an attachment (see DescribeOpaque).
	Opaque bool `json:"opaque,omitempty"`
}

// Dir is the uploads folder of a data directory.
type Dir struct {
	layout      datadir.Layout
	maxFileSize int64
	// thumbs are the pictures waiting for a thumbnail.
	thumbs thumbQueue
}

// New returns the uploads folder of layout, for files of at most
// maxFileSize bytes.
func New(layout datadir.Layout, maxFileSize int64) *Dir {
	return &Dir{layout: layout, maxFileSize: maxFileSize, thumbs: newThumbQueue()}
}

// URL is the address of upload id under its name; ThumbURL that of its
// thumbnail.
func URL(id, name string) string { return "/files/" + id + "/" + url.PathEscape(name) }

// ThumbURL is the address of upload id's thumbnail.
func ThumbURL(id string) string { return "/files/" + id + "/" + thumbName }

// Stage makes a new empty staging folder for one upload. The caller
// removes it (os.RemoveAll) when done; Commit moves it away.
func (d *Dir) Stage() (string, error) {
	incoming := d.layout.Files(incomingDir)
	if err := os.MkdirAll(incoming, 0o750); err != nil {
		return "", fmt.Errorf("prepare upload: %w", err)
	}
	stage, err := os.MkdirTemp(incoming, "up-")
	if err != nil {
		return "", fmt.Errorf("prepare upload: %w", err)
	}
	return stage, nil
}

// SaveOriginal copies the file from r into stage, stopping at the size
// limit (ErrTooLarge), and flushes it to disk. A failure to read r is a
// *ReadError.
func (d *Dir) SaveOriginal(stage string, r io.Reader) (int64, error) {
	return save(filepath.Join(stage, originalName), r, d.maxFileSize)
}

// SaveOpaque is SaveOriginal of bytes the box cannot read (an encrypted
// room's file, its limit given), and SaveOpaqueThumb of the thumbnail
// made and encrypted by the browser: both are kept as they are.
func (d *Dir) SaveOpaque(stage string, r io.Reader, limit int64) (int64, error) {
	return save(filepath.Join(stage, originalName), r, limit)
}

// SaveOpaqueThumb saves an encrypted thumbnail of at most limit bytes.
func (d *Dir) SaveOpaqueThumb(stage string, r io.Reader, limit int64) (int64, error) {
	return save(filepath.Join(stage, thumbName), r, limit)
}

// OpaqueName is the name of every file of an encrypted room, and
// OpaqueType its type: the box knows neither.
const (
	OpaqueName = "encrypted"
	OpaqueType = "application/octet-stream"
)

// DescribeOpaque writes the record of a staged file the box cannot read:
// named OpaqueName, never sniffed, stripped, decoded or thumbnailed; its
// thumbnail, when the browser sent one, is kept as it came.
func (d *Dir) DescribeOpaque(stage string, size int64, thumb bool) (Meta, error) {
	meta := Meta{Name: OpaqueName, Size: size, Type: OpaqueType, Opaque: true}
	if thumb {
		meta.ThumbType = OpaqueType
	}
	raw, err := json.Marshal(meta)
	if err != nil {
		return meta, err
	}
	if err := writeFileSync(filepath.Join(stage, metaName), raw); err != nil {
		return meta, err
	}
	return meta, syncDir(stage)
}

// save copies r to a new file at path, stopping at limit bytes
// (ErrTooLarge), and flushes it to disk.
func save(path string, r io.Reader, limit int64) (int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return 0, fmt.Errorf("save upload: %w", err)
	}
	defer f.Close()
	n, err := io.Copy(f, io.LimitReader(r, limit+1))
	var pe *fs.PathError
	switch {
	case errors.As(err, &pe):
		return 0, fmt.Errorf("save upload: %w", err) // writing failed
	case err != nil:
		return 0, &ReadError{Err: err}
	case n > limit:
		return 0, ErrTooLarge
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("save upload: %w", err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("save upload: %w", err)
	}
	return n, nil
}

// Describe sniffs the staged file's type, strips a picture's metadata,
// checks from a picture's header that it can be decoded within
// MaxDecodeBytes (a *PixelsError if not), and writes meta.json. name is
// the client's name, already sanitized (SanitizeFileName). A picture's
// thumbnail is only marked pending: once the upload is committed,
// QueueThumbnail has it made, so no upload waits for a decode.
func (d *Dir) Describe(stage, name string, size int64) (Meta, error) {
	meta := Meta{Name: name, Size: size}
	orig := filepath.Join(stage, originalName)
	head, err := readHead(orig, 512)
	if err != nil {
		return meta, err
	}
	meta.Type = http.DetectContentType(head)
	if meta.Size, err = stripMetadata(orig, meta.Type, meta.Size); err != nil {
		return meta, err
	}
	if safeInlineType(meta.Type) {
		f, err := os.Open(orig)
		if err != nil {
			return meta, fmt.Errorf("read the upload: %w", err)
		}
		_, _, err = checkPicture(f, meta.Type)
		f.Close()
		switch {
		case err == nil:
			meta.Inline, meta.ThumbPending = true, true
		case errors.Is(err, errNotPicture):
			// Damaged or not really a picture: kept, but only as an attachment.
		default:
			return meta, err
		}
	}
	raw, err := json.Marshal(meta)
	if err != nil {
		return meta, err
	}
	if err := writeFileSync(filepath.Join(stage, metaName), raw); err != nil {
		return meta, err
	}
	return meta, syncDir(stage)
}

// Commit moves a described staging folder into place under a new id.
func (d *Dir) Commit(stage string) (id string, err error) {
	if id, err = newID(); err != nil {
		return "", err
	}
	dir := d.layout.Files(id)
	if err := os.Rename(stage, dir); err != nil {
		return "", fmt.Errorf("store upload: %w", err)
	}
	if err := syncDir(d.layout.Files()); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return id, nil
}

// Remove deletes upload id.
func (d *Dir) Remove(id string) error {
	if !ValidID(id) {
		return ErrNotFound
	}
	return os.RemoveAll(d.layout.Files(id))
}

// Meta returns the record of upload id, or ErrNotFound.
func (d *Dir) Meta(id string) (Meta, error) {
	var meta Meta
	if !ValidID(id) {
		return meta, ErrNotFound
	}
	raw, err := os.ReadFile(d.layout.Files(id, metaName))
	if errors.Is(err, fs.ErrNotExist) {
		return meta, ErrNotFound
	}
	if err != nil {
		return meta, err
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		return meta, fmt.Errorf("read upload record %s: %w", id, err)
	}
	return meta, nil
}

// Open opens upload id's original, or its thumbnail when thumb is set.
func (d *Dir) Open(id string, thumb bool) (*os.File, error) {
	if !ValidID(id) {
		return nil, ErrNotFound
	}
	name := originalName
	if thumb {
		name = thumbName
	}
	f, err := os.Open(d.layout.Files(id, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	return f, err
}

// Usage returns the bytes the committed uploads take.
func (d *Dir) Usage() (int64, error) {
	entries, err := os.ReadDir(d.layout.Files())
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("measure uploads: %w", err)
	}
	var total int64
	for _, e := range entries {
		if !e.IsDir() || !ValidID(e.Name()) {
			continue
		}
		n, err := StagedSize(d.layout.Files(e.Name()))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// Sweep removes every upload folder whose id used does not hold, and what
// the staging folder holds; it returns how many uploads and unfinished
// uploads went. remove deletes a folder.
func (d *Dir) Sweep(used map[string]bool, remove func(string) error) (removed, unfinished int, err error) {
	entries, err := os.ReadDir(d.layout.Files())
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("look for orphaned uploads: %w", err)
	}
	var errs []error
	for _, e := range entries {
		if used[e.Name()] {
			continue
		}
		if e.Name() == incomingDir {
			// The staging folder is no upload: only what a crash left in
			// it is worth a word.
			staged, _ := os.ReadDir(d.layout.Files(incomingDir))
			unfinished = len(staged)
		}
		if err := remove(d.layout.Files(e.Name())); err != nil {
			errs = append(errs, fmt.Errorf("remove an orphaned upload %s: %w", e.Name(), err))
			continue
		}
		if e.Name() != incomingDir {
			removed++
		}
	}
	return removed, unfinished, errors.Join(errs...)
}

// newID returns a random storage id: 32 hex digits.
func newID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make a file id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// ValidID reports whether s has the form of a storage id; nothing else is
// ever joined to a path.
func ValidID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// StagedSize adds up the sizes of the regular files directly in dir.
func StagedSize(dir string) (int64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("measure uploads: %w", err)
	}
	var total int64
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		if info.Mode().IsRegular() {
			total += info.Size()
		}
	}
	return total, nil
}

// safeInlineType reports whether ct is a raster format the browser may
// show in the page.
func safeInlineType(ct string) bool {
	switch ct {
	case "image/jpeg", "image/png", "image/gif", "image/webp":
		return true
	}
	return false
}

// SanitizeFileName turns a client's file name into a harmless display and
// download name: its base name only, valid UTF-8 without control,
// formatting or path characters, no leading dot, at most
// MaxFileNameLength bytes with the extension kept, and never empty.
func SanitizeFileName(name string) string {
	// Base name: browsers on Windows may send the whole path.
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.ToValidUTF8(name, "_")
	name = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			return -1 // control and invisible formatting (bidi overrides)
		case strings.ContainsRune(`<>:"|?*`, r):
			return '_'
		case unicode.IsSpace(r):
			return ' '
		}
		return r
	}, name)
	name = trimName(name)
	if len(name) > MaxFileNameLength {
		ext := ""
		if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= 16 {
			ext = name[i:]
		}
		stem := truncateUTF8(name[:len(name)-len(ext)], MaxFileNameLength-len(ext))
		name = trimName(stem) + ext
	}
	switch name {
	case "", ".":
		return "file"
	case thumbName:
		// /files/{id}/thumb is the thumbnail's address.
		return "thumb_"
	}
	return name
}

// trimName removes spaces and dots at either end: no hidden files, no "..".
func trimName(s string) string { return strings.Trim(s, " .") }

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// stripMetadata rewrites a staged JPEG or PNG without the metadata that
// phones and cameras put in it (the place a photo was taken, above all),
// and returns the file's new size. Other files, and pictures it cannot
// walk, are kept as they are.
func stripMetadata(path, ctype string, size int64) (int64, error) {
	var strip func([]byte) ([]byte, bool)
	switch ctype {
	case "image/jpeg":
		strip = stripJPEGMetadata
	case "image/png":
		strip = stripPNGMetadata
	default:
		return size, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return size, fmt.Errorf("read the upload: %w", err)
	}
	clean, ok := strip(data)
	if !ok || len(clean) == len(data) {
		return size, nil
	}
	if err := writeFileSync(path+".clean", clean); err != nil {
		return size, err
	}
	if err := os.Rename(path+".clean", path); err != nil {
		return size, fmt.Errorf("replace the upload with its cleaned copy: %w", err)
	}
	return int64(len(clean)), nil
}

func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, n)
	k, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:k], nil
}

// writeFileSync writes data to a new file and flushes it to disk.
func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("save upload: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("save upload: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("save upload: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save upload: %w", err)
	}
	return nil
}

// syncDir flushes a directory's entries (a rename, a new file) to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("save upload: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("save upload: %w", err)
	}
	return nil
}
