// Package roomurl builds a room's addresses: the page people open and the
// health check the installer waits on. It takes plain host names, addresses
// and ports, so every part of chatbox that names the room names it alike.
package roomurl

import (
	"net"
	"net/url"
	"strconv"
	"strings"
)

// New returns scheme://host/ with port unless it is the scheme's default
// (80 for http, 443 for https) or 0. An IPv6 literal host is put in
// brackets, and one already in brackets is left as it is.
func New(scheme, host string, port int) *url.URL {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	authority := host
	if strings.Contains(host, ":") {
		authority = "[" + host + "]"
	}
	if port != 0 && !(scheme == "https" && port == 443 || scheme == "http" && port == 80) {
		authority = net.JoinHostPort(host, strconv.Itoa(port))
	}
	return &url.URL{Scheme: scheme, Host: authority, Path: "/"}
}

// FromAuthority is New for an authority as a request carries it, a host
// with or without ":port" (chat.example.com:8443, [2001:db8::7]).
func FromAuthority(scheme, authority string) *url.URL {
	host, p, err := net.SplitHostPort(authority)
	if err != nil {
		return New(scheme, authority, 0)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return New(scheme, authority, 0)
	}
	return New(scheme, host, port)
}

// Room is the address people open for a room served at host (its domain
// or IP address) on the standard HTTPS port.
func Room(host string) string {
	return New("https", host, 443).String()
}

// Health is the /healthz address of the plain-HTTP listener at listen
// (host:port, as in the config), asked from the box itself: an empty or
// unspecified host is 127.0.0.1, and an address without a port is port 80.
func Health(listen string) string {
	host, p, err := net.SplitHostPort(listen)
	if err != nil {
		host, p = "", "80"
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		port = 80
	}
	u := New("http", host, port)
	u.Path = "/healthz"
	return u.String()
}
