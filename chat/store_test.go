package chat

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
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
