package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"time"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/internal/bytesize"
)

// uploadOverhead is what a multipart body may hold besides the file:
// boundaries, part headers and the nick.
const uploadOverhead = 64 << 10

// handleUpload stores a multipart upload (fields "file" and "nick") and
// posts it as a file message.
func (s *Server) handleUpload(w http.ResponseWriter, req *http.Request) {
	if !s.requireRoom(w, req) {
		return
	}
	if err := s.guardRequest(req, chat.UploadCost); err != nil {
		s.writeError(w, err)
		return
	}
	m, err := s.upload(w, req)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		err = s.room.FileTooLarge()
	case errors.Is(err, errTooSlow):
		// What is left of the body will not be read.
		w.Header().Set("Connection", "close")
		err = &chat.Error{Code: chat.CodeInvalid, Field: "file", Msg: fmt.Sprintf("the upload was too slow: send at least %s a second; nothing was stored", bytesize.Text(s.opts.UploadMinRate))}
	}
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, m)
}

// upload reads the multipart request part by part into the room's upload.
func (s *Server) upload(w http.ResponseWriter, req *http.Request) (chat.Message, error) {
	limit := s.room.MaxUploadBytes() + uploadOverhead
	declared := req.ContentLength - uploadOverhead
	if req.ContentLength < 0 {
		declared = -1
	}
	up, err := s.room.BeginUpload(declared)
	if err != nil {
		return chat.Message{}, err
	}
	defer up.Discard()
	req.Body = http.MaxBytesReader(w, req.Body, limit)
	if s.opts.UploadMinRate > 0 && s.opts.UploadRateWindow > 0 {
		req.Body = newMinRateReader(req.Body, http.NewResponseController(w), s.opts.UploadMinRate, s.opts.UploadRateWindow)
	}
	mr, err := req.MultipartReader()
	if err != nil {
		return chat.Message{}, &chat.Error{Code: chat.CodeUnsupported, Msg: "send the file as multipart/form-data with the fields file and nick"}
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return chat.Message{}, readError(err)
		}
		switch part.FormName() {
		case "nick":
			raw, err := io.ReadAll(io.LimitReader(part, 256))
			if err != nil {
				return chat.Message{}, readError(err)
			}
			if err := up.SetNick(string(raw)); err != nil {
				return chat.Message{}, err
			}
		case "token":
			raw, err := io.ReadAll(io.LimitReader(part, 256))
			if err != nil {
				return chat.Message{}, readError(err)
			}
			if err := up.SetToken(string(raw)); err != nil {
				return chat.Message{}, err
			}
		case "file":
			if err := up.SaveFile(part.FileName(), part); err != nil {
				return chat.Message{}, err
			}
		case "text":
			// An encrypted room's description of the file: an envelope,
			// as long as a message's may be.
			raw, err := io.ReadAll(io.LimitReader(part, s.room.MaxUploadBytes()-s.room.MaxFileSize()+1))
			if err != nil {
				return chat.Message{}, readError(err)
			}
			if err := up.SetText(string(raw)); err != nil {
				return chat.Message{}, err
			}
		case "thumb":
			if err := up.SaveThumb(part); err != nil {
				return chat.Message{}, err
			}
		default:
			return chat.Message{}, invalid(fmt.Sprintf("unknown field %q; send the fields file, nick and token (optional)", part.FormName()))
		}
	}
	return up.Commit(req.Context())
}

// thumbWait is how long GET of a thumbnail waits for one being made.
const thumbWait = 20 * time.Second

// errTooSlow is an upload body that arrives slower than the minimum rate.
var errTooSlow = errors.New("the upload is too slow")

// minRateReader reads a request body that must arrive at least rate
// bytes a second: each window must bring rate×window bytes. Whenever the
// bytes of a window are in, the next window starts and the connection's
// read deadline moves on with it; a window that runs out first fails the
// read with errTooSlow.
type minRateReader struct {
	body   io.ReadCloser
	rc     *http.ResponseController
	need   int64 // bytes per window
	window time.Duration
	start  time.Time
	got    int64
}

func newMinRateReader(body io.ReadCloser, rc *http.ResponseController, rate int64, window time.Duration) *minRateReader {
	m := &minRateReader{body: body, rc: rc, need: max(1, int64(float64(rate)*window.Seconds())), window: window}
	m.next(time.Now())
	return m
}

// next starts a window at now.
func (m *minRateReader) next(now time.Time) {
	m.start, m.got = now, 0
	m.rc.SetReadDeadline(now.Add(m.window))
}

func (m *minRateReader) Read(p []byte) (int, error) {
	n, err := m.body.Read(p)
	m.got += int64(n)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return n, errTooSlow
	}
	now := time.Now()
	switch {
	case m.got >= m.need:
		m.next(now)
	case now.Sub(m.start) >= m.window && err == nil:
		return n, errTooSlow
	}
	return n, err
}

func (m *minRateReader) Close() error { return m.body.Close() }

// readError explains a failure to read the multipart body, keeping the
// cause so that a body over its limit is told as such.
func readError(err error) error {
	return &chat.Error{Code: chat.CodeInvalid, Msg: "the upload is not valid multipart/form-data or ended early", Err: err}
}

// handleFile serves an upload: pictures inline, everything else as an
// attachment, never as something the browser would run.
func (s *Server) handleFile(w http.ResponseWriter, req *http.Request) {
	if !s.requireRoom(w, req) {
		return
	}
	id := req.PathValue("id")
	meta, err := s.room.FileMeta(id)
	if err == nil && req.PathValue("name") != meta.Name {
		_, err = s.room.FileMeta("") // the same refusal as an unknown id
	}
	if err != nil {
		s.writeError(w, err)
		return
	}
	ctype, disposition := "application/octet-stream", "attachment"
	if meta.Inline {
		ctype, disposition = meta.Type, "inline"
	}
	s.serveUpload(w, req, id, false, ctype, disposition, meta.Name)
}

// handleThumb serves a picture's thumbnail.
func (s *Server) handleThumb(w http.ResponseWriter, req *http.Request) {
	if !s.requireRoom(w, req) {
		return
	}
	id := req.PathValue("id")
	meta, err := s.room.FileMeta(id)
	if err == nil && meta.ThumbPending {
		// Made after the upload was answered, one picture at a time.
		ctx, cancel := context.WithTimeout(req.Context(), thumbWait)
		err = s.room.ThumbnailReady(ctx, id)
		cancel()
		if err == nil {
			meta, err = s.room.FileMeta(id)
		} else if req.Context().Err() == nil {
			err = &chat.Error{Code: chat.CodeNotFound, Msg: "the thumbnail is not made yet; try again shortly"}
		}
	}
	if err == nil && meta.ThumbType == "" {
		err = &chat.Error{Code: chat.CodeNotFound, Msg: "this file has no thumbnail; it is not a picture"}
	}
	if err != nil {
		s.writeError(w, err)
		return
	}
	if meta.Opaque {
		// An encrypted room's thumbnail: ciphertext, for the page to
		// decrypt.
		s.serveUpload(w, req, id, true, "application/octet-stream", "attachment", "thumb")
		return
	}
	s.serveUpload(w, req, id, true, meta.ThumbType, "inline", "thumbnail-"+id+thumbExt(meta.ThumbType))
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

func (s *Server) serveUpload(w http.ResponseWriter, req *http.Request, id string, thumb bool, ctype, disposition, name string) {
	f, err := s.room.OpenFile(id, thumb)
	if err != nil {
		s.writeError(w, err)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		s.writeError(w, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", uploadPolicy)
	h.Set("Cache-Control", "private, no-store")
	if cd := mime.FormatMediaType(disposition, map[string]string{"filename": name}); cd != "" {
		h.Set("Content-Disposition", cd)
	} else {
		h.Set("Content-Disposition", disposition)
	}
	http.ServeContent(w, req, "", info.ModTime(), f)
}
