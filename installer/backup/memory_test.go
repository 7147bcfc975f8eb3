package backup

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/chat/datadir"
)

// statusKiB reads a field of /proc/self/status, in KiB.
func statusKiB(t *testing.T, field string) int64 {
	t.Helper()
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status here: %v", err)
	}
	for line := range strings.Lines(string(raw)) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// TestBackupMemoryDoesNotGrowWithTheFiles backs up a data directory with
// 50 MiB of uploads (CHATBOX_BACKUP_MIB and CHATBOX_BACKUP_MESSAGES set
// other sizes) and bounds the growth of the process's peak RSS.
func TestBackupMemoryDoesNotGrowWithTheFiles(t *testing.T) {
	mib := envInt(t, "CHATBOX_BACKUP_MIB", 50)
	messages := envInt(t, "CHATBOX_BACKUP_MESSAGES", 1000)
	const bound = 20 << 10 // KiB
	dir := t.TempDir()
	store, err := chat.OpenStore(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := store.UpdateRoom(func(st *chat.RoomState) error { st.Exists = true; return nil }); err != nil {
		t.Fatal(err)
	}
	text := strings.Repeat("a message of some length ", 8)
	for i := range messages {
		if _, err := store.Append(t.Context(), chat.Message{Nick: "ann", Text: fmt.Sprint(i, text)}); err != nil {
			t.Fatal(err)
		}
	}
	// The uploads: 1 MiB files of random (incompressible) bytes, streamed
	// to disk so that making them does not raise the peak.
	// One file is half of them, so that holding a whole file in memory
	// would break the bound as surely as holding the archive.
	rng := rand.NewChaCha8([32]byte{7})
	for i := range mib/2 + 1 {
		size := int64(1 << 20)
		if i == 0 {
			size = int64(mib-mib/2) << 20
		}
		d := filepath.Join(dir, "files", fmt.Sprintf("f%04d", i))
		os.MkdirAll(d, 0o750)
		f, err := os.Create(filepath.Join(d, "original"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.CopyN(f, rng, size); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	out, err := os.Create(filepath.Join(t.TempDir(), "box.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()

	runtime.GC()
	debug.FreeOSMemory()
	// Writing 5 to clear_refs resets the peak (VmHWM) to the RSS now.
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Skipf("cannot reset the peak RSS here: %v", err)
	}
	base := statusKiB(t, "VmHWM")
	start := time.Now()
	m, err := Write(t.Context(), out, Source{
		Snapshot: func(context.Context) (io.ReadCloser, int64, error) {
			// As the service does: the copy goes to a file first.
			f, err := os.CreateTemp(t.TempDir(), "snapshot")
			if err != nil {
				return nil, 0, err
			}
			n, err := store.WriteSnapshot(f)
			if err == nil {
				_, err = f.Seek(0, io.SeekStart)
			}
			return f, n, err
		},
		Layout:  datadir.Layout{Dir: dir},
		Version: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	peak := statusKiB(t, "VmHWM")
	fi, _ := out.Stat()
	t.Logf("backed up %d messages and %d MiB of files (%d entries, %d bytes, archive %d bytes) in %v: peak RSS grew by %d KiB (from %d KiB)",
		messages, mib, len(m.Entries), m.Size(), fi.Size(), took.Round(time.Millisecond), peak-base, base)
	if peak-base > bound {
		t.Errorf("peak RSS grew by %d KiB backing up %d MiB; want under %d KiB", peak-base, mib, bound)
	}

	// Reading it back to verify is bounded the same way.
	runtime.GC()
	debug.FreeOSMemory()
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	base = statusKiB(t, "VmHWM")
	start = time.Now()
	if _, err := VerifyFile(out.Name()); err != nil {
		t.Fatal(err)
	}
	took = time.Since(start)
	peak = statusKiB(t, "VmHWM")
	t.Logf("verifying it took %v: peak RSS grew by %d KiB", took.Round(time.Millisecond), peak-base)
	if peak-base > bound {
		t.Errorf("peak RSS grew by %d KiB verifying %d MiB; want under %d KiB", peak-base, mib, bound)
	}
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return n
}
