package box_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/box"
)

// fakeSystemd points NOTIFY_SOCKET at a unixgram socket it returns, and
// sets a watchdog of the given interval for this process.
func fakeSystemd(t *testing.T, watchdog time.Duration) *net.UnixConn {
	t.Helper()
	// A unix socket path must stay short (108 bytes), shorter than
	// t.TempDir() makes it.
	dir, err := os.MkdirTemp("", "sd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", strconv.FormatInt(watchdog.Microseconds(), 10))
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	return conn
}

// TestRunTalksToSystemd runs the box as systemd would, with NOTIFY_SOCKET
// pointing at a socket the test reads, and a watchdog.
func TestRunTalksToSystemd(t *testing.T) {
	conn := fakeSystemd(t, 200*time.Millisecond)

	p := freePorts(t)
	// No CA answers: issuance fails in the background, which must not
	// hold readiness back.
	cfg := boxConfig(t, p, fmt.Sprintf("https://127.0.0.1:%d/dir", freePort(t)), "")
	cfg.Server.Domain = testDomain
	logs := newLogBuffer(t, "box")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- box.Run(ctx, cfg, logs) }()

	next := func(within time.Duration) string {
		t.Helper()
		buf := make([]byte, 4096)
		conn.SetReadDeadline(time.Now().Add(within))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no message from the box on NOTIFY_SOCKET within %v: %v", within, err)
		}
		return string(buf[:n])
	}

	if msg := next(10 * time.Second); msg != "READY=1" {
		t.Fatalf("first message = %q, want READY=1", msg)
	}
	for _, u := range []struct{ addr, url string }{
		{fmt.Sprintf("127.0.0.1:%d", p.http), fmt.Sprintf("http://127.0.0.1:%d/healthz", p.http)},
		{fmt.Sprintf("127.0.0.1:%d", p.https), fmt.Sprintf("https://127.0.0.1:%d/healthz", p.https)},
	} {
		resp, _, err := get(client(u.addr, nil, true), u.url)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("right after READY=1, GET %s = %v, %v; want 200", u.url, resp, err)
		}
	}
	if msg := next(2 * time.Second); msg != "WATCHDOG=1" {
		t.Fatalf("message after READY=1 = %q, want WATCHDOG=1", msg)
	}

	cancel()
	for {
		msg := next(10 * time.Second)
		if msg == "STOPPING=1" {
			break
		}
		if msg != "WATCHDOG=1" {
			t.Fatalf("message while stopping = %q, want STOPPING=1", msg)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("box.Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("box.Run did not return within 20s after its context ended")
	}
}

// countingWriter counts the lines written to it.
type countingWriter struct{ lines atomic.Int32 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.lines.Add(int32(bytes.Count(p, []byte("\n"))))
	return len(p), nil
}

func TestWatchdogPingsOnlyWhileTheRoomAnswers(t *testing.T) {
	conn := fakeSystemd(t, 40*time.Millisecond)

	var healthy atomic.Bool
	health := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	warnings := &countingWriter{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		box.RunWatchdog(ctx, slog.New(slog.NewTextHandler(warnings, nil)), health)
		close(done)
	}()
	defer func() { cancel(); <-done }()

	// Wait until the watchdog has checked an unhealthy room three times.
	deadline := time.Now().Add(5 * time.Second)
	for warnings.lines.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatal("the watchdog did not check the room's health")
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 64)
	conn.SetReadDeadline(time.Now().Add(time.Millisecond))
	if n, err := conn.Read(buf); err == nil {
		t.Fatalf("the watchdog sent %q while the room did not answer", buf[:n])
	}

	healthy.Store(true)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := conn.Read(buf)
	if err != nil || !strings.Contains(string(buf[:n]), "WATCHDOG=1") {
		t.Fatalf("once the room answers, the watchdog sent %q, %v; want WATCHDOG=1", buf[:n], err)
	}
}
