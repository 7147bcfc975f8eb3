package box

import (
	"bytes"
	"context"
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
)

func TestJournalHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(newJournalHandler(&buf))
	log.With("box", "chat.example.com").WithGroup("tls").Info("certificate obtained", "issuer", "acme")
	log.Error("could not get a certificate", "err", "timeout")
	log.Debug("not shown")
	want := "<6>level=INFO msg=\"certificate obtained\" box=chat.example.com tls.issuer=acme\n" +
		"<3>level=ERROR msg=\"could not get a certificate\" err=timeout\n"
	if buf.String() != want {
		t.Errorf("journal lines:\n%s\nwant:\n%s", buf.String(), want)
	}
}

// countingWriter counts the lines written to it.
type countingWriter struct{ lines atomic.Int32 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.lines.Add(int32(bytes.Count(p, []byte("\n"))))
	return len(p), nil
}

func TestWatchdogPingsOnlyWhileTheRoomAnswers(t *testing.T) {
	dir, err := os.MkdirTemp("", "wd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "40000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))

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
		runWatchdog(ctx, slog.New(slog.NewTextHandler(warnings, nil)), health)
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
