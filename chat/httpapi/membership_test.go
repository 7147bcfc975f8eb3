package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatbox-dev/chatbox/chat"
)

// fromAddr is a dial header that makes the room (trusting 127.0.0.1 as a
// proxy) count the connection against ip.
func fromAddr(ip string) http.Header {
	h := http.Header{}
	h.Set("X-Forwarded-For", ip)
	return h
}

// burst writes frames to c's socket in one write, as an attacker's client
// would, bypassing the client library's one-frame-at-a-time writer. The
// frames are masked with a zero key, which leaves them as they are.
func burst(c *websocket.Conn, frames [][]byte) error {
	var buf []byte
	for _, f := range frames {
		if len(f) >= 126 {
			return fmt.Errorf("burst frames must be short, got %d bytes", len(f))
		}
		buf = append(buf, 0x81, 0x80|byte(len(f)), 0, 0, 0, 0)
		buf = append(buf, f...)
	}
	_, err := c.UnderlyingConn().Write(buf)
	return err
}

// members is what a page knows of the room, kept from presence events and
// the deltas after them.
type members map[string]bool

func (m members) apply(ev chat.Event) {
	switch ev.Type {
	case "presence":
		clear(m)
		for _, n := range ev.Members {
			m[n] = true
		}
	case "join":
		m[ev.Nick] = true
	case "leave":
		delete(m, ev.Nick)
	case "nick":
		delete(m, ev.From)
		m[ev.Nick] = true
	}
}

func (m members) String() string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}

// readerResult is what one reader saw during the attack.
type readerResult struct {
	bytes     int
	events    int
	closeCode int
	err       error
}

// TestRenameFloodDisconnectsNoOne replays the attack that used to close
// every reader with 1008 "too slow": one client writes 250 renames in a
// single write, then 20 clients from one address each write 50 at once,
// while 20 people on another address read the room. No reader may be
// dropped, and what each reader receives during the attack stays small,
// whether the rate budget stops the renames (the config's default) or
// lets them all through (then the hub's own coalescing must hold).
func TestRenameFloodDisconnectsNoOne(t *testing.T) {
	const (
		readers      = 20
		loneRenames  = 250
		groupClients = 20
		groupRenames = 50
		// maxBytes bounds what one reader may receive from the attack's
		// start until the room is quiet again.
		maxBytes = 16 << 10
	)
	tests := []struct {
		name           string
		postsPerMinute int
	}{
		{"with the default budget", 120},
		{"with a budget that lets every rename through", 1 << 30},
	}
	for _, tt := range tests {
		t.Run(tt.name+" no reader is dropped and each gets little", func(t *testing.T) {
			tr := newTestRoom(t, func(o *testOptions) {
				o.PostsPerMinute = tt.postsPerMinute
				o.ConnectsPerMinute = 1 << 20 // many dials from two addresses
				o.Web.TrustedProxies = []string{"127.0.0.1"}
			})
			want := members{}
			var conns []*wsClient
			for i := range readers {
				nick := fmt.Sprint("reader", i)
				c := tr.dial(t, nick, fromAddr("198.51.100.1"))
				c.waitFor("the welcome", func(ev chat.Event) bool { return ev.Type == "presence" })
				conns = append(conns, c)
				want[nick] = true
			}

			// Every reader reads until the room is as it should be after the
			// attack and the closing message has arrived.
			done := make(chan struct{})
			results := make([]readerResult, readers)
			var wg sync.WaitGroup
			for i, c := range conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res := &results[i]
					seen := members{}
					for k := range want {
						seen[k] = true // from the welcome and the joins before
					}
					ended := false
					for !ended || seen.String() != want.String() {
						c.conn.SetReadDeadline(time.Now().Add(15 * time.Second))
						_, raw, err := c.conn.ReadMessage()
						if err != nil {
							var ce *websocket.CloseError
							if errors.As(err, &ce) {
								res.closeCode = ce.Code
							}
							res.err = fmt.Errorf("read: %w (the reader knew %s)", err, seen)
							return
						}
						res.bytes += len(raw)
						res.events++
						var ev chat.Event
						if err := json.Unmarshal(raw, &ev); err != nil {
							res.err = fmt.Errorf("event %q: %w", raw, err)
							return
						}
						seen.apply(ev)
						if ev.Type == "message" && ev.Message.Text == "the end" {
							ended = true
						}
					}
				}()
			}
			go func() { wg.Wait(); close(done) }()

			attack := func(nick, addr string, renames int) chan error {
				errc := make(chan error, 1)
				c := tr.dial(t, nick, fromAddr(addr))
				c.waitFor("the welcome", func(ev chat.Event) bool { return ev.Type == "presence" })
				go func() {
					frames := make([][]byte, renames)
					for i := range frames {
						frames[i] = fmt.Appendf(nil, `{"type":"nick","nick":"%s%d"}`, nick, i)
					}
					if err := burst(c.conn, append(frames, []byte(`{"type":"quit"}`))); err != nil {
						errc <- fmt.Errorf("%s: burst: %w", nick, err)
						close(errc)
						return
					}
					// The attacker reads until the server closes: then it
					// has acted on every frame.
					for {
						c.conn.SetReadDeadline(time.Now().Add(15 * time.Second))
						if _, _, err := c.conn.ReadMessage(); err != nil {
							var ce *websocket.CloseError
							if !errors.As(err, &ce) {
								errc <- fmt.Errorf("%s: %w", nick, err)
							}
							close(errc)
							return
						}
					}
				}()
				return errc
			}
			// One client alone, then twenty from one address at once.
			if err := <-attack("lone", "203.0.113.7", loneRenames); err != nil {
				t.Fatal(err)
			}
			var group []chan error
			for i := range groupClients {
				group = append(group, attack(fmt.Sprint("g", i, "x"), "203.0.113.9", groupRenames))
			}
			for _, errc := range group {
				if err := <-errc; err != nil {
					t.Fatal(err)
				}
			}
			// Once the attackers' connections are gone, a bystander posts.
			deadline := time.Now().Add(10 * time.Second)
			attackersIn := func() bool {
				return slices.ContainsFunc(tr.Room.Members(), func(n string) bool { return !strings.HasPrefix(n, "reader") })
			}
			for attackersIn() {
				if time.Now().After(deadline) {
					t.Fatalf("the room still has %v after the attackers left", tr.Room.Members())
				}
				time.Sleep(5 * time.Millisecond)
			}
			res, raw := tr.do(t, "POST", "/api/messages", map[string]string{"nick": "bystander", "text": "the end"}, func(r *http.Request) {
				r.Header.Set("X-Forwarded-For", "192.0.2.1")
			})
			if res.StatusCode != http.StatusCreated {
				t.Fatalf("the bystander's post got %d %s", res.StatusCode, raw)
			}
			<-done

			most, events, dropped := 0, 0, 0
			for i, r := range results {
				if r.closeCode == websocket.ClosePolicyViolation {
					dropped++
					t.Errorf("reader%d was closed with 1008: %v", i, r.err)
				} else if r.err != nil {
					t.Errorf("reader%d: %v", i, r.err)
				}
				if r.bytes > most {
					most, events = r.bytes, r.events
				}
			}
			if most > maxBytes {
				t.Errorf("a reader received %d bytes in %d events during the attack, want at most %d", most, events, maxBytes)
			}
			t.Logf("RELIABILITY rename flood (%s): %d renames from one client in one write, then %d clients from one address writing %d each: %d of %d readers dropped, the busiest received %d bytes in %d events",
				tt.name, loneRenames, groupClients, groupRenames, dropped, readers, most, events)
		})
	}
}
