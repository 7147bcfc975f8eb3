package chat

import (
	"context"
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
		MaxClients:        100,
		MaxClientsPerAddr: 50,
		PostsPerMinute:    6000, LoginsPerMinute: 10, ConnectsPerMinute: 60,
		ReadsPerMinute: 6000,
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
