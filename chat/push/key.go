// Package push sends the room's Web Push notifications (RFC 8030
// delivery, RFC 8291 encryption, RFC 8292 VAPID) to the browsers that
// asked for them. It keeps the box's VAPID key and the subscriptions, and
// runs a dispatcher beside the room: the room hands it each message and
// goes on, so a slow or dead push service never delays a message to the
// room's clients.
package push

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/chatbox-dev/chatbox/chat/datadir"
	"github.com/chatbox-dev/chatbox/internal/atomicfile"
)

// Key is the box's VAPID key pair: a P-256 key, both halves base64url
// without padding, as browsers and webpush-go take them. The public half
// is the applicationServerKey a page subscribes with.
type Key struct {
	Public  string    `json:"public"`
	Private string    `json:"private"`
	Created time.Time `json:"created"`
}

// LoadOrCreateKey reads the box's VAPID key pair from the data directory
// or, at the box's first start, makes one and stores it (0600). A file
// that exists but cannot be read or parsed is an error, never a reason to
// make a new key: that would silently end every subscription.
func LoadOrCreateKey(l datadir.Layout, now time.Time) (Key, error) {
	k, err := ReadKey(l)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, fmt.Errorf("make the VAPID key: %w", err)
	}
	k = Key{
		Public:  base64.RawURLEncoding.EncodeToString(priv.PublicKey().Bytes()),
		Private: base64.RawURLEncoding.EncodeToString(priv.Bytes()),
		Created: now.UTC(),
	}
	raw, err := json.MarshalIndent(k, "", "  ")
	if err != nil {
		return Key{}, err
	}
	if err := os.MkdirAll(filepath.Dir(l.VAPIDKey()), 0o700); err != nil {
		return Key{}, fmt.Errorf("store the VAPID key: %w", err)
	}
	if err := atomicfile.Write(l.VAPIDKey(), append(raw, '\n'), 0o600); err != nil {
		return Key{}, fmt.Errorf("store the VAPID key: %w", err)
	}
	return k, nil
}

// ReadKey reads the box's VAPID key pair; an error wrapping
// fs.ErrNotExist says the box has none yet.
func ReadKey(l datadir.Layout) (Key, error) {
	raw, err := os.ReadFile(l.VAPIDKey())
	if err != nil {
		return Key{}, fmt.Errorf("read the VAPID key: %w", err)
	}
	var k Key
	if err := json.Unmarshal(raw, &k); err != nil {
		return Key{}, fmt.Errorf("read the VAPID key %s: %w; restore it from a backup, or move it away to make a new one (every browser must then subscribe again)", l.VAPIDKey(), err)
	}
	if err := k.check(); err != nil {
		return Key{}, fmt.Errorf("read the VAPID key %s: %w; restore it from a backup, or move it away to make a new one (every browser must then subscribe again)", l.VAPIDKey(), err)
	}
	return k, nil
}

// check says whether the two halves are a P-256 key pair.
func (k Key) check() error {
	d, err := base64.RawURLEncoding.DecodeString(k.Private)
	if err != nil {
		return errors.New("its private key is not base64url")
	}
	priv, err := ecdh.P256().NewPrivateKey(d)
	if err != nil {
		return errors.New("its private key is not a P-256 key")
	}
	if base64.RawURLEncoding.EncodeToString(priv.PublicKey().Bytes()) != k.Public {
		return errors.New("its public key does not match its private key")
	}
	return nil
}
