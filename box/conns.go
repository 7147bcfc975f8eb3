package box

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"

	"github.com/chatbox-dev/chatbox/config"
)

// ConnLimits bound the connections a box holds open, HTTP and WebSocket
// alike, so that no one address, and no crowd, can take every file
// descriptor the box has.
type ConnLimits struct {
	// Max is the most connections open at once; more are closed as soon
	// as they are accepted.
	Max int
	// PerAddr is the most from one address (an IPv6 /64).
	PerAddr int
	// Reserve is how many of Max only an address with fewer than
	// newcomerConns open may take: new people and /healthz get in when
	// the rest are taken.
	Reserve int
	// Pressure is the count over which idle keep-alive connections are
	// closed and keep-alive is turned off, until the count falls under
	// half of it.
	Pressure int
	// Trusted are proxies, which carry many people's connections: they
	// count toward Max only.
	Trusted []netip.Prefix
}

// newcomerConns is the most connections an address may have open and
// still take one of the reserved.
const newcomerConns = 2

// connLimitsFor derives the box's connection limits from its open-file
// limit: an eighth of the descriptors, and 32 more, are kept for the
// store, uploads, logs and certificates.
func connLimitsFor(nofile uint64, perAddr int, trusted []string) ConnLimits {
	keep := nofile/8 + 32
	maxConns := 16
	if nofile > keep+16 {
		maxConns = int(min(nofile-keep, 1<<30))
	}
	l := ConnLimits{
		Max:      maxConns,
		PerAddr:  perAddr,
		Reserve:  max(maxConns/16, 2),
		Pressure: maxConns * 3 / 4,
	}
	for _, t := range trusted {
		if p, err := netip.ParsePrefix(t); err == nil {
			l.Trusted = append(l.Trusted, p.Masked())
		} else if a, err := netip.ParseAddr(t); err == nil {
			l.Trusted = append(l.Trusted, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		}
	}
	return l
}

// guardConns raises the open-file limit, derives the connection limits
// from it and cfg, and returns ls with every listener counted by one
// guard.
func guardConns(cfg config.Config, log *slog.Logger, ls []Listener) []Listener {
	nofile, err := raiseFileLimit()
	if err != nil {
		log.Warn("read the open-file limit", "err", err)
		nofile = 1024
	}
	limits := connLimitsFor(nofile, cfg.Limits.MaxConnsPerAddr, cfg.Server.Proxies())
	log.Info("connection limits", "open_files", nofile, "max_conns", limits.Max, "per_address", limits.PerAddr, "reserved_for_newcomers", limits.Reserve)
	var servers []*http.Server
	for _, l := range ls {
		servers = append(servers, l.Server)
	}
	g := newConnGuard(limits, log, servers...)
	out := make([]Listener, len(ls))
	for i, l := range ls {
		l.Listener = g.Listen(l.Listener)
		out[i] = l
	}
	return out
}

// connGuard counts the open connections of the box's listeners by
// address and applies ConnLimits to them.
type connGuard struct {
	limits ConnLimits
	log    *slog.Logger
	// servers are told to drop idle keep-alive connections under pressure.
	servers []*http.Server

	mu       sync.Mutex
	total    int
	byAddr   map[netip.Prefix]int
	pressure bool
	refused  int64
	// applyMu orders the changes of keep-alive, so the last reflects the
	// newest state.
	applyMu sync.Mutex
}

func newConnGuard(limits ConnLimits, log *slog.Logger, servers ...*http.Server) *connGuard {
	return &connGuard{limits: limits, log: log, servers: servers, byAddr: make(map[netip.Prefix]int)}
}

// Listen returns ln with its connections counted and limited by g.
func (g *connGuard) Listen(ln net.Listener) net.Listener { return &guardedListener{Listener: ln, g: g} }

// Open returns how many connections are open.
func (g *connGuard) Open() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.total
}

// addrKey is what connections from addr are counted under: the address,
// or its /64 for IPv6; ok is false for a trusted proxy.
func (g *connGuard) addrKey(addr net.Addr) (key netip.Prefix, counted bool) {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return netip.Prefix{}, false
	}
	a := ap.Addr().Unmap()
	for _, p := range g.limits.Trusted {
		if p.Contains(a) {
			return netip.Prefix{}, false
		}
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p, true
	}
	return netip.PrefixFrom(a, 32), true
}

// admit counts a new connection from key, or says it must be closed.
func (g *connGuard) admit(key netip.Prefix, counted bool) bool {
	g.mu.Lock()
	n := g.byAddr[key]
	ok := g.total < g.limits.Max
	if ok && counted {
		ok = n < g.limits.PerAddr && (g.total < g.limits.Max-g.limits.Reserve || n < newcomerConns)
	}
	if !ok {
		g.refused++
		g.mu.Unlock()
		return false
	}
	g.total++
	if counted {
		g.byAddr[key] = n + 1
	}
	changed := !g.pressure && g.total > g.limits.Pressure
	if changed {
		g.pressure = true
	}
	g.mu.Unlock()
	if changed {
		// Not here: closing idle connections holds the server's lock and
		// calls back into release.
		go g.applyPressure()
	}
	return true
}

// release forgets a closed connection from key.
func (g *connGuard) release(key netip.Prefix, counted bool) {
	g.mu.Lock()
	g.total--
	if counted {
		if n := g.byAddr[key] - 1; n > 0 {
			g.byAddr[key] = n
		} else {
			delete(g.byAddr, key)
		}
	}
	changed := g.pressure && g.total < g.limits.Pressure/2
	if changed {
		g.pressure = false
	}
	g.mu.Unlock()
	if changed {
		// Not here: closing idle connections holds the server's lock and
		// calls back into release.
		go g.applyPressure()
	}
}

// applyPressure turns keep-alive off (closing idle connections) or on
// again, as the newest state says.
func (g *connGuard) applyPressure() {
	g.applyMu.Lock()
	defer g.applyMu.Unlock()
	g.mu.Lock()
	on, open, refused := g.pressure, g.total, g.refused
	g.mu.Unlock()
	if on {
		g.log.Warn("many connections are open: idle ones are closed and keep-alive is off", "open", open, "max", g.limits.Max, "refused", refused)
	} else {
		g.log.Info("keep-alive is on again", "open", open)
	}
	for _, s := range g.servers {
		s.SetKeepAlivesEnabled(!on)
	}
}

type guardedListener struct {
	net.Listener
	g *connGuard
}

// Accept returns the next connection the limits admit, closing the ones
// they do not at once.
func (l *guardedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key, counted := l.g.addrKey(c.RemoteAddr())
		if !l.g.admit(key, counted) {
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetLinger(0) // a reset: no descriptor kept in TIME_WAIT
			}
			c.Close()
			continue
		}
		return &guardedConn{Conn: c, g: l.g, key: key, counted: counted}, nil
	}
}

// guardedConn is an admitted connection; closing it, whoever does (the
// HTTP server, the WebSocket), gives its place back.
type guardedConn struct {
	net.Conn
	g       *connGuard
	key     netip.Prefix
	counted bool
	once    sync.Once
}

func (c *guardedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.g.release(c.key, c.counted) })
	return err
}
