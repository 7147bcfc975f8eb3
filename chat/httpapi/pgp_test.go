package httpapi

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/chatbox-dev/chatbox/chat"
)

// encryptArmored encrypts plaintext to recipient, signed by sender, as an
// armored OpenPGP message with CRLF line ends (as some mail clients write).
func encryptArmored(t *testing.T, plaintext []byte, recipient, sender *openpgp.Entity) string {
	t.Helper()
	var out bytes.Buffer
	aw, err := armor.Encode(&out, "PGP MESSAGE", map[string]string{"Comment": "made by a test"})
	if err != nil {
		t.Fatal(err)
	}
	pw, err := openpgp.Encrypt(aw, []*openpgp.Entity{recipient}, sender, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pw.Write(plaintext); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := aw.Close(); err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(out.String(), "\n", "\r\n") + "\r\n"
}

func TestOpenPGPMessagesRoundTripByteForByte(t *testing.T) {
	tr := newTestRoom(t, nil)
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA}
	alice, err := openpgp.NewEntity("alice", "", "alice@example.org", cfg)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := openpgp.NewEntity("bob", "", "bob@example.org", cfg)
	if err != nil {
		t.Fatal(err)
	}
	plaintext := bytes.Repeat([]byte("meet me at the usual place, bring the keys. "), 60)
	armored := encryptArmored(t, plaintext, bob, alice)
	if len(armored) <= tr.MaxMessageLength() {
		t.Fatalf("the armored message has %d bytes; make it longer than the text limit of %d", len(armored), tr.MaxMessageLength())
	}
	if !strings.Contains(armored, "\r\n") {
		t.Fatal("the armored message has no CRLF to preserve")
	}

	watcher := tr.dial(t, "bob", nil)
	posted := tr.post(t, "alice", armored)
	live := watcher.waitFor("the OpenPGP message", func(ev chat.Event) bool { return ev.Type == "message" && ev.Message.ID == posted.ID })
	var stored string
	for _, m := range tr.history(t, nil) {
		if m.ID == posted.ID {
			stored = m.Text
		}
	}
	for what, got := range map[string]string{"the POST's answer": posted.Text, "the WebSocket event": live.Message.Text, "the history": stored} {
		if got != armored {
			t.Errorf("%s changed the message: %d bytes, want the %d posted", what, len(got), len(armored))
		}
	}

	block, err := armor.Decode(strings.NewReader(stored))
	if err != nil {
		t.Fatalf("the stored message is no longer armored: %v", err)
	}
	md, err := openpgp.ReadMessage(block.Body, openpgp.EntityList{bob, alice}, nil, nil)
	if err != nil {
		t.Fatalf("bob cannot decrypt the stored message: %v", err)
	}
	got, err := io.ReadAll(md.UnverifiedBody)
	if err != nil {
		t.Fatalf("read the decrypted message: %v", err)
	}
	if !bytes.Equal(got, plaintext) {
		t.Fatal("the decrypted text differs from what alice wrote")
	}
	if md.SignatureError != nil || md.SignedBy == nil || md.SignedBy.PublicKey.KeyId != alice.PrimaryKey.KeyId {
		t.Fatalf("alice's signature does not verify: %v", md.SignatureError)
	}
}

func TestOpenPGPMessagesHaveTheirOwnLimit(t *testing.T) {
	tr := newTestRoom(t, func(o *testOptions) { o.MaxPGPLength = 2000 })
	armored := chat.PGPBegin + "\r\n\r\n" + strings.Repeat("QUJD\r\n", 400) + "-----END PGP MESSAGE-----\r\n"
	res, raw := tr.do(t, "POST", "/api/messages", map[string]string{"nick": "alice", "text": armored}, nil)
	if res.StatusCode != 413 || !strings.Contains(string(raw), "at most 2000 bytes") {
		t.Fatalf("an armored message over the limit: %d %s, want 413 naming 2000 bytes", res.StatusCode, raw)
	}
}

// The largest message the limits allow goes through from a quiet address,
// over HTTP as over the WebSocket: its charge never exceeds a full budget.
func TestTheLargestMessageCanBeSentOnEitherPath(t *testing.T) {
	tr := newTestRoom(t, func(o *testOptions) {
		o.PostsPerMinute = 120 // the config's default
		o.Web.TrustedProxies = []string{"127.0.0.1"}
	})
	armored := func(n int) string {
		head, tail := chat.PGPBegin+"\n\n", "\n-----END PGP MESSAGE-----\n"
		body := strings.Repeat(strings.Repeat("A", 63)+"\n", (n-len(head)-len(tail))/64+1)
		return head + body[:n-len(head)-len(tail)] + tail
	}
	text := armored(tr.MaxPGPLength())
	if len(text) != tr.MaxPGPLength() {
		t.Fatalf("made %d bytes, want %d", len(text), tr.MaxPGPLength())
	}
	res, raw := tr.do(t, "POST", "/api/messages", map[string]string{"nick": "alice", "text": text}, func(r *http.Request) {
		r.Header.Set("X-Forwarded-For", "203.0.113.1")
	})
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("POST the largest OpenPGP message: %d %.200s", res.StatusCode, raw)
	}
	c := tr.dial(t, "bob", http.Header{"X-Forwarded-For": {"203.0.113.2"}})
	c.send(map[string]string{"type": "message", "text": text})
	ev := c.waitFor("bob's message", func(ev chat.Event) bool {
		return ev.Type == "error" || ev.Type == "message" && ev.Message.Nick == "bob"
	})
	if ev.Type == "error" {
		t.Fatalf("the largest OpenPGP message over the WebSocket: %s", ev.Error)
	}
}
