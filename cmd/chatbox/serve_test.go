package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// buildChatbox builds the chatbox binary once per test binary run.
func buildChatbox(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "chatbox")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build chatbox: %v\n%s", err, out)
	}
	return bin
}

// devServer is a `chatbox serve --dev` process.
type devServer struct {
	cmd *exec.Cmd
	url string
}

var servingLine = regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+)/`)

// startDev starts `chatbox serve --dev` (with extra arguments) on a free
// port and waits until it says where it listens.
func startDev(t *testing.T, bin, dataDir string, extra ...string) *devServer {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--dev", "--listen", "127.0.0.1:0", "--data", dataDir}, extra...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found := make(chan string, 1)
	ended := make(chan string, 1) // what it said, when it ended before serving
	go func() {
		var said strings.Builder
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				io.Copy(io.Discard, stderr)
				return
			}
			said.WriteString(sc.Text() + "\n")
		}
		ended <- said.String()
	}()
	select {
	case url := <-found:
		return &devServer{cmd: cmd, url: url}
	case said := <-ended:
		t.Fatalf("chatbox serve --dev ended before serving:\n%s", said)
		return nil
	case <-time.After(20 * time.Second):
		t.Fatal("chatbox serve --dev did not start within 20s")
		return nil
	}
}

type acked struct {
	ID   uint64 `json:"id"`
	Text string `json:"text"`
}

// TestKilledServerKeepsEveryAcknowledgedMessage posts from several
// writers, kills the server with SIGKILL in the middle of the burst,
// restarts it on the same data, and checks that every message that got a
// 201 is in history with its text.
func TestKilledServerKeepsEveryAcknowledgedMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	bin := buildChatbox(t)
	data := t.TempDir()
	srv := startDev(t, bin, data)

	var mu sync.Mutex
	var acks []acked
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each writer posts from its own loopback address, as separate
			// people would, so the per-address post limit does not throttle
			// the burst.
			client := loadClient(2 + w)
			for i := 0; ctx.Err() == nil; i++ {
				res, raw, err := postJSON(ctx, client, srv.url+"/api/messages",
					map[string]string{"nick": fmt.Sprintf("w%d", w), "text": fmt.Sprintf("writer %d message %d", w, i)})
				if err != nil {
					return // the server is gone
				}
				if res.StatusCode != http.StatusCreated {
					continue
				}
				var a acked
				if json.Unmarshal(raw, &a) == nil {
					mu.Lock()
					acks = append(acks, a)
					mu.Unlock()
				}
			}
		}()
	}
	// Kill once a good number of posts were acknowledged.
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(acks)
		mu.Unlock()
		if n >= 100 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.cmd.Wait()
	cancel()
	wg.Wait()
	if len(acks) == 0 {
		t.Fatal("no post was acknowledged before the kill")
	}

	srv = startDev(t, bin, data)
	var stored []acked
	getJSON(t, srv.url+"/api/messages?after=0&limit=1000", &stored)
	byID := map[uint64]string{}
	for _, m := range stored {
		byID[m.ID] = m.Text
	}
	for _, a := range acks {
		if got, ok := byID[a.ID]; !ok || got != a.Text {
			t.Fatalf("acknowledged message %d %q is missing after SIGKILL (found %q)", a.ID, a.Text, got)
		}
	}
	t.Logf("%d messages acknowledged before SIGKILL, all %d found after restart (%d stored)", len(acks), len(acks), len(stored))
	if _, err := os.Stat(filepath.Join(data, "messages.db")); err != nil {
		t.Fatal(err)
	}
}

// TestSIGTERMShutsDownGracefully connects a WebSocket client, sends the
// server SIGTERM, and expects a "going away" close frame and a clean exit.
func TestSIGTERMShutsDownGracefully(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	bin := buildChatbox(t)
	srv := startDev(t, bin, t.TempDir())
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.url, "http")+"/ws?nick=alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, _, err := conn.ReadMessage(); err != nil { // the welcome
		t.Fatal(err)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err = conn.ReadMessage()
		if err != nil {
			break
		}
	}
	var closeErr *websocket.CloseError
	if !errors.As(err, &closeErr) || closeErr.Code != websocket.CloseGoingAway {
		t.Fatalf("the client got %v, want close 1001", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM, want 0", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not exit within 15 s of SIGTERM")
	}
}

// The service's own failures speak to the box's owner: a typo names the
// file and the key and says how to restart, a missing config says how to
// set the box up; neither sends a service to --dev.
func TestServeSaysHowToFixItsConfig(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(bad, []byte("[room]\nmax_message_lenght = 5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, "serve", "--config", bad)
	for _, want := range []string{bad, "max_message_lenght", "systemctl restart chatbox"} {
		if code == 0 || !strings.Contains(errOut, want) {
			t.Errorf("serve with a typo: exit %d, %q; want it to name %q", code, errOut, want)
		}
	}
	if strings.Contains(errOut, "--dev") {
		t.Errorf("serve with a typo sends the owner to --dev: %q", errOut)
	}
	code, _, errOut = runCLI(t, "serve", "--config", filepath.Join(dir, "none.toml"))
	if code == 0 || !strings.Contains(errOut, "chatbox install") {
		t.Errorf("serve without a config: exit %d, %q; want it to point at chatbox install", code, errOut)
	}
}
