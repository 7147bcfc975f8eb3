package chat

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed web
var webFiles embed.FS

// securityPolicy allows only the room's own scripts, styles and
// connections: no inline script or style, no framing.
const securityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; " +
	"font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; " +
	"frame-ancestors 'none'"

// withSecurityHeaders sets the headers every response carries.
func withSecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", securityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, req)
	})
}

// routes builds the room's HTTP handler.
func (r *Room) routes() http.Handler {
	web, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic("chat: embedded web files: " + err.Error())
	}
	static := http.FileServerFS(web)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, req, web, "index.html")
	})
	mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasSuffix(req.URL.Path, "/") {
			http.NotFound(w, req) // no directory listings
			return
		}
		static.ServeHTTP(w, req)
	}))
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, req *http.Request) {
		http.ServeFileFS(w, req, web, "favicon.ico")
	})
	mux.HandleFunc("GET /healthz", handleHealth)
	mux.HandleFunc("GET /api", handleAPIIndex)
	mux.HandleFunc("GET /api/room", r.handleGetRoom)
	mux.HandleFunc("POST /api/room", r.handleCreateRoom)
	mux.HandleFunc("POST /api/login", r.handleLogin)
	mux.HandleFunc("GET /api/messages", r.handleListMessages)
	mux.HandleFunc("POST /api/messages", r.handlePostMessage)
	mux.HandleFunc("POST /api/destroy", r.handleDestroy)
	mux.HandleFunc("GET /ws", r.handleWS(r.newUpgrader()))
	mux.HandleFunc("POST /api/files", r.handleUpload)
	mux.HandleFunc("GET /files/{id}/thumb", r.handleThumb)
	mux.HandleFunc("GET /files/{id}/{name}", r.handleFile)
	mux.HandleFunc("GET /rss/all.xml", r.handleFeedAll)
	mux.HandleFunc("GET /rss/ping/{feed}", r.handleFeedPings)
	mux.HandleFunc("/api/", r.handleUnknownAPI)
	return withSecurityHeaders(mux)
}

// handleUnknownAPI answers API paths and methods that do not exist in
// JSON, like every other API error.
func (r *Room) handleUnknownAPI(w http.ResponseWriter, req *http.Request) {
	for _, e := range apiEndpoints() {
		path, _, _ := strings.Cut(e.Path, "?")
		if path == req.URL.Path {
			r.writeError(w, &Error{Code: CodeNotAllowed, Msg: req.Method + " is not allowed on " + path + "; see GET /api"})
			return
		}
	}
	r.writeError(w, &Error{Code: CodeNotFound, Msg: "no such endpoint; GET /api lists them"})
}
