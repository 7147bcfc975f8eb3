// Package httpapi is the room's transport: its page, the JSON API, the
// RSS feeds and the WebSocket event stream, all driven by one route
// table. It turns requests into the room's operations and the room's
// typed refusals into a status and one sentence, the same on every path.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/chat/push"
)

// Options configure the transport: what the room's core does not know.
type Options struct {
	// SecureCookies marks session cookies Secure; true whenever the room is
	// served over HTTPS.
	SecureCookies bool
	// AllowedOrigins are extra origins (scheme://host[:port]) accepted for
	// WebSocket and state-changing requests besides the request's own host.
	AllowedOrigins []string
	// TrustedProxies are addresses or CIDRs whose X-Forwarded-For,
	// X-Forwarded-Proto and X-Forwarded-Host are believed: the client's
	// address for the rate limits, and the scheme and host the browser
	// used for Secure cookies and the same-origin check.
	TrustedProxies []string
	// PublicURL is the room's address (https://chat.example.com/), for
	// links that leave the page, such as a feed's; empty takes the
	// request's own.
	PublicURL string
	// UploadMinRate is the slowest, in bytes a second, that an upload's
	// body may arrive, averaged over each UploadRateWindow; a slower
	// upload is cut and its staged bytes removed. Zero sets no minimum.
	UploadMinRate int64
	// UploadRateWindow is the span UploadMinRate is measured over, and the
	// longest an upload may send nothing at all.
	UploadRateWindow time.Duration
	// Push is the box's Web Push service; nil turns push off.
	Push *push.Service
	// LocalCA reports whether the box serves a certificate of its own
	// certificate authority right now, which browsers do not trust: they
	// then refuse the service worker, and so notifications (GET
	// /api/push says so, for the page to explain). nil means never.
	LocalCA func() bool
	// TrustURL is the page that offers the box's own CA (http://NAME/trust),
	// when it has one.
	TrustURL func() string
	// Logger receives the transport's log; nil discards it.
	Logger *slog.Logger
}

// Server serves one room over HTTP.
type Server struct {
	room    *chat.Room
	opts    Options
	log     *slog.Logger
	addrs   addrResolver
	handler http.Handler
	table   []Route
	// ctx bounds the work WebSocket events start: it ends when the box
	// shuts down.
	ctx context.Context
	// assets are the page's files as served, by path: the page with the
	// integrity of every script and stylesheet (web.Page), the service
	// worker (web.Worker), and each gzip-encoded where that is smaller.
	assets map[string]*asset
}

// New returns the HTTP server of room. ctx bounds the work that outlives
// a request (what a WebSocket client sends).
func New(ctx context.Context, room *chat.Room, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	assets, err := pageAssets()
	if err != nil {
		panic("httpapi: embedded page: " + err.Error())
	}
	s := &Server{room: room, opts: opts, log: opts.Logger, addrs: newAddrResolver(opts.TrustedProxies), ctx: ctx, assets: assets}
	s.table = s.buildRoutes()
	s.handler = s.routes()
	return s
}

// ServeHTTP serves the room's page, API, feeds and WebSocket.
func (s *Server) ServeHTTP(w http.ResponseWriter, req *http.Request) { s.handler.ServeHTTP(w, req) }

// Route is one entry of the route table: the mux, GET /api and the 405s
// are all made from it, and docs/API.md documents each.
type Route struct {
	Method string `json:"method"`
	// Path is the mux pattern's path; Query documents the parameters.
	Path  string `json:"path"`
	Query string `json:"query,omitempty"`
	Doc   string `json:"description"`
	// API routes are listed by GET /api; the page's own files are not.
	API bool `json:"-"`
	// pattern is the mux's path when it differs from Path.
	pattern string
	handler http.HandlerFunc
}

// Routes returns the route table.
func (s *Server) Routes() []Route { return s.table }

func (s *Server) buildRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/{$}", Doc: "the room's page, or the launcher when no room exists", handler: func(w http.ResponseWriter, req *http.Request) {
			w.Header().Set("Cache-Control", "no-cache")
			s.assets["/"].serve(w, req)
		}},
		{Method: "GET", Path: "/static/", Doc: "the page's scripts, styles and icons", handler: func(w http.ResponseWriter, req *http.Request) {
			a, ok := s.assets[req.URL.Path]
			if !ok || !strings.HasPrefix(req.URL.Path, "/static/") {
				http.NotFound(w, req) // and no directory listings
				return
			}
			a.serve(w, req)
		}},
		{Method: "GET", Path: "/favicon.ico", Doc: "the icon", handler: s.assets["/favicon.ico"].serve},
		{Method: "GET", Path: "/manifest.webmanifest", Doc: "the web app manifest: the room installs as an app", handler: s.handleManifest},
		{Method: "GET", Path: "/sw.js", Doc: "the service worker: the page's own files for an instant start, an offline screen, push notifications", handler: s.handleServiceWorker},
		{API: true, Method: "GET", Path: "/healthz", Doc: `liveness: {"status":"ok"}`, handler: handleHealth},
		{API: true, Method: "GET", Path: "/api", Doc: "this list", handler: s.handleAPIIndex},
		{API: true, Method: "GET", Path: "/api/room", Doc: `the room: {"exists","name","private","encrypted","room_id","key_check","kdf","created_at","destroyed_at","destroyed_by","destroy_at","members","authorized","nick_max_length","nick_rule","nick_hold"}`, handler: s.handleGetRoom},
		{API: true, Method: "POST", Path: "/api/room", Doc: `create the room when none exists: {"private":bool,"encrypted":bool} -> {"url","password","room_id"}`, handler: s.handleCreateRoom},
		{API: true, Method: "PUT", Path: "/api/room/key", Doc: `an encrypted room's key, once: {"key_check","kdf"} -> 201 {"encrypted","room_id","key_check","kdf"}; 409 when it has one`, handler: s.handleSetKey},
		{API: true, Method: "POST", Path: "/api/login", Doc: `private room: {"password"} -> session cookie`, handler: s.handleLogin},
		{API: true, Method: "POST", Path: "/api/logout", Doc: `ends this session on the server and clears its cookie -> {"ok":true}`, handler: s.handleLogout},
		{API: true, Method: "GET", Path: "/api/messages", Query: "after=ID&limit=N", Doc: "history, oldest first, a page of at most N messages (default 100, at most 1000) and 1 MiB; without after, the newest; before=ID reads back; X-Next-After or X-Next-Before names the next page", handler: s.handleListMessages},
		{API: true, Method: "POST", Path: "/api/messages", Doc: `{"nick","text","reply_to"?,"token"?,"to"?} -> 201 with the stored message; "/ping NICK text" pings NICK (in an encrypted room, text is an envelope and "to" names whom it pings); 409 nick_taken when another browser holds nick`, handler: s.handlePostMessage},
		{API: true, Method: "PATCH", Path: "/api/messages/{id}", Doc: `{"nick","token","text"} -> 200 with the edited message; your own, within the edit window`, handler: s.handleEditMessage},
		{API: true, Method: "DELETE", Path: "/api/messages/{id}", Doc: `{"nick","token"} -> 200 with the tombstone; your own, within the edit window`, handler: s.handleDeleteMessage},
		{API: true, Method: "POST", Path: "/api/messages/{id}/reactions", Doc: `{"nick","emoji","on","token"?} -> 200 {"id","reactions"}`, handler: s.handleReact},
		{API: true, Method: "POST", Path: "/api/destroy", Doc: `{"nick","token"?} -> 202; starts the countdown, then wipes the room`, handler: s.handleDestroy},
		{API: true, Method: "POST", Path: "/api/destroy/cancel", Doc: `{"nick","token"?} -> 200; stops the countdown (409 when none runs)`, handler: s.handleCancelDestroy},
		{API: true, Method: "POST", Path: "/api/files", Doc: `multipart/form-data with the fields file, nick and token (optional) -> 201 with the stored message (kind "file")`, handler: s.handleUpload},
		{API: true, Method: "GET", Path: "/files/{id}/thumb", Doc: "a picture's thumbnail (JPEG, or PNG when transparent); waits while it is being made", handler: s.handleThumb},
		{API: true, Method: "GET", Path: "/files/{id}/{name}", Doc: "an uploaded file: pictures inline, everything else as an attachment", handler: s.handleFile},
		{API: true, Method: "GET", Path: "/rss/all.xml", Doc: "RSS 2.0 feed of the newest messages", handler: s.handleFeedAll},
		{API: true, Method: "GET", Path: "/rss/ping/{nick}.xml", pattern: "/rss/ping/{feed}", Doc: "RSS 2.0 feed of the pings to nick", handler: s.handleFeedPings},
		{API: true, Method: "GET", Path: "/api/push", Doc: `Web Push: {"enabled","public_key","modes","local_ca","trust_url"?}`, handler: s.handlePushInfo},
		{API: true, Method: "POST", Path: "/api/push", Doc: `{"nick","endpoint","keys":{"p256dh","auth"},"mode"} -> 201; this browser's push subscription (mode "pings", "all" or "none")`, handler: s.handleSubscribe},
		{API: true, Method: "DELETE", Path: "/api/push", Doc: `{"endpoint"} -> {"deleted":bool}; ends a push subscription`, handler: s.handleUnsubscribe},
		{API: true, Method: "GET", Path: "/ws", Query: "nick=NICK&token=TOKEN", Doc: `WebSocket: events {"type":"message"|"join"|"leave"|"nick"|"presence"|"typing"|"destroy"|"edit"|"delete"|"react"|"error"}; send {"type":"message","text","reply_to"?,"to"?}, {"type":"edit","id","text"}, {"type":"delete","id"}, {"type":"react","id","emoji","on"}, {"type":"nick","nick"}, {"type":"typing"}, {"type":"cancel_destroy"}, {"type":"visible","visible"}, {"type":"quit"}`, handler: s.handleWS(s.newUpgrader())},
	}
}

// routes builds the room's HTTP handler from the route table.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.Routes() {
		pattern := rt.Path
		if rt.pattern != "" {
			pattern = rt.pattern
		}
		mux.HandleFunc(rt.Method+" "+pattern, rt.handler)
	}
	mux.HandleFunc("/api/", s.handleUnknownAPI)
	return withSecurityHeaders(mux)
}

// endpoint is a route as GET /api lists it.
type endpoint struct {
	Method      string `json:"method"`
	Path        string `json:"path"`
	Description string `json:"description"`
}

// endpoints lists the API's routes for GET /api.
func (s *Server) endpoints() []endpoint {
	var out []endpoint
	for _, rt := range s.Routes() {
		if !rt.API {
			continue
		}
		path := rt.Path
		if rt.Query != "" {
			path += "?" + rt.Query
		}
		out = append(out, endpoint{Method: rt.Method, Path: path, Description: rt.Doc})
	}
	return out
}

func (s *Server) handleAPIIndex(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"endpoints": s.endpoints()})
}

// handleUnknownAPI answers API paths and methods that do not exist in
// JSON, like every other API error.
func (s *Server) handleUnknownAPI(w http.ResponseWriter, req *http.Request) {
	var methods []string
	for _, rt := range s.Routes() {
		if rt.API && rt.Path == req.URL.Path {
			methods = append(methods, rt.Method)
		}
	}
	if len(methods) > 0 {
		w.Header().Set("Allow", strings.Join(methods, ", "))
		s.writeError(w, &chat.Error{Code: chat.CodeNotAllowed, Msg: req.Method + " is not allowed on " + req.URL.Path + "; see GET /api"})
		return
	}
	s.writeError(w, &chat.Error{Code: chat.CodeNotFound, Msg: "no such endpoint; GET /api lists them"})
}
