package chat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/chatbox-dev/chatbox/chat/nicks"
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
	owner string // the hash of the sharer's token; see SetToken
	token string
	name  string
	size  int64
	saved bool
	// An encrypted room's upload: the envelope describing the file (its
	// text), and whether the browser sent an encrypted thumbnail.
	encrypted bool
	text      string
	thumb     bool
	// reserved is what the upload holds of the room's staging budget
	// until it is committed or discarded.
	reserved int64
}

// UploadCost is what an upload costs against its sender's budget of
// events (whatever carries it charges that), and against the room's budget
// once it is committed.
const UploadCost = 3

// BeginUpload starts an upload whose sender declared size bytes (-1 when
// unknown). It refuses at once what cannot fit: a file over
// max_file_size, or any file when the committed uploads and those being
// received already take the quota. Each upload being received counts as
// max_file_size until it is committed or discarded, so the files on disk
// never exceed the quota by more than one max_file_size.
func (r *Room) BeginUpload(declared int64) (*Upload, error) {
	if r.State().Locked {
		return nil, errLocked
	}
	encrypted := r.State().Encrypted
	most := r.opts.MaxFileSize
	if encrypted {
		most = MaxEncryptedFileSize(r.opts.MaxFileSize) + MaxEncryptedThumb
	}
	if declared > most {
		return nil, r.FileTooLarge() // refused before reading a byte
	}
	used, err := r.files.Usage()
	if err != nil {
		return nil, err
	}
	r.uploadMu.Lock()
	staging := r.staging
	if used+staging >= r.opts.Quota {
		r.uploadMu.Unlock()
		if staging > 0 {
			return nil, r.quotaBusy(used, staging)
		}
		return nil, r.quotaExceeded(used)
	}
	r.staging += most
	r.uploadMu.Unlock()
	u := &Upload{r: r, reserved: most, encrypted: encrypted}
	if u.stage, err = r.files.Stage(); err != nil {
		u.release()
		return nil, err
	}
	return u, nil
}

// release gives back the upload's share of the staging budget.
func (u *Upload) release() {
	u.r.uploadMu.Lock()
	u.releaseLocked()
	u.r.uploadMu.Unlock()
}

func (u *Upload) releaseLocked() {
	u.r.staging -= u.reserved
	u.reserved = 0
}

// SetNick names who shares the file.
func (u *Upload) SetNick(nick string) error {
	if err := ValidateNick(nick); err != nil {
		return err
	}
	u.nick = nick
	return nil
}

// SetToken gives the token of the browser that shares the file: it must
// hold the sender's nickname (see CheckNick), and its hash is kept with
// the message so that this browser alone may delete it.
func (u *Upload) SetToken(token string) error {
	if !nicks.ValidToken(token) {
		return errBadToken
	}
	u.token, u.owner = token, ownerHash(token)
	return nil
}

// MaxEncryptedThumb is the most bytes of an encrypted room's thumbnail,
// which the browser makes and encrypts.
const MaxEncryptedThumb = 256 << 10

var errPlainField = invalid("text", "text and thumb are for an encrypted room's files; send the fields file, nick and token (optional)")

// SetText gives an encrypted room's upload its description: an envelope,
// held to a message's limits.
func (u *Upload) SetText(text string) error {
	if !u.encrypted {
		return errPlainField
	}
	if err := u.r.validateEnvelope(text); err != nil {
		return err
	}
	u.text = text
	return nil
}

// SaveThumb reads an encrypted room's thumbnail, made and encrypted by
// the browser, from body: at most MaxEncryptedThumb bytes, kept as they
// are.
func (u *Upload) SaveThumb(body io.Reader) error {
	if !u.encrypted {
		return errPlainField
	}
	if u.thumb {
		return invalid("thumb", "send one thumbnail per request")
	}
	u.thumb = true
	_, err := u.r.files.SaveOpaqueThumb(u.stage, body, MaxEncryptedThumb)
	var re *uploads.ReadError
	switch {
	case errors.Is(err, uploads.ErrTooLarge):
		return &Error{Code: CodeTooLong, Limit: MaxEncryptedThumb, Msg: fmt.Sprintf("a thumbnail may be at most %s", bytesize.Text(MaxEncryptedThumb))}
	case errors.As(err, &re):
		return &Error{Code: CodeInvalid, Field: "thumb", Msg: "the upload is not valid multipart/form-data or ended early", Err: re.Err}
	}
	return err
}

// SaveFile reads the file, named name by its sender, from body. A failure
// to read body is an *Error that wraps what the reader said. An encrypted
// room's file is kept as it came, up to max_file_size plus a tag for each
// chunk.
func (u *Upload) SaveFile(name string, body io.Reader) error {
	if u.saved {
		return invalid("file", "send one file per request")
	}
	u.saved = true
	u.name = uploads.SanitizeFileName(name)
	var size int64
	var err error
	if u.encrypted {
		size, err = u.r.files.SaveOpaque(u.stage, body, MaxEncryptedFileSize(u.r.opts.MaxFileSize))
	} else {
		size, err = u.r.files.SaveOriginal(u.stage, body)
	}
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
	if err := u.r.CheckNick(u.nick, u.token); err != nil {
		return Message{}, err
	}
	if !u.saved {
		return Message{}, invalid("file", "attach the file in the field named file")
	}
	if u.size == 0 {
		return Message{}, invalid("file", "the file is empty")
	}
	if u.encrypted {
		return u.commitOpaque(ctx)
	}
	meta, err := u.r.files.Describe(u.stage, u.name, u.size)
	var pe *uploads.PixelsError
	if errors.As(err, &pe) {
		return Message{}, &Error{Code: CodeUnprocessable, Msg: pe.Error()}
	}
	if err != nil {
		return Message{}, err
	}
	// Only a file that passed every check costs the room's budget.
	if err := u.r.ChargeRoom(UploadCost); err != nil {
		return Message{}, err
	}
	return u.r.commitUpload(ctx, u, meta)
}

// commitOpaque is Commit of an encrypted room's upload: its envelope
// describes it, and its bytes are kept and served as they came.
func (u *Upload) commitOpaque(ctx context.Context) (Message, error) {
	if u.text == "" {
		return Message{}, &Error{Code: CodeInvalid, Field: "text", Msg: SayEncrypted + " describing the file in the field named text"}
	}
	if !u.r.State().Encrypted {
		return Message{}, &Error{Code: CodeConflict, Msg: "the room was reset while the file came; nothing was stored"}
	}
	meta, err := u.r.files.DescribeOpaque(u.stage, u.size, u.thumb)
	if err != nil {
		return Message{}, err
	}
	if err := u.r.ChargeRoom(UploadCost); err != nil {
		return Message{}, err
	}
	return u.r.commitUpload(ctx, u, meta)
}

// Discard removes what the upload left, unless it was committed, and
// gives back its share of the staging budget.
func (u *Upload) Discard() {
	if u.stage != "" {
		os.RemoveAll(u.stage)
	}
	u.release()
}

// MaxUploadBytes is the most bytes of the parts of one upload: the file
// and, in an encrypted room, its thumbnail and the envelope describing it.
func (r *Room) MaxUploadBytes() int64 {
	if !r.State().Encrypted {
		return r.opts.MaxFileSize
	}
	envelope := int64(r.maxCT())*4/3 + 128
	return MaxEncryptedFileSize(r.opts.MaxFileSize) + MaxEncryptedThumb + envelope
}

// FileTooLarge is the refusal of a file over the room's max_file_size.
func (r *Room) FileTooLarge() *Error {
	return &Error{Code: CodeTooLong, Limit: r.opts.MaxFileSize, Msg: "a file may be at most " + bytesize.Text(r.opts.MaxFileSize) + " (the room's max_file_size)"}
}

// quotaBusy refuses an upload while those being received would fill the
// quota.
func (r *Room) quotaBusy(used, staging int64) error {
	return &Error{Code: CodeTooLong, Limit: r.opts.Quota, Msg: fmt.Sprintf("the room's files may take at most %s in all (its quota); %s are used and uploads in progress may take %s more; try again when they are done",
		bytesize.Text(r.opts.Quota), bytesize.Text(used), bytesize.Text(staging))}
}

func (r *Room) quotaExceeded(used int64) error {
	return &Error{Code: CodeTooLong, Limit: r.opts.Quota, Msg: fmt.Sprintf("the room's files may take at most %s in all (its quota) and %s are used; the file was not stored",
		bytesize.Text(r.opts.Quota), bytesize.Text(used))}
}

// commitUpload moves the staged folder into place and stores the
// message; if storing fails, the folder is removed again. A picture's
// thumbnail is queued once the message is stored: its file carries the
// thumbnail's address at once, and GET of it waits until it is made.
func (r *Room) commitUpload(ctx context.Context, u *Upload, meta uploads.Meta) (Message, error) {
	stage, nick, owner := u.stage, u.nick, u.owner
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
	// Its bytes count as used from now on.
	u.stage = ""
	u.releaseLocked()
	f := &File{URL: uploads.URL(id, meta.Name), Name: meta.Name, Size: meta.Size, Type: meta.Type, ID: id}
	if meta.ThumbType != "" || meta.ThumbPending {
		f.Thumb = uploads.ThumbURL(id)
	}
	text := meta.Name
	if meta.Opaque {
		text = u.text
	}
	stored, err := r.store1(ctx, Message{Nick: nick, Text: text, Kind: KindFile, File: f, Owner: owner})
	if err != nil {
		if rmErr := r.files.Remove(id); rmErr != nil {
			r.log.Error("remove an upload whose message was not stored", "err", rmErr)
		}
		return Message{}, err
	}
	if meta.ThumbPending {
		r.files.QueueThumbnail(id)
	}
	return stored, nil
}

// ThumbnailReady waits until the thumbnail of upload id, if one is being
// made, is done, or ctx ends.
func (r *Room) ThumbnailReady(ctx context.Context, id string) error {
	done := r.files.ThumbnailDone(id)
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
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
