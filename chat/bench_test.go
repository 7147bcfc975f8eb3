package chat

// Benchmarks of the hot paths: go test -run '^$' -bench . -benchmem ./chat/
// They run only with -bench; speed and memory targets are checked by the
// load generator in bench/ and written down in BENCHMARKS.md, not here.

import (
	"context"
	"testing"
	"time"
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
