package admin

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/chat/httpapi"
)

// maxRequest bounds a request body; the largest is a ResetRequest.
const maxRequest = 1 << 10

// noInitialPassword is the refusal when there is no first password to hand
// over.
var noInitialPassword = &chat.Error{
	Code: chat.CodeNotFound,
	Msg:  "the room has no first password to hand over: it was taken already, or the room was not created when the service started",
}

// Handler serves the admin API of svc. It has no authentication: serve it
// only on a socket that Listen made. Refusals are answered with an
// ErrorResponse; failures of the service's own are logged to log (which
// may be nil) and answered without their detail.
func Handler(svc Service, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{svc: svc, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+pathRoom, h.info)
	mux.HandleFunc("POST "+pathPassword, h.password)
	mux.HandleFunc("POST "+pathReset, h.reset)
	mux.HandleFunc("POST "+pathDestroy, h.destroy)
	mux.HandleFunc("POST "+pathInitialPassword, h.initialPassword)
	mux.HandleFunc("POST "+pathLock, h.lock)
	mux.HandleFunc("GET "+pathSnapshot, h.snapshot)
	return mux
}

type handler struct {
	svc Service
	log *slog.Logger
}

func (h *handler) info(w http.ResponseWriter, req *http.Request) {
	info, err := h.svc.Info(req.Context())
	if err != nil {
		h.refuse(w, req, err)
		return
	}
	writeJSON(w, http.StatusOK, roomInfo(info))
}

func (h *handler) password(w http.ResponseWriter, req *http.Request) {
	password, err := h.svc.SetPassword(req.Context())
	if err != nil {
		h.refuse(w, req, err)
		return
	}
	writeJSON(w, http.StatusOK, PasswordResponse{Password: password})
}

func (h *handler) reset(w http.ResponseWriter, req *http.Request) {
	var body ResetRequest
	if err := decodeJSON(w, req, &body); err != nil {
		h.refuse(w, req, err)
		return
	}
	password, err := h.svc.Reset(req.Context(), chat.RoomKind{Private: body.Private, Encrypted: body.Encrypted})
	if err != nil {
		h.refuse(w, req, err)
		return
	}
	writeJSON(w, http.StatusOK, PasswordResponse{Password: password})
}

func (h *handler) destroy(w http.ResponseWriter, req *http.Request) {
	at, err := h.svc.Destroy(req.Context())
	if err != nil {
		h.refuse(w, req, err)
		return
	}
	writeJSON(w, http.StatusAccepted, DestroyResponse{DestroyAt: at})
}

func (h *handler) lock(w http.ResponseWriter, req *http.Request) {
	var body LockRequest
	if err := decodeJSON(w, req, &body); err != nil {
		h.refuse(w, req, err)
		return
	}
	if err := h.svc.SetLocked(req.Context(), body.Locked); err != nil {
		h.refuse(w, req, err)
		return
	}
	h.info(w, req)
}

func (h *handler) initialPassword(w http.ResponseWriter, req *http.Request) {
	password, ok := h.svc.TakeInitialPassword()
	if !ok {
		h.refuse(w, req, noInitialPassword)
		return
	}
	h.log.Info("handed the first password of the room over through the admin socket")
	writeJSON(w, http.StatusOK, PasswordResponse{Password: password})
}

func (h *handler) snapshot(w http.ResponseWriter, req *http.Request) {
	rc, size, err := h.svc.Snapshot(req.Context())
	if err != nil {
		h.refuse(w, req, err)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.WriteHeader(http.StatusOK)
	if n, err := io.Copy(w, rc); err != nil {
		// The client sees a body shorter than its Content-Length.
		h.log.Warn("sending a snapshot of the store stopped", "sent", n, "of", size, "err", err)
		return
	}
	h.log.Info("handed a snapshot of the store over through the admin socket", "bytes", size)
}

// refuse answers err as the room's refusal, and logs a failure of the
// service's own.
func (h *handler) refuse(w http.ResponseWriter, req *http.Request, err error) {
	e := chat.Refusal(err)
	if e.Code == chat.CodeInternal {
		h.log.Error("admin request failed", "method", req.Method, "path", req.URL.Path, "err", err)
	}
	writeJSON(w, httpapi.Status(e.Code), ErrorResponse{Error: e.Msg, Code: e.Code.String()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// decodeJSON reads one JSON object of at most maxRequest bytes into v.
func decodeJSON(w http.ResponseWriter, req *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, req.Body, maxRequest))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &mbe):
		return &chat.Error{Code: chat.CodeTooLong, Limit: mbe.Limit, Msg: "the request body is too large"}
	case errors.Is(err, io.EOF):
		return &chat.Error{Code: chat.CodeInvalid, Msg: "the request body is empty; send a JSON object"}
	default:
		return &chat.Error{Code: chat.CodeInvalid, Msg: "the request body is not the JSON object this request takes: " + err.Error()}
	}
}
