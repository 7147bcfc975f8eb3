// Package chat is the single chat room of a box: its durable store, the
// hub that fans messages out to connected clients, the HTTP and WebSocket
// API, and the embedded browser UI.
package chat

import (
	"context"
	"net/http"
)

// Room is the one room of a box. Open it, serve Handler, Close it.
type Room struct {
	opts Options
	mux  *http.ServeMux
}

// Open opens (or creates) the room's store under opts.DataDir.
func Open(ctx context.Context, opts Options) (*Room, error) {
	r := &Room{opts: opts, mux: http.NewServeMux()}
	r.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	return r, nil
}

// Handler serves the room's page, API and WebSocket.
func (r *Room) Handler() http.Handler { return r.mux }

// CloseClients sends every WebSocket client a close frame.
func (r *Room) CloseClients() {}

// Close closes the store. Call it after the HTTP servers have shut down.
func (r *Room) Close() error { return nil }
