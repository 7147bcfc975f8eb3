package chat

// Benchmarks of the hot paths: go test -run '^$' -bench . -benchmem ./chat/
// They run only with -bench; speed and memory targets are checked by the
// load generator in bench/ and written down in BENCHMARKS.md, not here.

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// benchMessage is a typical chat line.
func benchMessage(id uint64) Message {
	return Message{
		ID:   id,
		TS:   time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC),
		Nick: "alice",
		Text: "Are we still on for lunch at noon? I can bring the slides.",
		Kind: KindText,
	}
}

// BenchmarkEncodeMessageEvent measures encoding one message event once
// for all clients: JSON plus the prepared WebSocket frame.
func BenchmarkEncodeMessageEvent(b *testing.B) {
	m := benchMessage(1)
	b.ReportAllocs()
	for b.Loop() {
		prepare(Event{Type: "message", Message: &m})
	}
}

func openBenchStore(b *testing.B) *Store {
	b.Helper()
	s, err := OpenStore(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if _, err := s.UpdateRoom(func(st *RoomState) error { st.Exists = true; return nil }); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkStoreAppend measures one poster at a time: every append waits
// for its own fsync.
func BenchmarkStoreAppend(b *testing.B) {
	s := openBenchStore(b)
	m := benchMessage(0)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Append(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStoreAppendConcurrent measures 64 posters at once, whose
// appends share fsyncs (group commit); ns/op is per message.
func BenchmarkStoreAppendConcurrent(b *testing.B) {
	s := openBenchStore(b)
	m := benchMessage(0)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(32) // times GOMAXPROCS goroutines
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Append(ctx, m); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkFanOut1000 publishes one message at a time to 1,000 WebSocket
// clients in this process, over loopback, and waits until all have read
// it; ns/op is per message (1,000 deliveries). Allocations include the
// clients' reads.
func BenchmarkFanOut1000(b *testing.B) {
	const subscribers = 1000
	room, err := Open(context.Background(), Options{
		DataDir: b.TempDir(), CreateOnStart: true,
		// Every subscriber dials from 127.0.0.1.
		MaxClientsPerAddr: subscribers, ConnectsPerMinute: 1 << 20,
	})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(room.Handler())
	b.Cleanup(func() {
		room.CloseClients()
		srv.Close()
		room.Close()
	})

	var received atomic.Int64
	delivered := make(chan struct{}, 1)
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws?nick=sub"
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
	for deadline := time.Now().Add(time.Minute); room.hub.count() < subscribers; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d subscribers joined", room.hub.count(), subscribers)
		}
	}

	next := room.State().LastID + 1
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		room.hub.publish(benchMessage(next + uint64(i)))
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
