package chat

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/chatbox-dev/chatbox/chat/event"
)

// An encrypted room (docs/ENCRYPTION.md is the format's one description)
// holds only envelopes: the browser encrypts, the box stores and relays.

// The room's records of an encrypted room, named here as the rest of the
// room knows them.
type (
	// Encryption is what an encrypted room tells those let in.
	Encryption = event.Encryption
	// KDF says how a room key is derived from a passphrase.
	KDF = event.KDF
)

// The envelope's format.
const (
	// EnvelopeVersion is the only v an envelope may have.
	EnvelopeVersion = 1
	// EnvelopeIVBytes is the length of an envelope's iv (AES-GCM's 96 bits).
	EnvelopeIVBytes = 12
	// EnvelopeTagBytes is the AES-GCM tag at the end of every ct, and what
	// encryption adds to each chunk of a file.
	EnvelopeTagBytes = 16
	// MaxReactionEnvelope is the most bytes of a reaction's envelope.
	MaxReactionEnvelope = 200
	// maxKeyCheckEnvelope bounds the key check's envelope: it encrypts a
	// short, fixed text.
	maxKeyCheckEnvelope = 1 << 10
	// RoomIDBytes is the length of a room's id before encoding.
	RoomIDBytes = 16
	// KDFName is the one key derivation a room may name.
	KDFName = "PBKDF2-SHA-256"
	// MinKDFIterations and MaxKDFIterations bound a KDF's work: the lower
	// bound is the format's, the upper one keeps a page that joins from
	// being made to spin for minutes.
	MinKDFIterations = 600_000
	MaxKDFIterations = 100_000_000
	// KDFSaltBytes is the length of a KDF's salt.
	KDFSaltBytes = 16
	// FileChunkBytes is the plaintext in each encrypted chunk of a file.
	FileChunkBytes = 65536
)

// SayEncrypted is the refusal of anything but an envelope in an encrypted
// room, the same on every transport.
const SayEncrypted = "this room is encrypted: send an encrypted envelope"

var errNotEnvelope = invalid("text", SayEncrypted)

// b64 is the encoding of every binary value of the format: base64url
// without padding, with no stray bits.
var b64 = base64.RawURLEncoding.Strict()

// Envelope is one encrypted value, decoded.
type Envelope struct {
	IV []byte
	// CT is the ciphertext with its tag.
	CT []byte
}

// ParseEnvelope reads an envelope: a JSON object with exactly the keys v,
// iv and ct, v equal to 1, iv of 12 bytes and ct of at least 16, both in
// base64url without padding. Anything else is refused with SayEncrypted.
func ParseEnvelope(s string) (Envelope, error) {
	// One object, nothing around it: the box stores the text as it is.
	if !utf8.ValidString(s) || !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") || !json.Valid([]byte(s)) {
		return Envelope{}, errNotEnvelope
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return Envelope{}, errNotEnvelope
	}
	var env Envelope
	var seen [3]bool
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return Envelope{}, errNotEnvelope
		}
		key, _ := tok.(string)
		val, err := dec.Token()
		if err != nil {
			return Envelope{}, errNotEnvelope
		}
		var i int
		switch key {
		case "v":
			if n, ok := val.(json.Number); !ok || n.String() != "1" {
				return Envelope{}, errNotEnvelope
			}
			i = 0
		case "iv":
			env.IV, err = decodeField(val)
			if err != nil || len(env.IV) != EnvelopeIVBytes {
				return Envelope{}, errNotEnvelope
			}
			i = 1
		case "ct":
			env.CT, err = decodeField(val)
			if err != nil || len(env.CT) < EnvelopeTagBytes {
				return Envelope{}, errNotEnvelope
			}
			i = 2
		default:
			return Envelope{}, errNotEnvelope
		}
		if seen[i] {
			return Envelope{}, errNotEnvelope
		}
		seen[i] = true
	}
	if seen != [3]bool{true, true, true} {
		return Envelope{}, errNotEnvelope
	}
	return env, nil
}

// decodeField decodes a JSON token that must be a base64url string.
func decodeField(tok json.Token) ([]byte, error) {
	s, ok := tok.(string)
	if !ok {
		return nil, errNotEnvelope
	}
	return b64.DecodeString(s)
}

// MaxEnvelopeCT is the most bytes an envelope's ct may have in a message
// of a room whose texts have at most maxText characters and whose OpenPGP
// armor at most maxPGP bytes: four bytes for each character of a text
// (UTF-8's most), or an armor's bytes, and the tag.
func MaxEnvelopeCT(maxText, maxPGP int) int {
	return max(4*maxText, maxPGP) + EnvelopeTagBytes
}

// maxCT is the room's MaxEnvelopeCT.
func (r *Room) maxCT() int {
	return MaxEnvelopeCT(r.opts.MaxMessageLength, r.opts.MaxPGPLength)
}

// validateEnvelope checks the text of a message of an encrypted room.
func (r *Room) validateEnvelope(text string) error {
	env, err := ParseEnvelope(text)
	if err != nil {
		return err
	}
	if max := r.maxCT(); len(env.CT) > max {
		return tooLong(int64(max), fmt.Sprintf("an encrypted message has at most %d bytes of ciphertext, this one has %d", max, len(env.CT)))
	}
	return nil
}

// validateReactionEnvelope checks a reaction of an encrypted room.
func validateReactionEnvelope(s string) error {
	if len(s) > MaxReactionEnvelope {
		return tooLong(MaxReactionEnvelope, fmt.Sprintf("an encrypted reaction has at most %d bytes, this one has %d", MaxReactionEnvelope, len(s)))
	}
	_, err := ParseEnvelope(s)
	return err
}

// ValidateKDF checks the KDF a room's key is set with: the one name,
// iterations within bounds, a salt of 16 bytes.
func ValidateKDF(k KDF) error {
	if k.Name != KDFName {
		return invalid("kdf", fmt.Sprintf("the kdf's name is %q", KDFName))
	}
	if k.Iterations < MinKDFIterations || k.Iterations > MaxKDFIterations {
		return invalid("kdf", fmt.Sprintf("the kdf's iterations are %d to %d", MinKDFIterations, MaxKDFIterations))
	}
	if salt, err := b64.DecodeString(k.Salt); err != nil || len(salt) != KDFSaltBytes {
		return invalid("kdf", fmt.Sprintf("the kdf's salt is %d bytes in base64url without padding", KDFSaltBytes))
	}
	return nil
}

// newRoomID returns a fresh room id: 16 random bytes in base64url.
func newRoomID() (string, error) {
	b := make([]byte, RoomIDBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make a room id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// MaxEncryptedFileSize is the most bytes an encrypted upload of a file of
// at most plain bytes may have: a tag for every chunk (a file of 0 bytes
// is one chunk).
func MaxEncryptedFileSize(plain int64) int64 {
	chunks := max((plain+FileChunkBytes-1)/FileChunkBytes, 1)
	return plain + chunks*EnvelopeTagBytes
}

// Encryption returns what the room tells those let in about its
// encryption, nil when it is not encrypted.
func (st RoomState) Encryption() *Encryption {
	if !st.Exists || !st.Encrypted {
		return nil
	}
	e := &Encryption{Encrypted: true, RoomID: st.RoomID, KeyCheck: st.KeyCheck}
	if st.KDF != nil {
		k := *st.KDF
		e.KDF = &k
	}
	return e
}

var (
	errHasKey       = &Error{Code: CodeConflict, Msg: "this room already has a key"}
	errNotEncrypted = &Error{Code: CodeConflict, Msg: "this room is not encrypted"}
)

// SetKey gives an encrypted room its key check and, for a key derived
// from a passphrase, its KDF: once per room. from is charged as a post
// is; the transport has charged its address one event already.
func (r *Room) SetKey(ctx context.Context, from Sender, keyCheck string, kdf *KDF) (Encryption, error) {
	if err := ctx.Err(); err != nil {
		return Encryption{}, err
	}
	if len(keyCheck) > maxKeyCheckEnvelope {
		return Encryption{}, tooLong(maxKeyCheckEnvelope, fmt.Sprintf("a key check has at most %d bytes", maxKeyCheckEnvelope))
	}
	if _, err := ParseEnvelope(keyCheck); err != nil {
		return Encryption{}, invalid("key_check", "key_check is an encrypted envelope")
	}
	if kdf != nil {
		if err := ValidateKDF(*kdf); err != nil {
			return Encryption{}, err
		}
	}
	st := r.State()
	switch {
	case !st.Exists:
		return Encryption{}, errNoRoom
	case !st.Encrypted:
		return Encryption{}, errNotEncrypted
	case st.KeyCheck != "":
		return Encryption{}, errHasKey
	case st.Locked:
		return Encryption{}, errLocked
	}
	if from.Addr != "" {
		if err := r.ChargeRoom(1); err != nil {
			return Encryption{}, err
		}
	}
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	st, err := r.store.UpdateRoom(func(st *RoomState) error {
		switch {
		case !st.Exists:
			return errNoRoom
		case !st.Encrypted:
			return errNotEncrypted
		case st.KeyCheck != "":
			return errHasKey
		}
		st.KeyCheck = keyCheck
		if kdf != nil {
			k := *kdf
			st.KDF = &k
		}
		return nil
	})
	if err != nil {
		return Encryption{}, err
	}
	r.state.Store(&st)
	r.hub.SetWelcomeRoom(st.Encryption())
	return *st.Encryption(), nil
}
