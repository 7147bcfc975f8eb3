package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/chat"
)

func TestHistogramBucketsKeepValuesWithinOnePercent(t *testing.T) {
	for _, us := range []uint64{0, 1, 127, 128, 255, 256, 1000, 99_999, 100_000, 12_345_678} {
		lo := lowerBound(bucketOf(us))
		if lo > us || float64(us-lo) > float64(us)/100 {
			t.Errorf("%d µs lands in a bucket starting at %d µs", us, lo)
		}
		if bucketOf(lo) != bucketOf(us) {
			t.Errorf("%d µs and its bucket's start %d µs land in different buckets", us, lo)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	h := &histogram{}
	for i := 1; i <= 100; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	for _, tt := range []struct {
		q    float64
		want time.Duration
	}{{0.50, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}} {
		got := h.quantile(tt.q)
		if got > tt.want || tt.want-got > tt.want/100 {
			t.Errorf("quantile(%v) = %v, want %v within 1%%", tt.q, got, tt.want)
		}
	}
	if h.max() != 100*time.Millisecond {
		t.Errorf("max = %v, want 100ms", h.max())
	}
}

// The generator reads message events by hand; this ties it to the room's
// own encoding, so a change there shows here rather than as "lost".
func TestClientCountsTheRoomsMessageEvents(t *testing.T) {
	tr := &tracker{epoch: time.Now().Add(-time.Second)}
	lat := tr.startPhase(phaseLoad, 41, 10)
	c := &wsClient{}
	event := func(id uint64, text string) []byte {
		raw, err := json.Marshal(chat.Event{Type: "message", Message: &chat.Message{
			ID: id, TS: time.Now(), Nick: "lgpost1", Text: text, Kind: chat.KindText,
		}})
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	sent := int64(500 * time.Millisecond) // on the generator's clock
	c.handle(event(42, "lg 1 "+strconv.FormatInt(sent, 10)), tr)
	c.handle(event(42, "lg 1 "+strconv.FormatInt(sent, 10)), tr) // again: a duplicate
	c.handle(event(43, "lg 2 "+strconv.FormatInt(sent, 10)), tr) // another phase
	c.handle(event(44, "hello"), tr)                             // someone else's

	if c.got.Load() != 1 || c.dup.Load() != 1 {
		t.Errorf("got %d, duplicated %d; want 1 and 1", c.got.Load(), c.dup.Load())
	}
	if c.lastID.Load() != 44 {
		t.Errorf("last id %d, want 44", c.lastID.Load())
	}
	if d := lat.max(); d < 500*time.Millisecond || d > time.Minute {
		t.Errorf("latency %v, want about half a second", d)
	}
	if tr.fanOut().count.Load() != 1 {
		t.Errorf("fan-out has %d messages, want 1", tr.fanOut().count.Load())
	}
}

func TestCompareRatiosAndMedians(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, s summary) string {
		p := dir + "/" + name
		if err := s.write(p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	floor := summary{Label: "floor", Clients: 100, Deliveries: 1000, ServerCPU: 10 * time.Millisecond,
		DeliveryP50: 10 * time.Millisecond, DeliveryP99: 20 * time.Millisecond, FanOutP99: 10 * time.Millisecond}
	room := floor
	room.Label, room.ServerCPU, room.DeliveryP99 = "chatbox", 15*time.Millisecond, 30*time.Millisecond
	slower := room
	slower.DeliveryP99 = 60 * time.Millisecond
	r := pairRatios(floor, room)
	if r.cpu != 1.5 || r.p99 != 1.5 || r.p50 != 1 {
		t.Errorf("ratios %+v, want cpu 1.5, p99 1.5, p50 1", r)
	}
	var out strings.Builder
	paths := []string{write("f1", floor), write("r1", room), write("f2", floor), write("r2", slower), write("f3", floor), write("r3", room)}
	if err := runCompare(paths, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "100 clients, median of 3 pairs: ratio p50 1.00, p99 1.50, fan-out p99 1.00, cpu per delivery 1.50") {
		t.Errorf("compare printed:\n%s", out.String())
	}
	if strings.Contains(out.String(), "incomplete") {
		t.Errorf("runs without loss were called incomplete:\n%s", out.String())
	}
	lossy := floor
	lossy.Lost = 7
	out.Reset()
	if err := runCompare([]string{write("f4", lossy), write("r4", room)}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "floor incomplete") {
		t.Errorf("a floor run that lost messages was not called incomplete:\n%s", out.String())
	}
	if err := runCompare(paths[:3], &out); err == nil {
		t.Error("an odd number of summaries was accepted")
	}
}
