package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	webpush "github.com/SherClockHolmes/webpush-go"

	"github.com/chatbox-dev/chatbox/chat"
)

// Topic is the Topic header of every push (RFC 8030 section 5.4): a push
// service keeps only the newest undelivered push of a topic, so a device
// that was offline gets one notification, not a pile.
const Topic = "chatbox-room"

// recordSize is the RFC 8291 record size: every push is padded to it, so
// its length tells nothing of the text.
const recordSize = 2048

// previewLength is how much of a message's text a notification shows.
const previewLength = 120

// maxPayload is the most JSON a push carries: the record, less its tag
// (16 bytes), the header webpush-go writes into it (a 16-byte salt, the
// 4-byte record size, the key's length and its 65 bytes) and the padding
// delimiter. An encrypted room's envelope that would not fit is left out.
const maxPayload = recordSize - 16 - (16 + 4 + 1 + 65) - 1

// Payload is what a push carries to the service worker, JSON, encrypted.
type Payload struct {
	// Title is the room's name; Body the sender and the start of the
	// text, "New message", or "N new messages" for a burst.
	Title string `json:"title"`
	Body  string `json:"body"`
	// Count is how many messages the push stands for.
	Count int `json:"count"`
	// ID is the newest message's id; URL opens the room at it.
	ID  uint64 `json:"id"`
	URL string `json:"url"`
	// Tag groups the room's notifications into one.
	Tag string `json:"tag"`
	// Ping says a ping to the subscriber is among them.
	Ping bool `json:"ping,omitempty"`
	// Sealed is, in an encrypted room, the one message's envelope, for a
	// device whose service worker keeps the room key (docs/ENCRYPTION.md):
	// absent for a burst, with previews off, or when it would not fit.
	Sealed *Sealed `json:"sealed,omitempty"`
}

// Sealed is what a service worker needs to open a message of an
// encrypted room: the room's id, the kind and the sender (the associated
// data), and the envelope as stored.
type Sealed struct {
	Room     string `json:"room"`
	Kind     string `json:"kind"`
	Nick     string `json:"nick"`
	Envelope string `json:"envelope"`
}

// payload is the notification for e's messages, as JSON.
func (s *Service) payload(e pending) ([]byte, error) {
	p := Payload{Title: s.opts.Title, Count: e.count, ID: e.last.ID, URL: fmt.Sprintf("/#m%d", e.last.ID), Tag: Topic, Ping: e.urgent}
	room := s.encryptedRoom()
	switch {
	case e.count > 1:
		p.Body = fmt.Sprintf("%d new messages", e.count)
	case room != "" && e.urgent && e.last.Kind == chat.KindPing:
		// An encrypted room's text is for the page alone.
		p.Body = e.last.Nick + " pinged you"
	case !s.opts.Preview, room != "":
		p.Body = "New message"
	default:
		p.Body = e.last.Nick + ": " + preview(e.last)
	}
	if room == "" || e.count > 1 || !s.opts.Preview {
		return json.Marshal(p)
	}
	p.Sealed = &Sealed{Room: room, Kind: string(e.last.Kind), Nick: e.last.Nick, Envelope: e.last.Text}
	raw, err := json.Marshal(p)
	if err != nil || len(raw) <= maxPayload {
		return raw, err
	}
	p.Sealed = nil
	return json.Marshal(p)
}

// preview is the start of m's text, or the name of its file.
func preview(m chat.Message) string {
	text := m.Text
	if m.Kind == chat.KindFile && m.File != nil {
		text = "sent " + m.File.Name
	}
	if m.Kind == chat.KindPing {
		if _, rest, ok := chat.ParsePing(text); ok {
			text = rest
		}
	}
	if utf8.RuneCountInString(text) <= previewLength {
		return text
	}
	r := []rune(text)
	return string(r[:previewLength]) + "…"
}

// sendLoop sends pending pushes within the rate until the service closes.
func (s *Service) sendLoop() {
	for {
		endpoint, e, ok := s.pend.take()
		if !ok {
			return
		}
		if err := s.limiter.Wait(s.ctx); err != nil {
			return
		}
		retry, wait := s.sendOne(endpoint, e)
		if retry {
			s.stats.Retried.Add(1)
		}
		s.pend.done(endpoint, e, retry, wait)
	}
}

// sendOne sends e to endpoint's subscription and says whether to try
// again, and after how long.
func (s *Service) sendOne(endpoint string, e pending) (retry bool, wait time.Duration) {
	s.store.mu.Lock()
	sub, ok := s.store.subs[endpoint]
	s.store.mu.Unlock()
	if !ok || sub.Generation != s.generation.Load() {
		s.pend.forget(endpoint)
		return false, 0
	}
	if s.Visible(sub.Nick) {
		// The person opened the room meanwhile: they see it there.
		s.stats.Skipped.Add(1)
		return false, 0
	}
	raw, err := s.payload(e)
	if err != nil {
		s.log.Error("push: encode the notification", "err", err)
		return false, 0
	}
	urgency := webpush.UrgencyNormal
	if e.urgent {
		urgency = webpush.UrgencyHigh
	}
	ctx, cancel := context.WithTimeout(s.ctx, 15*time.Second)
	defer cancel()
	// One push is encrypted and signed at a time (the CPU's part): the
	// client lets the slot go when the request is ready to leave, so the
	// senders wait on the network together but never take every core
	// from the room.
	select {
	case s.crypto <- struct{}{}:
	case <-ctx.Done():
		return false, 0
	}
	client := &releasing{client: s.client, slot: s.crypto}
	defer client.release()
	res, err := webpush.SendNotificationWithContext(ctx, raw, &webpush.Subscription{
		Endpoint: sub.Endpoint,
		Keys:     webpush.Keys{P256dh: sub.Keys.P256dh, Auth: sub.Keys.Auth},
	}, &webpush.Options{
		HTTPClient:      client,
		RecordSize:      recordSize,
		Subscriber:      s.opts.Subject,
		Topic:           Topic,
		TTL:             int(s.opts.TTL.Seconds()),
		Urgency:         urgency,
		VAPIDPublicKey:  s.key.Public,
		VAPIDPrivateKey: s.key.Private,
	})
	if err != nil {
		if s.ctx.Err() != nil {
			return false, 0
		}
		s.log.Warn("push: the push service could not be reached", "host", host(endpoint), "err", err)
		return s.again(e, 0)
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 4<<10))
	res.Body.Close()
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		s.stats.Sent.Add(1)
		return false, 0
	case res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusGone:
		// The browser unsubscribed, or the subscription expired.
		s.stats.Gone.Add(1)
		s.writeMu.Lock()
		err := s.remove([]string{endpoint})
		s.writeMu.Unlock()
		if err != nil {
			s.log.Error("push: delete a subscription its push service no longer knows", "err", err)
		}
		s.pend.forget(endpoint)
		return false, 0
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500:
		return s.again(e, retryAfter(res.Header.Get("Retry-After"), s.now()))
	default:
		s.stats.Failed.Add(1)
		s.log.Warn("push: the push service refused a notification", "host", host(endpoint), "status", res.Status)
		return false, 0
	}
}

// releasing is the HTTP client of one push: it gives back the encryption
// slot before the request goes out.
type releasing struct {
	client *http.Client
	slot   chan struct{}
	once   sync.Once
}

func (r *releasing) release() { r.once.Do(func() { <-r.slot }) }

func (r *releasing) Do(req *http.Request) (*http.Response, error) {
	r.release()
	return r.client.Do(req)
}

// again says whether a push that failed for the attempts-th time is tried
// again: after the push service's Retry-After when it gave one, else after
// a back-off that doubles from one second.
func (s *Service) again(e pending, after time.Duration) (bool, time.Duration) {
	if e.attempts+1 >= maxAttempts {
		s.stats.Failed.Add(1)
		return false, 0
	}
	backoff := time.Second << e.attempts
	return true, max(after, backoff)
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date. Zero
// when there is none; at most an hour.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), time.Hour)
}

// host is the host of endpoint, for the log: the rest of an endpoint is
// the device's secret address.
func host(endpoint string) string {
	u, err := http.NewRequest("POST", endpoint, nil)
	if err != nil {
		return "?"
	}
	return u.URL.Host
}

var errPrivateAddress = errors.New("the push endpoint is at a private or local address, which the box does not post to")

// publicClient is the HTTP client for pushes when none is given: a
// subscription names any URL, so it connects only to public addresses
// (never the box itself or its network; loopback too with loopback), and
// follows no redirect.
func publicClient(loopback bool) *http.Client {
	dialer := &net.Dialer{
		Timeout: 10 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return err
			}
			if !publicAddr(ap.Addr()) && !(loopback && ap.Addr().Unmap().IsLoopback()) {
				return errPrivateAddress
			}
			return nil
		},
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = dialer.DialContext
	tr.MaxIdleConnsPerHost = senders
	return &http.Client{
		Transport: tr,
		Timeout:   15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// publicAddr reports whether a is an address on the public internet.
func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsGlobalUnicast() && !a.IsPrivate() && !a.IsLoopback() && !a.IsLinkLocalUnicast() &&
		!netip.MustParsePrefix("100.64.0.0/10").Contains(a) && !netip.MustParsePrefix("fc00::/7").Contains(a)
}
