package chat

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// envelope makes an envelope with a ct of n bytes (not a real ciphertext:
// the box cannot tell, and does not try).
func envelope(n int, seed byte) string {
	iv := make([]byte, EnvelopeIVBytes)
	ct := make([]byte, n)
	for i := range iv {
		iv[i] = seed + byte(i)
	}
	for i := range ct {
		ct[i] = seed ^ byte(i)
	}
	enc := base64.RawURLEncoding
	return fmt.Sprintf(`{"v":1,"iv":%q,"ct":%q}`, enc.EncodeToString(iv), enc.EncodeToString(ct))
}

func TestParseEnvelopeTakesOnlyTheFormat(t *testing.T) {
	good := []string{
		envelope(16, 1),
		envelope(1000, 2),
		`{"v":1,"iv":"oKGio6Slpqeoqaqr","ct":"jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM4"}`,
		`{"ct":"jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM4","iv":"oKGio6Slpqeoqaqr","v":1}`,
	}
	for _, s := range good {
		if _, err := ParseEnvelope(s); err != nil {
			t.Errorf("ParseEnvelope(%s): %v, want it taken", s, err)
		}
	}
	bad := []string{
		"hello",
		"",
		"{}",
		"null",
		`[1]`,
		envelope(15, 1), // shorter than a tag
		`{"v":2,"iv":"oKGio6Slpqeoqaqr","ct":"jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM4"}`,
		`{"v":1.0,"iv":"oKGio6Slpqeoqaqr","ct":"jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM4"}`,
		`{"v":"1","iv":"oKGio6Slpqeoqaqr","ct":"jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM4"}`,
		`{"v":1,"iv":"oKGio6Slpqeoqaq","ct":"jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM4"}`,    // 11 bytes and a bit
		`{"v":1,"iv":"oKGio6Slpqeoqaqr==","ct":"jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM4"}`, // padding
		`{"v":1,"iv":"oKGio6Slpqeoqa+r","ct":"jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM4"}`,   // standard base64
		`{"v":1,"iv":"oKGio6Slpqeoqaqr","ct":"jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM5"}`,   // stray bits
		`{"v":1,"iv":"oKGio6Slpqeoqaqr"}`,
		`{"v":1,"iv":"oKGio6Slpqeoqaqr","ct":"jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM4","x":1}`,
		`{"v":1,"v":1,"iv":"oKGio6Slpqeoqaqr","ct":"jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM4"}`,
		`{"v":1,"iv":"oKGio6Slpqeoqaqr","ct":"jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM4"} `,
		`{"v":1,"iv":"oKGio6Slpqeoqaqr","ct":"jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM4"}{}`,
		`{"v":1,"iv":"oKGio6Slpqeoqaqr","ct":["jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM4"]}`,
		`{"V":1,"iv":"oKGio6Slpqeoqaqr","ct":"jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM4"}`,
	}
	for _, s := range bad {
		_, err := ParseEnvelope(s)
		if err == nil || err.Error() != SayEncrypted || refusalCode(err) != CodeInvalid {
			t.Errorf("ParseEnvelope(%q) = %v, want the refusal %q", s, err, SayEncrypted)
		}
	}
}

// FuzzParseEnvelope: whatever it is given, the parser never panics, and
// what it takes has the format's shape and is taken again when written
// back in the format's own way.
func FuzzParseEnvelope(f *testing.F) {
	f.Add(envelope(16, 0))
	f.Add(`{"v":1,"iv":"oKGio6Slpqeoqaqr","ct":"jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM4"}`)
	f.Add(`{"v":1,"iv":"oKGio6Slpqeoqaqr","ct":"jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM4","v":1}`)
	f.Add(`{"v":1e0,"iv":"","ct":""}`)
	f.Add("hello")
	f.Fuzz(func(t *testing.T, s string) {
		env, err := ParseEnvelope(s)
		if err != nil {
			if err.Error() != SayEncrypted {
				t.Fatalf("refused with %q", err)
			}
			return
		}
		if len(env.IV) != EnvelopeIVBytes || len(env.CT) < EnvelopeTagBytes {
			t.Fatalf("took %q with an iv of %d bytes and a ct of %d", s, len(env.IV), len(env.CT))
		}
		enc := base64.RawURLEncoding
		again := fmt.Sprintf(`{"v":1,"iv":%q,"ct":%q}`, enc.EncodeToString(env.IV), enc.EncodeToString(env.CT))
		if _, err := ParseEnvelope(again); err != nil {
			t.Fatalf("took %q but not its canonical form %q: %v", s, again, err)
		}
	})
}

// reachesBob is a watcher that reaches bob outside the room.
type reachesBob struct{}

func (reachesBob) Published(Message)        {}
func (reachesBob) Renewed(uint64)           {}
func (reachesBob) Reaches(nick string) bool { return nick == "bob" }

// openEncryptedRoom opens an encrypted room, created at start.
func openEncryptedRoom(t *testing.T, change func(*Options)) *Room {
	t.Helper()
	room, _ := openOpsRoom(t, func(o *Options) {
		o.Encrypted = true
		o.CreateOnStart = true
		if change != nil {
			change(o)
		}
	})
	return room
}

func TestAnEncryptedRoomTakesOnlyEnvelopes(t *testing.T) {
	room := openEncryptedRoom(t, nil)
	ctx := context.Background()
	st := room.State()
	if !st.Encrypted || len(st.RoomID) != 22 {
		t.Fatalf("room state %+v, want encrypted with a room id of 22 characters", st)
	}
	alice := Sender{Nick: "alice", Token: aliceToken}
	for _, text := range []string{"hello, bob", "/ping bob hi", "-----BEGIN PGP MESSAGE-----\nx\n-----END PGP MESSAGE-----", `{"v":1}`} {
		_, err := room.Post(ctx, alice, text)
		if err == nil || err.Error() != SayEncrypted || refusalCode(err) != CodeInvalid {
			t.Errorf("post %q: %v, want %q", text, err, SayEncrypted)
		}
	}
	m, err := room.Post(ctx, alice, envelope(40, 3))
	if err != nil {
		t.Fatalf("post an envelope: %v", err)
	}
	if m.Kind != KindText || m.Text != envelope(40, 3) {
		t.Errorf("stored %+v, want the envelope as it was sent, kind text", m)
	}
	// The size limit is on ct: four bytes per character, plus the tag.
	maxCT := 4*room.opts.MaxMessageLength + EnvelopeTagBytes
	if _, err := room.Post(ctx, alice, envelope(maxCT, 4)); err != nil {
		t.Errorf("post a ct of %d bytes: %v", maxCT, err)
	}
	if _, err := room.Post(ctx, alice, envelope(max(maxCT, room.opts.MaxPGPLength+EnvelopeTagBytes)+1, 4)); refusalCode(err) != CodeTooLong {
		t.Errorf("post a ct over the limit: %v, want too long", err)
	}
	// An edit takes an envelope only, and keeps the kind.
	if _, err := room.Edit(ctx, alice, m.ID, "plain words"); err == nil || err.Error() != SayEncrypted {
		t.Errorf("edit with plain text: %v, want %q", err, SayEncrypted)
	}
	edited, err := room.Edit(ctx, alice, m.ID, envelope(20, 9))
	if err != nil || edited.Text != envelope(20, 9) || edited.Kind != KindText {
		t.Errorf("edit with an envelope: %+v, %v", edited, err)
	}
	// A reply is a text with reply_to in the clear.
	reply, err := room.PostReply(ctx, Sender{Nick: "bob", Token: bobToken}, envelope(30, 5), m.ID)
	if err != nil || reply.ReplyTo != m.ID {
		t.Errorf("reply: %+v, %v", reply, err)
	}
}

func TestAPingOfAnEncryptedRoomNamesItsTargetInTo(t *testing.T) {
	room := openEncryptedRoom(t, func(o *Options) { o.Watcher = reachesBob{} })
	ctx := context.Background()
	alice := Sender{Nick: "alice", Token: aliceToken}
	p, err := room.Send(ctx, alice, Draft{Text: envelope(20, 1), To: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != KindPing || p.To != "bob" {
		t.Fatalf("stored %+v, want a ping to bob", p)
	}
	if _, err := room.Send(ctx, alice, Draft{Text: envelope(20, 1), To: "carol"}); refusalCode(err) != CodeNotPresent {
		t.Errorf("ping to someone absent: %v, want not present", err)
	}
	if _, err := room.Send(ctx, alice, Draft{Text: envelope(20, 1), To: "no one"}); refusalCode(err) != CodeInvalid {
		t.Errorf("ping to a bad nickname: %v, want invalid", err)
	}
	// An edited ping stays a ping to bob.
	e, err := room.Edit(ctx, alice, p.ID, envelope(25, 2))
	if err != nil || e.Kind != KindPing || e.To != "bob" {
		t.Errorf("edit of the ping: %+v, %v", e, err)
	}
}

func TestToIsRefusedInARoomThatIsNotEncrypted(t *testing.T) {
	room, _ := openOpsRoom(t, nil)
	_, err := room.Send(context.Background(), Sender{Nick: "alice"}, Draft{Text: "hi", To: "bob"})
	if refusalCode(err) != CodeInvalid {
		t.Errorf("a draft with to in a plain room: %v, want invalid", err)
	}
	if _, err := room.Post(context.Background(), Sender{Nick: "alice"}, envelope(20, 1)); err != nil {
		t.Errorf("an envelope is a text like any other in a plain room: %v", err)
	}
}

func TestReactionsOfAnEncryptedRoomAreEnvelopesKeptByString(t *testing.T) {
	room := openEncryptedRoom(t, nil)
	ctx := context.Background()
	alice := Sender{Nick: "alice", Token: aliceToken}
	m, err := room.Post(ctx, alice, envelope(20, 1))
	if err != nil {
		t.Fatal(err)
	}
	bob := Sender{Nick: "bob"}
	if _, err := room.React(ctx, bob, m.ID, "👍", true); err == nil || err.Error() != SayEncrypted {
		t.Errorf("a plain emoji: %v, want %q", err, SayEncrypted)
	}
	long := envelope(200, 1)
	if _, err := room.React(ctx, bob, m.ID, long, true); refusalCode(err) != CodeTooLong {
		t.Errorf("a reaction of %d bytes: %v, want too long", len(long), err)
	}
	r1 := envelope(20, 7)
	rs, err := room.React(ctx, bob, m.ID, r1, true)
	if err != nil || len(rs[r1]) != 1 {
		t.Fatalf("react: %v %v", rs, err)
	}
	rs, err = room.React(ctx, bob, m.ID, r1, false)
	if err != nil || len(rs) != 0 {
		t.Fatalf("take back by the same string: %v %v", rs, err)
	}
	// Envelopes are all different: a nickname still gives a message at
	// most as many reactions as the page's set has emoji.
	for i := range len(reactionEmoji) {
		if _, err := room.React(ctx, bob, m.ID, envelope(20, byte(i+10)), true); err != nil {
			t.Fatalf("reaction %d: %v", i, err)
		}
	}
	if _, err := room.React(ctx, bob, m.ID, envelope(20, 99), true); refusalCode(err) != CodeTooLong {
		t.Errorf("reaction %d of one nickname: %v, want too long", len(reactionEmoji)+1, err)
	}
}

func TestAnEncryptedRoomGetsItsKeyOnce(t *testing.T) {
	room := openEncryptedRoom(t, nil)
	ctx := context.Background()
	if e := room.State().Encryption(); e == nil || e.KeyCheck != "" || e.KDF != nil {
		t.Fatalf("a new room's encryption %+v, want one with no key check", e)
	}
	if _, err := room.SetKey(ctx, Sender{}, "plain", nil); refusalCode(err) != CodeInvalid {
		t.Errorf("a key check that is no envelope: %v", err)
	}
	for _, kdf := range []KDF{
		{Name: "scrypt", Iterations: 600000, Salt: "wMHCw8TFxsfIycrLzM3Ozw"},
		{Name: KDFName, Iterations: 599999, Salt: "wMHCw8TFxsfIycrLzM3Ozw"},
		{Name: KDFName, Iterations: 600000, Salt: "wMHCw8TFxsfIycrLzM3O"},
	} {
		if _, err := room.SetKey(ctx, Sender{}, envelope(33, 1), &kdf); refusalCode(err) != CodeInvalid {
			t.Errorf("kdf %+v: %v, want invalid", kdf, err)
		}
	}
	kdf := KDF{Name: KDFName, Iterations: 600000, Salt: "wMHCw8TFxsfIycrLzM3Ozw"}
	e, err := room.SetKey(ctx, Sender{}, envelope(33, 1), &kdf)
	if err != nil || e.KeyCheck != envelope(33, 1) || *e.KDF != kdf {
		t.Fatalf("set the key: %+v, %v", e, err)
	}
	_, err = room.SetKey(ctx, Sender{}, envelope(33, 2), nil)
	if refusalCode(err) != CodeConflict || err.Error() != "this room already has a key" {
		t.Errorf("a second key: %v, want a conflict", err)
	}
	if got := room.State().KeyCheck; got != envelope(33, 1) {
		t.Errorf("the key check is %q after a second try", got)
	}
	plain, _ := openOpsRoom(t, nil)
	if _, err := plain.SetKey(ctx, Sender{}, envelope(33, 1), nil); refusalCode(err) != CodeConflict {
		t.Errorf("a key for a plain room: %v, want a conflict", err)
	}
}

func TestEveryCreateMakesANewRoomID(t *testing.T) {
	room := openEncryptedRoom(t, nil)
	first := room.State().RoomID
	if _, err := room.SetKey(context.Background(), Sender{}, envelope(33, 1), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := room.ResetKind(RoomKind{Encrypted: true}); err != nil {
		t.Fatal(err)
	}
	st := room.State()
	if st.RoomID == first || len(st.RoomID) != 22 || !st.Encrypted || st.KeyCheck != "" {
		t.Errorf("after a reset: id %q (was %q), encrypted %v, key check %q; want a new id and no key", st.RoomID, first, st.Encrypted, st.KeyCheck)
	}
	if _, err := room.ResetKind(RoomKind{}); err != nil {
		t.Fatal(err)
	}
	if st := room.State(); st.Encrypted || st.KeyCheck != "" {
		t.Errorf("a reset to a plain room left %+v", st)
	}
}

func TestAnEncryptedRoomsPrivacyDoesNotChange(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(dir)
	opts.Encrypted, opts.CreateOnStart = true, true
	room, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := room.SetPassword(); refusalCode(err) != CodeConflict {
		t.Errorf("a password for a public encrypted room: %v, want a conflict", err)
	}
	room.Close()
	// The config says private now: the box starts, says why it does not
	// follow, and the room stays public.
	var log strings.Builder
	opts.Private = true
	opts.Logger = slog.New(slog.NewTextHandler(&log, nil))
	room, err = Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("open with private set: %v", err)
	}
	defer room.Close()
	if st := room.State(); st.Private || !st.Encrypted {
		t.Errorf("room %+v, want it public and encrypted still", st)
	}
	if !strings.Contains(log.String(), "an encrypted room's privacy cannot change") {
		t.Errorf("the log does not say why the room stays public:\n%s", log.String())
	}
	if p, _ := room.TakeInitialPassword(); p != "" {
		t.Errorf("an initial password %q was made", p)
	}
}
