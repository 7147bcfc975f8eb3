package httpapi

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/chatbox-dev/chatbox/chat"
)

// An outsider could destroy a public room as "admin", the name the box
// used for its owner, then create the next room as private and lock the
// others out. The box's names are reserved, and the owner decides who may
// destroy and whether the launcher makes private rooms.
func TestAnOutsiderCannotTakeOverAPublicRoom(t *testing.T) {
	t.Run("the box's own names are nobody's nickname", func(t *testing.T) {
		tr := newTestRoom(t, nil)
		for _, nick := range []string{"admin", "Admin", "SYSTEM", "owner"} {
			res, raw := tr.do(t, "POST", "/api/destroy", map[string]string{"nick": nick}, nil)
			if res.StatusCode != http.StatusBadRequest {
				t.Errorf("destroy as %q: %d %s, want 400", nick, res.StatusCode, raw)
			}
		}
		if at, _ := tr.Countdown(); !at.IsZero() {
			t.Fatal("a reserved name started the countdown")
		}
	})
	for _, tc := range []struct {
		policy chat.DestroyPolicy
		people int // the answer to a person's destroy
		owner  bool
	}{
		{chat.DestroyByEveryone, http.StatusAccepted, true},
		{chat.DestroyByOwner, http.StatusForbidden, true},
		{chat.DestroyByNobody, http.StatusForbidden, false},
	} {
		t.Run(fmt.Sprintf("destroy by %s", tc.policy), func(t *testing.T) {
			tr := newTestRoom(t, func(o *testOptions) {
				o.Destroy = tc.policy
				o.DestroyCountdown = 1 << 40 // never runs out during the test
			})
			res, raw := tr.do(t, "POST", "/api/destroy", map[string]string{"nick": "mallory"}, nil)
			if res.StatusCode != tc.people {
				t.Fatalf("a person's destroy: %d %s, want %d", res.StatusCode, raw, tc.people)
			}
			if tc.people == http.StatusAccepted {
				return
			}
			_, err := tr.DestroyAsOwner()
			if (err == nil) != tc.owner {
				t.Fatalf("the owner's destroy: %v, want allowed %v", err, tc.owner)
			}
		})
	}
	t.Run("the launcher makes only public rooms when the owner says so", func(t *testing.T) {
		tr := newTestRoom(t, func(o *testOptions) {
			o.CreateOnStart = false
			o.LauncherPrivate = false
		})
		res, raw := tr.do(t, "POST", "/api/room", map[string]bool{"private": true}, nil)
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("a private room from the launcher: %d %s, want 403", res.StatusCode, raw)
		}
		if res, raw := tr.do(t, "POST", "/api/room", map[string]bool{"private": false}, nil); res.StatusCode != http.StatusCreated {
			t.Fatalf("a public room from the launcher: %d %s, want 201", res.StatusCode, raw)
		}
		if tr.State().Private {
			t.Fatal("the room is private")
		}
	})
}

// Posts from many addresses at once once pushed the real messages out
// through retention. A room-wide budget bounds them all together, and the
// owner can lock the room read-only.
func TestAFloodFromManyAddressesIsBounded(t *testing.T) {
	const perMinute, roomPerMinute = 600, 600 // each address alone could take the whole room budget
	// The room's clock stands still, so the budgets do not refill however
	// long the flood takes (it took over a second under the race detector).
	clock := newTestClock()
	tr := newTestRoom(t, func(o *testOptions) {
		o.Now = clock.now
		o.PostsPerMinute, o.RoomPostsPerMinute = perMinute, roomPerMinute
		o.Web.TrustedProxies = []string{"127.0.0.1"}
	})
	from := func(addr string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("X-Forwarded-For", addr) }
	}
	stored := 0
	for i := range 500 {
		res, _ := tr.do(t, "POST", "/api/messages", map[string]string{"nick": "flood", "text": "x"}, from(fmt.Sprintf("203.0.113.%d", 1+i%10)))
		if res.StatusCode == http.StatusCreated {
			stored++
		}
	}
	// The room's bucket holds a sixth of a minute's budget.
	if limit := roomPerMinute / 6; stored > limit {
		t.Fatalf("ten addresses stored %d messages at once, want at most %d (the room's budget)", stored, limit)
	}
	if stored < roomPerMinute/6 {
		t.Fatalf("only %d messages were stored; the room budget should let %d through", stored, roomPerMinute/6)
	}

	if err := tr.SetLocked(true); err != nil {
		t.Fatal(err)
	}
	for _, req := range []struct{ method, path string }{{"POST", "/api/messages"}, {"POST", "/api/destroy"}} {
		res, raw := tr.do(t, req.method, req.path, map[string]string{"nick": "bob", "text": "hi"}, from("198.51.100.1"))
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("%s %s in a locked room: %d %s, want 403", req.method, req.path, res.StatusCode, raw)
		}
	}
	if res, _ := tr.shareFile(t, "bob", "a.txt", []byte("a"), from("198.51.100.2")); res.StatusCode != http.StatusForbidden {
		t.Errorf("an upload to a locked room: %d, want 403", res.StatusCode)
	}
	if res, _ := tr.do(t, "GET", "/api/messages", nil, nil); res.StatusCode != http.StatusOK {
		t.Errorf("reading a locked room: %d, want 200", res.StatusCode)
	}
}
