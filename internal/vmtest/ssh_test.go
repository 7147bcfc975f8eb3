//go:build linux

package vmtest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"testing"

	"golang.org/x/crypto/ssh"
)

// run returns all a command wrote, on both streams, every time. The
// server here writes to stdout and then to stderr and ends the channel,
// as sshd does for `cat FILE` or `echo x >&2`. With one bytes.Buffer as
// both writers, the stream that ended last truncated the other's output:
// most answers came back empty, with exit status 0.
func TestRunReturnsAllACommandWrote(t *testing.T) {
	_, hostPriv, _ := ed25519.GenerateKey(rand.Reader)
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{NoClientAuth: true}
	cfg.AddHostKey(hostSigner)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go serveExec(conn, cfg)
		}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cc, chans, reqs, err := ssh.NewClientConn(conn, ln.Addr().String(), &ssh.ClientConfig{User: "root", HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	if err != nil {
		t.Fatal(err)
	}
	c := ssh.NewClient(cc, chans, reqs)
	defer c.Close()
	for i := range 200 {
		out, err := run(context.Background(), c, "anything")
		if err != nil {
			t.Fatal(err)
		}
		// The two streams are copied apart, so either may come first.
		if out != "to stdout\nto stderr" && out != "to stderr\nto stdout" {
			t.Fatalf("run %d returned %q, want both lines", i, out)
		}
	}
}

// serveExec answers every exec request on conn with a line on stdout, a
// line on stderr and exit status 0.
func serveExec(conn net.Conn, cfg *ssh.ServerConfig) {
	_, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		go func() {
			for req := range creqs {
				if req.Type != "exec" {
					req.Reply(false, nil)
					continue
				}
				req.Reply(true, nil)
				ch.Write([]byte("to stdout\n"))
				ch.Stderr().Write([]byte("to stderr\n"))
				ch.CloseWrite()
				ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{0}))
				ch.Close()
			}
		}()
	}
}
