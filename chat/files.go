package chat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/chatbox-dev/chatbox/config"
	bolt "go.etcd.io/bbolt"
)

// Uploads live under <data_dir>/files/<id>/, one folder per upload:
//
//	original   the bytes as uploaded
//	thumb      a re-encoded thumbnail (pictures only; no metadata)
//	meta.json  fileMeta, written by the server
//
// An upload is staged in files/.incoming/ and renamed into place whole, so
// files/<id>/ is either complete or absent. The client's file name is kept
// in meta.json only; it never becomes a path.
const (
	incomingDir  = ".incoming"
	originalName = "original"
	thumbName    = "thumb"
	metaName     = "meta.json"

	// MaxFileNameLength is the longest upload name kept, in bytes.
	MaxFileNameLength = 120
	// uploadOverhead is what a multipart body may hold besides the file:
	// boundaries, part headers and the nick.
	uploadOverhead = 64 << 10
)

// fileMeta is the server's record of one upload, kept beside it.
type fileMeta struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
	// Type is sniffed from the bytes, never taken from the client.
	Type string `json:"type"`
	// Inline is true for pictures that are served to be shown in the page;
	// every other file is served as an attachment.
	Inline    bool   `json:"inline"`
	ThumbType string `json:"thumb_type,omitempty"`
}

// uploadGuard serialises the parts of an upload that must not overlap.
// Its zero value is ready.
type uploadGuard struct {
	// commit covers the quota check, the rename into files/ and storing
	// the message, so two uploads cannot both fit in the last free space.
	commit sync.Mutex
	// decode lets one picture at a time be decoded for its thumbnail.
	decode sync.Mutex
}

// safeInlineTypes are the raster formats the browser may show in the page.
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

// sizeText writes a byte count the way the config file does ("10MiB").
func sizeText(n int64) string {
	s := config.Size(n).String()
	if strings.IndexFunc(s, unicode.IsLetter) < 0 {
		s += " bytes"
	}
	return s
}

func (r *Room) fileTooLarge() error {
	return &Error{Code: CodeTooLong, Msg: "a file may be at most " + sizeText(r.opts.MaxFileSize) + " (the room's max_file_size)"}
}

func (r *Room) quotaExceeded(used int64) error {
	return &Error{Code: CodeTooLong, Msg: fmt.Sprintf("the room's files may take at most %s in all (its quota) and %s are used; the file was not stored",
		sizeText(r.opts.Quota), sizeText(used))}
}

func (r *Room) filesPath(elem ...string) string {
	return r.layout.Files(elem...)
}

// handleUpload stores a multipart upload (fields "file" and "nick") and
// posts it as a file message.
func (r *Room) handleUpload(w http.ResponseWriter, req *http.Request) {
	if !r.requireRoom(w, req) {
		return
	}
	if err := r.guardWrite(req, 3); err != nil {
		r.writeError(w, err)
		return
	}
	m, err := r.upload(w, req)
	if err != nil {
		r.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, m)
}

// upload reads the request into a staged folder, checks it, and commits it.
func (r *Room) upload(w http.ResponseWriter, req *http.Request) (Message, error) {
	limit := r.opts.MaxFileSize + uploadOverhead
	if req.ContentLength > limit {
		return Message{}, r.fileTooLarge() // refused before reading a byte
	}
	if used, err := r.filesUsage(); err != nil {
		return Message{}, err
	} else if used >= r.opts.Quota {
		return Message{}, r.quotaExceeded(used)
	}
	req.Body = http.MaxBytesReader(w, req.Body, limit)
	mr, err := req.MultipartReader()
	if err != nil {
		return Message{}, &Error{Code: CodeUnsupported, Msg: "send the file as multipart/form-data with the fields file and nick"}
	}
	if err := os.MkdirAll(r.filesPath(incomingDir), 0o750); err != nil {
		return Message{}, wrapWrite("prepare upload", err)
	}
	stage, err := os.MkdirTemp(r.filesPath(incomingDir), "up-")
	if err != nil {
		return Message{}, wrapWrite("prepare upload", err)
	}
	defer os.RemoveAll(stage) // gone already once committed

	var nick, name string
	var size int64
	gotFile := false
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Message{}, r.uploadReadError(err)
		}
		switch part.FormName() {
		case "nick":
			raw, err := io.ReadAll(io.LimitReader(part, 256))
			if err != nil {
				return Message{}, r.uploadReadError(err)
			}
			nick = string(raw)
			if err := ValidateNick(nick); err != nil {
				return Message{}, invalid("", err.Error())
			}
		case "file":
			if gotFile {
				return Message{}, invalid("", "send one file per request")
			}
			gotFile = true
			name = SanitizeFileName(part.FileName())
			if size, err = r.saveOriginal(filepath.Join(stage, originalName), part); err != nil {
				return Message{}, err
			}
		default:
			return Message{}, invalid("", fmt.Sprintf("unknown field %q; send the fields file and nick", part.FormName()))
		}
	}
	if err := ValidateNick(nick); err != nil {
		return Message{}, invalid("", err.Error())
	}
	if !gotFile {
		return Message{}, invalid("", "attach the file in the field named file")
	}
	if size == 0 {
		return Message{}, invalid("", "the file is empty")
	}
	meta, err := r.describeUpload(stage, name, size)
	if err != nil {
		return Message{}, err
	}
	return r.commitUpload(req.Context(), stage, nick, meta)
}

// uploadReadError explains a failure to read the request body.
func (r *Room) uploadReadError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return r.fileTooLarge()
	}
	return invalid("", "the upload is not valid multipart/form-data or ended early")
}

// saveOriginal copies the file part to path, stopping at the size limit,
// and flushes it to disk.
func (r *Room) saveOriginal(path string, part io.Reader) (int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return 0, wrapWrite("save upload", err)
	}
	defer f.Close()
	n, err := io.Copy(f, io.LimitReader(part, r.opts.MaxFileSize+1))
	var pe *fs.PathError
	switch {
	case errors.As(err, &pe):
		return 0, wrapWrite("save upload", err) // writing failed
	case err != nil:
		return 0, r.uploadReadError(err)
	case n > r.opts.MaxFileSize:
		return 0, r.fileTooLarge()
	}
	if err := f.Sync(); err != nil {
		return 0, wrapWrite("save upload", err)
	}
	return n, wrapWrite("save upload", f.Close())
}

// describeUpload sniffs the staged file's type, makes the thumbnail of a
// picture, and writes meta.json.
func (r *Room) describeUpload(stage, name string, size int64) (fileMeta, error) {
	meta := fileMeta{Name: name, Size: size}
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
		r.uploads.decode.Lock()
		thumb, err := makeThumbnail(orig, meta.Type)
		r.uploads.decode.Unlock()
		switch {
		case err == nil:
			meta.Inline, meta.ThumbType = true, thumb.Type
			if err := writeFileSync(filepath.Join(stage, thumbName), thumb.Data); err != nil {
				return meta, err
			}
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

// commitUpload moves the staged folder to files/<id>/ and stores the
// message; if storing fails, the folder is removed again.
func (r *Room) commitUpload(ctx context.Context, stage, nick string, meta fileMeta) (Message, error) {
	r.uploads.commit.Lock()
	defer r.uploads.commit.Unlock()
	used, err := r.filesUsage()
	if err != nil {
		return Message{}, err
	}
	staged, err := dirSize(stage)
	if err != nil {
		return Message{}, err
	}
	if used+staged > r.opts.Quota {
		return Message{}, r.quotaExceeded(used)
	}
	id, err := newFileID()
	if err != nil {
		return Message{}, err
	}
	dir := r.filesPath(id)
	if err := os.Rename(stage, dir); err != nil {
		return Message{}, wrapWrite("store upload", err)
	}
	if err := syncDir(r.filesPath()); err != nil {
		os.RemoveAll(dir)
		return Message{}, err
	}
	f := &File{
		URL:  "/files/" + id + "/" + url.PathEscape(meta.Name),
		Name: meta.Name,
		Size: meta.Size,
		Type: meta.Type,
		ID:   id,
	}
	if meta.ThumbType != "" {
		f.Thumb = "/files/" + id + "/" + thumbName
	}
	m := Message{Nick: nick, Text: meta.Name, Kind: KindFile, File: f}
	stored, err := r.store1(ctx, m)
	if err != nil {
		if rmErr := os.RemoveAll(dir); rmErr != nil {
			r.log.Error("remove an upload whose message was not stored", "err", rmErr)
		}
		return Message{}, err
	}
	return stored, nil
}

// newFileID returns a random storage id: 32 hex digits.
func newFileID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make a file id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// isFileID reports whether s has the form newFileID makes; nothing else
// is ever joined to a path.
func isFileID(s string) bool {
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

// filesUsage returns the bytes the room's committed uploads take.
func (r *Room) filesUsage() (int64, error) {
	entries, err := os.ReadDir(r.filesPath())
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("measure uploads: %w", err)
	}
	var total int64
	for _, e := range entries {
		if !e.IsDir() || !isFileID(e.Name()) {
			continue
		}
		n, err := dirSize(r.filesPath(e.Name()))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// dirSize adds up the sizes of the regular files directly in dir.
func dirSize(dir string) (int64, error) {
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
		return wrapWrite("save upload", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return wrapWrite("save upload", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return wrapWrite("save upload", err)
	}
	return wrapWrite("save upload", f.Close())
}

// syncDir flushes a directory's entries (a rename, a new file) to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return wrapWrite("save upload", err)
	}
	defer d.Close()
	return wrapWrite("save upload", d.Sync())
}

// readMeta returns the record of upload id, or a 404 when there is none.
func (r *Room) readMeta(id string) (fileMeta, error) {
	var meta fileMeta
	notFound := &Error{Code: CodeNotFound, Msg: "no such file; it may have been removed"}
	if !isFileID(id) {
		return meta, notFound
	}
	raw, err := os.ReadFile(r.filesPath(id, metaName))
	if errors.Is(err, fs.ErrNotExist) {
		return meta, notFound
	}
	if err != nil {
		return meta, err
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		return meta, fmt.Errorf("read upload record %s: %w", id, err)
	}
	return meta, nil
}

// handleFile serves an upload: pictures inline, everything else as an
// attachment, never as something the browser would run.
func (r *Room) handleFile(w http.ResponseWriter, req *http.Request) {
	if !r.requireRoom(w, req) {
		return
	}
	id := req.PathValue("id")
	meta, err := r.readMeta(id)
	if err == nil && req.PathValue("name") != meta.Name {
		err = &Error{Code: CodeNotFound, Msg: "no such file; it may have been removed"}
	}
	if err != nil {
		r.writeError(w, err)
		return
	}
	ctype, disposition := "application/octet-stream", "attachment"
	if meta.Inline {
		ctype, disposition = meta.Type, "inline"
	}
	r.serveUpload(w, req, r.filesPath(id, originalName), ctype, disposition, meta.Name)
}

// handleThumb serves a picture's thumbnail.
func (r *Room) handleThumb(w http.ResponseWriter, req *http.Request) {
	if !r.requireRoom(w, req) {
		return
	}
	id := req.PathValue("id")
	meta, err := r.readMeta(id)
	if err == nil && meta.ThumbType == "" {
		err = &Error{Code: CodeNotFound, Msg: "this file has no thumbnail; it is not a picture"}
	}
	if err != nil {
		r.writeError(w, err)
		return
	}
	r.serveUpload(w, req, r.filesPath(id, thumbName), meta.ThumbType, "inline", "thumbnail-"+id+thumbExt(meta.ThumbType))
}

func thumbExt(ct string) string {
	if ct == "image/png" {
		return ".png"
	}
	return ".jpg"
}

// uploadPolicy forbids an upload, should it ever be opened as a page, to
// run anything or load anything.
const uploadPolicy = "default-src 'none'; img-src 'self'; sandbox"

func (r *Room) serveUpload(w http.ResponseWriter, req *http.Request, path, ctype, disposition, name string) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = &Error{Code: CodeNotFound, Msg: "no such file; it may have been removed"}
		}
		r.writeError(w, err)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		r.writeError(w, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", uploadPolicy)
	h.Set("Cache-Control", "private, no-cache")
	if cd := mime.FormatMediaType(disposition, map[string]string{"filename": name}); cd != "" {
		h.Set("Content-Disposition", cd)
	} else {
		h.Set("Content-Disposition", disposition)
	}
	http.ServeContent(w, req, "", info.ModTime(), f)
}

// sweepFiles removes upload folders that no stored message refers to:
// what a crash left between saving a file and storing its message, or
// between pruning a message and removing its file.
func (r *Room) sweepFiles() {
	// Uploads a wipe moved aside but a crash kept it from deleting.
	if wiped, _ := filepath.Glob(r.layout.WipedFilesPattern()); len(wiped) > 0 {
		for _, d := range wiped {
			if err := r.removeAll(d); err != nil {
				r.log.Error("remove the uploads of a destroyed room", "err", err)
			}
		}
		r.log.Info("removed the uploads of a destroyed room a restart cut short")
	}
	entries, err := os.ReadDir(r.filesPath())
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			r.log.Error("look for orphaned uploads", "err", err)
		}
		return
	}
	if len(entries) == 0 {
		return
	}
	used, err := r.store.fileIDs()
	if err != nil {
		r.log.Error("look for orphaned uploads", "err", err)
		return // never remove files on a guess
	}
	removed, unfinished := 0, 0
	for _, e := range entries {
		if used[e.Name()] {
			continue
		}
		if e.Name() == incomingDir {
			// The staging folder is no upload: only what a crash left in
			// it is worth a word.
			staged, _ := os.ReadDir(r.filesPath(incomingDir))
			unfinished = len(staged)
		}
		if err := os.RemoveAll(r.filesPath(e.Name())); err != nil {
			r.log.Error("remove an orphaned upload", "name", e.Name(), "err", err)
			continue
		}
		if e.Name() != incomingDir {
			removed++
		}
	}
	if removed > 0 {
		r.log.Info("removed uploads no message refers to", "count", removed)
	}
	if unfinished > 0 {
		r.log.Info("removed uploads a restart cut short", "count", unfinished)
	}
}

// fileIDs returns the storage ids of every upload a stored message carries.
func (s *Store) fileIDs() (map[string]bool, error) {
	ids := make(map[string]bool)
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMessages).ForEach(func(k, v []byte) error {
			var m struct {
				File *File `json:"file"`
			}
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("decode a stored message: %w", err)
			}
			if m.File != nil && m.File.ID != "" {
				ids[m.File.ID] = true
			}
			return nil
		})
	})
	return ids, err
}
