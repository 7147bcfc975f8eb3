package chat

import (
	"context"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A send repeated with its client id stores one message: when the two
// race, after a restart, and until retention or a wipe takes the first
// message away (then the id's index entry goes with it, so the index is
// never bigger than the history).
func TestStoreKeepsOneMessagePerClientID(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTestStore(t, dir)
	send := Message{Nick: "ann", Text: "hi", Kind: KindText, ClientID: "c1"}

	var wg sync.WaitGroup
	got := make([]Message, 20)
	fresh := make([]bool, 20)
	for i := range got {
		wg.Go(func() {
			var err error
			if got[i], fresh[i], err = s.AppendOnce(ctx, send); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	stored := 0
	for i := range got {
		if fresh[i] {
			stored++
		}
		if got[i].ID != got[0].ID {
			t.Fatalf("racing sends got messages %d and %d", got[0].ID, got[i].ID)
		}
	}
	if n, _ := s.MessageCount(); stored != 1 || n != 1 {
		t.Fatalf("20 racing sends stored %d messages (%d said fresh), want 1", n, stored)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir)
	defer s.Close()
	again, fr, err := s.AppendOnce(ctx, send)
	if err != nil || fr || again.ID != got[0].ID {
		t.Fatalf("after a restart the repeat got %d (fresh %v, %v), want %d", again.ID, fr, err, got[0].ID)
	}
	other, fr, err := s.AppendOnce(ctx, Message{Nick: "bob", Text: "hi", ClientID: "c1"})
	if err != nil || !fr || other.ID == got[0].ID {
		t.Fatalf("bob's send with ann's client id got %d (fresh %v, %v)", other.ID, fr, err)
	}

	if _, err := s.Prune(1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.ByClientID("ann", "c1"); ok {
		t.Fatal("the client id outlived its message's retention")
	}
	countKeys := func() int {
		n := 0
		s.view(func(tx *bolt.Tx) error { n = tx.Bucket(bucketClientIDs).Stats().KeyN; return nil })
		return n
	}
	if n := countKeys(); n != 1 {
		t.Fatalf("after retention kept 1 message the index holds %d ids, want 1", n)
	}
	if _, err := s.Wipe("ann", time.Now()); err != nil {
		t.Fatal(err)
	}
	if n := countKeys(); n != 0 {
		t.Fatalf("after a wipe the index holds %d ids, want 0", n)
	}
}

// A bad client id is refused with one sentence, before anything else.
func TestValidateClientID(t *testing.T) {
	for _, id := range []string{"a", "A-b_9", "0123456789012345678901234567890123456789012345678901234567890123"} {
		if err := ValidateClientID(id); err != nil {
			t.Errorf("%q refused: %v", id, err)
		}
	}
	for _, id := range []string{"a b", "é", "a/b", "x\x00", "01234567890123456789012345678901234567890123456789012345678901234"} {
		if err := ValidateClientID(id); err == nil {
			t.Errorf("%q accepted", id)
		}
	}
}
