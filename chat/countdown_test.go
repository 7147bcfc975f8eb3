package chat

import (
	"context"
	"testing"
	"time"
)

// A cancelled countdown is gone from the store: the box restarted after
// it, even past the old deadline, keeps the room.
func TestACancelledCountdownDoesNotResume(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	open := func(now time.Time) *Room {
		t.Helper()
		opts := testOptions(dir)
		opts.DestroyCountdown = time.Hour
		opts.Now = func() time.Time { return now }
		room, err := Open(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		return room
	}
	room := open(t0)
	room.Post(context.Background(), Sender{Nick: "alice"}, "history")
	if _, err := room.Destroy("alice"); err != nil {
		t.Fatal(err)
	}
	if err := room.CancelDestroy("bob"); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	if at, _ := room.Countdown(); !at.IsZero() {
		t.Fatalf("the countdown still ends at %v", at)
	}
	if err := room.CancelDestroy("bob"); Refusal(err).Code != CodeConflict {
		t.Fatalf("a second cancel: %v, want a conflict", err)
	}
	room.Close()

	room = open(t0.Add(2 * time.Hour))
	defer room.Close()
	if !room.State().Exists {
		t.Fatal("the cancelled countdown destroyed the room at the next start")
	}
	if at, _ := room.Countdown(); !at.IsZero() {
		t.Fatalf("the cancelled countdown resumed: %v", at)
	}
	if n, _ := room.store.MessageCount(); n != 1 {
		t.Fatalf("%d messages after the restart, want 1", n)
	}
}

// The countdown's timer may fire while a cancel holds the lock; its wipe
// then finds the countdown gone and does nothing. Nor does an old
// countdown's wipe end a new one early.
func TestAWipeDueToACancelledCountdownDoesNothing(t *testing.T) {
	room, err := Open(context.Background(), withCountdown(testOptions(t.TempDir()), time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer room.Close()
	old, err := room.Destroy("alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := room.CancelDestroy("bob"); err != nil {
		t.Fatal(err)
	}
	room.wipe(old) // as the timer would, had it fired during the cancel
	if !room.State().Exists {
		t.Fatal("a cancelled countdown's wipe destroyed the room")
	}
	if _, err := room.Destroy("carol"); err != nil {
		t.Fatal(err)
	}
	room.wipe(old)
	if at, by := room.Countdown(); !room.State().Exists || at.IsZero() || by != "carol" {
		t.Fatalf("the old countdown's wipe ended the new one: exists %v, countdown %v by %q", room.State().Exists, at, by)
	}
}

func TestWhoMayCancelACountdown(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy DestroyPolicy
		nick   string
		want   Code
	}{
		{"anyone when everyone may destroy", DestroyByEveryone, "bob", 0},
		{"nobody but the owner when only the owner may destroy", DestroyByOwner, "bob", CodeForbidden},
		{"not a bad nickname", DestroyByEveryone, "bad name", CodeInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := withCountdown(testOptions(t.TempDir()), time.Hour)
			opts.Destroy = tc.policy
			room, err := Open(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			defer room.Close()
			if _, err := room.DestroyAsOwner(); err != nil {
				t.Fatal(err)
			}
			err = room.CancelDestroy(tc.nick)
			if tc.want == 0 && err != nil || tc.want != 0 && Refusal(err).Code != tc.want {
				t.Fatalf("cancel by %q: %v, want code %v", tc.nick, err, tc.want)
			}
			if err := room.CancelDestroyAsOwner(); (err == nil) != (tc.want != 0) {
				t.Fatalf("the owner's cancel after: %v", err)
			}
		})
	}
}

func withCountdown(o Options, d time.Duration) Options {
	o.DestroyCountdown = d
	return o
}
