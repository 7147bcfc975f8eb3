package httpapi

import (
	"encoding/json"
	"net"
	"net/http"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/chat/push"
	"github.com/chatbox-dev/chatbox/chat/web"
)

var errPushOff = &chat.Error{Code: chat.CodeNotFound, Msg: "push notifications are off on this box (push.enabled in its config)"}

// handlePushInfo tells the page whether it can subscribe, and with which
// key.
func (s *Server) handlePushInfo(w http.ResponseWriter, req *http.Request) {
	if !s.requireRoom(w, req) {
		return
	}
	if s.opts.Push == nil {
		writeJSON(w, http.StatusOK, map[string]any{"enabled": false, "reason": errPushOff.Msg})
		return
	}
	info := map[string]any{
		"enabled":    true,
		"public_key": s.opts.Push.PublicKey(),
		"modes":      []push.Mode{push.ModePings, push.ModeAll, push.ModeNone},
		"local_ca":   false,
	}
	if s.opts.LocalCA != nil && s.opts.LocalCA() {
		info["local_ca"] = true
		if s.opts.TrustURL != nil {
			info["trust_url"] = s.opts.TrustURL()
		}
	}
	writeJSON(w, http.StatusOK, info)
}

// handleSubscribe stores the browser's subscription for a nickname and,
// in a private room, the session it was made in.
func (s *Server) handleSubscribe(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Nick     string    `json:"nick"`
		Endpoint string    `json:"endpoint"`
		Keys     push.Keys `json:"keys"`
		Mode     push.Mode `json:"mode"`
		// Token is the browser's, when it holds Nick: nobody else may have
		// a held nickname's pings sent to their device.
		Token string `json:"token"`
		// ExpirationTime is part of PushSubscription.toJSON(); the push
		// service's 404 or 410 says when it ends.
		ExpirationTime json.RawMessage `json:"expirationTime"`
	}
	if !s.acceptWrite(w, req, 1, 4<<10, &body) {
		return
	}
	if s.opts.Push == nil {
		s.writeError(w, errPushOff)
		return
	}
	if err := s.room.CheckNick(body.Nick, body.Token); err != nil {
		s.writeError(w, err)
		return
	}
	sub := push.Subscription{
		Endpoint: body.Endpoint, Keys: body.Keys, Nick: body.Nick, Mode: body.Mode,
		Session: push.SessionID(s.credentials(req).Session),
	}
	if err := s.opts.Push.Subscribe(sub); err != nil {
		s.writeError(w, err)
		return
	}
	if sub.Mode == "" {
		sub.Mode = push.ModePings
	}
	writeJSON(w, http.StatusCreated, map[string]any{"nick": sub.Nick, "mode": sub.Mode})
}

// handleUnsubscribe deletes a subscription; its endpoint, a secret the
// browser alone knows, is what proves the right to.
func (s *Server) handleUnsubscribe(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Endpoint string `json:"endpoint"`
	}
	if !s.acceptWrite(w, req, 1, 4<<10, &body) {
		return
	}
	if s.opts.Push == nil {
		s.writeError(w, errPushOff)
		return
	}
	if body.Endpoint == "" {
		s.writeError(w, invalid("give the subscription's endpoint"))
		return
	}
	deleted, err := s.opts.Push.Unsubscribe(body.Endpoint)
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"deleted": deleted})
}

// manifest is the web app manifest: the room installs as an app named
// after the box.
type manifest struct {
	ID              string         `json:"id"`
	Name            string         `json:"name"`
	ShortName       string         `json:"short_name"`
	Description     string         `json:"description"`
	StartURL        string         `json:"start_url"`
	Scope           string         `json:"scope"`
	Display         string         `json:"display"`
	BackgroundColor string         `json:"background_color"`
	ThemeColor      string         `json:"theme_color"`
	Icons           []manifestIcon `json:"icons"`
}

type manifestIcon struct {
	Src     string `json:"src"`
	Sizes   string `json:"sizes"`
	Type    string `json:"type"`
	Purpose string `json:"purpose"`
}

// handleManifest answers the web app manifest, named after the box's
// address; it says nothing of the room, so it is the same for everyone.
func (s *Server) handleManifest(w http.ResponseWriter, req *http.Request) {
	name := s.host(req)
	if h, _, err := net.SplitHostPort(name); err == nil {
		name = h
	}
	short := name
	if len([]rune(short)) > 12 {
		short = "chatbox"
	}
	m := manifest{
		ID: "/", Name: name, ShortName: short,
		Description: "The chat room at " + name,
		StartURL:    "/", Scope: "/", Display: "standalone",
		BackgroundColor: web.BackgroundLight, ThemeColor: web.ThemeLight,
	}
	for _, ic := range web.Icons {
		m.Icons = append(m.Icons, manifestIcon{Src: "/static/" + ic.Name, Sizes: ic.Sizes(), Type: "image/png", Purpose: ic.Purpose})
	}
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Type", "application/manifest+json")
	json.NewEncoder(w).Encode(m)
}

// handleServiceWorker answers the service worker. It is served from the
// root so that its scope is the whole room, and never cached by HTTP, so
// a new version of the box reaches every browser on its next visit.
func (s *Server) handleServiceWorker(w http.ResponseWriter, req *http.Request) {
	// The worker's cache is named after the page's files (web.Worker): a
	// box with other files serves another worker, which the browser
	// installs in the old one's place, filling a new cache and deleting
	// the old.
	w.Header().Set("Cache-Control", "no-cache")
	s.assets["/sw.js"].serve(w, req)
}

// forgetPushSession deletes the push subscriptions made in the session of
// token: a device logged out of a private room hears nothing more of it.
func (s *Server) forgetPushSession(token string) {
	if s.opts.Push == nil || token == "" {
		return
	}
	if err := s.opts.Push.DropSession(push.SessionID(token)); err != nil {
		s.log.Error("delete the push subscriptions of a session", "err", err)
	}
}
