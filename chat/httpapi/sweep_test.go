package httpapi

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatbox-dev/chatbox/chat"
)

// floodFrame is one kind of frame a client can send over the WebSocket.
type floodFrame struct {
	name string
	// frame is the i-th frame of the flood; control frames (ping) have
	// none and are sent as WebSocket pings.
	frame func(i int) string
	ping  bool
	// writes says the frame, when the budget lets it through, writes to
	// the room or is told to everyone in it; the room-wide budget then
	// bounds it too.
	writes bool
	// encrypted floods an encrypted room (its key set, and one message
	// there, id 1, to react to) whose bystander says envelopes.
	encrypted bool
}

// floodFrames is every kind of frame a client can send: each event the
// server knows, and the kinds of garbage it must refuse.
func floodFrames() []floodFrame {
	var largest, tooLong []string
	for i := range 4 {
		largest = append(largest, fmt.Sprintf(`{"type":"message","text":%q}`, testEnvelope(maxEnvelopeCT, byte(i))))
		tooLong = append(tooLong, fmt.Sprintf(`{"type":"message","text":%q}`, testEnvelope(maxEnvelopeCT+1, byte(i))))
	}
	return []floodFrame{
		{name: "message", writes: true, frame: func(i int) string { return fmt.Sprintf(`{"type":"message","text":"flood %d"}`, i) }},
		{name: "message with a client id", writes: true, frame: func(i int) string {
			return fmt.Sprintf(`{"type":"message","text":"flood","client_id":"f%d"}`, i)
		}},
		{name: "long message", writes: true, frame: func(i int) string {
			return fmt.Sprintf(`{"type":"message","text":"%d%s"}`, i, strings.Repeat("x", 900))
		}},
		{name: "rename", writes: true, frame: func(i int) string { return fmt.Sprintf(`{"type":"nick","nick":"f%d"}`, i) }},
		{name: "not JSON", frame: func(i int) string { return fmt.Sprintf("nonsense %d", i) }},
		{name: "unknown event", frame: func(i int) string { return fmt.Sprintf(`{"type":"dance","n":%d}`, i) }},
		{name: "unknown field", frame: func(i int) string { return fmt.Sprintf(`{"type":"message","text":"x","n":%d}`, i) }},
		{name: "bad nickname", frame: func(i int) string { return fmt.Sprintf(`{"type":"nick","nick":"no spaces %d"}`, i) }},
		{name: "edit of a message that is not there", frame: func(i int) string { return fmt.Sprintf(`{"type":"edit","id":%d,"text":"x"}`, 1000000+i) }},
		{name: "delete of a message that is not there", frame: func(i int) string { return fmt.Sprintf(`{"type":"delete","id":%d}`, 1000000+i) }},
		{name: "reaction to a message that is not there", frame: func(i int) string {
			return fmt.Sprintf(`{"type":"react","id":%d,"emoji":"👍","on":true}`, 1000000+i)
		}},
		{name: "ping", ping: true},

		// An encrypted room's own inputs: envelopes of every size, a ping
		// whose target is in the clear, reactions that are envelopes.
		{name: "envelope", encrypted: true, writes: true, frame: func(i int) string {
			return fmt.Sprintf(`{"type":"message","text":%q}`, testEnvelope(16+i%64, byte(i)))
		}},
		// 87 KB frames, made once: making each anew would spend the
		// machine's CPU on the attacker's side, not the box's.
		{name: "largest envelope", encrypted: true, writes: true, frame: func(i int) string { return largest[i%len(largest)] }},
		{name: "envelope one byte too long", encrypted: true, frame: func(i int) string { return tooLong[i%len(tooLong)] }},
		{name: "plain text in an encrypted room", encrypted: true, frame: func(i int) string {
			return fmt.Sprintf(`{"type":"message","text":"plain %d"}`, i)
		}},
		{name: "encrypted ping", encrypted: true, writes: true, frame: func(i int) string {
			return fmt.Sprintf(`{"type":"message","text":%q,"to":"bystander"}`, testEnvelope(32, byte(i)))
		}},
		{name: "encrypted reactions to one message", encrypted: true, writes: true, frame: func(i int) string {
			return fmt.Sprintf(`{"type":"react","id":1,"emoji":%q,"on":true}`, testEnvelope(20, byte(i)))
		}},
		{name: "encrypted reaction over 200 bytes", encrypted: true, frame: func(i int) string {
			return fmt.Sprintf(`{"type":"react","id":1,"emoji":%q,"on":true}`, testEnvelope(200, byte(i)))
		}},
	}
}

// maxEnvelopeCT is the most ct an envelope may carry in the test rooms
// (OpenPGP armor's limit, which is the larger there).
var maxEnvelopeCT = chat.MaxEnvelopeCT(roomOptions("").MaxMessageLength, roomOptions("").MaxPGPLength)

// keyed gives an encrypted test room its key check, as the first
// browser does, and one message (id 1) for the floods to react to.
func keyed(t *testing.T, tr *testRoom) {
	t.Helper()
	if res, raw := tr.do(t, "PUT", "/api/room/key", map[string]any{"key_check": testEnvelope(33, 1)}, nil); res.StatusCode != http.StatusCreated {
		t.Fatalf("PUT /api/room/key: %d %s", res.StatusCode, raw)
	}
	if res, raw := tr.do(t, "POST", "/api/messages", map[string]string{"nick": "alice", "text": testEnvelope(20, 9)}, nil); res.StatusCode != http.StatusCreated {
		t.Fatalf("the first message: %d %s", res.StatusCode, raw)
	}
}

// TestEveryClientEventFloodIsChargedAndHarmless sends every kind of frame
// a client can send at 1,000 a second for two seconds, from one address
// over one connection and from twenty addresses at 50 a second each,
// while a bystander on another address chats at a person's pace and a
// reader watches. With the config's default budgets it checks, for every
// kind:
//   - the flood is charged: what the server accepts (anything not answered
//     "rate_limited", or for pings the pongs) stays within the flooders'
//     budgets;
//   - the bystander is never refused for a flood that writes nothing to the
//     room, and every message of theirs that is stored reaches the reader
//     within a second;
//   - the server's resident memory grows by less than 64 MiB during the
//     flood (sampled from /proc every 50 ms; the process holds the clients
//     too), and its open files return to where they were once the flooders
//     leave.
func TestEveryClientEventFloodIsChargedAndHarmless(t *testing.T) {
	requireE2E(t)
	for _, f := range floodFrames() {
		for _, spread := range []struct {
			name      string
			addrs     int
			perSecond int
		}{{"one address", 1, 1000}, {"twenty addresses", 20, 50}} {
			t.Run(f.name+" from "+spread.name, func(t *testing.T) {
				floodRoom(t, f, spread.addrs, spread.perSecond)
			})
		}
	}
}

// The config's default budgets (limits.posts_per_minute and
// limits.room_posts_per_minute), with the bursts the room gives them.
const (
	sweepPerMinute, sweepBurst         = 120, 20
	sweepRoomPerMinute, sweepRoomBurst = 600, 100
	sweepDuration                      = 2 * time.Second
)

func floodRoom(t *testing.T, f floodFrame, addrs, perSecond int) {
	tr := newTestRoom(t, func(o *testOptions) {
		o.PostsPerMinute, o.RoomPostsPerMinute = sweepPerMinute, sweepRoomPerMinute
		o.Encrypted = f.encrypted
	})
	// What the bystander says: an envelope in an encrypted room.
	text := func(i int) string { return fmt.Sprintf("hello b%d", i) }
	if f.encrypted {
		keyed(t, tr)
		text = func(i int) string { return testEnvelope(24, byte(i)) }
	}
	reader := tr.dialFrom(t, "127.0.0.201", "reader")
	bystander := tr.dialFrom(t, "127.0.0.200", "bystander")
	fdsBefore := openFiles(t)
	rssBefore := procStatus(t, "VmRSS")

	// The reader notes when each of the bystander's messages arrives, and
	// counts the flooders' messages the room stored and told everyone.
	arrived := make(chan string, 100)
	var floodStored atomic.Int64
	go func() {
		for {
			var ev chat.Event
			if err := reader.ReadJSON(&ev); err != nil {
				return
			}
			if ev.Type == "message" && ev.Message.Nick == "bystander" {
				arrived <- ev.Message.ClientID
			}
			if ev.Type == "message" && strings.HasPrefix(ev.Message.Nick, "flooder") {
				floodStored.Add(1)
			}
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), sweepDuration)
	defer cancel()
	var sent, refused, answered atomic.Int64
	var wg sync.WaitGroup
	var flooders []*websocket.Conn
	for a := range addrs {
		c := tr.dialFrom(t, fmt.Sprintf("127.0.0.%d", 10+a), fmt.Sprintf("flooder%d", a))
		flooders = append(flooders, c)
		c.SetPongHandler(func(string) error { answered.Add(1); return nil })
		go func() {
			for {
				_, raw, err := c.ReadMessage()
				if err != nil {
					return
				}
				// Only a short event can be the refusal: the room's
				// messages, 87 KB in an encrypted room's flood, are not
				// decoded for nothing.
				var ev chat.Event
				if len(raw) < 4096 && json.Unmarshal(raw, &ev) == nil && ev.Type == "error" && ev.Code == "rate_limited" {
					refused.Add(1)
				}
			}
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			n := 0
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				for owed := int(time.Since(start).Seconds() * float64(perSecond)); n < owed; n++ {
					var err error
					if f.ping {
						err = c.WriteControl(websocket.PingMessage, []byte("p"), time.Now().Add(time.Second))
					} else {
						err = c.WriteMessage(websocket.TextMessage, []byte(f.frame(n)))
					}
					if err != nil {
						return
					}
					sent.Add(1)
				}
			}
		}()
	}

	// Resident memory, sampled while the flood runs.
	var rssMax atomic.Int64
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for ctx.Err() == nil {
			rssMax.Store(max(rssMax.Load(), rss()))
			time.Sleep(50 * time.Millisecond)
		}
	}()

	// The bystander says something every 400 ms.
	type said struct {
		id string
		at time.Time
	}
	var says []said
	var bystanderRefused []string
	for i := 0; ctx.Err() == nil; i++ {
		id := fmt.Sprintf("b%d", i)
		says = append(says, said{id, time.Now()})
		if err := bystander.WriteJSON(map[string]string{"type": "message", "text": text(i), "client_id": id}); err != nil {
			t.Fatalf("the bystander could not send: %v", err)
		}
		for {
			bystander.SetReadDeadline(time.Now().Add(5 * time.Second))
			var ev chat.Event
			if err := bystander.ReadJSON(&ev); err != nil {
				t.Fatalf("the bystander heard nothing back for %s: %v", id, err)
			}
			if ev.Type == "ack" && ev.ClientID == id {
				break
			}
			if ev.Type == "error" && ev.ClientID == id {
				bystanderRefused = append(bystanderRefused, ev.Error)
				says = says[:len(says)-1]
				break
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(400 * time.Millisecond):
		}
	}
	wg.Wait()
	<-sampled

	// What the bystander stored reached the reader, promptly.
	for _, s := range says {
		select {
		case id := <-arrived:
			if id != s.id {
				t.Fatalf("the reader got the bystander's %s where %s was next", id, s.id)
			}
			if late := time.Since(s.at); late > time.Second+sweepDuration {
				t.Errorf("the bystander's %s took %v to reach the reader", s.id, late)
			}
		case <-time.After(time.Second):
			t.Fatalf("the bystander's %s never reached the reader", s.id)
		}
	}
	if !f.writes && len(bystanderRefused) > 0 {
		t.Errorf("a flood of %s, which writes nothing to the room, got the bystander refused: %q", f.name, bystanderRefused)
	}
	if len(says) == 0 {
		t.Errorf("the bystander could not say anything during the flood: %q", bystanderRefused)
	}

	// The flood was charged. Every frame over the budget is answered
	// "rate_limited" (a ping over it gets no pong); the rest were let
	// through.
	for _, c := range flooders {
		c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	}
	budget := int64(addrs) * int64(sweepBurst+sweepPerMinute*int(sweepDuration.Seconds()+1)/60)
	if f.writes {
		budget = min(budget, int64(sweepRoomBurst+sweepRoomPerMinute*int(sweepDuration.Seconds()+1)/60))
	}
	var through int64
	// A message to everyone is seen by the reader once stored.
	toEveryone := false
	if f.writes && !f.ping {
		frame := f.frame(0)
		toEveryone = strings.Contains(frame, `"type":"message"`) && !strings.Contains(frame, `"to":`)
	}
	switch {
	case f.ping:
		through = answered.Load()
	case toEveryone:
		// What a flood of messages let through is what the room stored
		// and told everyone: counted at the reader once it stops growing.
		// (Sent less refused over-counts when the flooder, starved of CPU
		// on a busy machine, reads its refusals late.)
		for last := int64(-1); last != floodStored.Load(); time.Sleep(500 * time.Millisecond) {
			last = floodStored.Load()
		}
		through = floodStored.Load()
	default:
		// The refusals are still arriving, to a reader that may be
		// starved of CPU: wait while they keep coming.
		deadline := time.Now().Add(time.Minute)
		last, lastAt := refused.Load(), time.Now()
		for sent.Load()-refused.Load() > budget && time.Now().Before(deadline) && time.Since(lastAt) < 2*time.Second {
			time.Sleep(10 * time.Millisecond)
			if r := refused.Load(); r != last {
				last, lastAt = r, time.Now()
			}
		}
		through = sent.Load() - refused.Load()
	}
	t.Logf("%s: sent %d, let through %d (budget %d), bystander said %d and was refused %d times; RSS %d → %d MiB",
		f.name, sent.Load(), through, budget, len(says), len(bystanderRefused), rssBefore>>20, rssMax.Load()>>20)
	// An attack is a flood far over the budget: half the rate asked for,
	// or five times the budget where a busy machine sends less.
	if sent.Load() < min(int64(addrs*perSecond)*int64(sweepDuration/time.Second)/2, 5*budget) {
		t.Fatalf("the flood sent only %d frames; the test did not attack", sent.Load())
	}
	if through > budget {
		t.Errorf("the server let %d of %d frames through; the budget allows %d", through, sent.Load(), budget)
	}
	if grew := rssMax.Load() - rssBefore; grew > 64<<20 {
		t.Errorf("resident memory grew by %d MiB during the flood, want under 64 MiB", grew>>20)
	}

	// The flooders' connections are all closed again.
	for _, c := range flooders {
		c.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for openFiles(t) > fdsBefore && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := openFiles(t); n > fdsBefore {
		t.Errorf("%d files are open after the flooders left, %d before they came", n, fdsBefore)
	}
}

// dialFrom connects to the room's WebSocket as nick from ip, a loopback
// address, as a separate person's connection would come.
func (tr *testRoom) dialFrom(t *testing.T, ip, nick string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{NetDialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).DialContext}
	url := "ws" + strings.TrimPrefix(tr.srv.URL, "http") + "/ws?nick=" + nick
	c, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial as %s from %s: %v", nick, ip, err)
	}
	t.Cleanup(func() { c.Close() })
	// The welcome presence.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := c.ReadMessage(); err != nil {
		t.Fatalf("%s's welcome: %v", nick, err)
	}
	c.SetReadDeadline(time.Time{})
	return c
}

// rss is this process's resident memory in bytes, 0 when /proc does not
// say.
func rss() int64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(raw)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(rest), &kb)
			return kb << 10
		}
	}
	return 0
}

// openFiles counts this process's open file descriptors.
func openFiles(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc to count open files: %v", err)
	}
	return len(entries)
}

// TestEveryRequestFloodFromManyAddressesSparesTheOthers sends bad and
// refused requests to every write endpoint (posts, uploads, destroy, a new
// room) at 1,000 a second from 200
// addresses (through a trusted proxy, as a botnet behind it would come),
// while a bystander posts a message every 200 ms. A request that writes
// nothing to the room costs only its own address's budget, so the
// bystander is never refused; before, each such request took from the
// room's budget first, and twenty addresses' garbage stopped everyone
// from posting.
func TestEveryRequestFloodFromManyAddressesSparesTheOthers(t *testing.T) {
	requireE2E(t)
	upload := func(nick, content string) string {
		return "--b\r\nContent-Disposition: form-data; name=\"nick\"\r\n\r\n" + nick +
			"\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\n" + content + "\r\n--b--\r\n"
	}
	encUpload := func(thumb int) string {
		return "--b\r\nContent-Disposition: form-data; name=\"nick\"\r\n\r\nflood" +
			"\r\n--b\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n" + testEnvelope(40, 3) +
			"\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"encrypted\"\r\n\r\n" + strings.Repeat("c", 64) +
			"\r\n--b\r\nContent-Disposition: form-data; name=\"thumb\"; filename=\"thumb\"\r\n\r\n" + strings.Repeat("t", thumb) + "\r\n--b--\r\n"
	}
	for _, bad := range []struct {
		name, path, body, contentType string
		// method is POST unless it says otherwise; encrypted floods an
		// encrypted room with its key set, whose bystander says envelopes.
		method    string
		encrypted bool
	}{
		{"upload with a bad nickname", "/api/files", upload("no spaces", "hello"), "multipart/form-data; boundary=b", "", false},
		{"empty upload", "/api/files", upload("flood", ""), "multipart/form-data; boundary=b", "", false},
		{"upload that is not multipart", "/api/files", "nonsense", "text/plain", "", false},
		{"not JSON", "/api/messages", `nonsense`, "", "", false},
		{"unknown field", "/api/messages", `{"nick":"f","text":"x","evil":1}`, "", "", false},
		{"bad nickname", "/api/messages", `{"nick":"no spaces","text":"x"}`, "", "", false},
		{"empty message", "/api/messages", `{"nick":"flood","text":""}`, "", "", false},
		{"bad client id", "/api/messages", `{"nick":"flood","text":"x","client_id":"no spaces"}`, "", "", false},
		{"destroy with a bad nickname", "/api/destroy", `{"nick":"no spaces"}`, "", "", false},
		{"a second room", "/api/room", `{"private":false}`, "", "", false},
		{"reaction to a message that is not there", "/api/messages/1000000/reactions", `{"nick":"flood","emoji":"👍","on":true}`, "", "", false},
		{"plain text in an encrypted room", "/api/messages", `{"nick":"flood","text":"plain"}`, "", "", true},
		{"envelope one byte too long", "/api/messages", `{"nick":"flood","text":` + strconv.Quote(testEnvelope(maxEnvelopeCT+1, 4)) + `}`, "", "", true},
		{"the room's key again", "/api/room/key", `{"key_check":` + strconv.Quote(testEnvelope(33, 5)) + `}`, "", "PUT", true},
		{"encrypted reaction over 200 bytes", "/api/messages/1/reactions", `{"nick":"flood","emoji":` + strconv.Quote(testEnvelope(200, 6)) + `,"on":true}`, "", "", true},
		{"encrypted upload with a thumbnail over 256 KiB", "/api/files", encUpload(256<<10 + 1), "multipart/form-data; boundary=b", "", true},
	} {
		t.Run(bad.name, func(t *testing.T) {
			tr := newTestRoom(t, func(o *testOptions) {
				o.PostsPerMinute, o.RoomPostsPerMinute = sweepPerMinute, sweepRoomPerMinute
				o.Web.TrustedProxies = []string{"127.0.0.1"}
				o.Encrypted = bad.encrypted
			})
			said := func() string { return "hello" }
			if bad.encrypted {
				keyed(t, tr)
				said = func() string { return testEnvelope(24, 7) }
			}
			ctx, cancel := context.WithTimeout(context.Background(), sweepDuration)
			defer cancel()
			client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			var sent, through atomic.Int64
			var wg sync.WaitGroup
			for w := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; ctx.Err() == nil; i += 16 {
						req, _ := http.NewRequest(cmp.Or(bad.method, "POST"), tr.srv.URL+bad.path, strings.NewReader(bad.body))
						req.Header.Set("Content-Type", cmp.Or(bad.contentType, "application/json"))
						req.Header.Set("X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i%200))
						res, err := client.Do(req)
						if err != nil {
							continue
						}
						io.Copy(io.Discard, res.Body)
						res.Body.Close()
						sent.Add(1)
						if res.StatusCode != http.StatusTooManyRequests {
							through.Add(1)
						}
					}
				}()
			}
			var refused []string
			saidN := 0
			for ctx.Err() == nil {
				res, raw := tr.do(t, "POST", "/api/messages", map[string]string{"nick": "bystander", "text": said()},
					func(r *http.Request) { r.Header.Set("X-Forwarded-For", "198.51.100.7") })
				if res.StatusCode == http.StatusCreated {
					saidN++
				} else {
					refused = append(refused, fmt.Sprintf("%d %s", res.StatusCode, raw))
				}
				select {
				case <-ctx.Done():
				case <-time.After(200 * time.Millisecond):
				}
			}
			wg.Wait()
			t.Logf("%s: %d requests from 200 addresses, %d answered other than 429; the bystander said %d, refused %d", bad.name, sent.Load(), through.Load(), saidN, len(refused))
			if sent.Load() < 200 {
				t.Fatalf("the flood sent only %d requests; the test did not attack", sent.Load())
			}
			if len(refused) > 0 {
				t.Errorf("the bystander was refused during a flood of %s: %q", bad.name, refused)
			}
			// Nothing of the flood was kept: no message of its, no file.
			stored, err := tr.Messages(0, 100000)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range stored {
				if m.Nick != "bystander" && m.Nick != "alice" {
					t.Fatalf("the flood of %s stored message %d from %q", bad.name, m.ID, m.Nick)
				}
			}
			var kept []string
			filepath.WalkDir(filepath.Join(tr.dir, "files"), func(path string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					kept = append(kept, path)
				}
				return nil
			})
			if len(kept) > 0 {
				t.Errorf("the flood of %s left files: %q", bad.name, kept)
			}
		})
	}
}

// A large frame over its sender's budget is refused undecoded; the
// refusal still names its client id, found by scanClientID.
func TestScanClientIDFindsOnlyAClientID(t *testing.T) {
	long := strings.Repeat("a", chat.MaxClientIDLength)
	for _, c := range []struct{ frame, want string }{
		{`{"type":"message","text":"x","client_id":"c42"}`, "c42"},
		{`{"client_id":"c-1_Z","type":"message","text":"` + strings.Repeat("y", 90000) + `"}`, "c-1_Z"},
		{`{"type":"message","text":"x","client_id":"` + long + `"}`, long},
		{`{"type":"message","text":"x","client_id":"` + long + `b"}`, ""},
		{`{"type":"message","text":"x","client_id":"no spaces"}`, ""},
		{`{"type":"message","text":"x","client_id":"unterminated`, ""},
		// Inside a string the quotes are escaped: not a key.
		{`{"type":"message","text":"\"client_id\":\"evil\""}`, ""},
		{`{"type":"message","text":"x"}`, ""},
		{`nonsense`, ""},
	} {
		if got := scanClientID([]byte(c.frame)); got != c.want {
			t.Errorf("scanClientID(%.80q) = %q, want %q", c.frame, got, c.want)
		}
	}
}
