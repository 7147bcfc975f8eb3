//go:build linux

package vmtest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// sshKey is the key every machine of an Env accepts for root.
type sshKey struct {
	signer     ssh.Signer
	authorized string
}

func newSSHKey() (*sshKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, err
	}
	return &sshKey{signer: signer, authorized: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " chatbox-vmtest"}, nil
}

// dialSSH opens an SSH connection to root on host loopback's port.
func (k *sshKey) dial(ctx context.Context, port int) (*ssh.Client, error) {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	// The handshake of a guest still booting under emulation can stall;
	// the deadline bounds it.
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	cc, chans, reqs, err := ssh.NewClientConn(conn, addr, &ssh.ClientConfig{
		User: "root",
		Auth: []ssh.AuthMethod{ssh.PublicKeys(k.signer)},
		// Every machine is new and reached over host loopback through
		// QEMU's forward; there is no host key to know in advance.
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Timeout:         30 * time.Second,
	})
	if err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	c := ssh.NewClient(cc, chans, reqs)
	go keepAlive(c, conn)
	return c, nil
}

// keepAlive closes conn when the guest's sshd stops answering, so that
// nothing waits forever on a connection a reboot or a power cut took
// away: QEMU's forward keeps the host's side open, and without traffic
// nothing would ever say the other side is gone.
func keepAlive(c *ssh.Client, conn net.Conn) {
	const every, patience = 10 * time.Second, time.Minute
	closed := make(chan struct{})
	go func() {
		c.Wait()
		close(closed)
	}()
	for {
		select {
		case <-closed:
			return
		case <-time.After(every):
		}
		answered := make(chan error, 1)
		go func() {
			// sshd answers an unknown request with a failure: an answer.
			_, _, err := c.SendRequest("keepalive@chatbox-vmtest", true, nil)
			answered <- err
		}()
		select {
		case <-closed:
			return
		case err := <-answered:
			if err != nil {
				conn.Close()
				return
			}
		case <-time.After(patience):
			conn.Close()
			return
		}
	}
}

// run runs cmd (a shell command line) in a new session and returns its
// combined output, trimmed. It gives up when ctx ends.
func run(ctx context.Context, c *ssh.Client, cmd string) (string, error) {
	s, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	// One writer for both streams, safe for the two goroutines that copy
	// them: a bytes.Buffer given as both is read into by both at once,
	// and the stream that ends last truncates what the other wrote (the
	// empty answers, with exit 0, that made a reboot wait forever).
	var out SyncBuffer
	s.Stdout, s.Stderr = &out, &out
	done := make(chan error, 1)
	go func() { done <- s.Run(cmd) }()
	select {
	case err := <-done:
		return strings.TrimSpace(out.String()), err
	case <-ctx.Done():
		s.Close()
		return strings.TrimSpace(out.String()), fmt.Errorf("%q: %w", cmd, ctx.Err())
	}
}
