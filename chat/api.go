package chat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// bodyReadTimeout bounds how long reading a JSON body may take.
const bodyReadTimeout = 30 * time.Second

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// httpStatus is the status a refusal of code is answered with.
func httpStatus(code Code) int {
	switch code {
	case CodeInvalid:
		return http.StatusBadRequest
	case CodeTooLong:
		return http.StatusRequestEntityTooLarge
	case CodeNotPresent, CodeNoRoom, CodeRoomExists:
		return http.StatusConflict
	case CodeRateLimited:
		return http.StatusTooManyRequests
	case CodeDiskFull:
		return http.StatusInsufficientStorage
	case CodeForbidden:
		return http.StatusForbidden
	case CodeUnauthorized:
		return http.StatusUnauthorized
	case CodeNotFound:
		return http.StatusNotFound
	case CodeUnsupported:
		return http.StatusUnsupportedMediaType
	case CodeUnprocessable:
		return http.StatusUnprocessableEntity
	case CodeNotAllowed:
		return http.StatusMethodNotAllowed
	default:
		return http.StatusInternalServerError
	}
}

// refusal is the room's Error for err on any transport: a body over its
// limit is a refusal like any other, and a failure of the server's own is
// logged (the client hears only that it failed).
func (r *Room) refusal(err error) *Error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return bodyTooLarge(mbe.Limit)
	}
	e := Refusal(err)
	if e.Code == CodeInternal {
		r.log.Error("request failed", "err", err)
	}
	return e
}

func bodyTooLarge(limit int64) *Error {
	return tooLong(limit, fmt.Sprintf("the request body is larger than %d bytes", limit))
}

// writeError answers err as {"error": "..."} with its status.
func (r *Room) writeError(w http.ResponseWriter, err error) {
	e := r.refusal(err)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(e.RetryAfter)))
	}
	writeJSON(w, httpStatus(e.Code), map[string]string{"error": e.Msg})
}

// retrySeconds rounds a wait up to whole seconds, as Retry-After counts.
func retrySeconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

// decodeJSON reads one JSON object of at most limit bytes into v.
func decodeJSON(w http.ResponseWriter, req *http.Request, limit int64, v any) error {
	ct, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if ct != "application/json" {
		return &Error{Code: CodeUnsupported, Msg: "send the body as JSON with Content-Type: application/json"}
	}
	if req.ContentLength > limit {
		// Refuse before reading a byte of it.
		return bodyTooLarge(limit)
	}
	// A body that trickles in is cut off, so slow clients cannot hold a
	// connection open forever.
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(bodyReadTimeout))
	raw, err := io.ReadAll(http.MaxBytesReader(w, req.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return bodyTooLarge(mbe.Limit)
		}
		return invalid("", "the body could not be read")
	}
	// encoding/json would quietly turn broken text into U+FFFD; refuse it.
	if !utf8.Valid(raw) || !pairedSurrogates(raw) {
		return invalid("", "the body is not valid UTF-8 text")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &mbe):
			return bodyTooLarge(mbe.Limit)
		case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
			return invalid("", "the body is not valid JSON")
		case errors.As(err, &te):
			return invalid("", fmt.Sprintf("the field %q must be a %s", te.Field, te.Type))
		case errors.Is(err, io.EOF):
			return invalid("", "the body is empty; send a JSON object")
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return invalid("", "unknown field "+strings.TrimPrefix(err.Error(), "json: unknown field "))
		default:
			return invalid("", "the body is not a valid JSON object")
		}
	}
	if dec.More() {
		return invalid("", "send one JSON object, not several")
	}
	return nil
}

// pairedSurrogates reports whether every \uD800-\uDFFF escape in a JSON
// text is half of a proper surrogate pair.
func pairedSurrogates(raw []byte) bool {
	surrogate := func(i int) (high, ok bool) {
		if i+6 > len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
			return false, false
		}
		v, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 16)
		if err != nil || v < 0xD800 || v > 0xDFFF {
			return false, false
		}
		return v < 0xDC00, true
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if i+1 < len(raw) && raw[i+1] == '\\' {
			i++ // an escaped backslash
			continue
		}
		high, ok := surrogate(i)
		if !ok {
			continue
		}
		if !high {
			return false // a low half with no high half before it
		}
		if high2, ok2 := surrogate(i + 6); !ok2 || high2 {
			return false
		}
		i += 11
	}
	return true
}

// sameOrigin reports whether a browser request comes from a page of this
// room (or an allowed origin). Requests without Origin (curl, scripts)
// pass: they carry no ambient browser credentials of another site.
func (r *Room) sameOrigin(req *http.Request) bool {
	origin := req.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, req.Host) {
		return true
	}
	for _, o := range r.opts.AllowedOrigins {
		if strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return true
		}
	}
	return false
}

// guardWrite rejects cross-site and over-rate writes. cost is the number
// of rate tokens the write takes.
func (r *Room) guardWrite(req *http.Request, cost int) error {
	if !r.sameOrigin(req) {
		return &Error{Code: CodeForbidden, Msg: "requests from other sites are refused"}
	}
	return r.Charge(r.addrs.clientAddr(req), cost)
}

// Charge takes cost from addr's budget of events, or says when to come
// back. Every event a client sends is charged to it, on every transport.
func (r *Room) Charge(addr string, cost int) error {
	if ok, retry := r.posts.allow(addr, cost, r.now()); !ok {
		return &Error{Code: CodeRateLimited, Msg: "you are posting too fast; wait a moment", RetryAfter: retry}
	}
	return nil
}

// textCost is what a message costs against its sender's write budget: 1,
// plus 1 for every 332 characters, so a wall of text counts as several
// messages (hack.chat charges the same way).
func textCost(text string) int { return 1 + utf8.RuneCountInString(text)/332 }

// requireRoom answers a request that needs a room and access to it.
func (r *Room) requireRoom(w http.ResponseWriter, req *http.Request) bool {
	st := r.State()
	if !st.Exists {
		r.writeError(w, errNoRoom)
		return false
	}
	if err := r.authorize(req, st); err != nil {
		if Refusal(err).Code == CodeUnauthorized {
			// Only here, never on /api/login: a browser's fetch that sees
			// this header opens its own password dialog.
			w.Header().Set("WWW-Authenticate", `Basic realm="chatbox", charset="UTF-8"`)
		}
		r.writeError(w, err)
		return false
	}
	return true
}

const sessionCookie = "chatbox_session"

// authorize lets a request into a private room with a session cookie or
// HTTP basic auth carrying the password (any user name).
func (r *Room) authorize(req *http.Request, st RoomState) error {
	if !st.Private {
		return nil
	}
	if c, err := req.Cookie(sessionCookie); err == nil && c.Value != "" {
		ok, err := r.store.SessionValid(sessionHash(c.Value), r.now())
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
	}
	if _, password, ok := req.BasicAuth(); ok {
		return r.checkLogin(req, st, password)
	}
	return &Error{Code: CodeUnauthorized, Msg: "this room is private; log in with its password"}
}

// checkLogin verifies password, throttling wrong guesses per address.
func (r *Room) checkLogin(req *http.Request, st RoomState, password string) error {
	if r.pw.known(password) {
		return nil
	}
	if ok, retry := r.logins.allow(r.addrs.clientAddr(req), 1, r.now()); !ok {
		return &Error{Code: CodeRateLimited, Msg: "too many password attempts; wait a moment", RetryAfter: retry}
	}
	ok, err := checkPassword(st.PasswordHash, password)
	if err != nil {
		return err
	}
	if !ok {
		return &Error{Code: CodeUnauthorized, Msg: "wrong password"}
	}
	r.pw.remember(password)
	return nil
}

// roomInfo is the public view of the room.
type roomInfo struct {
	Exists      bool      `json:"exists"`
	Name        string    `json:"name,omitempty"`
	Private     bool      `json:"private"`
	CreatedAt   time.Time `json:"created_at,omitzero"`
	DestroyedAt time.Time `json:"destroyed_at,omitzero"`
	DestroyedBy string    `json:"destroyed_by,omitempty"`
	// DestroyAt is set while a destroy countdown runs.
	DestroyAt time.Time `json:"destroy_at,omitzero"`
	Members   []string  `json:"members"`
	// Authorized tells the page whether it must ask for the password.
	Authorized bool `json:"authorized"`
	// Limits the page needs.
	MaxMessageLength int    `json:"max_message_length"`
	MaxFileSize      int64  `json:"max_file_size"`
	LastID           uint64 `json:"last_id"`
}

func (r *Room) handleGetRoom(w http.ResponseWriter, req *http.Request) {
	st := r.State()
	info := roomInfo{
		Exists:           st.Exists,
		Private:          st.Private,
		DestroyedAt:      st.DestroyedAt,
		DestroyedBy:      st.DestroyedBy,
		Members:          []string{},
		MaxMessageLength: r.opts.MaxMessageLength,
		MaxFileSize:      r.opts.MaxFileSize,
	}
	if st.Exists {
		info.Authorized = r.authorize(req, st) == nil
	}
	if info.Authorized {
		info.Name = st.Name
		info.CreatedAt = st.CreatedAt
		info.Members = r.hub.members()
		info.DestroyAt, _ = r.Countdown()
		info.LastID = st.LastID
	}
	writeJSON(w, http.StatusOK, info)
}

func (r *Room) handleCreateRoom(w http.ResponseWriter, req *http.Request) {
	if err := r.guardWrite(req, 5); err != nil {
		r.writeError(w, err)
		return
	}
	var body struct {
		Private bool `json:"private"`
	}
	if err := decodeJSON(w, req, 1<<10, &body); err != nil {
		r.writeError(w, err)
		return
	}
	password, err := r.Create(body.Private)
	if err != nil {
		r.writeError(w, err)
		return
	}
	resp := map[string]string{"url": r.roomURL(req)}
	if password != "" {
		resp["password"] = password
		// The creator is logged in at once.
		if err := r.startSession(w, req); err != nil {
			r.writeError(w, err)
			return
		}
	}
	writeJSON(w, http.StatusCreated, resp)
}

func (r *Room) roomURL(req *http.Request) string {
	scheme := "http"
	if req.TLS != nil || r.opts.SecureCookies {
		scheme = "https"
	}
	return scheme + "://" + req.Host + "/"
}

func (r *Room) startSession(w http.ResponseWriter, req *http.Request) error {
	token, hash, err := newSessionToken()
	if err != nil {
		return err
	}
	const maxAge = 30 * 24 * time.Hour
	if err := r.store.AddSession(hash, r.now().Add(maxAge)); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    token,
		Path:     "/",
		MaxAge:   int(maxAge.Seconds()),
		HttpOnly: true,
		Secure:   r.opts.SecureCookies || req.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
	return nil
}

func (r *Room) handleLogin(w http.ResponseWriter, req *http.Request) {
	if !r.sameOrigin(req) {
		r.writeError(w, &Error{Code: CodeForbidden, Msg: "requests from other sites are refused"})
		return
	}
	var body struct {
		Password string `json:"password"`
	}
	if err := decodeJSON(w, req, 1<<10, &body); err != nil {
		r.writeError(w, err)
		return
	}
	st := r.State()
	if !st.Exists {
		r.writeError(w, errNoRoom)
		return
	}
	if !st.Private {
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
		return
	}
	if err := r.checkLogin(req, st, body.Password); err != nil {
		r.writeError(w, err)
		return
	}
	if err := r.startSession(w, req); err != nil {
		r.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (r *Room) handleListMessages(w http.ResponseWriter, req *http.Request) {
	if !r.requireRoom(w, req) {
		return
	}
	q := req.URL.Query()
	after := int64(-1)
	if s := q.Get("after"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 {
			r.writeError(w, invalid("", "after must be a message id (a whole number, 0 or more)"))
			return
		}
		after = v
	}
	limit := 100
	if s := q.Get("limit"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > 1000 {
			r.writeError(w, invalid("", "limit must be a whole number from 1 to 1000"))
			return
		}
		limit = v
	}
	msgs, err := r.store.List(after, limit)
	if err != nil {
		r.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, msgs)
}

// acceptWrite admits a JSON write to the room: the room exists and the
// caller may enter it, the request is same-origin and within its rate, and
// the body decodes into body. On refusal it answers and returns false.
func (r *Room) acceptWrite(w http.ResponseWriter, req *http.Request, cost int, limit int64, body any) bool {
	if !r.requireRoom(w, req) {
		return false
	}
	if err := r.guardWrite(req, cost); err != nil {
		r.writeError(w, err)
		return false
	}
	if err := decodeJSON(w, req, limit, body); err != nil {
		r.writeError(w, err)
		return false
	}
	return true
}

func (r *Room) handlePostMessage(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Nick string `json:"nick"`
		Text string `json:"text"`
	}
	if !r.acceptWrite(w, req, 1, int64(r.opts.MaxPGPLength)*6+1024, &body) {
		return
	}
	m, err := r.Post(req.Context(), Sender{Addr: r.addrs.clientAddr(req), Nick: body.Nick}, body.Text)
	if err != nil {
		r.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, m)
}

func (r *Room) handleDestroy(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Nick string `json:"nick"`
	}
	if !r.acceptWrite(w, req, 1, 1<<10, &body) {
		return
	}
	at, err := r.Destroy(body.Nick)
	if err != nil {
		r.writeError(w, err)
		return
	}
	_, by := r.Countdown()
	writeJSON(w, http.StatusAccepted, map[string]any{"destroy_at": at, "by": by})
}

func handleHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// endpoint describes one route for GET /api.
type endpoint struct {
	Method      string `json:"method"`
	Path        string `json:"path"`
	Description string `json:"description"`
}

// apiEndpoints lists the routes for GET /api.
func apiEndpoints() []endpoint {
	return []endpoint{
		{"GET", "/healthz", `liveness: {"status":"ok"}`},
		{"GET", "/api", "this list"},
		{"GET", "/api/room", `the room: {"exists","name","private","created_at","destroyed_at","destroyed_by","destroy_at","members","authorized"}`},
		{"POST", "/api/room", `create the room when none exists: {"private":bool} -> {"url","password"}`},
		{"POST", "/api/login", `private room: {"password"} -> session cookie`},
		{"GET", "/api/messages?after=ID&limit=N", "history, oldest first; without after, the newest N (default 100, at most 1000)"},
		{"POST", "/api/messages", `{"nick","text"} -> 201 with the stored message; "/ping NICK text" pings NICK`},
		{"POST", "/api/destroy", `{"nick"} -> 202; starts the countdown, then wipes the room`},
		{"POST", "/api/files", `multipart/form-data with the fields file and nick -> 201 with the stored message (kind "file")`},
		{"GET", "/files/{id}/{name}", "an uploaded file: pictures inline, everything else as an attachment"},
		{"GET", "/files/{id}/thumb", "a picture's thumbnail (JPEG, or PNG when transparent)"},
		{"GET", "/rss/all.xml", "RSS 2.0 feed of the newest messages"},
		{"GET", "/rss/ping/{nick}.xml", "RSS 2.0 feed of the pings to nick"},
		{"GET", "/ws", `WebSocket (?nick=NICK): events {"type":"message"|"join"|"leave"|"presence"|"destroy"|"error"}; send {"type":"message","text"}, {"type":"nick","nick"}, {"type":"quit"}`},
	}
}

func handleAPIIndex(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"endpoints": apiEndpoints()})
}
