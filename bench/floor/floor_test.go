package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatbox-dev/chatbox/chat/event"
)

// The floor must speak chatbox's protocol as far as the generator reads
// it, or a floor run would count every message as lost.
func TestEveryConnectionGetsEachMessageOnceInOrder(t *testing.T) {
	r := newRoom(2)
	srv := httptest.NewServer(r.handler())
	t.Cleanup(func() { srv.Close(); r.close() })

	const clients, messages = 5, 3
	var conns []*websocket.Conn
	for range clients {
		conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/ws?nick=a", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, raw, err := conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(raw, []byte(`{"type":"presence"`)) {
			t.Fatalf("first event %s, want the presence the generator waits for", raw)
		}
		conns = append(conns, conn)
	}
	for i := range messages {
		resp, err := http.Post(srv.URL+"/api/messages", "application/json", strings.NewReader(`{"nick":"p","text":"lg 1 `+string(rune('0'+i))+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		var m event.Message
		err = json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated || err != nil || m.ID != uint64(i+1) {
			t.Fatalf("post %d: %s, id %d, %v", i, resp.Status, m.ID, err)
		}
	}
	for i, conn := range conns {
		for want := uint64(1); want <= messages; want++ {
			_, raw, err := conn.ReadMessage()
			if err != nil {
				t.Fatalf("client %d: %v", i, err)
			}
			var ev event.Event
			if err := json.Unmarshal(raw, &ev); err != nil || ev.Type != event.TypeMessage || ev.Message == nil || ev.Message.ID != want {
				t.Fatalf("client %d got %s, want message %d", i, raw, want)
			}
		}
	}
	resp, err := http.Get(srv.URL + "/api/room")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info struct {
		LastID uint64 `json:"last_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil || info.LastID != messages {
		t.Fatalf("GET /api/room: last_id %d (%v), want %d", info.LastID, err, messages)
	}
}

func TestTextFrameLengths(t *testing.T) {
	for _, tt := range []struct {
		n    int
		head []byte
	}{
		{0, []byte{0x81, 0}},
		{125, []byte{0x81, 125}},
		{126, []byte{0x81, 126, 0, 126}},
		{65535, []byte{0x81, 126, 0xff, 0xff}},
		{65536, []byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
	} {
		f := textFrame(make([]byte, tt.n))
		if !bytes.Equal(f[:len(tt.head)], tt.head) || len(f) != len(tt.head)+tt.n {
			t.Errorf("%d bytes: frame starts % x and is %d long, want % x and %d", tt.n, f[:len(tt.head)], len(f), tt.head, len(tt.head)+tt.n)
		}
	}
}
