package push

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Mode is what a device asked to be told of.
type Mode string

// The modes a subscription may have.
const (
	// ModePings sends the pings to the subscriber's nickname (the default).
	ModePings Mode = "pings"
	// ModeAll sends every message but the subscriber's own.
	ModeAll Mode = "all"
	// ModeNone sends nothing; the device stays known, muted.
	ModeNone Mode = "none"
)

// Subscription is one browser's push subscription (the JSON of its
// PushSubscription), with whom it belongs to and what it asked for.
type Subscription struct {
	Endpoint string `json:"endpoint"`
	Keys     Keys   `json:"keys"`
	// Nick is the nickname whose pings (or whose room) it follows.
	Nick string `json:"nick"`
	Mode Mode   `json:"mode"`
	// Session is a hash of the private room's session the browser
	// subscribed with; empty in a public room.
	Session string `json:"session,omitempty"`
	// Generation is the room's generation when it subscribed: a password
	// change, a destroy or a reset makes it stale.
	Generation uint64    `json:"generation"`
	Created    time.Time `json:"created"`
}

// Keys are the browser's P-256 public key and authentication secret,
// base64url, from PushSubscription.getKey().
type Keys struct {
	P256dh string `json:"p256dh"`
	Auth   string `json:"auth"`
}

var bucketSubs = []byte("subscriptions")

// store keeps the subscriptions on disk (a bbolt file of its own, apart
// from the room's messages) and in memory for the dispatcher.
type store struct {
	db *bolt.DB
	mu sync.Mutex
	// subs are the subscriptions by endpoint.
	subs map[string]Subscription
}

// openStore opens (or creates) the subscriptions' file at path.
func openStore(path string) (*store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("open %s: another chatbox is using it", path)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &store{db: db, subs: map[string]Subscription{}}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketSubs)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			var sub Subscription
			if json.Unmarshal(v, &sub) != nil {
				return b.Delete(k) // unreadable: the page sends it again
			}
			s.subs[sub.Endpoint] = sub
			return nil
		})
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return s, nil
}

func (s *store) close() error { return s.db.Close() }

// put stores sub, first deleting the endpoints in drop.
func (s *store) put(sub Subscription, drop []string) error {
	raw, err := json.Marshal(sub)
	if err != nil {
		return err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSubs)
		for _, e := range drop {
			if err := b.Delete([]byte(e)); err != nil {
				return err
			}
		}
		return b.Put([]byte(sub.Endpoint), raw)
	})
	if err != nil {
		return fmt.Errorf("store a push subscription: %w", err)
	}
	return nil
}

// delete removes the endpoints from the file.
func (s *store) delete(endpoints []string) error {
	if len(endpoints) == 0 {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSubs)
		for _, e := range endpoints {
			if err := b.Delete([]byte(e)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete push subscriptions: %w", err)
	}
	return nil
}
