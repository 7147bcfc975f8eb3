package chat

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A session notes its last use at most once an hour: reading the room
// does not write to the store on every request.
func TestSessionUseIsWrittenAtMostHourly(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	opts := testOptions(t.TempDir())
	opts.Private = true
	opts.Now = func() time.Time { return now }
	r, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	password, _ := r.TakeInitialPassword()
	token, err := r.Login("192.0.2.1", password)
	if err != nil {
		t.Fatal(err)
	}
	used := func() time.Time {
		sess, ok, err := r.store.Session(sessionHash(token))
		if err != nil || !ok {
			t.Fatalf("session: %v %v", ok, err)
		}
		return sess.Used
	}
	start := used()
	for _, step := range []struct {
		after time.Duration
		want  time.Time
	}{
		{30 * time.Minute, start},
		{59 * time.Minute, start},
		{61 * time.Minute, start.Add(61 * time.Minute)},
		{90 * time.Minute, start.Add(61 * time.Minute)},
	} {
		now = start.Add(step.after)
		if err := r.Enter(Credentials{Session: token}); err != nil {
			t.Fatalf("enter after %v: %v", step.after, err)
		}
		if got := used(); !got.Equal(step.want) {
			t.Fatalf("after %v the session was last used at %v, want %v", step.after, got, step.want)
		}
	}
}

// A session is stored only for the password generation it was checked
// against, and a session of another generation lets no one in.
func TestSessionsBelongToOnePasswordGeneration(t *testing.T) {
	opts := testOptions(t.TempDir())
	opts.Private = true
	r, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	old := r.State().Generation
	if _, err := r.SetPassword(); err != nil {
		t.Fatal(err)
	}
	if r.State().Generation == old {
		t.Fatal("a new password kept the generation")
	}
	if _, err := r.startSession(old); !errors.Is(err, errStaleLogin) {
		t.Fatalf("a session for the old password: %v, want refused", err)
	}
	// Stored behind the room's back, it still lets no one in.
	token, hash, _ := newSessionToken()
	now := time.Now()
	if err := r.store.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSessions).Put(hash, Session{Expires: now.Add(time.Hour), Used: now, Generation: old}.encode())
	}); err != nil {
		t.Fatal(err)
	}
	if err := r.Enter(Credentials{Session: token}); err == nil {
		t.Fatal("a session of the old password let its holder in")
	}
}

// Sessions stored before they carried a generation and a last use (8
// bytes: the expiry) are read as last used when they began.
func TestOlderSessionsAreRead(t *testing.T) {
	exp := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	v := make([]byte, 8)
	binary.BigEndian.PutUint64(v, uint64(exp.Unix()))
	sess, ok := decodeSession(v)
	if !ok || !sess.Expires.Equal(exp) || !sess.Used.Equal(exp.Add(-SessionLifetime)) || sess.Generation != 0 {
		t.Fatalf("decoded %+v, %v", sess, ok)
	}
}

// A room opened public and opened again with Options.Private becomes
// private with a new password, which the installer takes once.
func TestAPublicRoomOpenedPrivateBecomesPrivate(t *testing.T) {
	dir := t.TempDir()
	r, err := Open(context.Background(), testOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Enter(Credentials{}); err != nil {
		t.Fatalf("the public room refused a visitor: %v", err)
	}
	r.Close()

	opts := testOptions(dir)
	opts.Private = true
	r, err = Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if info, _ := r.Info(); !info.Private {
		t.Error("the room is still public though the options say private")
	}
	if err := r.Enter(Credentials{}); err == nil {
		t.Error("the room lets a visitor in without a password")
	}
	password, ok := r.TakeInitialPassword()
	if !ok {
		t.Fatal("the new password is not handed over as the initial password")
	}
	if _, err := r.Login("192.0.2.1", password); err != nil {
		t.Errorf("the handed-over password does not log in: %v", err)
	}
	if _, again := r.TakeInitialPassword(); again {
		t.Error("the initial password was handed over twice")
	}
}
