package box

import (
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// hstsValue asks browsers to use HTTPS only, for two years, subdomains too.
const hstsValue = "max-age=63072000; includeSubDomains"

// redirectToHTTPS answers the plain-HTTP listener: GET /healthz goes to
// health (the installer waits on it), everything else gets a 308 redirect
// to the same path on https://host, with httpsPort unless it is 443.
func redirectToHTTPS(host string, httpsPort int, health http.Handler) http.Handler {
	base := httpsURL(host, httpsPort)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			health.ServeHTTP(w, r)
			return
		}
		target := *base
		target.Path, target.RawPath, target.RawQuery = r.URL.Path, r.URL.RawPath, r.URL.RawQuery
		http.Redirect(w, r, target.String(), http.StatusPermanentRedirect)
	})
}

// withHSTS sets Strict-Transport-Security on every response of next.
func withHSTS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", hstsValue)
		next.ServeHTTP(w, r)
	})
}

// httpsURL is https://host/, with port unless it is 443.
func httpsURL(host string, port int) *url.URL {
	authority := host
	if strings.Contains(host, ":") {
		authority = "[" + host + "]"
	}
	if port != 443 {
		authority = net.JoinHostPort(host, strconv.Itoa(port))
	}
	return &url.URL{Scheme: "https", Host: authority, Path: "/"}
}
