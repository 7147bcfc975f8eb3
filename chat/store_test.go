package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func openTestStore(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := OpenStore(context.Background(), dir)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	if _, err := s.UpdateRoom(func(st *RoomState) error { st.Exists = true; return nil }); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStoreKeepsMessagesAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Append(ctx, Message{Nick: "a", Text: fmt.Sprint(i), Kind: KindText}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir)
	defer s.Close()
	msgs, err := s.List(0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 50 {
		t.Fatalf("got %d messages after reopening, want 50", len(msgs))
	}
	seen := map[string]bool{}
	for i, m := range msgs {
		if m.ID != uint64(i+1) {
			t.Fatalf("message %d has id %d; ids must be 1..50 in order", i, m.ID)
		}
		seen[m.Text] = true
	}
	if len(seen) != 50 {
		t.Fatalf("got %d distinct texts, want 50", len(seen))
	}
}

func TestStoreListPages(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	defer s.Close()
	for i := range 10 {
		if _, err := s.Append(context.Background(), Message{Nick: "a", Text: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name         string
		after        int64
		limit        int
		first, count int
	}{
		{"after 0 starts at the oldest", 0, 3, 1, 3},
		{"after an id continues from there", 7, 100, 8, 3},
		{"after the last id is empty", 10, 5, 0, 0},
		{"without after it gives the newest, oldest first", -1, 4, 7, 4},
		{"without after and a large limit it gives all", -1, 100, 1, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, err := s.List(tt.after, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != tt.count {
				t.Fatalf("got %d messages, want %d", len(msgs), tt.count)
			}
			for i, m := range msgs {
				if m.ID != uint64(tt.first+i) {
					t.Fatalf("message %d has id %d, want %d", i, m.ID, tt.first+i)
				}
			}
		})
	}
}

func TestStorePruneAppliesRetention(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	defer s.Close()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10 {
		if _, err := s.Append(context.Background(), Message{TS: base.Add(time.Duration(i) * time.Hour), Nick: "a", Text: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	deleted, err := s.Prune(8, time.Time{})
	if err != nil || len(deleted) != 2 {
		t.Fatalf("keep 8 of 10 deleted %d (%v), want 2", len(deleted), err)
	}
	deleted, err = s.Prune(0, base.Add(5*time.Hour))
	if err != nil || len(deleted) != 3 {
		t.Fatalf("age pruning deleted %d (%v), want 3 (hours 2, 3 and 4)", len(deleted), err)
	}
	msgs, _ := s.List(0, 100)
	if len(msgs) != 5 || msgs[0].ID != 6 {
		t.Fatalf("left %d messages starting at %d, want 5 starting at 6", len(msgs), msgs[0].ID)
	}
}

func TestStoreWipeKeepsIDsGoingUp(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	defer s.Close()
	for range 3 {
		s.Append(context.Background(), Message{Nick: "a", Text: "x"})
	}
	st, err := s.Wipe("bob", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st.Exists || st.DestroyedBy != "bob" || st.LastID != 3 {
		t.Fatalf("after wipe the room is %+v", st)
	}
	if _, err := s.Append(context.Background(), Message{Nick: "a", Text: "x"}); err != errNoRoom {
		t.Fatalf("append to a destroyed room: %v, want errNoRoom", err)
	}
	s.UpdateRoom(func(st *RoomState) error { st.Exists = true; return nil })
	m, err := s.Append(context.Background(), Message{Nick: "a", Text: "x"})
	if err != nil || m.ID != 4 {
		t.Fatalf("first message of the new room has id %d (%v), want 4", m.ID, err)
	}
	if n, _ := s.MessageCount(); n != 1 {
		t.Fatalf("%d messages after wipe and one post, want 1", n)
	}
}

// A store opened as its context ends is closed again, not handed back
// beside the error: the next open must not find the file locked.
func TestOpenStoreWithAnEndedContextLeavesTheFileFree(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s, err := OpenStore(ctx, dir)
	if err == nil || s != nil {
		t.Fatalf("OpenStore with an ended context = %v, %v; want no store and an error", s, err)
	}
	if _, err := Open(ctx, Options{DataDir: dir}); err == nil {
		t.Fatal("Open with an ended context succeeded")
	}
	again, err := OpenStore(context.Background(), dir)
	if err != nil {
		t.Fatalf("the file stayed locked: %v", err)
	}
	again.Close()
}

// pgpSized returns OpenPGP armor of about n bytes whose body is filler
// repeated: the longest text the room stores.
func pgpSized(n int, filler string) string {
	head, tail := PGPBegin+"\n\n", "\n-----END PGP MESSAGE-----\n"
	body := strings.Repeat(filler, (n-len(head)-len(tail))/len(filler)+1)
	return head + body[:n-len(head)-len(tail)] + tail
}

// Text is stored as it was sent: encoding/json's HTML escaping kept each
// '<' as six bytes ("\u003c"), so 250 OpenPGP-sized messages of '<' made
// a 103.7 MB file for 15 MB of text.
func TestStoreKeepsTextAtItsOwnSize(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	const n, size = 250, 60_000
	text := pgpSized(size, "<a href='x'>&</a>")
	for range n {
		if _, err := s.Append(context.Background(), Message{Nick: "alice", Text: text, Kind: KindText}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "messages.db"))
	if err != nil {
		t.Fatal(err)
	}
	raw := int64(n * size)
	ratio := float64(fi.Size()) / float64(raw)
	t.Logf("RELIABILITY store size: %d messages of %d bytes of '<'-heavy text (%.1f MB) make a %.1f MB file (%.2f× the text)",
		n, size, float64(raw)/1e6, float64(fi.Size())/1e6, ratio)
	if ratio > 1.25 {
		t.Fatalf("the store is %.2f× the text it holds (%d bytes for %d); want at most 1.25×", ratio, fi.Size(), raw)
	}
	s = openTestStore(t, dir)
	defer s.Close()
	m, ok, err := s.Get(1)
	if err != nil || !ok || m.Text != text {
		t.Fatalf("the first message came back changed (found %v, %v)", ok, err)
	}
}

// A record written before the store stopped escaping HTML reads the same.
func TestStoreReadsEscapedRecords(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	defer s.Close()
	old := []byte(`{"id":1,"ts":"2026-01-01T00:00:00Z","nick":"a","text":"\u003cb\u003e \u0026","kind":"text"}`)
	err := s.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMessages).Put(idKey(1), old) })
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := s.List(0, 10)
	if err != nil || len(msgs) != 1 || msgs[0].Text != "<b> &" {
		t.Fatalf("an escaped record reads as %+v (%v), want the text <b> &", msgs, err)
	}
}

func TestStorePagesAreBoundedInBytes(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	defer s.Close()
	for i := range 10 {
		if _, err := s.Append(context.Background(), Message{Nick: "a", Text: strings.Repeat(fmt.Sprint(i), 1000)}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name                string
		q                   PageQuery
		first, count        int
		nextAfter, nextBack uint64
	}{
		{"forward, cut by bytes", PageQuery{HasAfter: true, Limit: 100, MaxBytes: 3500}, 1, 3, 3, 0},
		{"forward, cut by count", PageQuery{HasAfter: true, After: 2, Limit: 2, MaxBytes: 1 << 20}, 3, 2, 4, 0},
		{"forward to the end", PageQuery{HasAfter: true, After: 7, Limit: 3, MaxBytes: 1 << 20}, 8, 3, 0, 0},
		{"forward, one message over the bound", PageQuery{HasAfter: true, After: 4, Limit: 100, MaxBytes: 10}, 5, 1, 5, 0},
		{"the newest, cut by bytes", PageQuery{Limit: 100, MaxBytes: 2500}, 9, 2, 0, 9},
		{"back from an id", PageQuery{Before: 5, Limit: 3, MaxBytes: 1 << 20}, 2, 3, 0, 2},
		{"back to the start", PageQuery{Before: 4, Limit: 3, MaxBytes: 1 << 20}, 1, 3, 0, 0},
		{"back from past the end", PageQuery{Before: 99, Limit: 2, MaxBytes: 1 << 20}, 9, 2, 0, 9},
		{"back from the first", PageQuery{Before: 1, Limit: 2, MaxBytes: 1 << 20}, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := s.Page(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Messages) != tt.count || p.NextAfter != tt.nextAfter || p.NextBefore != tt.nextBack {
				t.Fatalf("got %d messages, next after %d, next before %d; want %d, %d, %d",
					len(p.Messages), p.NextAfter, p.NextBefore, tt.count, tt.nextAfter, tt.nextBack)
			}
			for i, raw := range p.Messages {
				var m Message
				if err := json.Unmarshal(raw, &m); err != nil || m.ID != uint64(tt.first+i) {
					t.Fatalf("message %d is %d (%v), want %d", i, m.ID, err, tt.first+i)
				}
			}
		})
	}
}
