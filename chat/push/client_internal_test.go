package push

import (
	"errors"
	"net"
	"net/http"
	"testing"
)

// The default client reaches loopback only for a box that serves loopback
// alone (serve --dev), and a private network never.
func TestTheDefaultClientReachesLoopbackOnlyWhenAskedTo(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	dial := func(loopback bool, addr string) error {
		c, err := publicClient(loopback).Transport.(*http.Transport).DialContext(t.Context(), "tcp", addr)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial(false, ln.Addr().String()); !errors.Is(err, errPrivateAddress) {
		t.Errorf("without loopback, a dial to %s: %v", ln.Addr(), err)
	}
	if err := dial(true, ln.Addr().String()); err != nil {
		t.Errorf("with loopback, a dial to %s: %v", ln.Addr(), err)
	}
	// A private address is refused before any packet leaves.
	if err := dial(true, "10.0.0.1:443"); !errors.Is(err, errPrivateAddress) {
		t.Errorf("with loopback, a dial to 10.0.0.1: %v", err)
	}
}
