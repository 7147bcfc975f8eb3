package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatbox-dev/chatbox/chat"
)

// storm sends n requests from clients (picked in turn) as fast as 8
// workers can, and counts the answers by status.
func storm(t *testing.T, tr *testRoom, clients []*http.Client, n int, req func(i int) (method, path, body string)) map[int]int {
	t.Helper()
	var mu sync.Mutex
	statuses := map[int]int{}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				method, path, body := req(i)
				r, _ := http.NewRequest(method, tr.srv.URL+path, bytes.NewReader([]byte(body)))
				r.Header.Set("Content-Type", "application/json")
				res, err := clients[i%len(clients)].Do(r)
				if err != nil {
					t.Errorf("%s %s: %v", method, path, err)
					return
				}
				res.Body.Close()
				mu.Lock()
				statuses[res.StatusCode]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return statuses
}

// countEvents reads reader's events until the message sentinel arrives
// (posted by the box, after everything the test counts) and counts them
// by type.
func countEvents(t *testing.T, tr *testRoom, reader *wsClient, sentinel string) map[string]int {
	t.Helper()
	if _, err := tr.Post(context.Background(), chat.Sender{Nick: "bot"}, sentinel); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for {
		ev := reader.next()
		if ev.Type == "message" && ev.Message.Text == sentinel {
			return counts
		}
		counts[string(ev.Type)]++
	}
}

// heapInUse is the live heap after a collection.
func heapInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}

// maxStormGrowth bounds what a storm of changes to one message may leave
// in the heap: reactions live in the store, not in memory; what stays is
// the rate limiter's entry per address (swept when idle).
const maxStormGrowth = 8 << 20

// Reactions toggled on one message as fast as clients can send them,
// 1,000 from one address and 1,000 from 200 addresses: every one is
// charged (the room's defaults: 120 writes a minute per address, 600 for
// the room), each accepted toggle is one react event to a reader and no
// more, the message holds at most MaxReactors nicknames' reactions, and
// the heap does not grow with the storm.
func TestReactionStormsAreChargedAndDoNotAmplify(t *testing.T) {
	tr := newTestRoom(t, func(o *testOptions) {
		o.PostsPerMinute, o.RoomPostsPerMinute = 120, 600
	})
	m := tr.postAs(t, "alice", aliceToken, "react to me", 0)
	reader := tr.dial(t, "reader", nil)
	reader.waitFor("welcome", func(ev chat.Event) bool { return ev.Type == "presence" })
	path := fmt.Sprint("/api/messages/", m.ID, "/reactions")
	heap0, rss0 := heapInUse(), procStatus(t, "VmRSS")

	// One address: one nickname turns 👍 on and off, 1,000 times.
	start := time.Now()
	one := storm(t, tr, []*http.Client{clientFrom("127.0.0.2")}, 1000, func(i int) (string, string, string) {
		return "POST", path, fmt.Sprintf(`{"nick":"mallory","emoji":"👍","on":%v}`, i%2 == 0)
	})
	took := time.Since(start)
	events := countEvents(t, tr, reader, "after one")
	t.Logf("RELIABILITY reaction storm, one address: %v in %v (%.0f/s); react events %d", one, took.Round(time.Millisecond), 1000/took.Seconds(), events["react"])
	if one[http.StatusOK]+one[http.StatusTooManyRequests] != 1000 {
		t.Errorf("answers %v: every request is either taken or refused 429", one)
	}
	// The budget is 20 at once plus 2 a second.
	if ok := one[http.StatusOK]; ok > 20+int(2*took.Seconds())+2 {
		t.Errorf("%d toggles from one address were taken: the budget does not hold", ok)
	}
	// Concurrent toggles may ask for what is already so (two "on" in a
	// row): those change nothing and tell nobody. Every event is one
	// accepted change, never more.
	if events["react"] == 0 || events["react"] > one[http.StatusOK] {
		t.Errorf("%d react events for %d accepted toggles", events["react"], one[http.StatusOK])
	}

	// Many addresses: 200 people, five toggles each, each their own
	// nickname and emoji in turn.
	clients := make([]*http.Client, 200)
	for i := range clients {
		clients[i] = clientFrom(fmt.Sprintf("127.0.%d.%d", 3+i/250, 1+i%250))
	}
	emoji := chat.ReactionEmoji()
	start = time.Now()
	many := storm(t, tr, clients, 1000, func(i int) (string, string, string) {
		return "POST", path, fmt.Sprintf(`{"nick":"p%d","emoji":%q,"on":true}`, i%200, emoji[(i/200)%len(emoji)])
	})
	took = time.Since(start)
	events = countEvents(t, tr, reader, "after many")
	t.Logf("RELIABILITY reaction storm, 200 addresses: %v in %v (%.0f/s); react events %d", many, took.Round(time.Millisecond), 1000/took.Seconds(), events["react"])
	// The room's budget is 100 at once plus 10 a second; a message holds
	// the reactions of at most MaxReactors nicknames (413 past that).
	taken := many[http.StatusOK]
	if taken > 100+int(10*took.Seconds())+2 {
		t.Errorf("%d toggles from many addresses were taken: the room's budget does not hold", taken)
	}
	if many[http.StatusOK]+many[http.StatusTooManyRequests]+many[http.StatusRequestEntityTooLarge] != 1000 {
		t.Errorf("answers %v", many)
	}
	// Every toggle here turns a reaction on that was off: each taken one
	// is exactly one event.
	if events["react"] != taken {
		t.Errorf("%d react events for %d accepted toggles", events["react"], taken)
	}
	res, raw := tr.do(t, "GET", fmt.Sprint("/api/messages?after=", m.ID-1, "&limit=1"), nil, nil)
	expect(t, "history", res, raw, http.StatusOK, "")
	hist := decode[[]chat.Message](t, raw)
	names := map[string]bool{}
	total := 0
	for _, nicks := range *hist[0].Reactions {
		total += len(nicks)
		for _, n := range nicks {
			names[n] = true
		}
	}
	if len(names) > chat.MaxReactors || total > len(emoji)*chat.MaxReactors {
		t.Errorf("the message holds %d reactions from %d nicknames", total, len(names))
	}
	heap1, rss1 := heapInUse(), procStatus(t, "VmRSS")
	t.Logf("RELIABILITY reaction storms: heap in use %d KiB -> %d KiB, RSS %d KiB -> %d KiB; the message's stored reactions: %d bytes from %d nicknames",
		heap0>>10, heap1>>10, rss0>>10, rss1>>10, len(raw), len(names))
	if heap1-heap0 > maxStormGrowth {
		t.Errorf("the heap grew by %d KiB during the storms, more than %d KiB", (heap1-heap0)>>10, maxStormGrowth>>10)
	}
}

// The same storm over the WebSocket: one connection sends 1,000 react
// frames at once. Each frame is charged to its address, so the toggles
// taken stay within the budget (and the address is then refused over
// HTTP too), and a reader hears at most one react event per toggle taken.
// A flooder that does not read its refusals fast enough is dropped.
func TestAReactionStormOverTheWebSocketIsCharged(t *testing.T) {
	tr := newTestRoom(t, func(o *testOptions) {
		o.PostsPerMinute, o.RoomPostsPerMinute = 120, 600
	})
	m := tr.post(t, "alice", "react to me")
	reader := tr.dial(t, "reader", nil)
	reader.waitFor("welcome", func(ev chat.Event) bool { return ev.Type == "presence" })
	mallory := tr.dial(t, "mallory", nil)
	start := time.Now()
	sent := 0
	for i := range 1000 {
		if err := mallory.conn.WriteJSON(map[string]any{"type": "react", "id": m.ID, "emoji": "😂", "on": i%2 == 0}); err != nil {
			break // dropped
		}
		sent++
	}
	// Her frames are handled in order, and a quit is honoured over the
	// budget: the end of her connection says the storm is over, whether
	// she quit or was dropped first for not reading her refusals.
	mallory.conn.WriteJSON(map[string]any{"type": "quit"})
	var closed error
	refusals := 0
	for closed == nil {
		mallory.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		var ev chat.Event
		if closed = mallory.conn.ReadJSON(&ev); closed == nil && ev.Type == "error" {
			refusals++
		}
	}
	if !websocket.IsCloseError(closed, websocket.CloseNormalClosure, websocket.ClosePolicyViolation) && !errors.Is(closed, syscall.ECONNRESET) {
		t.Fatalf("mallory's connection: %v", closed)
	}
	took := time.Since(start)
	res, raw := tr.do(t, "POST", "/api/messages", map[string]string{"nick": "mallory", "text": "and now over HTTP"}, nil)
	expect(t, "a post from the flooding address", res, raw, http.StatusTooManyRequests, "rate_limited")
	events := countEvents(t, tr, reader, "after the storm")
	t.Logf("RELIABILITY reaction storm, one WebSocket: %d frames sent in %v, %d refusals read, then %v; react events %d", sent, took.Round(time.Millisecond), refusals, closed, events["react"])
	if events["react"] == 0 || events["react"] > 20+int(2*took.Seconds())+2 {
		t.Errorf("%d react events from one connection's storm: the budget does not hold", events["react"])
	}
	// When she read every answer, each frame was either refused or taken;
	// a taken one that asked for what already was so (its opposite was
	// refused) tells nobody, so there is at most one event per toggle.
	if websocket.IsCloseError(closed, websocket.CloseNormalClosure) && events["react"] > sent-refusals {
		t.Errorf("%d react events for %d toggles taken", events["react"], sent-refusals)
	}
}

// An edit storm from the message's own sender is charged like posting,
// and each edit that is taken is one event; deletes of someone else's
// messages are all refused, and delete nothing.
func TestEditStormsAreChargedAndOthersCannotDelete(t *testing.T) {
	tr := newTestRoom(t, func(o *testOptions) {
		o.PostsPerMinute, o.RoomPostsPerMinute = 120, 600
	})
	m := tr.postAs(t, "alice", aliceToken, "version 0", 0)
	reader := tr.dial(t, "reader", nil)
	reader.waitFor("welcome", func(ev chat.Event) bool { return ev.Type == "presence" })
	path := fmt.Sprint("/api/messages/", m.ID)
	heap0 := heapInUse()
	start := time.Now()
	edits := storm(t, tr, []*http.Client{clientFrom("127.0.0.2")}, 1000, func(i int) (string, string, string) {
		return "PATCH", path, fmt.Sprintf(`{"nick":"alice","token":%q,"text":"version %d"}`, aliceToken, i+1)
	})
	took := time.Since(start)
	events := countEvents(t, tr, reader, "after the edits")
	t.Logf("RELIABILITY edit storm: 1,000 edits in %v: %v; edit events %d", took.Round(time.Millisecond), edits, events["edit"])
	if edits[http.StatusOK] > 20+int(2*took.Seconds())+2 || edits[http.StatusOK]+edits[http.StatusTooManyRequests] != 1000 {
		t.Errorf("edits answered %v: the budget does not hold", edits)
	}
	if events["edit"] != edits[http.StatusOK] {
		t.Errorf("%d edit events for %d edits", events["edit"], edits[http.StatusOK])
	}
	if grew := heapInUse() - heap0; grew > maxStormGrowth {
		t.Errorf("the heap grew by %d KiB", grew>>10)
	}

	deletes := storm(t, tr, []*http.Client{clientFrom("127.0.0.3"), clientFrom("127.0.0.4")}, 200, func(int) (string, string, string) {
		return "DELETE", path, fmt.Sprintf(`{"nick":"alice","token":%q}`, bobToken)
	})
	if deletes[http.StatusForbidden] == 0 || deletes[http.StatusForbidden]+deletes[http.StatusTooManyRequests] != 200 {
		t.Errorf("deletes with another token answered %v, want 403 (or 429)", deletes)
	}
	if hist := tr.history(t, nil); hist[0].Kind != chat.KindText {
		t.Errorf("someone else deleted alice's message: %+v", hist[0])
	}
}
