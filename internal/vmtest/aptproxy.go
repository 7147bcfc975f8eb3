//go:build linux

package vmtest

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// AptProxy is an apt-cacher-ng of the test's own, on host loopback, whose
// store is kept in the cache so that a second run downloads nothing.
type AptProxy struct {
	// Port is its port on 127.0.0.1.
	Port int

	cmd    *exec.Cmd
	lock   *os.File
	exited chan struct{}
}

// StartAptProxy starts apt-cacher-ng with its store under dir. It holds an
// exclusive lock on dir while it runs, so that the VM tests of different
// packages (and their machines) run one at a time.
func StartAptProxy(ctx context.Context, dir string) (*AptProxy, error) {
	for _, d := range []string{"cache", "log", "conf", "run"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := flockCtx(ctx, lock); err != nil {
		lock.Close()
		return nil, fmt.Errorf("wait for the other VM tests to finish (lock %s): %w", lock.Name(), err)
	}
	port, err := lowFreePort()
	if err != nil {
		lock.Close()
		return nil, err
	}
	// Only the settings the tests need: no remapping, so a request for
	// http://<mirror>/debian/... goes to that mirror as the host's apt would.
	conf := strings.Join([]string{
		"CacheDir: " + filepath.Join(dir, "cache"),
		"LogDir: " + filepath.Join(dir, "log"),
		"SupportDir: /usr/lib/apt-cacher-ng",
		fmt.Sprintf("Port: %d", port),
		"BindAddress: 127.0.0.1",
		"PidFile: " + filepath.Join(dir, "run", "pid"),
		"SocketPath: " + filepath.Join(dir, "run", "socket"),
		"ForeGround: 1",
		"ExThreshold: 0",
		"",
	}, "\n")
	if err := os.WriteFile(filepath.Join(dir, "conf", "acng.conf"), []byte(conf), 0o644); err != nil {
		lock.Close()
		return nil, err
	}
	out, err := os.Create(filepath.Join(dir, "log", "stdout"))
	if err != nil {
		lock.Close()
		return nil, err
	}
	defer out.Close()
	cmd := exec.Command("apt-cacher-ng", "-c", filepath.Join(dir, "conf"))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lock.Close()
		return nil, fmt.Errorf("start apt-cacher-ng: %w", err)
	}
	p := &AptProxy{Port: port, cmd: cmd, lock: lock, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(p.exited) }()
	err = WaitFor(ctx, "apt-cacher-ng to listen", 20*time.Second, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		select {
		case <-p.exited:
			log, _ := os.ReadFile(out.Name())
			return false, fmt.Errorf("apt-cacher-ng exited: %s", log)
		default:
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err != nil {
			return false, err
		}
		c.Close()
		return true, nil
	})
	if err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

// lowFreePort returns a free port below 32768: apt-cacher-ng 3.7 fails
// to bind higher ones ("Error resolving address for binding").
func lowFreePort() (int, error) {
	var err error
	for range 50 {
		port := 10000 + mrand.IntN(22000)
		var l net.Listener
		if l, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			l.Close()
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free port for apt-cacher-ng: %w", err)
}

// URL returns the proxy's address for the archive at mirror, in the form
// debootstrap takes: http://127.0.0.1:port/host/path.
func (p *AptProxy) URL(mirror string) string {
	return fmt.Sprintf("http://127.0.0.1:%d/%s", p.Port, strings.TrimPrefix(mirror, "http://"))
}

// Stop ends the proxy and releases its lock.
func (p *AptProxy) Stop() {
	p.cmd.Process.Kill()
	<-p.exited
	p.lock.Close()
}

// flockCtx takes an exclusive lock on f, giving up when ctx ends.
func flockCtx(ctx context.Context, f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if err != syscall.EWOULDBLOCK {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
