// Command floor is the least a room's server can do for the load
// generator: the physical limit chatbox is measured against on the same
// machine, in the same run.
//
//	floor -listen 127.0.0.1:18080 [-pprof 127.0.0.1:18100]
//
// It speaks just enough of chatbox's API for `loadgen room -missed 0`:
// GET /healthz, GET /api/room (the last id), POST /api/messages and
// GET /ws. Each posted message gets the next id, is encoded once, with
// chatbox's own event types, into one WebSocket frame, and that frame is
// written to every connection: one goroutine per core (GOMAXPROCS) owns
// an equal share of the connections and walks it with one write(2) each.
// That is the irreducible work of a room; everything else chatbox does is
// left out on purpose:
//
//   - no store and no fsync: a message is acknowledged at once;
//   - no queue per client, no writer pool, no write deadline, no slow
//     client dropped: a writer simply blocks on a full socket;
//   - no presence beyond the one welcome frame the generator waits for;
//   - no rate budgets, connection caps, origin checks or nicknames;
//   - no history: the reconnect storm is chatbox's alone.
//
// It is a benchmark, never a server for people: it listens on loopback
// only.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	_ "net/http/pprof"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatbox-dev/chatbox/chat/event"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:18080", "address to listen on (loopback only)")
	pprof := fs.String("pprof", "", "serve net/http/pprof on this loopback address, to profile the floor itself")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	ap, err := netip.ParseAddrPort(*listen)
	if err != nil || !ap.Addr().IsLoopback() {
		return fmt.Errorf("-listen %s is not a loopback address and port", *listen)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	if *pprof != "" {
		pp, err := netip.ParseAddrPort(*pprof)
		if err != nil || !pp.Addr().IsLoopback() {
			return fmt.Errorf("-pprof %s is not a loopback address and port", *pprof)
		}
		pl, err := net.Listen("tcp", *pprof)
		if err != nil {
			return err
		}
		go http.Serve(pl, http.DefaultServeMux)
	}
	r := newRoom(runtime.GOMAXPROCS(0))
	srv := &http.Server{Handler: r.handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
		r.close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// room is the floor's whole state.
type room struct {
	// mu orders messages: a frame is handed to every shard before the
	// next message gets its id.
	mu     sync.Mutex
	lastID uint64
	shards []*shard
	next   int // the shard the next connection joins
}

// shard is one writer goroutine's share of the connections.
type shard struct {
	frames chan []byte
	mu     sync.Mutex // held while walking conns, and to change them
	conns  map[net.Conn]struct{}
}

func newRoom(writers int) *room {
	r := &room{}
	for range writers {
		s := &shard{frames: make(chan []byte, 4096), conns: make(map[net.Conn]struct{})}
		r.shards = append(r.shards, s)
		go s.run()
	}
	return r
}

// run writes each frame to every connection of the shard.
func (s *shard) run() {
	for frame := range s.frames {
		s.mu.Lock()
		for c := range s.conns {
			if _, err := c.Write(frame); err != nil {
				delete(s.conns, c)
				c.Close()
			}
		}
		s.mu.Unlock()
	}
}

func (r *room) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.shards {
		close(s.frames)
	}
	r.shards = nil
}

func (r *room) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, `{"status":"ok"}`)
	})
	mux.HandleFunc("GET /api/room", func(w http.ResponseWriter, _ *http.Request) {
		r.mu.Lock()
		last := r.lastID
		r.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"name": "floor", "members": []string{}, "last_id": last})
	})
	mux.HandleFunc("POST /api/messages", r.post)
	upgrader := &websocket.Upgrader{ReadBufferSize: 512, WriteBufferSize: 512, WriteBufferPool: &sync.Pool{}}
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, req *http.Request) {
		conn, err := upgrader.Upgrade(w, req, nil)
		if err != nil {
			return
		}
		go r.serve(conn)
	})
	return mux
}

// post gives the message the next id and sends its frame to everyone.
func (r *room) post(w http.ResponseWriter, req *http.Request) {
	var in struct{ Nick, Text string }
	if err := json.NewDecoder(io.LimitReader(req.Body, 64<<10)).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "the body is not a JSON message"})
		return
	}
	r.mu.Lock()
	r.lastID++
	m := event.Message{ID: r.lastID, TS: time.Now().UTC(), Nick: in.Nick, Text: in.Text, Kind: event.KindText}
	raw, err := json.Marshal(event.Event{Type: event.TypeMessage, Message: &m})
	if err != nil {
		r.mu.Unlock()
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	frame := textFrame(raw)
	for _, s := range r.shards {
		s.frames <- frame
	}
	r.mu.Unlock()
	writeJSON(w, http.StatusCreated, m)
}

// serve welcomes conn, gives it to the next shard in turn, and reads it
// until it closes.
func (r *room) serve(conn *websocket.Conn) {
	r.mu.Lock()
	if len(r.shards) == 0 {
		r.mu.Unlock()
		conn.Close()
		return
	}
	s := r.shards[r.next%len(r.shards)]
	r.next++
	r.mu.Unlock()

	nc := conn.UnderlyingConn()
	s.mu.Lock()
	_, err := nc.Write(textFrame([]byte(`{"type":"presence","members":[],"count":1}`)))
	if err == nil {
		s.conns[nc] = struct{}{}
	}
	s.mu.Unlock()
	if err != nil {
		nc.Close()
		return
	}
	// gorilla answers a close frame itself; any error ends the connection.
	for {
		if _, _, err := conn.NextReader(); err != nil {
			break
		}
	}
	s.mu.Lock()
	delete(s.conns, nc)
	s.mu.Unlock()
	nc.Close()
}

// textFrame returns payload as one unmasked WebSocket text frame (RFC
// 6455, 5.2), as a server sends it.
func textFrame(payload []byte) []byte {
	n := len(payload)
	var head []byte
	switch {
	case n < 126:
		head = []byte{0x81, byte(n)}
	case n < 1<<16:
		head = []byte{0x81, 126, byte(n >> 8), byte(n)}
	default:
		head = []byte{0x81, 127, 0, 0, 0, 0, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	}
	return append(head, payload...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
