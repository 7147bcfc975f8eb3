package push_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/chat/datadir"
	"github.com/chatbox-dev/chatbox/chat/push"
	"github.com/chatbox-dev/chatbox/chat/push/pushtest"
)

// newService starts a push service in a fresh data directory whose pushes
// go to the stand-in ps.
func newService(t *testing.T, ps *pushtest.Server, change func(*push.Options)) *push.Service {
	t.Helper()
	opts := push.Options{
		Layout: datadir.Layout{Dir: t.TempDir()}, Subject: "https://chat.example.com",
		Title: "chat.example.com", Preview: true,
		MaxPerNick: 5, MaxSubscriptions: 100, PerSecond: 1000, QueueLength: 100,
		TTL: time.Hour, HTTPClient: ps.Client(),
	}
	if change != nil {
		change(&opts)
	}
	s, err := push.New(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := ps.Trust(s.PublicKey()); err != nil {
		t.Fatal(err)
	}
	s.Renewed(1)
	return s
}

func subscribe(t *testing.T, s *push.Service, d *pushtest.Device, nick string, mode push.Mode) {
	t.Helper()
	err := s.Subscribe(push.Subscription{Endpoint: d.Endpoint, Keys: push.Keys{P256dh: d.P256dh, Auth: d.Auth}, Nick: nick, Mode: mode})
	if err != nil {
		t.Fatal(err)
	}
}

func payload(t *testing.T, p pushtest.Push) push.Payload {
	t.Helper()
	if p.Err != nil {
		t.Fatalf("the stand-in refused the push: %v", p.Err)
	}
	var pl push.Payload
	if err := json.Unmarshal(p.Plain, &pl); err != nil {
		t.Fatalf("payload %q: %v", p.Plain, err)
	}
	return pl
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestTheVAPIDKeyIsMadeOnceAndKept(t *testing.T) {
	l := datadir.Layout{Dir: t.TempDir()}
	k1, err := push.LoadOrCreateKey(l, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(l.VAPIDKey())
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("the key file has mode %v, want 0600", info.Mode().Perm())
	}
	k2, err := push.LoadOrCreateKey(l, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if k1 != k2 {
		t.Error("a second start made a new key")
	}
	if err := os.WriteFile(l.VAPIDKey(), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := push.LoadOrCreateKey(l, time.Now()); err == nil || !strings.Contains(err.Error(), "backup") {
		t.Errorf("a damaged key file gave %v, want an error that says how to recover", err)
	}
}

func TestAPushReachesTheDeviceReadableAndSigned(t *testing.T) {
	ps := pushtest.New(t)
	s := newService(t, ps, nil)
	bob := ps.NewDevice(t)
	subscribe(t, s, bob, "bob", push.ModePings)

	s.Published(chat.Message{ID: 7, Nick: "alice", Kind: chat.KindPing, To: "bob", Text: "/ping bob lunch?"})
	p := ps.Next(t, 10*time.Second)
	pl := payload(t, p)
	if pl.Title != "chat.example.com" || pl.Body != "alice: lunch?" || pl.ID != 7 || pl.URL != "/#m7" || pl.Count != 1 || !pl.Ping {
		t.Errorf("payload %+v", pl)
	}
	for h, want := range map[string]string{"Urgency": "high", "Topic": push.Topic, "TTL": "3600"} {
		if got := p.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	if p.Status != 201 {
		t.Errorf("the stand-in answered %d", p.Status)
	}
}

func TestWhoIsToldOfWhat(t *testing.T) {
	ps := pushtest.New(t)
	s := newService(t, ps, func(o *push.Options) { o.Preview = false })
	pings, all, none := ps.NewDevice(t), ps.NewDevice(t), ps.NewDevice(t)
	subscribe(t, s, pings, "bob", push.ModePings)
	subscribe(t, s, all, "carol", push.ModeAll)
	subscribe(t, s, none, "dave", push.ModeNone)

	// carol's own message goes to nobody; a plain one only to carol's
	// "every message" device; a ping to bob reaches bob's and carol's.
	s.Published(chat.Message{ID: 1, Nick: "carol", Kind: chat.KindText, Text: "mine"})
	s.Published(chat.Message{ID: 2, Nick: "alice", Kind: chat.KindText, Text: "hello"})
	p := ps.Next(t, 10*time.Second)
	if p.Device != all || payload(t, p).ID != 2 || p.Header.Get("Urgency") != "normal" {
		t.Fatalf("first push went to %s for %+v", p.Device.ID, payload(t, p))
	}
	if body := payload(t, p).Body; body != "New message" {
		t.Errorf("with previews off the body is %q, want New message", body)
	}
	s.Published(chat.Message{ID: 3, Nick: "alice", Kind: chat.KindPing, To: "BOB", Text: "/ping BOB hi"})
	got := map[*pushtest.Device]bool{}
	for range 2 {
		got[ps.Next(t, 10*time.Second).Device] = true
	}
	if !got[pings] || !got[all] {
		t.Errorf("the ping reached %v, want bob's and carol's devices", got)
	}
	if n := len(ps.Received()); n != 3 {
		t.Errorf("%d pushes, want 3 (none for carol's own message, none to a muted device)", n)
	}
}

func TestAPersonWithAVisiblePageGetsNoPush(t *testing.T) {
	ps := pushtest.New(t)
	s := newService(t, ps, nil)
	bob := ps.NewDevice(t)
	subscribe(t, s, bob, "bob", push.ModeAll)
	conn := new(int)
	s.SetVisible(conn, "Bob", true)
	s.Published(chat.Message{ID: 1, Nick: "alice", Kind: chat.KindText, Text: "hello"})
	waitFor(t, "the push is skipped", func() bool { return s.Stats().Skipped.Load() == 1 })

	s.SetVisible(conn, "bob", false) // the tab went to the background
	s.Published(chat.Message{ID: 2, Nick: "alice", Kind: chat.KindText, Text: "still there?"})
	if pl := payload(t, ps.Next(t, 10*time.Second)); pl.ID != 2 {
		t.Errorf("pushed %+v, want message 2", pl)
	}
	s.SetVisible(conn, "bob", true)
	s.Gone(conn) // the page closed
	if s.Visible("bob") {
		t.Error("bob is visible after his only page closed")
	}
	if n := len(ps.Received()); n != 1 {
		t.Errorf("%d pushes, want 1", n)
	}
}

func TestGoneSubscriptionsAreDeleted(t *testing.T) {
	for _, status := range []int{404, 410} {
		t.Run("on "+http(status), func(t *testing.T) {
			ps := pushtest.New(t)
			s := newService(t, ps, nil)
			d := ps.NewDevice(t)
			subscribe(t, s, d, "bob", push.ModeAll)
			ps.AnswerNext(d, pushtest.Answer{Status: status})
			s.Published(chat.Message{ID: 1, Nick: "alice", Kind: chat.KindText, Text: "hello"})
			ps.Next(t, 10*time.Second)
			waitFor(t, "the subscription is deleted", func() bool { return s.Len() == 0 })
			if s.Stats().Gone.Load() != 1 || s.Stats().Retried.Load() != 0 {
				t.Errorf("gone %d, retried %d", s.Stats().Gone.Load(), s.Stats().Retried.Load())
			}
		})
	}
}

func http(status int) string {
	return map[int]string{404: "404", 410: "410", 429: "429", 500: "500"}[status]
}

func TestBusyPushServicesAreTriedAgainLater(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answer  pushtest.Answer
		atLeast time.Duration
	}{
		{"429 honours Retry-After", pushtest.Answer{Status: 429, RetryAfter: "2"}, 2 * time.Second},
		{"500 backs off", pushtest.Answer{Status: 500}, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := pushtest.New(t)
			s := newService(t, ps, nil)
			d := ps.NewDevice(t)
			subscribe(t, s, d, "bob", push.ModeAll)
			ps.AnswerNext(d, tc.answer)
			s.Published(chat.Message{ID: 1, Nick: "alice", Kind: chat.KindText, Text: "one"})
			first := ps.Next(t, 10*time.Second)
			// Messages while the push waits join it: one notification.
			for i := 2; i <= 5; i++ {
				s.Published(chat.Message{ID: uint64(i), Nick: "alice", Kind: chat.KindText, Text: "more"})
			}
			again := ps.Next(t, 10*time.Second)
			if gap := again.At.Sub(first.At); gap < tc.atLeast {
				t.Errorf("tried again after %v, want at least %v", gap, tc.atLeast)
			}
			pl := payload(t, again)
			if pl.Count != 5 || pl.Body != "5 new messages" || pl.ID != 5 {
				t.Errorf("the retry carried %+v, want one notification of 5 new messages up to id 5", pl)
			}
			if again.Status != 201 || s.Len() != 1 {
				t.Errorf("status %d, %d subscriptions", again.Status, s.Len())
			}
		})
	}
}

func TestARenewedRoomForgetsItsSubscriptions(t *testing.T) {
	ps := pushtest.New(t)
	s := newService(t, ps, nil)
	subscribe(t, s, ps.NewDevice(t), "bob", push.ModeAll)
	subscribe(t, s, ps.NewDevice(t), "carol", push.ModeAll)
	s.Renewed(2) // a password change, a destroy or a reset
	waitFor(t, "the subscriptions are deleted", func() bool { return s.Len() == 0 })
}

func TestSubscriptionsAreCapped(t *testing.T) {
	ps := pushtest.New(t)
	s := newService(t, ps, func(o *push.Options) { o.MaxPerNick, o.MaxSubscriptions = 2, 3 })
	first := ps.NewDevice(t)
	subscribe(t, s, first, "bob", push.ModeAll)
	subscribe(t, s, ps.NewDevice(t), "bob", push.ModeAll)
	subscribe(t, s, ps.NewDevice(t), "BOB", push.ModeAll)
	if s.Len() != 2 {
		t.Fatalf("bob has %d subscriptions, want the cap of 2", s.Len())
	}
	for _, sub := range s.Subscriptions() {
		if sub.Endpoint == first.Endpoint {
			t.Error("the oldest subscription was kept over the newest")
		}
	}
	subscribe(t, s, ps.NewDevice(t), "carol", push.ModeAll)
	d := ps.NewDevice(t)
	err := s.Subscribe(push.Subscription{Endpoint: d.Endpoint, Keys: push.Keys{P256dh: d.P256dh, Auth: d.Auth}, Nick: "dave"})
	if chat.Refusal(err).Code != chat.CodeUnprocessable || !strings.Contains(err.Error(), "push.max_subscriptions") {
		t.Errorf("a subscription past the cap: %v", err)
	}
}

func TestBadSubscriptionsAreRefusedInASentence(t *testing.T) {
	ps := pushtest.New(t)
	s := newService(t, ps, nil)
	d := ps.NewDevice(t)
	good := push.Subscription{Endpoint: d.Endpoint, Keys: push.Keys{P256dh: d.P256dh, Auth: d.Auth}, Nick: "bob"}
	for _, tc := range []struct {
		name   string
		change func(*push.Subscription)
		want   string
	}{
		{"plain http", func(s *push.Subscription) { s.Endpoint = "http://push.example.com/x" }, "https://"},
		{"no endpoint", func(s *push.Subscription) { s.Endpoint = "" }, "endpoint"},
		{"a short key", func(s *push.Subscription) { s.Keys.P256dh = "AAAA" }, "p256dh"},
		{"a key off the curve", func(s *push.Subscription) { s.Keys.P256dh = "BA" + strings.Repeat("A", 85) }, "P-256"},
		{"a short secret", func(s *push.Subscription) { s.Keys.Auth = "AAAA" }, "auth"},
		{"an unknown mode", func(s *push.Subscription) { s.Mode = "loud" }, "mode"},
		{"a bad nickname", func(s *push.Subscription) { s.Nick = "" }, "nickname"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub := good
			tc.change(&sub)
			err := s.Subscribe(sub)
			if chat.Refusal(err).Code != chat.CodeInvalid || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an invalid refusal naming %q", err, tc.want)
			}
		})
	}
}

func TestTheDefaultClientPostsOnlyToPublicAddresses(t *testing.T) {
	ps := pushtest.New(t) // on 127.0.0.1
	s := newService(t, ps, func(o *push.Options) { o.HTTPClient = nil })
	subscribe(t, s, ps.NewDevice(t), "bob", push.ModeAll)
	s.Published(chat.Message{ID: 1, Nick: "alice", Kind: chat.KindText, Text: "hello"})
	waitFor(t, "the push is given a retry", func() bool { return s.Stats().Retried.Load() >= 1 })
	if n := len(ps.Received()); n != 0 {
		t.Errorf("the box posted %d pushes to a loopback address", n)
	}
}

func TestAFullQueueDropsPushesWithoutWaiting(t *testing.T) {
	ps := pushtest.New(t)
	s := newService(t, ps, func(o *push.Options) { o.QueueLength = 1; o.PerSecond = 1 })
	for i := range 1000 {
		s.Published(chat.Message{ID: uint64(i + 1), Nick: "alice", Kind: chat.KindText, Text: "x"})
	}
	if s.Stats().Dropped.Load() == 0 {
		t.Error("1000 messages into a queue of 1 dropped nothing")
	}
}

// An encrypted room's notifications carry no text: "NICK pinged you" for a
// ping, "New message" otherwise, previews on or not. The envelope rides
// beside, for a device that keeps the key in its service worker.
func TestAnEncryptedRoomsPushesCarryNoText(t *testing.T) {
	ps := pushtest.New(t)
	s := newService(t, ps, nil)
	const room = "q1w2e3r4t5y6u7i8o9p0aQ"
	s.Encrypted(room)
	bob, carol := ps.NewDevice(t), ps.NewDevice(t)
	subscribe(t, s, bob, "bob", push.ModePings)
	subscribe(t, s, carol, "carol", push.ModeAll)
	env := `{"v":1,"iv":"oKGio6Slpqeoqaqr","ct":"jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM4"}`
	s.Published(chat.Message{ID: 7, Nick: "alice", Kind: chat.KindPing, To: "bob", Text: env})
	got := map[*pushtest.Device]push.Payload{}
	for range 2 {
		p := ps.Next(t, 10*time.Second)
		got[p.Device] = payload(t, p)
	}
	if got[bob].Body != "alice pinged you" || got[carol].Body != "New message" {
		t.Errorf("bob was told %q (want alice pinged you), carol %q (want New message)", got[bob].Body, got[carol].Body)
	}
	want := push.Sealed{Room: room, Kind: "ping", Nick: "alice", Envelope: env}
	for d, p := range got {
		if strings.Contains(p.Body, "ct") || strings.Contains(p.Body, "{") {
			t.Errorf("a notification carries the envelope in its text: %q", p.Body)
		}
		if p.Sealed == nil || *p.Sealed != want {
			t.Errorf("device %p: sealed = %+v, want %+v", d, p.Sealed, want)
		}
	}
}

// The envelope is left out where it would not fit a push (the push still
// goes, saying "New message"), with previews off, and after a room that
// is not encrypted any more.
func TestAnEncryptedRoomsEnvelopeIsLeftOutWhereItMustBe(t *testing.T) {
	long := `{"v":1,"iv":"oKGio6Slpqeoqaqr","ct":"` + strings.Repeat("A", 2000) + `"}`
	short := `{"v":1,"iv":"oKGio6Slpqeoqaqr","ct":"jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM4"}`
	for _, c := range []struct {
		name    string
		preview bool
		room    string
		text    string
	}{
		{"too long for a push", true, "q1w2e3r4t5y6u7i8o9p0aQ", long},
		{"previews off", false, "q1w2e3r4t5y6u7i8o9p0aQ", short},
		{"not encrypted", true, "", "hello"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ps := pushtest.New(t)
			s := newService(t, ps, func(o *push.Options) { o.Preview = c.preview })
			s.Encrypted(c.room)
			subscribe(t, s, ps.NewDevice(t), "carol", push.ModeAll)
			s.Published(chat.Message{ID: 9, Nick: "alice", Kind: chat.KindText, Text: c.text})
			p := payload(t, ps.Next(t, 10*time.Second))
			if p.Sealed != nil {
				t.Errorf("the push carries %+v", p.Sealed)
			}
			if c.room != "" && p.Body != "New message" {
				t.Errorf("body %q, want New message", p.Body)
			}
		})
	}
}
