package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/chat"
)

// armored returns OpenPGP armor of n bytes: the longest text a room
// stores (room.max_pgp_length is 64 KiB).
func armored(n int, seq int) string {
	head, tail := chat.PGPBegin+"\n\n", "\n-----END PGP MESSAGE-----\n"
	body := strings.Repeat(fmt.Sprintf("%08d", seq), n/8+1)
	return head + body[:n-len(head)-len(tail)] + tail
}

// fill stores n messages of size bytes straight into the room (the box's
// own posts, which no budget holds back).
func (tr *testRoom) fill(t *testing.T, n, size int) {
	t.Helper()
	for i := range n {
		if _, err := tr.Post(context.Background(), chat.Sender{Nick: "alice"}, armored(size, i)); err != nil {
			t.Fatal(err)
		}
	}
}

// page gets one page of history and where the next one starts.
func (tr *testRoom) page(t *testing.T, query string) (msgs []chat.Message, res *http.Response, raw []byte) {
	t.Helper()
	res, raw = tr.do(t, "GET", "/api/messages?"+query, nil, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/messages?%s: %d %s", query, res.StatusCode, raw)
	}
	return decode[[]chat.Message](t, raw), res, raw
}

// An answer of history used to be every message asked for (up to 1000),
// built whole: 250 OpenPGP-sized messages made one 90 MB answer. A page is
// bounded in bytes now, and X-Next-After says where the next one starts.
func TestHistoryPagesAreBoundedInBytesAndFollowOn(t *testing.T) {
	tr := newTestRoom(t, nil)
	const n, size = 60, 60_000
	tr.fill(t, n, size)
	next, seen, pages := "0", 0, 0
	for next != "" {
		msgs, res, raw := tr.page(t, "after="+next+"&limit=1000")
		pages++
		if len(msgs) == 0 {
			t.Fatalf("page %d is empty though the one before said more follows", pages)
		}
		if len(raw) > chat.HistoryPageBytes+size+200 {
			t.Fatalf("a page of %d messages is %d bytes; want at most %d and one message", len(msgs), len(raw), chat.HistoryPageBytes)
		}
		for _, m := range msgs {
			seen++
			if m.ID != uint64(seen) {
				t.Fatalf("message %d of the history has id %d", seen, m.ID)
			}
		}
		next = res.Header.Get("X-Next-After")
		if next != "" && next != strconv.Itoa(seen) {
			t.Fatalf("X-Next-After is %s after message %d", next, seen)
		}
	}
	if seen != n || pages < 3 {
		t.Fatalf("read %d messages in %d pages, want %d in at least 3", seen, pages, n)
	}
}

// Scroll-back: before=ID reads older history, a page at a time, and
// X-Next-Before says where the older page ends.
func TestHistoryPagesBackWithBefore(t *testing.T) {
	tr := newTestRoom(t, nil)
	for i := range 12 {
		tr.post(t, "alice", fmt.Sprint("message ", i+1))
	}
	msgs, res, _ := tr.page(t, "limit=5")
	if len(msgs) != 5 || msgs[0].ID != 8 || msgs[4].ID != 12 || res.Header.Get("X-Next-Before") != "8" {
		t.Fatalf("the newest page is %d messages from %d, next before %q; want 8..12, next before 8", len(msgs), msgs[0].ID, res.Header.Get("X-Next-Before"))
	}
	var ids []uint64
	for before := "8"; before != ""; before = res.Header.Get("X-Next-Before") {
		msgs, res, _ = tr.page(t, "before="+before+"&limit=5")
		var page []uint64
		for _, m := range msgs {
			page = append(page, m.ID)
		}
		ids = append(page, ids...)
	}
	if fmt.Sprint(ids) != "[1 2 3 4 5 6 7]" {
		t.Fatalf("scrolling back gave %v, want 1..7 in order", ids)
	}
	for _, q := range []string{"after=3&before=9", "before=0", "before=x", "after=-1", "limit=0", "limit=1001"} {
		res, raw := tr.do(t, "GET", "/api/messages?"+q, nil, nil)
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("?%s: %d %s, want 400", q, res.StatusCode, raw)
		}
	}
}

// Reads are charged to the address's read budget.
func TestHistoryReadsOverTheBudgetAreRefused(t *testing.T) {
	tr := newTestRoom(t, func(o *testOptions) { o.ReadsPerMinute = 1 })
	tr.post(t, "alice", "hello")
	refused := 0
	for range 10 {
		res, raw := tr.do(t, "GET", "/api/messages?after=0", nil, nil)
		if res.StatusCode == http.StatusTooManyRequests {
			if res.Header.Get("Retry-After") == "" || !strings.Contains(string(raw), "too fast") {
				t.Fatalf("429 without Retry-After or a sentence: %s", raw)
			}
			refused++
			continue
		}
		if res.StatusCode != http.StatusOK || refused > 0 {
			t.Fatalf("read: %d %s after %d refusals", res.StatusCode, raw, refused)
		}
	}
	if refused != 5 {
		t.Fatalf("%d of 10 quick reads were refused, want 5 (a burst of 5)", refused)
	}
}

// Eight clients read 250 OpenPGP-sized messages (15 MB) at once, each
// following the pages to the end. Before pages, each answer was built
// whole and the server grew by hundreds of MB; the growth of the process's
// peak RSS is bounded now.
func TestConcurrentHistoryReadsStayBoundedInMemory(t *testing.T) {
	tr := newTestRoom(t, nil)
	const n, size, readers = 250, 60_000, 8
	tr.fill(t, n, size)
	readAll := func() (int64, error) {
		var total int64
		next := "0"
		for next != "" {
			res, err := tr.srv.Client().Get(tr.srv.URL + "/api/messages?limit=1000&after=" + next)
			if err != nil {
				return total, err
			}
			c, err := io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if err != nil || res.StatusCode != http.StatusOK {
				return total, fmt.Errorf("read history: %d %v", res.StatusCode, err)
			}
			total += c
			next = res.Header.Get("X-Next-After")
		}
		return total, nil
	}
	if _, err := readAll(); err != nil { // the store's pages are now resident
		t.Fatal(err)
	}
	runtime.GC()
	debug.FreeOSMemory()
	base := procStatus(t, "VmRSS")
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Skipf("cannot reset the peak RSS: %v", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, readers)
	var mu sync.Mutex
	var read int64
	start := time.Now()
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := readAll()
			mu.Lock()
			read += c
			mu.Unlock()
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	growth := procStatus(t, "VmHWM") - base
	if read < readers*n*size {
		t.Fatalf("the readers got %d bytes, want all %d messages each", read, n)
	}
	t.Logf("RELIABILITY history reads: %d readers × %d messages of %d bytes (%.0f MB sent in %v): peak RSS grew by %.1f MiB",
		readers, n, size, float64(read)/1e6, time.Since(start).Round(time.Millisecond), float64(growth)/(1<<20))
	const bound = 64 << 20
	if growth > bound {
		t.Fatalf("peak RSS grew by %d MiB under %d concurrent readers; want at most %d MiB", growth>>20, readers, bound>>20)
	}
}

// A room restarted during a destroy countdown resumes it, and its clients
// see it in GET /api/room.
func TestARestartedRoomShowsItsCountdown(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	opts := roomOptions(dir)
	opts.DestroyCountdown = time.Hour
	opts.Now = func() time.Time { return t0 }
	room, err := chat.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	at, err := room.Destroy("alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := room.Close(); err != nil {
		t.Fatal(err)
	}
	tr := newTestRoom(t, func(o *testOptions) {
		o.DataDir, o.DestroyCountdown = dir, time.Hour
		o.Now = func() time.Time { return t0.Add(time.Minute) }
	})
	res, raw := tr.do(t, "GET", "/api/room", nil, nil)
	var info struct {
		Exists    bool      `json:"exists"`
		DestroyAt time.Time `json:"destroy_at"`
	}
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&info); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/room: %d %s", res.StatusCode, raw)
	}
	if !info.Exists || !info.DestroyAt.Equal(at) {
		t.Fatalf("after a restart GET /api/room says %s; want the room with destroy_at %v", raw, at)
	}
}
