package httpapi

import (
	"net/http"

	"github.com/chatbox-dev/chatbox/chat/web"
)

// securityPolicy allows only the room's own scripts, styles and
// connections: no inline script or style, no framing. The one inline
// script of the page, its import map (data: the integrity of every
// module), is allowed by its hash (see web.ImportMapPolicy).
func securityPolicy() string {
	importMap, err := web.ImportMapPolicy()
	if err != nil {
		panic("httpapi: embedded page: " + err.Error())
	}
	return "default-src 'none'; script-src 'self' " + importMap + "; " + policyRest
}

const policyRest = "style-src 'self'; " +
	"img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; " +
	"font-src 'self'; manifest-src 'self'; worker-src 'self'; base-uri 'none'; form-action 'self'; " +
	"frame-ancestors 'none'"

// withSecurityHeaders sets the headers every response carries.
func withSecurityHeaders(next http.Handler) http.Handler {
	policy := securityPolicy()
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", policy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, req)
	})
}
