package httpapi

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
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/internal/roomurl"
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

// Status is the HTTP status a refusal of code is answered with, on
// every HTTP surface of the box.
func Status(code chat.Code) int {
	switch code {
	case chat.CodeInvalid:
		return http.StatusBadRequest
	case chat.CodeTooLong:
		return http.StatusRequestEntityTooLarge
	case chat.CodeNotPresent, chat.CodeNoRoom, chat.CodeRoomExists, chat.CodeTooLate, chat.CodeNickTaken, chat.CodeConflict:
		return http.StatusConflict
	case chat.CodeRateLimited:
		return http.StatusTooManyRequests
	case chat.CodeDiskFull:
		return http.StatusInsufficientStorage
	case chat.CodeForbidden:
		return http.StatusForbidden
	case chat.CodeUnauthorized:
		return http.StatusUnauthorized
	case chat.CodeNotFound:
		return http.StatusNotFound
	case chat.CodeUnsupported:
		return http.StatusUnsupportedMediaType
	case chat.CodeUnprocessable:
		return http.StatusUnprocessableEntity
	case chat.CodeNotAllowed:
		return http.StatusMethodNotAllowed
	default:
		return http.StatusInternalServerError
	}
}

// refusal is the room's Error for err on any transport: a body over its
// limit is a refusal like any other, and a failure of the server's own is
// logged (the client hears only that it failed).
func (s *Server) refusal(err error) *chat.Error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return bodyTooLarge(mbe.Limit)
	}
	e := chat.Refusal(err)
	if e.Code == chat.CodeInternal {
		s.log.Error("request failed", "err", err)
	}
	return e
}

func bodyTooLarge(limit int64) *chat.Error {
	return &chat.Error{Code: chat.CodeTooLong, Limit: limit, Msg: fmt.Sprintf("the request body is larger than %d bytes", limit)}
}

// invalid refuses a malformed request.
func invalid(msg string) *chat.Error { return &chat.Error{Code: chat.CodeInvalid, Msg: msg} }

// writeError answers err as {"error": "...", "code": "..."} with its
// status (the code is the one a WebSocket error event carries), and the
// free nickname to try for a nickname that is taken.
func (s *Server) writeError(w http.ResponseWriter, err error) {
	e := s.refusal(err)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(e.RetryAfter)))
	}
	body := map[string]string{"error": e.Msg, "code": e.Code.String()}
	if e.Suggest != "" {
		body["suggest"] = e.Suggest
	}
	writeJSON(w, Status(e.Code), body)
}

// retrySeconds rounds a wait up to whole seconds, as Retry-After counts.
func retrySeconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

// decodeJSON reads one JSON object of at most limit bytes into v.
func decodeJSON(w http.ResponseWriter, req *http.Request, limit int64, v any) error {
	ct, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if ct != "application/json" {
		return &chat.Error{Code: chat.CodeUnsupported, Msg: "send the body as JSON with Content-Type: application/json"}
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
		return invalid("the body could not be read")
	}
	return decodeObject(raw, v)
}

// decodeObject decodes raw into v with the checks every transport makes
// of what a client sends, so that the same bad input gets the same
// sentence over HTTP and the WebSocket: raw is valid UTF-8 with no lone
// surrogate escape (encoding/json would quietly turn either into U+FFFD),
// it is one JSON object, and it names no field v does not have.
func decodeObject(raw []byte, v any) error {
	if !utf8.Valid(raw) || !pairedSurrogates(raw) {
		return invalid("what you sent is not valid UTF-8 text")
	}
	switch start := bytes.TrimLeft(raw, " \t\r\n"); {
	case len(start) == 0:
		return invalid("what you sent is empty; send a JSON object")
	case start[0] != '{':
		if json.Valid(raw) {
			return invalid("send a JSON object")
		}
		return invalid("what you sent is not valid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
			return invalid("what you sent is not valid JSON")
		case errors.As(err, &te):
			return invalid(fmt.Sprintf("the field %q must be %s", te.Field, jsonKind(te.Type)))
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return invalid("unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field "))
		default:
			return invalid("what you sent is not a valid JSON object")
		}
	}
	// dec.More would miss a stray ']' or '}' after the object.
	if len(bytes.TrimLeft(raw[dec.InputOffset():], " \t\r\n")) > 0 {
		return invalid("send one JSON object and nothing after it")
	}
	return checkKeys(raw, v)
}

// checkKeys refuses what encoding/json lets through: a field given twice
// (the last would win) and a field named in another case ("TEXT" for
// "text"). raw is one valid JSON object; v points to the struct it was
// decoded into.
func checkKeys(raw []byte, v any) error {
	known := map[string]bool{}
	if t := reflect.TypeOf(v); t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct {
		for f := range t.Elem().Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" {
				name = f.Name
			}
			known[name] = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // the opening brace
		return invalid("what you sent is not valid JSON")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return invalid("what you sent is not valid JSON")
		}
		key, _ := tok.(string)
		switch {
		case seen[key]:
			return invalid(fmt.Sprintf("the field %q is given twice", key))
		case !known[key]:
			return invalid(fmt.Sprintf("unknown field %q", key))
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return invalid("what you sent is not valid JSON")
		}
	}
	return nil
}

// jsonKind names what a field of type t must be, in JSON's words.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	default:
		return "an object"
	}
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
func (s *Server) sameOrigin(req *http.Request) bool {
	origin := req.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, s.host(req)) && u.Scheme == s.Scheme(req) {
		return true
	}
	for _, o := range s.opts.AllowedOrigins {
		if strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return true
		}
	}
	return false
}

// guardRequest rejects cross-site writes and those over their address's
// rate; the room's operation charges the room's budget itself, once the
// write passed its checks.
func (s *Server) guardRequest(req *http.Request, cost int) error {
	if !s.sameOrigin(req) {
		return errCrossSite
	}
	if err := s.room.Writable(); err != nil {
		return err
	}
	return s.room.ChargeAddr(s.addrs.clientAddr(req), cost)
}

var errCrossSite = &chat.Error{Code: chat.CodeForbidden, Msg: "requests from other sites are refused"}

// requireRoom answers a request that needs a room and access to it.
func (s *Server) requireRoom(w http.ResponseWriter, req *http.Request) bool {
	if err := s.room.Enter(s.credentials(req)); err != nil {
		if chat.Refusal(err).Code == chat.CodeUnauthorized {
			// Only here, never on /api/login: a browser's fetch that sees
			// this header opens its own password dialog.
			w.Header().Set("WWW-Authenticate", `Basic realm="chatbox", charset="UTF-8"`)
		}
		s.writeError(w, err)
		return false
	}
	return true
}

const sessionCookie = "chatbox_session"

// credentials are what req offers to enter a private room: the session
// cookie, or HTTP basic auth carrying the password (any user name).
func (s *Server) credentials(req *http.Request) chat.Credentials {
	c := chat.Credentials{Addr: s.addrs.clientAddr(req)}
	if cookie, err := req.Cookie(sessionCookie); err == nil {
		c.Session = cookie.Value
	}
	_, c.Password, c.HasPassword = req.BasicAuth()
	return c
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
	// EditWindow is how many seconds after sending it a message may be
	// edited or deleted (0: never); Reactions the emoji it may get.
	EditWindow int      `json:"edit_window"`
	Reactions  []string `json:"reactions"`
	// The nickname rule, and how long (seconds) a nickname stays held
	// after its browser's last connection closes.
	NickMaxLength int    `json:"nick_max_length"`
	NickRule      string `json:"nick_rule"`
	NickHold      int64  `json:"nick_hold"`
	// Encrypted says the room holds only envelopes (docs/ENCRYPTION.md);
	// those let in also get its id, key check and KDF.
	Encrypted bool      `json:"encrypted"`
	RoomID    string    `json:"room_id,omitempty"`
	KeyCheck  *string   `json:"key_check,omitempty"`
	KDF       *chat.KDF `json:"kdf,omitempty"`
}

func (s *Server) handleGetRoom(w http.ResponseWriter, req *http.Request) {
	st := s.room.State()
	info := roomInfo{
		Exists:           st.Exists,
		Private:          st.Private,
		DestroyedAt:      st.DestroyedAt,
		DestroyedBy:      st.DestroyedBy,
		Members:          []string{},
		MaxMessageLength: s.room.MaxMessageLength(),
		MaxFileSize:      s.room.MaxFileSize(),
		EditWindow:       int(s.room.EditWindow().Seconds()),
		Reactions:        chat.ReactionEmoji(),
		NickMaxLength:    chat.MaxNickLength,
		NickRule:         chat.NickRule,
		NickHold:         int64(s.room.NickHold().Seconds()),
	}
	if st.Exists {
		info.Authorized = s.room.Enter(s.credentials(req)) == nil
	}
	if info.Authorized {
		info.Name = st.Name
		info.CreatedAt = st.CreatedAt
		info.Members = s.room.Members()
		info.DestroyAt, _ = s.room.Countdown()
		info.LastID = st.LastID
		if e := st.Encryption(); e != nil {
			info.RoomID, info.KeyCheck, info.KDF = e.RoomID, &e.KeyCheck, e.KDF
		}
	}
	info.Encrypted = st.Exists && st.Encrypted
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) handleCreateRoom(w http.ResponseWriter, req *http.Request) {
	// A room is made once: its cost is its address's alone, so that asking
	// for a second one from many addresses spends nobody else's budget.
	if err := s.guardRequest(req, 5); err != nil {
		s.writeError(w, err)
		return
	}
	var body struct {
		Private   bool `json:"private"`
		Encrypted bool `json:"encrypted"`
	}
	if err := decodeJSON(w, req, 1<<10, &body); err != nil {
		s.writeError(w, err)
		return
	}
	// The creator of a private room is logged in at once.
	password, session, err := s.room.CreateAndLogin(chat.RoomKind{Private: body.Private, Encrypted: body.Encrypted})
	if err != nil {
		s.writeError(w, err)
		return
	}
	resp := map[string]string{"url": s.roomURL(req)}
	if st := s.room.State(); st.Encrypted {
		resp["room_id"] = st.RoomID
	}
	if password != "" {
		resp["password"] = password
		s.setSessionCookie(w, req, session)
	}
	writeJSON(w, http.StatusCreated, resp)
}

// Scheme is the scheme the browser used to reach the room: https over
// TLS or with SecureCookies, else what a trusted proxy says in
// X-Forwarded-Proto, else http.
func (s *Server) Scheme(req *http.Request) string {
	if req.TLS != nil || s.opts.SecureCookies {
		return "https"
	}
	if s.addrs.fromTrusted(req) {
		proto, _, _ := strings.Cut(req.Header.Get("X-Forwarded-Proto"), ",")
		if strings.EqualFold(strings.TrimSpace(proto), "https") {
			return "https"
		}
	}
	return "http"
}

// host is the authority the browser asked for: X-Forwarded-Host from a
// trusted proxy, else the request's Host.
func (s *Server) host(req *http.Request) string {
	if s.addrs.fromTrusted(req) {
		fwd, _, _ := strings.Cut(req.Header.Get("X-Forwarded-Host"), ",")
		if fwd = strings.TrimSpace(fwd); fwd != "" {
			return fwd
		}
	}
	return req.Host
}

// roomURL is the room's address: the box's own when it has one, else the
// one the request came to.
func (s *Server) roomURL(req *http.Request) string {
	if s.opts.PublicURL != "" {
		return s.opts.PublicURL
	}
	return roomurl.FromAuthority(s.Scheme(req), s.host(req)).String()
}

// setSessionCookie gives the client its session token; an empty token
// clears the cookie.
func (s *Server) setSessionCookie(w http.ResponseWriter, req *http.Request, token string) {
	maxAge := int(chat.SessionLifetime.Seconds())
	if token == "" {
		maxAge = -1
	}
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    token,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   s.Scheme(req) == "https",
		SameSite: http.SameSiteStrictMode,
	})
}

func (s *Server) handleLogin(w http.ResponseWriter, req *http.Request) {
	if !s.sameOrigin(req) {
		s.writeError(w, errCrossSite)
		return
	}
	var body struct {
		Password string `json:"password"`
	}
	if err := decodeJSON(w, req, 1<<10, &body); err != nil {
		s.writeError(w, err)
		return
	}
	token, err := s.room.Login(s.addrs.clientAddr(req), body.Password)
	if err != nil {
		s.writeError(w, err)
		return
	}
	if token != "" {
		s.setSessionCookie(w, req, token)
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// handleLogout ends the request's session on the server and clears its
// cookie; without one it only clears the cookie.
func (s *Server) handleLogout(w http.ResponseWriter, req *http.Request) {
	if !s.sameOrigin(req) {
		s.writeError(w, errCrossSite)
		return
	}
	if cookie, err := req.Cookie(sessionCookie); err == nil {
		if err := s.room.Logout(cookie.Value); err != nil {
			s.writeError(w, err)
			return
		}
		s.forgetPushSession(cookie.Value)
	}
	s.setSessionCookie(w, req, "")
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (s *Server) handleListMessages(w http.ResponseWriter, req *http.Request) {
	if !s.requireRoom(w, req) {
		return
	}
	q, err := historyQuery(req.URL.Query())
	if err != nil {
		s.writeError(w, err)
		return
	}
	page, err := s.room.History(s.addrs.clientAddr(req), q)
	if err != nil {
		s.writeError(w, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if page.NextAfter != 0 {
		h.Set("X-Next-After", strconv.FormatUint(page.NextAfter, 10))
	}
	if page.NextBefore != 0 {
		h.Set("X-Next-Before", strconv.FormatUint(page.NextBefore, 10))
	}
	w.WriteHeader(http.StatusOK)
	// The page is sent message by message as the store keeps it, never
	// encoded again as a whole.
	sep := []byte("[")
	for _, m := range page.Messages {
		if _, err := w.Write(sep); err != nil {
			return
		}
		if _, err := w.Write(m); err != nil {
			return
		}
		sep = []byte(",")
	}
	if len(page.Messages) == 0 {
		w.Write(sep)
	}
	w.Write([]byte("]\n"))
}

// historyQuery reads after=, before= and limit= of a history request.
func historyQuery(v url.Values) (chat.HistoryQuery, error) {
	q := chat.HistoryQuery{Limit: 100}
	if a := v.Get("after"); a != "" {
		n, err := strconv.ParseUint(a, 10, 64)
		if err != nil {
			return q, invalid("after must be a message id (a whole number, 0 or more)")
		}
		q.After, q.HasAfter = n, true
	}
	if b := v.Get("before"); b != "" {
		n, err := strconv.ParseUint(b, 10, 64)
		if err != nil || n == 0 {
			return q, invalid("before must be a message id (a whole number, 1 or more)")
		}
		q.Before = n
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > chat.MaxHistoryLimit {
			return q, invalid(fmt.Sprintf("limit must be a whole number from 1 to %d", chat.MaxHistoryLimit))
		}
		q.Limit = n
	}
	return q, nil
}

// acceptWrite admits a JSON write to the room: the room exists and the
// caller may enter it, the request is same-origin and within its rate, and
// the body decodes into body. On refusal it answers and returns false.
func (s *Server) acceptWrite(w http.ResponseWriter, req *http.Request, cost int, limit int64, body any) bool {
	if !s.requireRoom(w, req) {
		return false
	}
	if err := s.guardRequest(req, cost); err != nil {
		s.writeError(w, err)
		return false
	}
	if err := decodeJSON(w, req, limit, body); err != nil {
		s.writeError(w, err)
		return false
	}
	return true
}

func (s *Server) handlePostMessage(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Nick     string `json:"nick"`
		Text     string `json:"text"`
		ClientID string `json:"client_id"`
		ReplyTo  uint64 `json:"reply_to"`
		Token    string `json:"token"`
		To       string `json:"to"`
	}
	if !s.acceptWrite(w, req, 1, int64(s.room.MaxPGPLength())*6+1024, &body) {
		return
	}
	// A repeated send (same nick and client_id) answers 201 with the
	// message its first send stored, so a retry reads as a success.
	from := chat.Sender{Addr: s.addrs.clientAddr(req), Nick: body.Nick, ClientID: body.ClientID, Token: body.Token}
	m, err := s.room.Send(req.Context(), from, chat.Draft{Text: body.Text, ReplyTo: body.ReplyTo, To: body.To})
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, m)
}

// handleSetKey is PUT /api/room/key: the first browser of an encrypted
// room gives it its key check (and KDF), once.
func (s *Server) handleSetKey(w http.ResponseWriter, req *http.Request) {
	var body struct {
		KeyCheck string    `json:"key_check"`
		KDF      *chat.KDF `json:"kdf"`
	}
	if !s.acceptWrite(w, req, 1, 4<<10, &body) {
		return
	}
	e, err := s.room.SetKey(req.Context(), chat.Sender{Addr: s.addrs.clientAddr(req)}, body.KeyCheck, body.KDF)
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, e)
}

// nickBody is the body of a request made under a nickname: the nickname,
// and the token of the browser that holds it, if any.
type nickBody struct {
	Nick  string `json:"nick"`
	Token string `json:"token"`
}

func (s *Server) handleDestroy(w http.ResponseWriter, req *http.Request) {
	var body nickBody
	if !s.acceptWrite(w, req, 1, 1<<10, &body) {
		return
	}
	if err := s.room.CheckNick(body.Nick, body.Token); err != nil {
		s.writeError(w, err)
		return
	}
	at, err := s.room.Destroy(body.Nick)
	if err != nil {
		s.writeError(w, err)
		return
	}
	_, by := s.room.Countdown()
	writeJSON(w, http.StatusAccepted, map[string]any{"destroy_at": at, "by": by})
}

// handleCancelDestroy stops a running destroy countdown.
func (s *Server) handleCancelDestroy(w http.ResponseWriter, req *http.Request) {
	var body nickBody
	if !s.acceptWrite(w, req, 1, 1<<10, &body) {
		return
	}
	if err := s.room.CheckNick(body.Nick, body.Token); err != nil {
		s.writeError(w, err)
		return
	}
	if err := s.room.CancelDestroy(body.Nick); err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"cancelled": true, "by": body.Nick})
}

func handleHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
