package httpapi

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/chatbox-dev/chatbox/chat"
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
	if err := s.guardWrite(req, 3); err != nil {
		s.writeError(w, err)
		return
	}
	m, err := s.upload(w, req)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = s.room.FileTooLarge()
	}
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, m)
}

// upload reads the multipart request part by part into the room's upload.
func (s *Server) upload(w http.ResponseWriter, req *http.Request) (chat.Message, error) {
	limit := s.room.MaxFileSize() + uploadOverhead
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
		case "file":
			if err := up.SaveFile(part.FileName(), part); err != nil {
				return chat.Message{}, err
			}
		default:
			return chat.Message{}, invalid(fmt.Sprintf("unknown field %q; send the fields file and nick", part.FormName()))
		}
	}
	return up.Commit(req.Context())
}

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
	if err == nil && meta.ThumbType == "" {
		err = &chat.Error{Code: chat.CodeNotFound, Msg: "this file has no thumbnail; it is not a picture"}
	}
	if err != nil {
		s.writeError(w, err)
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
