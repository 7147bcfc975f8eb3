package fanout

// Benchmarks of the fan-out: go test -run '^$' -bench . -benchmem ./chat/fanout/
// They run only with -bench; speed and memory targets are checked by the
// load generator in bench/ and written down in BENCHMARKS.md, not here.

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/chat/event"
	"github.com/gorilla/websocket"
)

// benchMessage is a typical chat line.
func benchMessage(id uint64) event.Message {
	return event.Message{
		ID:   id,
		TS:   time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC),
		Nick: "alice",
		Text: "Are we still on for lunch at noon? I can bring the slides.",
		Kind: event.KindText,
	}
}

// BenchmarkEncodeMessageEvent measures encoding one message event once
// for all clients: JSON plus the prepared WebSocket frame.
func BenchmarkEncodeMessageEvent(b *testing.B) {
	m := benchMessage(1)
	b.ReportAllocs()
	for b.Loop() {
		prepare(event.Event{Type: event.TypeMessage, Message: &m})
	}
}

// BenchmarkFanOut1000 publishes one message at a time to 1,000 WebSocket
// clients in this process, over loopback, and waits until all have read
// it; ns/op is per message (1,000 deliveries). Allocations include the
// clients' reads.
func BenchmarkFanOut1000(b *testing.B) {
	const subscribers = 1000
	hub := New(0)
	upgrader := websocket.Upgrader{ReadBufferSize: 512, WriteBufferSize: 4096}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		conn, err := upgrader.Upgrade(w, req, nil)
		if err != nil {
			return
		}
		c := NewClient(conn, "127.0.0.1", "sub")
		if refusal := hub.Add(c, subscribers, subscribers); refusal != "" {
			conn.Close()
		}
	}))
	b.Cleanup(func() {
		hub.CloseAll(CloseGoingAway, "", 5*time.Second)
		srv.Close()
	})

	var received atomic.Int64
	delivered := make(chan struct{}, 1)
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	for range subscribers {
		conn, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { conn.Close() })
		go func() {
			head := make([]byte, 16)
			for {
				_, r, err := conn.NextReader()
				if err != nil {
					return
				}
				n, _ := io.ReadFull(r, head)
				io.Copy(io.Discard, r)
				if strings.HasPrefix(string(head[:n]), `{"type":"message`) && received.Add(1)%subscribers == 0 {
					delivered <- struct{}{}
				}
			}
		}()
	}
	for deadline := time.Now().Add(time.Minute); hub.Count() < subscribers; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d subscribers joined", hub.Count(), subscribers)
		}
	}

	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		hub.Publish(benchMessage(1 + uint64(i)))
		select {
		case <-delivered:
		case <-time.After(10 * time.Second):
			b.Fatalf("message %d reached %d of %d subscribers", i, received.Load()%subscribers, subscribers)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*subscribers)/b.Elapsed().Seconds(), "deliveries/s")
	if got := received.Load(); got != int64(b.N*subscribers) {
		b.Fatalf("received %d deliveries, want %d", got, b.N*subscribers)
	}
}
