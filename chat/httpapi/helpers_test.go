package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatbox-dev/chatbox/chat"
)

// testRoom is a room served by an httptest server.
type testRoom struct {
	*chat.Room
	web *Server
	srv *httptest.Server
	dir string
}

// testOptions are a test room's options: the core's and the transport's.
type testOptions struct {
	chat.Options
	Web Options
}

// roomOptions are what the tests run a room with: the config's defaults
// (which the core does not keep) made quick, in dir.
func roomOptions(dir string) chat.Options {
	return chat.Options{
		DataDir:           dir,
		CreateOnStart:     true,
		MaxMessageLength:  1000,
		MaxPGPLength:      64 << 10,
		RetentionCount:    10000,
		RetentionAge:      30 * 24 * time.Hour,
		MaxFileSize:       10 << 20,
		Quota:             500 << 20,
		DestroyCountdown:  50 * time.Millisecond,
		Destroy:           chat.DestroyByEveryone,
		LauncherPrivate:   true,
		MaxClients:        20000,
		MaxClientsPerAddr: 50,
		PostsPerMinute:    6000,
		LoginsPerMinute:   10,
		ConnectsPerMinute: 60,
		// The tests post from one address, fast: the room's own budget is
		// tested where it is meant to bite.
		RoomPostsPerMinute: 1 << 40,
		PasswordChecks:     2,
		SessionIdle:        7 * 24 * time.Hour,
		ReadsPerMinute:     6000,
		EditWindow:         5 * time.Minute,
	}
}

// newTestRoom opens a public room in a temporary directory; change sets
// options first.
func newTestRoom(t *testing.T, change func(*testOptions)) *testRoom {
	t.Helper()
	dir := t.TempDir()
	opts := testOptions{Options: roomOptions(dir)}
	if change != nil {
		change(&opts)
	}
	room, err := chat.Open(context.Background(), opts.Options)
	if err != nil {
		t.Fatalf("open room: %v", err)
	}
	web := New(context.Background(), room, opts.Web)
	srv := httptest.NewServer(web)
	t.Cleanup(func() {
		room.CloseClients()
		srv.Close()
		room.Close()
	})
	return &testRoom{Room: room, web: web, srv: srv, dir: dir}
}

// do sends a request with a JSON body (when body is not nil) and returns
// the response with its body read.
func (tr *testRoom) do(t *testing.T, method, path string, body any, change func(*http.Request)) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			raw, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			rd = bytes.NewReader(raw)
		}
	}
	req, err := http.NewRequest(method, tr.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if change != nil {
		change(req)
	}
	res, err := tr.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, raw
}

// post posts a message and returns it, failing the test unless it is 201.
func (tr *testRoom) post(t *testing.T, nick, text string) chat.Message {
	t.Helper()
	res, raw := tr.do(t, "POST", "/api/messages", map[string]string{"nick": nick, "text": text}, nil)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("post %q: %d %s", text, res.StatusCode, raw)
	}
	var m chat.Message
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// history returns every stored message.
func (tr *testRoom) history(t *testing.T, change func(*http.Request)) []chat.Message {
	t.Helper()
	var all []chat.Message
	after := "0"
	for {
		res, raw := tr.do(t, "GET", "/api/messages?after="+after+"&limit=1000", nil, change)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("history: %d %s", res.StatusCode, raw)
		}
		var msgs []chat.Message
		if err := json.Unmarshal(raw, &msgs); err != nil {
			t.Fatal(err)
		}
		all = append(all, msgs...)
		// A page holds at most 1 MiB; the header names the next one.
		if after = res.Header.Get("X-Next-After"); after == "" || len(msgs) == 0 {
			return all
		}
	}
}

// wsClient is a test WebSocket client.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
}

func (tr *testRoom) dial(t *testing.T, nick string, header http.Header) *wsClient {
	t.Helper()
	c, res, err := tr.tryDial(nick, header)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		t.Fatalf("dial as %s: %v (status %d)", nick, err, status)
	}
	ws := &wsClient{t: t, conn: c}
	t.Cleanup(func() { c.Close() })
	return ws
}

func (tr *testRoom) tryDial(nick string, header http.Header) (*websocket.Conn, *http.Response, error) {
	url := "ws" + strings.TrimPrefix(tr.srv.URL, "http") + "/ws?nick=" + nick
	return websocket.DefaultDialer.Dial(url, header)
}

// next returns the next event, failing after a deadline.
func (c *wsClient) next() chat.Event {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var ev chat.Event
	if err := c.conn.ReadJSON(&ev); err != nil {
		c.t.Fatalf("read event: %v", err)
	}
	return ev
}

// waitFor reads events until one satisfies ok.
func (c *wsClient) waitFor(what string, ok func(chat.Event) bool) chat.Event {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		ev := c.next()
		if ok(ev) {
			return ev
		}
	}
	c.t.Fatalf("no %s event within 5s", what)
	return chat.Event{}
}

func (c *wsClient) waitMessage(text string) chat.Message {
	c.t.Helper()
	ev := c.waitFor("message "+text, func(ev chat.Event) bool {
		return ev.Type == "message" && ev.Message.Text == text
	})
	return *ev.Message
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	if err := c.conn.WriteJSON(v); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// decode unmarshals raw JSON into a T, failing the test on error.
func decode[T any](t *testing.T, raw []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %q: %v", raw, err)
	}
	return v
}

// withOptions returns opts changed by change.
func withOptions(opts chat.Options, change func(*chat.Options)) chat.Options {
	change(&opts)
	return opts
}

// messageCount returns how many messages room keeps.
func messageCount(room *chat.Room) (int, error) {
	info, err := room.Info()
	return info.Messages, err
}

// procStatus reads a field of /proc/self/status in bytes ("VmRSS").
func procStatus(t *testing.T, field string) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc to measure memory: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			t.Fatalf("read %s: %v", field, err)
		}
		return kb << 10
	}
	t.Skipf("/proc/self/status has no %s", field)
	return 0
}
