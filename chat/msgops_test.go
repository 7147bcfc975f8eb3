package chat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

const (
	aliceToken = "alice-token-0123456789abcdef"
	bobToken   = "bob-token-0123456789abcdefgh"
)

// clock is a settable time for a room's Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// openOpsRoom opens a room on a clock the test moves.
func openOpsRoom(t *testing.T, change func(*Options)) (*Room, *clock) {
	t.Helper()
	clk := &clock{now: time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)}
	opts := testOptions(t.TempDir())
	opts.Now = clk.Now
	if change != nil {
		change(&opts)
	}
	room, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { room.Close() })
	return room, clk
}

func refusalCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

func TestOnlyTheSendersTokenChangesAMessageWithinTheWindow(t *testing.T) {
	room, clk := openOpsRoom(t, nil)
	ctx := context.Background()
	alice := Sender{Nick: "alice", Token: aliceToken}
	m, err := room.Post(ctx, alice, "see you at 7")
	if err != nil {
		t.Fatal(err)
	}
	tokenless, err := room.Post(ctx, Sender{Nick: "alice"}, "a bot's words")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		from Sender
		id   uint64
		want Code
	}{
		{"another token is forbidden", Sender{Nick: "alice", Token: bobToken}, m.ID, CodeForbidden},
		{"no token is forbidden", Sender{Nick: "alice"}, m.ID, CodeForbidden},
		{"a message sent without a token is nobody's", Sender{Nick: "alice", Token: aliceToken}, tokenless.ID, CodeForbidden},
		{"a malformed token is invalid", Sender{Nick: "alice", Token: "short"}, m.ID, CodeInvalid},
		{"a message that does not exist is not found", alice, 999, CodeNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := room.Edit(ctx, tc.from, tc.id, "changed"); refusalCode(err) != tc.want {
				t.Errorf("edit: %v, want code %v", err, tc.want)
			}
			if _, err := room.Delete(ctx, tc.from, tc.id); refusalCode(err) != tc.want {
				t.Errorf("delete: %v, want code %v", err, tc.want)
			}
		})
	}
	clk.add(4 * time.Minute)
	edited, err := room.Edit(ctx, alice, m.ID, "see you at 8")
	if err != nil {
		t.Fatalf("edit within the window: %v", err)
	}
	if edited.Text != "see you at 8" || edited.Edited == nil || !edited.Edited.Equal(clk.Now()) {
		t.Errorf("edited = %+v", edited)
	}
	clk.add(time.Minute + time.Millisecond)
	if _, err := room.Edit(ctx, alice, m.ID, "see you at 9"); refusalCode(err) != CodeTooLate {
		t.Errorf("edit after the window: %v, want too_late", err)
	}
	if _, err := room.Delete(ctx, alice, m.ID); refusalCode(err) != CodeTooLate {
		t.Errorf("delete after the window: %v, want too_late", err)
	}
	got, _, _ := room.store.Get(m.ID)
	if got.Text != "see you at 8" {
		t.Errorf("stored text = %q after refusals", got.Text)
	}
}

func TestEditsKeepAMessagesKind(t *testing.T) {
	room, _ := openOpsRoom(t, nil)
	ctx := context.Background()
	alice := Sender{Nick: "alice", Token: aliceToken}
	m, _ := room.Post(ctx, alice, "hello")
	for _, text := range []string{"/ping bob hi", "", strings.Repeat("x", 1001)} {
		if _, err := room.Edit(ctx, alice, m.ID, text); err == nil {
			t.Errorf("edit to %.20q was taken", text)
		}
	}
}

func TestEditingOffRefusesEditsAndDeletes(t *testing.T) {
	room, _ := openOpsRoom(t, func(o *Options) { o.EditWindow = 0 })
	alice := Sender{Nick: "alice", Token: aliceToken}
	m, _ := room.Post(context.Background(), alice, "hello")
	if _, err := room.Edit(context.Background(), alice, m.ID, "x"); refusalCode(err) != CodeForbidden {
		t.Errorf("edit: %v", err)
	}
}

func TestAReplyNamesAMessageInTheHistory(t *testing.T) {
	room, _ := openOpsRoom(t, nil)
	ctx := context.Background()
	first, _ := room.Post(ctx, Sender{Nick: "alice"}, "question")
	reply, err := room.PostReply(ctx, Sender{Nick: "bob"}, "answer", first.ID)
	if err != nil || reply.ReplyTo != first.ID {
		t.Fatalf("reply: %+v, %v", reply, err)
	}
	stored, _, _ := room.store.Get(reply.ID)
	if stored.ReplyTo != first.ID {
		t.Errorf("stored reply_to = %d", stored.ReplyTo)
	}
	n, _ := room.store.MessageCount()
	if _, err := room.PostReply(ctx, Sender{Nick: "bob"}, "to nothing", 999); refusalCode(err) != CodeInvalid {
		t.Errorf("reply to a missing message: %v, want invalid", err)
	}
	if after, _ := room.store.MessageCount(); after != n {
		t.Errorf("a refused reply stored a message")
	}
}

func TestReactionsAreASetPerNicknameAndBounded(t *testing.T) {
	room, _ := openOpsRoom(t, nil)
	ctx := context.Background()
	m, _ := room.Post(ctx, Sender{Nick: "alice"}, "hello")
	for range 3 {
		if _, err := room.React(ctx, Sender{Nick: "bob"}, m.ID, "👍", true); err != nil {
			t.Fatal(err)
		}
	}
	rs, _ := room.React(ctx, Sender{Nick: "carol"}, m.ID, "👍", true)
	if got := fmt.Sprint(rs["👍"]); got != "[bob carol]" || len(rs) != 1 {
		t.Errorf("reactions = %v", rs)
	}
	rs, _ = room.React(ctx, Sender{Nick: "bob"}, m.ID, "👍", false)
	if fmt.Sprint(rs) != "map[👍:[carol]]" {
		t.Errorf("after taking back: %v", rs)
	}
	if _, err := room.React(ctx, Sender{Nick: "bob"}, m.ID, "🍕", true); refusalCode(err) != CodeInvalid {
		t.Errorf("an emoji outside the set: %v", err)
	}
	// Fill the message up to MaxReactors nicknames (carol is one), each
	// with every emoji.
	for i := range MaxReactors - 1 {
		for _, e := range ReactionEmoji() {
			if _, err := room.React(ctx, Sender{Nick: fmt.Sprint("n", i)}, m.ID, e, true); err != nil {
				t.Fatalf("reaction %d %s: %v", i, e, err)
			}
		}
	}
	if _, err := room.React(ctx, Sender{Nick: "onemore"}, m.ID, "👍", true); refusalCode(err) != CodeTooLong {
		t.Errorf("a reactor past the bound: %v, want too_long", err)
	}
	cur, _, _ := room.store.Current(m.ID)
	total := 0
	for _, nicks := range *cur.Reactions {
		total += len(nicks)
	}
	if _, err := room.React(ctx, Sender{Nick: "carol"}, m.ID, "🎉", true); err != nil {
		t.Errorf("a reactor within the bound gives another emoji: %v", err)
	}
	if max := len(ReactionEmoji()) * MaxReactors; total > max {
		t.Errorf("the message holds %d reactions, more than %d", total, max)
	}
}

func TestReactionsDoNotCountAgainstRetentionAndGoWithTheirMessage(t *testing.T) {
	room, _ := openOpsRoom(t, func(o *Options) { o.RetentionCount = 3 })
	ctx := context.Background()
	var ids []uint64
	for i := range 3 {
		m, _ := room.Post(ctx, Sender{Nick: "alice", Token: aliceToken}, fmt.Sprint("m", i))
		ids = append(ids, m.ID)
		for _, e := range ReactionEmoji() {
			room.React(ctx, Sender{Nick: "bob"}, m.ID, e, true)
		}
	}
	room.ApplyRetention()
	if n, _ := room.store.MessageCount(); n != 3 {
		t.Fatalf("%d messages kept, want 3: reactions counted as messages", n)
	}
	room.Post(ctx, Sender{Nick: "alice"}, "one more")
	room.ApplyRetention()
	err := room.store.view(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketReactions).Get(idKey(ids[0])) != nil {
			t.Errorf("the pruned message's reactions stayed")
		}
		if tx.Bucket(bucketOwners).Get(idKey(ids[0])) != nil {
			t.Errorf("the pruned message's owner stayed")
		}
		if tx.Bucket(bucketReactions).Get(idKey(ids[1])) == nil {
			t.Errorf("a kept message lost its reactions")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// fileHolds reports whether the store's file holds b anywhere.
func fileHolds(t *testing.T, room *Room, b []byte) bool {
	t.Helper()
	raw, err := os.ReadFile(room.layout.Messages())
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(raw, b)
}

// checkStore runs bbolt's consistency check on the room's store, in a
// write transaction: in a read one it would read bbolt's free list while
// the room's housekeeping writes.
func checkStore(t *testing.T, room *Room) {
	t.Helper()
	err := room.store.update(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("store check: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A delete takes the words out of messages.db, not only out of the
// history: bbolt leaves the pages it freed as they were, so without the
// scrub the text (and the earlier texts of its edits) stay in the file.
func TestADeletedMessagesWordsAreGoneFromTheStoreFile(t *testing.T) {
	for _, scrub := range []bool{false, true} {
		t.Run(fmt.Sprint("scrub=", scrub), func(t *testing.T) {
			room, _ := openOpsRoom(t, nil)
			ctx := context.Background()
			alice := Sender{Nick: "alice", Token: aliceToken}
			for i := range 200 {
				room.Post(ctx, Sender{Nick: "bob"}, fmt.Sprint("filler ", i, strings.Repeat(" words", 20)))
			}
			secret := "the safe code is 4-8-15-16"
			m, err := room.Post(ctx, alice, secret)
			if err != nil {
				t.Fatal(err)
			}
			room.React(ctx, Sender{Nick: "carol"}, m.ID, "😮", true)
			firstEdit := "edited once: the vault is behind the painting"
			if _, err := room.Edit(ctx, alice, m.ID, firstEdit); err != nil {
				t.Fatal(err)
			}
			for i := range 50 {
				room.Post(ctx, Sender{Nick: "bob"}, fmt.Sprint("after ", i))
			}
			if !fileHolds(t, room, []byte(firstEdit)) {
				t.Fatal("the text is not in the file before the delete; the test proves nothing")
			}
			if scrub {
				if _, err := room.Delete(ctx, alice, m.ID); err != nil {
					t.Fatal(err)
				}
			} else {
				c, _ := room.ownChange(ctx, alice)
				if _, err := room.store.Delete(m.ID, c); err != nil {
					t.Fatal(err)
				}
			}
			// Without the scrub, the words stay in a freed page.
			if held := fileHolds(t, room, []byte(firstEdit)); held == scrub {
				t.Errorf("scrub=%v: messages.db holds the text: %v", scrub, held)
			}
			if scrub && fileHolds(t, room, []byte(secret)) {
				t.Errorf("messages.db holds the text from before the edit")
			}
			// A backup made now copies the file as it is.
			f, _, err := room.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			snap, err := io.ReadAll(f)
			if err != nil {
				t.Fatal(err)
			}
			if held := bytes.Contains(snap, []byte(firstEdit)); held == scrub {
				t.Errorf("scrub=%v: a snapshot holds the text: %v", scrub, held)
			}
			got, _, _ := room.store.Get(m.ID)
			if got != (Message{ID: m.ID, TS: m.TS, Nick: "alice", Kind: KindDeleted}) {
				t.Errorf("tombstone = %+v", got)
			}
			checkStore(t, room)
		})
	}
}

// After a scrub the store goes on working: bbolt reuses the zeroed pages,
// its check finds nothing wrong, and the file opens again with every
// message in it.
func TestTheStoreWorksOnAfterScrubs(t *testing.T) {
	room, _ := openOpsRoom(t, nil)
	ctx := context.Background()
	alice := Sender{Nick: "alice", Token: aliceToken}
	want := 0
	for round := range 8 {
		var mine []uint64
		for i := range 30 {
			m, err := room.Post(ctx, alice, fmt.Sprint("round ", round, " message ", i, strings.Repeat(" x", i*10)))
			if err != nil {
				t.Fatal(err)
			}
			mine = append(mine, m.ID)
			room.React(ctx, Sender{Nick: "bob"}, m.ID, "👍", true)
		}
		for _, id := range mine[:10] {
			if _, err := room.Delete(ctx, alice, id); err != nil {
				t.Fatal(err)
			}
		}
		want += 30
	}
	checkStore(t, room)
	dir := room.opts.DataDir
	room.Close()
	opts := testOptions(dir)
	reopened, err := Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	checkStore(t, reopened)
	if n, _ := reopened.store.MessageCount(); n != want {
		t.Errorf("%d messages after reopening, want %d", n, want)
	}
}

// pngBytes is a small picture, so an upload gets a thumbnail.
func pngBytes(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 400, 300))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestADeletedFilesUploadAndThumbnailAreGoneFromTheDisk(t *testing.T) {
	room, _ := openOpsRoom(t, nil)
	ctx := context.Background()
	up, err := room.BeginUpload(-1)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Discard()
	if err := up.SetNick("alice"); err != nil {
		t.Fatal(err)
	}
	if err := up.SetToken(aliceToken); err != nil {
		t.Fatal(err)
	}
	if err := up.SaveFile("holiday-at-the-lake.png", bytes.NewReader(pngBytes(t))); err != nil {
		t.Fatal(err)
	}
	m, err := up.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := room.ThumbnailReady(ctx, m.File.ID); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(room.layout.Files(m.File.ID))
	if len(entries) < 2 {
		t.Fatalf("the upload's folder holds %d files before the delete, want the file and its thumbnail", len(entries))
	}
	if _, err := room.Delete(ctx, Sender{Nick: "alice", Token: aliceToken}, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(room.layout.Files(m.File.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the upload's folder is still there: %v", err)
	}
	if fileHolds(t, room, []byte("holiday-at-the-lake")) {
		t.Errorf("messages.db still holds the file's name")
	}
	if _, err := room.OpenFile(m.File.ID, true); refusalCode(err) != CodeNotFound {
		t.Errorf("the thumbnail still opens: %v", err)
	}
}

// A picture deleted while its thumbnail is still being made leaves
// nothing behind once the delete returns, nor after the thumbnail's
// maker is done.
func TestDeletingAPictureWhileItsThumbnailIsMade(t *testing.T) {
	room, _ := openOpsRoom(t, nil)
	ctx := context.Background()
	var big bytes.Buffer
	if err := png.Encode(&big, image.NewGray(image.Rect(0, 0, 4000, 3000))); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		up, err := room.BeginUpload(-1)
		if err != nil {
			t.Fatal(err)
		}
		up.SetNick("alice")
		up.SetToken(aliceToken)
		if err := up.SaveFile(fmt.Sprint("big", i, ".png"), bytes.NewReader(big.Bytes())); err != nil {
			t.Fatal(err)
		}
		m, err := up.Commit(ctx)
		up.Discard()
		if err != nil {
			t.Fatal(err)
		}
		done := room.files.ThumbnailDone(m.File.ID)
		if _, err := room.Delete(ctx, Sender{Nick: "alice", Token: aliceToken}, m.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(room.layout.Files(m.File.ID)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("upload %d: the folder is there after the delete: %v", i, err)
		}
		if done != nil {
			<-done
		}
		if _, err := os.Stat(room.layout.Files(m.File.ID)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("upload %d: the folder is there after the thumbnail was made: %v", i, err)
		}
	}
}

// A delete's scrub holds the store to itself; it must stay short in a
// full room. 10,000 messages of about 500 bytes are stored, then half are
// pruned, leaving their pages free: the first scrub clears them all, and
// the next one (what each later delete costs) only reads them.
func TestAScrubOfAFullStoreIsShort(t *testing.T) {
	room, _ := openOpsRoom(t, nil)
	err := room.store.update(func(tx *bolt.Tx) error {
		for i := uint64(1); i <= 10000; i++ {
			m := Message{ID: i, TS: time.Now().UTC(), Nick: "alice", Kind: KindText, Text: fmt.Sprint(i, strings.Repeat(" some words", 45))}
			if err := putMessage(tx, m); err != nil {
				return err
			}
		}
		st, err := readRoom(tx)
		if err != nil {
			return err
		}
		st.LastID = 10000
		return writeRoom(tx, st)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := room.store.Prune(5000, time.Time{}); err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(room.layout.Messages())
	start := time.Now()
	cleared, err := room.store.Scrub()
	first := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	again, err := room.store.Scrub()
	second := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("RELIABILITY scrub of a %d KiB store: first %v (%d KiB cleared), next %v (%d KiB cleared)",
		info.Size()>>10, first.Round(time.Millisecond), cleared>>10, second.Round(time.Millisecond), again>>10)
	// The room's housekeeping may write (and free a few pages) meanwhile.
	if cleared < 1<<20 || again > 64<<10 {
		t.Errorf("cleared %d then %d bytes; want megabytes, then at most what a write or two frees", cleared, again)
	}
	if second > 250*time.Millisecond {
		t.Errorf("a scrub with nothing to clear took %v", second)
	}
	checkStore(t, room)
}

// A room's creation time and its messages' times are kept to the same
// precision, so a message posted in the same instant the room was made is
// never older than the room (a client that drops messages older than the
// room would drop it). The clock here has nanoseconds, as a real one does.
func TestAMessageIsNeverOlderThanItsRoom(t *testing.T) {
	room, clk := openOpsRoom(t, nil)
	clk.add(123456789 * time.Nanosecond)
	if _, err := room.Reset(false); err != nil {
		t.Fatal(err)
	}
	m, err := room.Post(context.Background(), Sender{Nick: "alice", Token: aliceToken}, "first")
	if err != nil {
		t.Fatal(err)
	}
	st, err := room.Info()
	if err != nil {
		t.Fatal(err)
	}
	if m.TS.Before(st.CreatedAt) {
		t.Fatalf("the message's time %s is before the room's %s", m.TS.Format(time.RFC3339Nano), st.CreatedAt.Format(time.RFC3339Nano))
	}
}
