package httpapi

import (
	"net/http"
	"testing"

	"github.com/chatbox-dev/chatbox/chat"
)

// Anyone in the room may stop a destroy countdown, over HTTP or the
// WebSocket, and everyone sees who did.
func TestAnyoneInTheRoomMayCancelTheCountdown(t *testing.T) {
	tr := newTestRoom(t, func(o *testOptions) { o.DestroyCountdown = 1 << 40 })
	alice := tr.join(t, "alice", aliceToken)
	bob := tr.join(t, "bob", bobToken)
	alice.waitFor("bob's join", func(ev chat.Event) bool { return ev.Type == "join" && ev.Nick == "bob" })
	cancelled := func(by string) {
		t.Helper()
		for _, c := range []*wsClient{alice, bob} {
			ev := c.waitFor("the cancel", func(ev chat.Event) bool { return ev.Type == "destroy" && ev.Cancelled })
			if ev.By != by || ev.Done || !ev.At.IsZero() {
				t.Fatalf("the cancel event is %+v, want cancelled by %s", ev, by)
			}
		}
		if at, _ := tr.Countdown(); !at.IsZero() {
			t.Fatalf("the countdown still ends at %v", at)
		}
		res, raw := tr.do(t, "GET", "/api/room", nil, nil)
		if info := decode[map[string]any](t, raw); res.StatusCode != 200 || info["destroy_at"] != nil {
			t.Fatalf("the room after the cancel: %d %s", res.StatusCode, raw)
		}
	}
	destroy := func() {
		t.Helper()
		res, raw := tr.do(t, "POST", "/api/destroy", map[string]string{"nick": "alice", "token": aliceToken}, nil)
		if res.StatusCode != http.StatusAccepted {
			t.Fatalf("destroy: %d %s", res.StatusCode, raw)
		}
	}

	t.Run("over HTTP", func(t *testing.T) {
		destroy()
		res, raw := tr.do(t, "POST", "/api/destroy/cancel", map[string]string{"nick": "bob"}, nil)
		if res.StatusCode != http.StatusConflict || decode[map[string]string](t, raw)["code"] != "nick_taken" {
			t.Fatalf("a cancel as bob without his token: %d %s, want 409 nick_taken", res.StatusCode, raw)
		}
		res, raw = tr.do(t, "POST", "/api/destroy/cancel", map[string]string{"nick": "bob", "token": bobToken}, nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("cancel: %d %s", res.StatusCode, raw)
		}
		cancelled("bob")
	})
	t.Run("over the WebSocket", func(t *testing.T) {
		destroy()
		bob.send(map[string]string{"type": "cancel_destroy"})
		cancelled("bob")
	})
	t.Run("with no countdown running", func(t *testing.T) {
		res, raw := tr.do(t, "POST", "/api/destroy/cancel", map[string]string{"nick": "carol"}, nil)
		if body := decode[map[string]string](t, raw); res.StatusCode != http.StatusConflict || body["error"] != "no destroy countdown is running" {
			t.Fatalf("a cancel with none running: %d %s, want 409", res.StatusCode, raw)
		}
		bob.send(map[string]string{"type": "cancel_destroy"})
		ev := bob.waitFor("the refusal", func(ev chat.Event) bool { return ev.Type == "error" })
		if ev.Code != "conflict" || ev.Error != "no destroy countdown is running" {
			t.Fatalf("a WebSocket cancel with none running: %+v", ev)
		}
	})
	if !tr.State().Exists {
		t.Fatal("the room is gone")
	}
}
