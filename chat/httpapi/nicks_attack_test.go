package httpapi

import (
	"fmt"
	"net/http"
	"runtime"
	"testing"
	"time"
)

// drain reads and drops c's events until its connection ends, so the
// room does not drop it as too slow; the channel closes then.
func drain(c *wsClient) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, _, err := c.conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	return done
}

// quitAndWait sends quit on c, which the room honours after every event
// c sent before, and waits for the room to close the connection.
func quitAndWait(t *testing.T, c *wsClient, drained <-chan struct{}) {
	t.Helper()
	c.send(map[string]string{"type": "quit"})
	select {
	case <-drained:
	case <-time.After(30 * time.Second):
		t.Fatal("the room did not close the connection after quit")
	}
}

// settled waits until every name the room holds waits for its holder:
// the room has seen every connection close. It returns the count.
func settled(t *testing.T, tr *testRoom) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		all, idle := tr.HeldNicks()
		if all == idle && len(tr.Members()) == 0 {
			return idle
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d names held, %d waiting, %d members: the room did not see every connection close", all, idle, len(tr.Members()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// An attacker cycles through 1,000 nicknames a second, each rename leaving
// a name held for nick_hold. Renames are charged to the budgets (one
// address's and the room's), so few get through, and whatever gets
// through is bounded by the table: at most max_clients names wait for
// their holder, the one released first let go first.
func TestCyclingNicknamesIsChargedAndBounded(t *testing.T) {
	const maxClients = 500
	clock := newTestClock()
	room := func(t *testing.T) *testRoom {
		return newTestRoom(t, func(o *testOptions) {
			o.Now = clock.now
			o.NickHold = 10 * time.Minute
			o.MaxClients = maxClients
			o.MaxClientsPerAddr = maxClients
			o.PostsPerMinute = 120 // the config's defaults: a burst of 20
			o.RoomPostsPerMinute = 600
			o.ConnectsPerMinute = 1 << 20
			o.Web.TrustedProxies = []string{"127.0.0.1"}
		})
	}
	t.Run("renames from one address", func(t *testing.T) {
		tr := room(t)
		c := tr.join(t, "attacker", aliceToken)
		drained := drain(c)
		const names = 2000 // two seconds at 1,000 a second
		sent := 0
		for i := range names {
			// The room may drop the attacker as too slow to read its
			// refusals (1008); what it did until then is what counts.
			if c.conn.WriteJSON(map[string]string{"type": "nick", "nick": fmt.Sprintf("x%d", i)}) != nil {
				break
			}
			sent++
			clock.advance(time.Millisecond)
		}
		if sent < names {
			t.Logf("the room dropped the attacker after %d renames", sent)
			c.conn.Close()
			<-drained
		} else {
			quitAndWait(t, c, drained)
		}
		idle := settled(t, tr)
		// 20 at once, 2 a second after: at most 24 renames in two
		// seconds, each leaving a name held, and the last name.
		t.Logf("%d renames sent from one address in 2 s: %d names held for their holder", names, idle)
		if idle > 20+2*2+1 {
			t.Fatalf("%d names are held from %d renames: the renames were not charged", idle, names)
		}
	})

	t.Run("renames from many addresses", func(t *testing.T) {
		tr := room(t)
		const addrs, perAddr = 50, 40 // 2,000 renames in two seconds
		conns := make([]*wsClient, addrs)
		drained := make([]<-chan struct{}, addrs)
		for a := range addrs {
			conn, res, err := tr.dialHolding(fmt.Sprintf("a%d", a), fmt.Sprintf("attackerToken-%010d", a), http.Header{"X-Forwarded-For": {fmt.Sprintf("198.51.100.%d", a)}})
			if err != nil {
				t.Fatalf("dial %d: %v (%v)", a, err, res)
			}
			t.Cleanup(func() { conn.Close() })
			conns[a] = &wsClient{t: t, conn: conn}
			drained[a] = drain(conns[a])
		}
		for i := range perAddr {
			for a, c := range conns {
				c.send(map[string]string{"type": "nick", "nick": fmt.Sprintf("a%dn%d", a, i)})
				clock.advance(time.Millisecond)
			}
		}
		for a, c := range conns {
			quitAndWait(t, c, drained[a])
		}
		idle := settled(t, tr)
		// The room's budget: 100 at once, 10 a second after, so at most
		// 120 renames in two seconds; and each address's last name.
		t.Logf("%d renames sent from %d addresses in 2 s: %d names held for their holder", addrs*perAddr, addrs, idle)
		if idle > 100+2*10+addrs {
			t.Fatalf("%d names are held: the room's budget did not hold", idle)
		}
	})

	t.Run("connections from many addresses", func(t *testing.T) {
		tr := room(t)
		before, rssBefore := heapAlloc(), procStatus(t, "VmRSS")
		const cycles = 5000 // 1,000 names a second for five seconds
		for i := range cycles {
			conn, res, err := tr.dialHolding(fmt.Sprintf("c%d", i), fmt.Sprintf("attackerToken-%010d", i), http.Header{"X-Forwarded-For": {fmt.Sprintf("2001:db8:%x::1", i)}})
			if err != nil {
				t.Fatalf("dial %d: %v (%v)", i, err, res)
			}
			conn.Close()
			clock.advance(time.Millisecond)
		}
		idle := settled(t, tr)
		all := idle
		grew, rss := heapAlloc()-before, procStatus(t, "VmRSS")-rssBefore
		t.Logf("%d names from %d addresses: %d held (%d waiting), the heap grew %d KiB, RSS %d KiB", cycles, cycles, all, idle, grew>>10, rss>>10)
		if all > maxClients || idle > maxClients {
			t.Fatalf("%d names held (%d waiting), over max_clients %d", all, idle, maxClients)
		}
		// Each address costs its rate-limit buckets too (forgotten after
		// ten quiet minutes); the names cost at most maxClients holds.
		if grew > 8<<20 {
			t.Fatalf("the heap grew %d KiB for %d held names", grew>>10, all)
		}
		if !tr.State().Exists {
			t.Fatal("the room is gone")
		}
	})
}

// heapAlloc is the live heap after a collection, in bytes.
func heapAlloc() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
