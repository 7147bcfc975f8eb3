package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatbox-dev/chatbox/chat/push"
	"github.com/chatbox-dev/chatbox/chat/push/pushtest"
)

// fanOut measures how long messages take to reach every client of a
// room: from the POST to the last client's read.
type fanOut struct {
	clients int
	mu      sync.Mutex
	got     map[uint64]int
	done    map[uint64]time.Time
	all     chan uint64
}

func newFanOut(clients int) *fanOut {
	return &fanOut{clients: clients, got: map[uint64]int{}, done: map[uint64]time.Time{}, all: make(chan uint64, 1000)}
}

func (f *fanOut) arrived(id uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got[id]++
	if f.got[id] == f.clients {
		f.done[id] = time.Now()
		f.all <- id
	}
}

// connect opens n clients of the room that read until the test ends.
func (f *fanOut) connect(t *testing.T, tr *testRoom, n int) {
	t.Helper()
	url := "ws" + strings.TrimPrefix(tr.srv.URL, "http") + "/ws?nick="
	for i := range n {
		c, _, err := websocket.DefaultDialer.Dial(fmt.Sprintf("%sreader%d", url, i), nil)
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		t.Cleanup(func() { c.Close() })
		go func() {
			for {
				_, raw, err := c.ReadMessage()
				if err != nil {
					return
				}
				var ev struct {
					Type    string `json:"type"`
					Message *struct {
						ID uint64 `json:"id"`
					} `json:"message"`
				}
				if json.Unmarshal(raw, &ev) == nil && ev.Type == "message" && ev.Message != nil {
					f.arrived(ev.Message.ID)
				}
			}
		}()
	}
}

// measure posts count messages, every gap, and returns the time each
// took to reach every client, sorted.
func (f *fanOut) measure(t *testing.T, tr *testRoom, count int, gap time.Duration) []time.Duration {
	t.Helper()
	sent := map[uint64]time.Time{}
	for i := range count {
		start := time.Now()
		m := tr.post(t, "speaker", fmt.Sprintf("message %d", i))
		sent[m.ID] = start
		time.Sleep(gap) // the pace of the load, not a wait for a result
	}
	var lat []time.Duration
	deadline := time.After(30 * time.Second)
	for len(lat) < count {
		select {
		case id := <-f.all:
			if s, ok := sent[id]; ok {
				f.mu.Lock()
				lat = append(lat, f.done[id].Sub(s))
				f.mu.Unlock()
			}
		case <-deadline:
			t.Fatalf("only %d of %d messages reached every client within 30s", len(lat), count)
		}
	}
	slices.Sort(lat)
	return lat
}

func pct(d []time.Duration, p float64) time.Duration { return d[int(float64(len(d)-1)*p)] }

// A message to a room of 10,000 subscriptions sends its pushes at the
// configured rate, beside the room: the same messages reach the room's
// clients about as fast with the pushes running as without them.
func TestTenThousandSubscriptionsPushAtABoundedRateBesideTheRoom(t *testing.T) {
	requireE2E(t)
	const (
		subs    = 10000
		clients = 4000 // two descriptors each in this one process; bench/ runs 10,000 apart
		rate    = 1000
	)
	tr, svc, ps := newPushRoom(t, func(o *testOptions, p *push.Options) {
		o.MaxClientsPerAddr, o.ConnectsPerMinute, o.PostsPerMinute = clients+10, 1<<20, 1<<20
		p.PerSecond, p.MaxSubscriptions, p.Collapse = rate, subs, time.Minute
	})
	// The stand-in and the box share a transport with room for every
	// sender, as the box's own client has.
	ps.Client().Transport.(*http.Transport).MaxIdleConnsPerHost = 32
	// The stand-in checks and decrypts every push after the measurement,
	// so what is measured is the box's work; a real push service runs
	// elsewhere.
	ps.Later = true
	f := newFanOut(clients)
	f.connect(t, tr, clients)

	base := f.measure(t, tr, 30, 100*time.Millisecond)
	t.Logf("%d clients, no pushes: fan-out p50 %v, p99 %v, max %v", clients, pct(base, .5), pct(base, .99), base[len(base)-1])

	devices := make([]*pushtest.Device, subs)
	for i := range devices {
		devices[i] = ps.NewDevice(t)
		err := svc.Subscribe(push.Subscription{Endpoint: devices[i].Endpoint, Keys: push.Keys{P256dh: devices[i].P256dh, Auth: devices[i].Auth},
			Nick: fmt.Sprintf("sub%d", i), Mode: push.ModeAll})
		if err != nil {
			t.Fatal(err)
		}
	}
	start, cpuStart := time.Now(), cpuTime()
	tr.post(t, "speaker", "to everyone")
	// While the 10,000 pushes go out, the room goes on.
	during := f.measure(t, tr, 30, 100*time.Millisecond)
	t.Logf("%d clients, pushes running: fan-out p50 %v, p99 %v, max %v", clients, pct(during, .5), pct(during, .99), during[len(during)-1])
	pushedMeanwhile := ps.Count()
	waitUntilFor(t, 60*time.Second, "every subscription has its push", func() bool { return ps.Count() >= subs })
	took := time.Since(start)
	cpu := cpuTime() - cpuStart

	got := ps.Received()
	bad, perSecond := 0, map[int64]int{}
	for _, p := range got {
		if p.Err != nil {
			bad++
		}
		perSecond[p.At.Sub(start).Milliseconds()/1000]++
	}
	busiest := 0
	for _, n := range perSecond {
		busiest = max(busiest, n)
	}
	t.Logf("%d pushes in %v (%.0f a second; the busiest second %d); %d had arrived when the 30 messages were out; this process's CPU meanwhile %.2f cores (pushes, the 30 messages to %d clients, the stand-in's answers)",
		len(got), took.Round(time.Millisecond), float64(len(got))/took.Seconds(), busiest, pushedMeanwhile, cpu.Seconds()/took.Seconds(), clients)
	if bad > 0 {
		t.Errorf("%d pushes did not verify or decrypt", bad)
	}
	if len(got) > subs {
		t.Errorf("%d pushes for %d subscriptions: the 30 messages after were not collapsed into them", len(got), subs)
	}
	if min := time.Duration(float64(subs-rate/10) / rate * float64(time.Second)); took < min {
		t.Errorf("10,000 pushes took %v; at most %d a second they take at least %v", took, rate, min)
	}
	if busiest > rate+rate/10+rate/10 {
		t.Errorf("%d pushes in one second; the rate is %d (and a burst of %d)", busiest, rate, rate/10)
	}
	// Pushes share the 2 cores (and here the stand-in's decryption too),
	// but never the path of a message: the room stays as quick as without
	// them, give or take what another busy process would cost.
	if p99 := pct(during, .99); p99 > 3*pct(base, .99)+100*time.Millisecond {
		t.Errorf("fan-out p99 %v while pushing, %v without: the pushes hold up the room", p99, pct(base, .99))
	}
}

// waitUntilFor polls cond until it holds, failing the test after limit.
func waitUntilFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cpuTime is the CPU this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
