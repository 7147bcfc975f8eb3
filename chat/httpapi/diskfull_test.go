package httpapi

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/internal/testpics"
)

// mountTinyDisk mounts a tmpfs of the given size (like "3m") for the test:
// a real filesystem that really runs out of space.
func mountTinyDisk(t *testing.T, size string) string {
	t.Helper()
	requireE2E(t)
	if os.Geteuid() != 0 {
		t.Fatal("CHATBOX_E2E=1 but the disk-full test needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a %s tmpfs: %v %s", size, err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// TestFullDiskRefusesWritesAndKeepsHistory fills the data filesystem:
// posts and uploads get 507, history is still served, and once space
// returns everything stored before is intact and posting works again.
func TestFullDiskRefusesWritesAndKeepsHistory(t *testing.T) {
	disk := mountTinyDisk(t, "4m")
	ballast := filepath.Join(disk, "ballast")
	if err := os.WriteFile(ballast, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(disk, "data")
	open := func() *testRoom {
		opts := roomOptions(data)
		opts.PostsPerMinute, opts.MaxMessageLength, opts.MaxPGPLength = 1<<20, 30000, 30000
		room, err := chat.Open(context.Background(), opts)
		if err != nil {
			t.Fatalf("open the room on the small disk: %v", err)
		}
		web := New(context.Background(), room, Options{})
		srv := httptest.NewServer(web)
		return &testRoom{Room: room, web: web, srv: srv, dir: data}
	}
	tr := open()

	text := strings.Repeat("x", 29000)
	var acked []chat.Message
	full := false
	for i := 0; i < 400 && !full; i++ {
		res, raw := tr.do(t, "POST", "/api/messages", map[string]string{"nick": "a", "text": text + string(rune('a'+i%26))}, nil)
		switch res.StatusCode {
		case 201:
			acked = append(acked, decode[chat.Message](t, raw))
		case 507:
			full = true
			if !strings.Contains(string(raw), "disk is full") {
				t.Fatalf("507 without saying why: %s", raw)
			}
		default:
			t.Fatalf("post %d: %d %s", i, res.StatusCode, raw)
		}
	}
	if !full {
		t.Fatal("the disk never filled up")
	}
	t.Logf("RELIABILITY diskfull: %d posts acknowledged before the disk was full, then 507", len(acked))

	res, raw := tr.do(t, "GET", "/healthz", nil, nil)
	if res.StatusCode != 200 {
		t.Fatalf("healthz on a full disk: %d %s", res.StatusCode, raw)
	}
	if h := tr.history(t, nil); len(h) != len(acked) {
		t.Fatalf("history on a full disk has %d messages, want %d", len(h), len(acked))
	}
	up, _ := tr.shareFile(t, "alice", "holiday.png", testpics.PNG(40, 30), nil)
	if up.StatusCode != 507 && up.StatusCode != 413 {
		t.Fatalf("upload on a full disk: %d, want 507", up.StatusCode)
	}

	// Space returns.
	os.Remove(ballast)
	tr.post(t, "a", "space is back")
	tr.srv.Close()
	tr.Close()

	tr = open()
	defer func() { tr.srv.Close(); tr.Close() }()
	h := tr.history(t, nil)
	if len(h) != len(acked)+1 {
		t.Fatalf("after reopening: %d messages, want %d", len(h), len(acked)+1)
	}
	for i, m := range acked {
		if h[i].ID != m.ID || h[i].Text != m.Text {
			t.Fatalf("message %d changed after the disk was full", m.ID)
		}
	}
}
