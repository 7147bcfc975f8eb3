package box

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatbox-dev/chatbox/config"
)

// guardedRoom serves a dev room on 127.0.0.1 behind a connGuard with
// limits and returns its address and guard.
func guardedRoom(t *testing.T, limits ConnLimits) (string, *connGuard) {
	t.Helper()
	cfg := config.Default()
	cfg.Server.DataDir = t.TempDir()
	log := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	room, web, err := openRoom(ctx, cfg, log, serving{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(web, log)
	g := newConnGuard(limits, log, srv)
	go srv.Serve(g.Listen(ln))
	t.Cleanup(func() {
		cancel()
		room.CloseClients()
		srv.Close()
		room.Close()
	})
	return ln.Addr().String(), g
}

// from returns a dialer whose connections come from the loopback address
// ip.
func from(ip string) *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
}

// keepAlive opens a connection from d, asks for /healthz on it and
// leaves it open and idle; it returns nil when the server closed it.
func keepAlive(t *testing.T, d *net.Dialer, addr string) net.Conn {
	t.Helper()
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil // reset at once: refused before connect returned
	}
	fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: box\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		c.Close() // refused: closed at once
		return nil
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz: %d", res.StatusCode)
	}
	return c
}

// openFiles counts this process's open descriptors.
func openFiles(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd here")
	}
	return len(fds)
}

// reachable checks that the address ip still gets /healthz and a
// WebSocket.
func reachable(t *testing.T, addr, ip string) {
	t.Helper()
	d := from(ip)
	client := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}, Timeout: 5 * time.Second}
	res, err := client.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz from %s: %v", ip, err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz from %s: %d", ip, res.StatusCode)
	}
	ws := websocket.Dialer{NetDialContext: d.DialContext, HandshakeTimeout: 5 * time.Second}
	conn, _, err := ws.Dial("ws://"+addr+"/ws?nick=bob", nil)
	if err != nil {
		t.Fatalf("WebSocket from %s: %v", ip, err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := conn.ReadMessage(); err != nil {
		t.Fatalf("WebSocket from %s: no first event: %v", ip, err)
	}
	conn.Close()
}

// TestIdleConnectionsFromOneAddressAreCapped opens 1,000 idle keep-alive
// connections from 127.0.0.1 against a per-address cap of 20: the
// process's descriptors must grow by no more than the cap (each admitted
// connection holds two here, the client's and the server's), and
// 127.0.0.2 still gets /healthz and a WebSocket. Before the cap every one
// was kept: 2,000 descriptors, and with the box's 20,000 two addresses
// filled them.
func TestIdleConnectionsFromOneAddressAreCapped(t *testing.T) {
	const perAddr, attempts, margin = 20, 1000, 16
	addr, g := guardedRoom(t, ConnLimits{Max: 10000, PerAddr: perAddr, Reserve: 100, Pressure: 9000})
	before := openFiles(t)
	d := from("127.0.0.1")
	var kept []net.Conn
	for range attempts {
		if c := keepAlive(t, d, addr); c != nil {
			kept = append(kept, c)
		}
	}
	defer func() {
		for _, c := range kept {
			c.Close()
		}
	}()
	grew := openFiles(t) - before
	t.Logf("RELIABILITY %d idle keep-alive connections tried from one address, cap %d: %d kept, %d open on the server, descriptors grew by %d",
		attempts, perAddr, len(kept), g.Open(), grew)
	if len(kept) != perAddr || g.Open() != perAddr {
		t.Errorf("%d connections kept and %d open on the server, want the cap %d", len(kept), g.Open(), perAddr)
	}
	if grew > 2*perAddr+margin {
		t.Errorf("descriptors grew by %d, want at most %d", grew, 2*perAddr+margin)
	}
	reachable(t, addr, "127.0.0.2")
}

// TestIdleConnectionsAreClosedUnderPressure fills a box whose total is
// 60 connections from one address (no per-address cap in the way): past
// the pressure mark, idle keep-alive connections are closed and
// keep-alive turned off until the count halves, and the reserve lets a new address in even
// when the rest are taken.
func TestIdleConnectionsAreClosedUnderPressure(t *testing.T) {
	const total = 60
	addr, g := guardedRoom(t, ConnLimits{Max: total, PerAddr: 1000, Reserve: 8, Pressure: 40})
	d := from("127.0.0.1")
	var idle []net.Conn
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	for range total {
		if c := keepAlive(t, d, addr); c != nil {
			idle = append(idle, c)
		}
	}
	// Past the mark the server closes the idle ones (and lets them build
	// up again once under half of it): poll until it is under the mark.
	// Without it one address would hold the total less the reserve, 52.
	deadline := time.Now().Add(10 * time.Second)
	for g.Open() > 40 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still open under pressure", g.Open())
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("RELIABILITY %d idle keep-alive connections against a total of %d (pressure at 40): the server kept %d open", len(idle), total, g.Open())
	reachable(t, addr, "127.0.0.2")
}

// TestReserveKeepsRoomForNewcomers holds connections that never send a
// request (so no pressure can close them yet) from one address up to
// the total minus the reserve: that address gets no more, and a new one
// still gets /healthz and a WebSocket.
func TestReserveKeepsRoomForNewcomers(t *testing.T) {
	const total, reserve = 40, 8
	addr, g := guardedRoom(t, ConnLimits{Max: total, PerAddr: 1000, Reserve: reserve, Pressure: 1000})
	d := from("127.0.0.1")
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range total {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			continue // reset at once: refused before connect returned
		}
		held = append(held, c)
	}
	deadline := time.Now().Add(10 * time.Second)
	for g.Open() < total-reserve {
		if time.Now().After(deadline) {
			t.Fatalf("%d open, want %d", g.Open(), total-reserve)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := g.Open(); n != total-reserve {
		t.Fatalf("one address holds %d connections, want %d (the total less the reserve)", n, total-reserve)
	}
	reachable(t, addr, "127.0.0.2")
}

func TestConnLimitsComeFromTheFileLimit(t *testing.T) {
	for _, tt := range []struct {
		nofile  uint64
		wantMax int
	}{
		{1024, 864},
		{65536, 57312},
		{10, 16},
	} {
		l := connLimitsFor(tt.nofile, 200, []string{"10.0.0.0/8", "192.0.2.1"})
		if l.Max != tt.wantMax || l.Reserve < 2 || l.Pressure >= l.Max || len(l.Trusted) != 2 {
			t.Errorf("limits for %d open files: %+v, want Max %d", tt.nofile, l, tt.wantMax)
		}
	}
}
