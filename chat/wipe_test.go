package chat

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testOptions are quick, valid options for a room in dir (the config owns
// the real defaults).
func testOptions(dir string) Options {
	return Options{
		DataDir: dir, CreateOnStart: true,
		MaxMessageLength: 1000, MaxPGPLength: 64 << 10,
		RetentionCount: 10000, RetentionAge: 30 * 24 * time.Hour,
		MaxFileSize: 10 << 20, Quota: 500 << 20,
		DestroyCountdown:  time.Millisecond,
		Destroy:           DestroyByEveryone,
		MaxClients:        100,
		MaxClientsPerAddr: 50,
		PostsPerMinute:    6000, LoginsPerMinute: 10, ConnectsPerMinute: 60,
		RoomPostsPerMinute: 6000,
		PasswordChecks:     2, SessionIdle: 7 * 24 * time.Hour,
		ReadsPerMinute: 6000,
		EditWindow:     5 * time.Minute,
	}
}

// A wipe deletes up to the quota of uploads; the room must go on
// answering while that runs. The test holds the deletion until the room
// has answered: if any of these waited on the wipe, it would never end.
func TestTheRoomAnswersWhileAWipeDeletesUploads(t *testing.T) {
	dir := t.TempDir()
	room, err := Open(context.Background(), testOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer room.Close()
	if err := os.MkdirAll(filepath.Join(dir, "files", "0123456789abcdef0123456789abcdef"), 0o750); err != nil {
		t.Fatal(err)
	}
	deleting, release := make(chan string), make(chan struct{})
	room.removeAll = func(d string) error {
		deleting <- d
		<-release
		return os.RemoveAll(d)
	}
	defer close(release)
	if _, err := room.Destroy("alice"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-deleting:
	case <-time.After(10 * time.Second):
		t.Fatal("the wipe never started deleting the uploads")
	}
	done := make(chan error, 1)
	go func() {
		if st := room.State(); st.Exists || st.DestroyedBy != "alice" {
			done <- nil
			t.Errorf("the room during the wipe: %+v, want destroyed by alice", st)
			return
		}
		if _, err := room.Info(); err != nil {
			done <- err
			return
		}
		if _, err := room.Create(false); err != nil {
			done <- err
			return
		}
		_, err := room.Post(context.Background(), Sender{Nick: "bob"}, "a new room")
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the room refused while the old uploads were deleted: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the room did not answer while a wipe deleted uploads")
	}
	if _, err := os.Stat(filepath.Join(dir, "files")); !os.IsNotExist(err) {
		t.Fatalf("the destroyed room's uploads are still in place: %v", err)
	}
}

// What a crash in the middle of a wipe leaves is deleted at the next start.
func TestOpenFinishesAnInterruptedWipe(t *testing.T) {
	dir := t.TempDir()
	left := filepath.Join(dir, "files.wiped-123", "files", "0123456789abcdef0123456789abcdef")
	if err := os.MkdirAll(left, 0o750); err != nil {
		t.Fatal(err)
	}
	room, err := Open(context.Background(), testOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer room.Close()
	if _, err := os.Stat(filepath.Join(dir, "files.wiped-123")); !os.IsNotExist(err) {
		t.Fatalf("the uploads of a destroyed room survived a restart: %v", err)
	}
}

// filesHolding returns the files under dir whose raw bytes hold marker.
func filesHolding(t *testing.T, dir string, marker []byte) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(raw, marker) {
			found = append(found, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// A destroy used to delete the messages in place: bbolt frees the pages
// but never clears them, so `strings messages.db` still showed the words,
// even after a clean shutdown. Readers go on reading through the swap of
// the file.
func TestDestroyLeavesNoWordOnDisk(t *testing.T) {
	dir := t.TempDir()
	room, err := Open(context.Background(), testOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer room.Close()
	marker := []byte("zebra-quartz-7781")
	before, _ := room.Post(context.Background(), Sender{Nick: "alice"}, "the plan: "+string(marker))
	for range 100 {
		if _, err := room.Post(context.Background(), Sender{Nick: "alice"}, pgpSized(60_000, string(marker)+" ")); err != nil {
			t.Fatal(err)
		}
	}
	if len(filesHolding(t, dir, marker)) == 0 {
		t.Fatal("the marker is not on disk before the destroy; the test proves nothing")
	}
	fi, _ := os.Stat(filepath.Join(dir, "messages.db"))
	sizeBefore := fi.Size()

	// Readers all through the destroy: none may fail or crash.
	stop := make(chan struct{})
	readErrs := make(chan error, 4)
	for range 4 {
		go func() {
			for {
				select {
				case <-stop:
					readErrs <- nil
					return
				default:
				}
				if _, err := room.History("", HistoryQuery{Limit: 5}); err != nil {
					readErrs <- err
					return
				}
				if _, err := room.Info(); err != nil {
					readErrs <- err
					return
				}
			}
		}()
	}
	if _, err := room.Destroy("alice"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the destroy", func() bool { at, _ := room.Countdown(); return !room.State().Exists && at.IsZero() })
	close(stop)
	for range 4 {
		if err := <-readErrs; err != nil {
			t.Fatalf("a read during the destroy failed: %v", err)
		}
	}

	if found := filesHolding(t, dir, marker); len(found) > 0 {
		t.Fatalf("after the destroy the words are still in %v", found)
	}
	fi, _ = os.Stat(filepath.Join(dir, "messages.db"))
	t.Logf("RELIABILITY wipe: messages.db was %d bytes before the destroy, %d after; the marker is in no file", sizeBefore, fi.Size())
	if fi.Size() > 64<<10 {
		t.Fatalf("messages.db is %d bytes after the destroy; the freed pages are still in it", fi.Size())
	}
	st := room.State()
	if st.LastID != before.ID+100 || st.DestroyedBy != "alice" {
		t.Fatalf("after the destroy the record is %+v; want last id %d, destroyed by alice", st, before.ID+100)
	}
	if _, err := room.Create(false); err != nil {
		t.Fatal(err)
	}
	m, err := room.Post(context.Background(), Sender{Nick: "bob"}, "a new room")
	if err != nil || m.ID != st.LastID+1 {
		t.Fatalf("the new room's first message is %d (%v), want %d", m.ID, err, st.LastID+1)
	}
	if err := room.Close(); err != nil {
		t.Fatal(err)
	}
	if found := filesHolding(t, dir, marker); len(found) > 0 {
		t.Fatalf("after closing, the words are in %v", found)
	}
}

// waitFor polls cond until it holds, failing after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A countdown lived only in a timer: a box killed during it came back
// with the room and all its history. Its deadline is stored now, and a
// restart ends it when it is due.
func TestACountdownSurvivesARestart(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	open := func(t *testing.T, dir string, now time.Time) *Room {
		t.Helper()
		opts := testOptions(dir)
		opts.DestroyCountdown = time.Hour
		start := time.Now()
		opts.Now = func() time.Time { return now.Add(time.Since(start)) }
		room, err := Open(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { room.Close() })
		return room
	}
	started := func(t *testing.T) (string, time.Time) {
		dir := t.TempDir()
		room := open(t, dir, t0)
		room.Post(context.Background(), Sender{Nick: "alice"}, "history")
		at, err := room.Destroy("alice")
		if err != nil {
			t.Fatal(err)
		}
		if err := room.Close(); err != nil { // the timer has not fired
			t.Fatal(err)
		}
		return dir, at
	}

	t.Run("a restart before the deadline keeps the countdown", func(t *testing.T) {
		dir, at := started(t)
		room := open(t, dir, t0.Add(30*time.Minute))
		if got, by := room.Countdown(); !got.Equal(at) || by != "alice" || !room.State().Exists {
			t.Fatalf("after a restart the countdown is %v by %q (room exists: %v); want %v by alice", got, by, room.State().Exists, at)
		}
	})
	t.Run("a restart past the deadline destroys before the room serves", func(t *testing.T) {
		dir, _ := started(t)
		room := open(t, dir, t0.Add(2*time.Hour))
		if st := room.State(); st.Exists {
			t.Fatal("the room opened before its overdue destroy")
		}
		if st := room.State(); st.DestroyedBy != "alice" {
			t.Fatalf("destroyed by %q, want alice", st.DestroyedBy)
		}
		if n, _ := room.store.MessageCount(); n != 0 {
			t.Fatalf("%d messages survived", n)
		}
	})
	t.Run("a restart shortly before the deadline destroys at the deadline", func(t *testing.T) {
		dir, at := started(t)
		const left = 300 * time.Millisecond
		opened := time.Now()
		room := open(t, dir, at.Add(-left))
		waitFor(t, "destroy", func() bool { return !room.State().Exists })
		if waited := time.Since(opened); waited < left {
			t.Fatalf("destroyed %v after the restart, before the stored deadline %v later", waited, left)
		}
	})
}
