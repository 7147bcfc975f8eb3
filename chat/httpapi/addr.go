package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// addrResolver finds the client's address, believing X-Forwarded-For only
// from trusted proxies.
type addrResolver struct {
	trusted []netip.Prefix
}

func newAddrResolver(trusted []string) addrResolver {
	var s addrResolver
	for _, t := range trusted {
		if p, err := netip.ParsePrefix(t); err == nil {
			s.trusted = append(s.trusted, p)
		} else if a, err := netip.ParseAddr(t); err == nil {
			s.trusted = append(s.trusted, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return s
}

func (s addrResolver) isTrusted(a netip.Addr) bool {
	for _, p := range s.trusted {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// fromTrusted reports whether req comes straight from a trusted proxy,
// whose X-Forwarded-* headers are then believed.
func (s addrResolver) fromTrusted(req *http.Request) bool {
	if len(s.trusted) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		host = req.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && s.isTrusted(addr)
}

// clientAddr returns the address requests from r are counted against.
func (s addrResolver) clientAddr(req *http.Request) string {
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		host = req.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	// Walk X-Forwarded-For from the right while the hop is a trusted proxy.
	if s.isTrusted(addr) {
		hops := strings.Split(strings.Join(req.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			addr = a
			if !s.isTrusted(a) {
				break
			}
		}
	}
	addr = addr.Unmap()
	if addr.Is6() {
		// One person usually holds a whole /64.
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}
