package push

import (
	"context"
	"crypto/ecdh"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/chat/datadir"
)

// Options configure the push service. The box fills them from its config
// file, which owns every default; New refuses options out of range.
type Options struct {
	// Layout is the data directory: the VAPID key and the subscriptions'
	// store are found through it.
	Layout datadir.Layout
	// Subject is the VAPID "sub": the room's https:// address, or an
	// e-mail address a push service may write to.
	Subject string
	// Title is the room's name, the title of its notifications.
	Title string
	// Preview puts the sender and the start of the text in a
	// notification; without it a notification says only "New message".
	Preview bool
	// MaxPerNick is the most subscriptions one nickname keeps: a new one
	// beyond it replaces the nickname's oldest.
	MaxPerNick int
	// MaxSubscriptions is the most subscriptions the box keeps in all; a
	// new one beyond it is refused.
	MaxSubscriptions int
	// PerSecond is the most pushes sent a second, to all push services
	// together.
	PerSecond int
	// QueueLength is how many messages may wait for the dispatcher; past
	// it a message sends no push (and the loss is logged), so the room
	// never waits for it.
	QueueLength int
	// TTL is how long a push service keeps a push for a device that is
	// offline.
	TTL time.Duration
	// Collapse is the least time between two pushes to one device: the
	// messages in between make one "N new messages" notification.
	Collapse time.Duration
	// HTTPClient sends the pushes; nil means a client that reaches only
	// public addresses (a subscription names any URL it likes).
	HTTPClient *http.Client
	// LoopbackEndpoints lets that client also reach push services on
	// loopback: for a box that serves loopback alone (serve --dev), where
	// a stand-in push service runs beside it, as in bench/.
	LoopbackEndpoints bool
	// Fold makes the form of a nickname under which two spellings are one
	// person; nil means strings.ToLower.
	Fold func(string) string
	// Logger receives the service's log; nil discards it.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// validate says which option is out of range.
func (o Options) validate() error {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"Layout", o.Layout.Dir != ""},
		{"Subject", strings.HasPrefix(o.Subject, "https://") || strings.Contains(o.Subject, "@")},
		{"Title", o.Title != ""},
		{"MaxPerNick", o.MaxPerNick > 0},
		{"MaxSubscriptions", o.MaxSubscriptions >= o.MaxPerNick},
		{"PerSecond", o.PerSecond > 0},
		{"QueueLength", o.QueueLength > 0},
		{"TTL", o.TTL >= time.Second},
		{"Collapse", o.Collapse >= 0},
	} {
		if !c.ok {
			return fmt.Errorf("the push option %s is out of range", c.name)
		}
	}
	return nil
}

// senders is how many pushes may be under way at once. The rate is bounded
// by Options.PerSecond; this bounds what a slow push service holds up.
const senders = 16

// maxAttempts is how often one push is tried before it is given up.
const maxAttempts = 5

// Service keeps the box's subscriptions and sends their pushes. It is the
// room's chat.Watcher: Published only queues the message.
type Service struct {
	opts    Options
	key     Key
	log     *slog.Logger
	now     func() time.Time
	fold    func(string) string
	client  *http.Client
	limiter *rate.Limiter

	store *store
	// writeMu serializes the changes to the subscriptions (each written to
	// disk, then to the map under store.mu, which is only held briefly).
	writeMu sync.Mutex

	queue      chan chat.Message
	generation atomic.Uint64
	// roomID is the encrypted room's id, or "" when the room is not
	// encrypted: its notifications carry no text (see Encrypted).
	roomID atomic.Pointer[string]
	renew  chan struct{}

	vis  visibility
	pend pendingSet
	// crypto is the one slot for encrypting and signing a push.
	crypto chan struct{}

	stats Stats

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Stats count what the service did, for the logs and for tests.
type Stats struct {
	Sent, Gone, Retried, Failed, Dropped, Skipped atomic.Int64
}

// New opens the box's push service: it reads (or, at the first start,
// makes) the VAPID key, opens the subscriptions' store and starts the
// dispatcher. Close stops it.
func New(ctx context.Context, opts Options) (*Service, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Fold == nil {
		opts.Fold = strings.ToLower
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = publicClient(opts.LoopbackEndpoints)
	}
	if err := opts.Layout.Check(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Layout.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	key, err := LoadOrCreateKey(opts.Layout, opts.Now())
	if err != nil {
		return nil, err
	}
	st, err := openStore(opts.Layout.PushSubscriptions())
	if err != nil {
		return nil, err
	}
	s := &Service{
		opts: opts, key: key, log: opts.Logger, now: opts.Now, fold: opts.Fold,
		client:  opts.HTTPClient,
		limiter: rate.NewLimiter(rate.Limit(opts.PerSecond), max(opts.PerSecond/10, 1)),
		store:   st,
		queue:   make(chan chat.Message, opts.QueueLength),
		renew:   make(chan struct{}, 1),
		crypto:  make(chan struct{}, 1),
		vis:     visibility{conns: map[any]visEntry{}, count: map[string]int{}},
	}
	s.pend.init(s)
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.wg.Go(s.dispatch)
	for range senders {
		s.wg.Go(s.sendLoop)
	}
	return s, nil
}

// Close stops the dispatcher and closes the store. Pushes still waiting
// are dropped: they are notifications, not the messages themselves.
func (s *Service) Close() error {
	if s.ctx.Err() != nil {
		return nil
	}
	s.cancel()
	s.pend.wake()
	s.wg.Wait()
	s.pend.stopTimers()
	return s.store.close()
}

// PublicKey is the box's VAPID public key, base64url: the
// applicationServerKey pages subscribe with.
func (s *Service) PublicKey() string { return s.key.Public }

// Stats are the service's counts so far.
func (s *Service) Stats() *Stats { return &s.stats }

// SessionID is what a subscription keeps of a private room's session
// token: a hash, never the token.
func SessionID(token string) string {
	if token == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("chatbox push session\x00" + token))
	return hex.EncodeToString(sum[:16])
}

// Subscribe stores sub (replacing one with the same endpoint) for the
// room's current generation. A nickname's subscriptions beyond
// MaxPerNick replace its oldest; past MaxSubscriptions in all a new one
// is refused.
func (s *Service) Subscribe(sub Subscription) error {
	if err := s.check(&sub); err != nil {
		return err
	}
	sub.Generation = s.generation.Load()
	sub.Created = s.now().UTC()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.store.mu.Lock()
	_, known := s.store.subs[sub.Endpoint]
	total := len(s.store.subs)
	var mine []Subscription
	who := s.fold(sub.Nick)
	for _, o := range s.store.subs {
		if o.Endpoint != sub.Endpoint && s.fold(o.Nick) == who {
			mine = append(mine, o)
		}
	}
	s.store.mu.Unlock()
	var drop []string
	if n := len(mine) - (s.opts.MaxPerNick - 1); n > 0 {
		slices.SortFunc(mine, func(a, b Subscription) int { return a.Created.Compare(b.Created) })
		for _, o := range mine[:n] {
			drop = append(drop, o.Endpoint)
		}
	}
	if !known && total-len(drop) >= s.opts.MaxSubscriptions {
		return &chat.Error{Code: chat.CodeUnprocessable, Msg: fmt.Sprintf("this box keeps at most %d push subscriptions and has them all; its owner can raise push.max_subscriptions", s.opts.MaxSubscriptions)}
	}
	if err := s.store.put(sub, drop); err != nil {
		return err
	}
	s.store.mu.Lock()
	for _, e := range drop {
		delete(s.store.subs, e)
	}
	s.store.subs[sub.Endpoint] = sub
	s.store.mu.Unlock()
	return nil
}

// Unsubscribe deletes the subscription of endpoint; it reports whether
// there was one.
func (s *Service) Unsubscribe(endpoint string) (bool, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.store.mu.Lock()
	_, ok := s.store.subs[endpoint]
	s.store.mu.Unlock()
	if !ok {
		return false, nil
	}
	return true, s.remove([]string{endpoint})
}

// remove deletes endpoints from disk and memory; writeMu is held.
func (s *Service) remove(endpoints []string) error {
	if err := s.store.delete(endpoints); err != nil {
		return err
	}
	s.store.mu.Lock()
	for _, e := range endpoints {
		delete(s.store.subs, e)
	}
	s.store.mu.Unlock()
	return nil
}

// DropSession deletes the subscriptions made in the session whose
// SessionID is id (a logout).
func (s *Service) DropSession(id string) error {
	if id == "" {
		return nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var drop []string
	s.store.mu.Lock()
	for e, sub := range s.store.subs {
		if sub.Session == id {
			drop = append(drop, e)
		}
	}
	s.store.mu.Unlock()
	if len(drop) == 0 {
		return nil
	}
	return s.remove(drop)
}

// Len is how many subscriptions the box keeps.
func (s *Service) Len() int {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	return len(s.store.subs)
}

// Subscriptions returns a copy of the subscriptions, in no order.
func (s *Service) Subscriptions() []Subscription {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	out := make([]Subscription, 0, len(s.store.subs))
	for _, sub := range s.store.subs {
		out = append(out, sub)
	}
	return out
}

// Reaches reports whether nick has a device that takes pings: a ping to
// nick, out of the room, still reaches them.
func (s *Service) Reaches(nick string) bool {
	who, gen := s.fold(nick), s.generation.Load()
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	for _, sub := range s.store.subs {
		if sub.Generation == gen && sub.Mode != ModeNone && s.fold(sub.Nick) == who {
			return true
		}
	}
	return false
}

// check validates a subscription as a page sends it.
func (s *Service) check(sub *Subscription) error {
	if err := chat.ValidateNick(sub.Nick); err != nil {
		return err
	}
	u, err := url.Parse(sub.Endpoint)
	switch {
	case sub.Endpoint == "":
		return invalid("endpoint", "a subscription needs its endpoint")
	case len(sub.Endpoint) > 2048:
		return invalid("endpoint", "the endpoint is longer than 2048 bytes")
	case err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Fragment != "":
		return invalid("endpoint", "the endpoint must be the https:// URL of a push service")
	}
	p256dh, err := decodeKey(sub.Keys.P256dh)
	if err != nil || len(p256dh) != 65 {
		return invalid("keys", "keys.p256dh must be the browser's P-256 public key (65 bytes, base64url)")
	}
	if _, err := ecdh.P256().NewPublicKey(p256dh); err != nil {
		return invalid("keys", "keys.p256dh is not a point of P-256")
	}
	if auth, err := decodeKey(sub.Keys.Auth); err != nil || len(auth) != 16 {
		return invalid("keys", "keys.auth must be the browser's 16-byte authentication secret (base64url)")
	}
	switch sub.Mode {
	case "":
		sub.Mode = ModePings
	case ModePings, ModeAll, ModeNone:
	default:
		return invalid("mode", `mode must be "pings", "all" or "none"`)
	}
	return nil
}

func invalid(field, msg string) error {
	return &chat.Error{Code: chat.CodeInvalid, Field: field, Msg: msg}
}

// decodeKey reads base64url, with or without padding (browsers send it
// without; some libraries with).
func decodeKey(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// Published queues m for the dispatcher, or drops it when the queue is
// full; it never waits.
func (s *Service) Published(m chat.Message) {
	switch m.Kind {
	case chat.KindText, chat.KindFile, chat.KindPing:
	default:
		return
	}
	select {
	case s.queue <- m:
	default:
		if s.stats.Dropped.Add(1)%1000 == 1 {
			s.log.Warn("push: the queue is full; messages send no notifications until it drains", "queue", s.opts.QueueLength)
		}
	}
}

// Encrypted notes the encrypted room's id, or "" for a room that is not
// encrypted: a notification of an encrypted room says "New message" or
// "NICK pinged you", never its text, which is ciphertext to the box. It
// carries the envelope beside, for a device that keeps the room key in
// its service worker.
func (s *Service) Encrypted(roomID string) { s.roomID.Store(&roomID) }

// encryptedRoom is the encrypted room's id, or "".
func (s *Service) encryptedRoom() string {
	if id := s.roomID.Load(); id != nil {
		return *id
	}
	return ""
}

// Renewed notes the room's new generation; the dispatcher then deletes
// the subscriptions of older ones. It never waits.
func (s *Service) Renewed(generation uint64) {
	s.generation.Store(generation)
	select {
	case s.renew <- struct{}{}:
	default:
	}
}

// dispatch turns queued messages into pending pushes, and deletes stale
// subscriptions when the room is renewed.
func (s *Service) dispatch() {
	sweep := time.NewTicker(time.Minute)
	defer sweep.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-sweep.C:
			s.pend.sweep()
		case <-s.renew:
			s.dropStale()
		case m := <-s.queue:
			s.target(m)
		}
	}
}

// dropStale deletes the subscriptions of older generations of the room.
func (s *Service) dropStale() {
	gen := s.generation.Load()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var stale []string
	s.store.mu.Lock()
	for e, sub := range s.store.subs {
		if sub.Generation != gen {
			stale = append(stale, e)
		}
	}
	s.store.mu.Unlock()
	if len(stale) == 0 {
		return
	}
	if err := s.remove(stale); err != nil {
		s.log.Error("push: delete the subscriptions of the room before", "err", err)
		return
	}
	s.log.Info("push: deleted the subscriptions of the room as it was before", "count", len(stale))
}

// wants reports whether sub is told of m, and whether urgently.
func (s *Service) wants(sub Subscription, m chat.Message, gen uint64) (ok, urgent bool) {
	if sub.Generation != gen {
		return false, false
	}
	who := s.fold(sub.Nick)
	if who == s.fold(m.Nick) {
		return false, false
	}
	ping := m.Kind == chat.KindPing && s.fold(m.To) == who
	switch sub.Mode {
	case ModeAll:
		return true, ping
	case ModePings:
		return ping, ping
	}
	return false, false
}

// target adds m to the pending pushes of every subscription that wants
// it and whose person has no visible page of the room.
func (s *Service) target(m chat.Message) {
	gen := s.generation.Load()
	type hit struct {
		endpoint, who string
		urgent        bool
	}
	var hits []hit
	s.store.mu.Lock()
	for e, sub := range s.store.subs {
		if ok, urgent := s.wants(sub, m, gen); ok {
			hits = append(hits, hit{e, s.fold(sub.Nick), urgent})
		}
	}
	s.store.mu.Unlock()
	if len(hits) == 0 {
		return
	}
	seen := s.vis.snapshot()
	for _, h := range hits {
		if seen[h.who] {
			s.stats.Skipped.Add(1)
			continue
		}
		s.pend.add(h.endpoint, m, h.urgent)
	}
}
