package chat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/chatbox-dev/chatbox/chat/uploads"
	"github.com/chatbox-dev/chatbox/internal/bytesize"
)

// Upload is one file being shared: BeginUpload, then SetNick and
// SaveFile in any order, then Commit; Discard always (it is a no-op once
// committed). Nothing of an upload that is not committed stays on disk.
type Upload struct {
	r     *Room
	stage string
	nick  string
	name  string
	size  int64
	saved bool
}

// BeginUpload starts an upload whose sender declared size bytes (-1 when
// unknown). It refuses at once what cannot fit.
func (r *Room) BeginUpload(declared int64) (*Upload, error) {
	if r.State().Locked {
		return nil, errLocked
	}
	if declared > r.opts.MaxFileSize {
		return nil, r.FileTooLarge() // refused before reading a byte
	}
	if used, err := r.files.Usage(); err != nil {
		return nil, err
	} else if used >= r.opts.Quota {
		return nil, r.quotaExceeded(used)
	}
	stage, err := r.files.Stage()
	if err != nil {
		return nil, err
	}
	return &Upload{r: r, stage: stage}, nil
}

// SetNick names who shares the file.
func (u *Upload) SetNick(nick string) error {
	if err := ValidateNick(nick); err != nil {
		return invalid("nick", err.Error())
	}
	u.nick = nick
	return nil
}

// SaveFile reads the file, named name by its sender, from body. A failure
// to read body is an *Error that wraps what the reader said.
func (u *Upload) SaveFile(name string, body io.Reader) error {
	if u.saved {
		return invalid("file", "send one file per request")
	}
	u.saved = true
	u.name = uploads.SanitizeFileName(name)
	size, err := u.r.files.SaveOriginal(u.stage, body)
	var re *uploads.ReadError
	switch {
	case errors.Is(err, uploads.ErrTooLarge):
		return u.r.FileTooLarge()
	case errors.As(err, &re):
		return &Error{Code: CodeInvalid, Field: "file", Msg: "the upload is not valid multipart/form-data or ended early", Err: re.Err}
	case err != nil:
		return err
	}
	u.size = size
	return nil
}

// Commit checks the upload is whole, describes it (type, thumbnail, no
// metadata), moves it into place and posts it as a file message.
func (u *Upload) Commit(ctx context.Context) (Message, error) {
	if err := ValidateNick(u.nick); err != nil {
		return Message{}, invalid("nick", err.Error())
	}
	if !u.saved {
		return Message{}, invalid("file", "attach the file in the field named file")
	}
	if u.size == 0 {
		return Message{}, invalid("file", "the file is empty")
	}
	meta, err := u.r.files.Describe(u.stage, u.name, u.size)
	var pe *uploads.PixelsError
	if errors.As(err, &pe) {
		return Message{}, &Error{Code: CodeUnprocessable, Msg: pe.Error()}
	}
	if err != nil {
		return Message{}, err
	}
	return u.r.commitUpload(ctx, u.stage, u.nick, meta)
}

// Discard removes what the upload left, unless it was committed.
func (u *Upload) Discard() { os.RemoveAll(u.stage) }

// FileTooLarge is the refusal of a file over the room's max_file_size.
func (r *Room) FileTooLarge() *Error {
	return &Error{Code: CodeTooLong, Limit: r.opts.MaxFileSize, Msg: "a file may be at most " + bytesize.Text(r.opts.MaxFileSize) + " (the room's max_file_size)"}
}

func (r *Room) quotaExceeded(used int64) error {
	return &Error{Code: CodeTooLong, Limit: r.opts.Quota, Msg: fmt.Sprintf("the room's files may take at most %s in all (its quota) and %s are used; the file was not stored",
		bytesize.Text(r.opts.Quota), bytesize.Text(used))}
}

// commitUpload moves the staged folder into place and stores the
// message; if storing fails, the folder is removed again.
func (r *Room) commitUpload(ctx context.Context, stage, nick string, meta uploads.Meta) (Message, error) {
	// The quota check, the rename and storing the message are one step,
	// so two uploads cannot both fit in the last free space.
	r.uploadMu.Lock()
	defer r.uploadMu.Unlock()
	used, err := r.files.Usage()
	if err != nil {
		return Message{}, err
	}
	staged, err := uploads.StagedSize(stage)
	if err != nil {
		return Message{}, err
	}
	if used+staged > r.opts.Quota {
		return Message{}, r.quotaExceeded(used)
	}
	id, err := r.files.Commit(stage)
	if err != nil {
		return Message{}, err
	}
	f := &File{URL: uploads.URL(id, meta.Name), Name: meta.Name, Size: meta.Size, Type: meta.Type, ID: id}
	if meta.ThumbType != "" {
		f.Thumb = uploads.ThumbURL(id)
	}
	stored, err := r.store1(ctx, Message{Nick: nick, Text: meta.Name, Kind: KindFile, File: f})
	if err != nil {
		if rmErr := r.files.Remove(id); rmErr != nil {
			r.log.Error("remove an upload whose message was not stored", "err", rmErr)
		}
		return Message{}, err
	}
	return stored, nil
}

var errNoFile = &Error{Code: CodeNotFound, Msg: "no such file; it may have been removed"}

// FileMeta returns the record of upload id.
func (r *Room) FileMeta(id string) (uploads.Meta, error) {
	meta, err := r.files.Meta(id)
	if errors.Is(err, uploads.ErrNotFound) {
		return meta, errNoFile
	}
	return meta, err
}

// OpenFile opens upload id (its thumbnail when thumb is set).
func (r *Room) OpenFile(id string, thumb bool) (*os.File, error) {
	f, err := r.files.Open(id, thumb)
	if errors.Is(err, uploads.ErrNotFound) {
		return nil, errNoFile
	}
	return f, err
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
	used, err := r.store.fileIDs()
	if err != nil {
		r.log.Error("look for orphaned uploads", "err", err)
		return // never remove files on a guess
	}
	removed, unfinished, err := r.files.Sweep(used, os.RemoveAll)
	if err != nil {
		r.log.Error("remove orphaned uploads", "err", err)
	}
	if removed > 0 {
		r.log.Info("removed uploads no message refers to", "count", removed)
	}
	if unfinished > 0 {
		r.log.Info("removed uploads a restart cut short", "count", unfinished)
	}
}
