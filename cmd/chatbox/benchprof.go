//go:build benchprof

// Built only with -tags benchprof, for bench/run.sh's profiles: with
// CHATBOX_PPROF=127.0.0.1:PORT in its environment the server serves
// net/http/pprof there (loopback only) and records blocking events, so
// `go tool pprof` and `curl .../debug/pprof/trace` can look inside it
// under load. A release binary has none of this.

package main

import (
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"net/netip"
	"os"
	"runtime"
)

func init() {
	addr := os.Getenv("CHATBOX_PPROF")
	if addr == "" {
		return
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().IsLoopback() {
		fmt.Fprintf(os.Stderr, "CHATBOX_PPROF=%s is not a loopback address and port; no profiles\n", addr)
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "profiles: %v\n", err)
		return
	}
	// One event per 10 µs of blocking: enough to see the writers wait,
	// cheap enough not to change what is measured.
	runtime.SetBlockProfileRate(10_000)
	runtime.SetMutexProfileFraction(100)
	go http.Serve(ln, http.DefaultServeMux)
}
