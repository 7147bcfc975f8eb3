package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/chat"
)

// clientFrom returns an HTTP client whose connections come from ip, a
// loopback address, as a separate person's would.
func clientFrom(ip string) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: 64,
		DialContext:         (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).DialContext,
	}}
}

// TestFloodFromOneAddressDoesNotHurtOthers sends about 1,000 posts a
// second from one address for three seconds while ten other people post
// ten a second between them and someone reads the room: the flooder is
// refused with 429, the others are never refused, and every one of their
// messages reaches the reader.
func TestFloodFromOneAddressDoesNotHurtOthers(t *testing.T) {
	requireE2E(t)
	tr := newTestRoom(t, func(o *testOptions) { o.PostsPerMinute = 120 })
	reader := tr.dial(t, "reader", nil)
	post := func(c *http.Client, nick, text string) int {
		req, _ := http.NewRequest("POST", tr.srv.URL+"/api/messages", bytes.NewReader([]byte(fmt.Sprintf(`{"nick":%q,"text":%q}`, nick, text))))
		req.Header.Set("Content-Type", "application/json")
		res, err := c.Do(req)
		if err != nil {
			return 0
		}
		res.Body.Close()
		return res.StatusCode
	}

	// The reader notes when each of the other people's messages arrives.
	type arrival struct {
		text string
		at   time.Time
	}
	arrivals := make(chan arrival, 1000)
	go func() {
		for {
			reader.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			var ev chat.Event
			if err := reader.conn.ReadJSON(&ev); err != nil {
				return
			}
			if ev.Type == "message" && ev.Message.Nick == "person" {
				arrivals <- arrival{ev.Message.Text, time.Now()}
			}
		}
	}()

	const duration = 3 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var flood, refused atomic.Int64
	var wg sync.WaitGroup
	flooder := clientFrom("127.0.0.2")
	tick := time.NewTicker(time.Millisecond) // 1,000 a second
	defer tick.Stop()
	wg.Add(1)
	go func() {
		defer wg.Done()
		sem := make(chan struct{}, 32)
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				flood.Add(1)
				if post(flooder, "flooder", "spam") == http.StatusTooManyRequests {
					refused.Add(1)
				}
			}()
		}
	}()

	// Ten other people, each on an address of their own, post one
	// message a second between them: ten a second room-wide.
	people := make([]*http.Client, 10)
	for i := range people {
		people[i] = clientFrom(fmt.Sprintf("127.0.0.%d", 10+i))
	}
	sent := map[string]time.Time{}
	var mu sync.Mutex
	for i := 0; ctx.Err() == nil; i++ {
		text := fmt.Sprintf("hello %d", i)
		mu.Lock()
		sent[text] = time.Now()
		mu.Unlock()
		if status := post(people[i%len(people)], "person", text); status != http.StatusCreated {
			t.Fatalf("another person's post %d got %d during the flood", i, status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()

	var latencies []time.Duration
	timeout := time.After(10 * time.Second)
collect:
	for len(latencies) < len(sent) {
		select {
		case a := <-arrivals:
			mu.Lock()
			latencies = append(latencies, a.at.Sub(sent[a.text]))
			mu.Unlock()
		case <-timeout:
			break collect
		}
	}
	if len(latencies) != len(sent) {
		t.Fatalf("the reader got %d of the other people's %d messages", len(latencies), len(sent))
	}
	if refused.Load() < flood.Load()/2 {
		t.Fatalf("only %d of %d flood posts were refused", refused.Load(), flood.Load())
	}
	slices.Sort(latencies)
	t.Logf("RELIABILITY flood: %d flood posts in %v from one address, %d refused with 429; the other people's %d posts all accepted and delivered, latency p50 %v max %v",
		flood.Load(), duration, refused.Load(), len(sent), latencies[len(latencies)/2].Round(time.Microsecond), latencies[len(latencies)-1].Round(time.Microsecond))
}
