// Command loadgen measures a running chatbox room from the same machine.
//
//	loadgen room  -url http://127.0.0.1:18080 -pid PID -clients 10000
//	loadgen acks  -url http://127.0.0.1:18080 -rate 100 -duration 20s
//	loadgen ready -bin ./chatbox -runs 10
//	loadgen compare floor-1000.json room-1000.json floor-10000.json room-10000.json
//	loadgen pushcert DIR
//
// room opens many WebSocket clients, posts through the HTTP API at a set
// rate room-wide and reports, for every delivered message, the time from
// its POST to its arrival at each client, loss and duplicates per client,
// the server's CPU and memory at idle, with idle clients and under load,
// and a reconnect storm. acks reports how fast POST /api/messages is
// acknowledged. ready reports how fast `chatbox serve --dev` answers
// /healthz. compare reads the summaries room -summary wrote, pairs of the
// floor (bench/floor) and chatbox run with the same clients, and prints
// them side by side with chatbox's ratio to the floor. pushcert writes
// the certificate of the stand-in push service room -push-subs runs, for
// the server to trust (SSL_CERT_FILE=DIR/push-cert.pem).
//
// Everything goes to loopback only. Each client connects from its own
// address in 127.0.0.0/8 (all of it is loopback on Linux), so the room's
// per-address limits apply as designed, as they would to distinct people.
// Every phase is bounded in time; the generator stops by itself.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

const usage = "usage: loadgen room|acks|ready [flags], loadgen compare FLOOR.json ROOM.json..., or loadgen pushcert DIR; loadgen CMD -h lists the flags"

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet("loadgen "+args[0], flag.ContinueOnError)
	// Each command sets its flags, the URL it talks to and how it runs.
	var (
		target func() string
		run    func() error
	)
	switch args[0] {
	case "room":
		cfg := roomConfig{}
		fs.StringVar(&cfg.url, "url", "http://127.0.0.1:18080", "the room's base URL (loopback only)")
		fs.IntVar(&cfg.pid, "pid", 0, "the server's process id, for CPU and memory from /proc")
		fs.IntVar(&cfg.clients, "clients", 1000, "WebSocket clients to open")
		fs.IntVar(&cfg.nicks, "nicks", 0, "distinct nicknames among the clients (0: one per client)")
		fs.Float64Var(&cfg.rate, "rate", 10, "messages per second posted room-wide")
		fs.DurationVar(&cfg.duration, "duration", 30*time.Second, "how long to post")
		fs.DurationVar(&cfg.settle, "settle", 3*time.Second, "quiet time before each idle measurement")
		fs.IntVar(&cfg.missed, "missed", 20, "messages posted while the clients are away, before the reconnect storm (0: no storm)")
		fs.IntVar(&cfg.dialers, "dialers", 200, "connections opened at once while clients join")
		fs.StringVar(&cfg.summary, "summary", "", "write the load phase's figures to this file as JSON, for loadgen compare")
		fs.StringVar(&cfg.label, "label", "chatbox", "the server's name in the summary")
		fs.IntVar(&cfg.pushSubs, "push-subs", 0, "Web Push subscriptions to make before the load phase, at a stand-in push service in this process (the server must be serve --dev, trusting -push-certs through SSL_CERT_FILE); a message to everyone starts their pushes with the load phase")
		fs.StringVar(&cfg.pushCerts, "push-certs", ".", "the folder `loadgen pushcert` wrote the stand-in push service's certificate to")
		target = func() string { return cfg.url }
		run = func() error { return runRoom(ctx, cfg, out) }
	case "acks":
		cfg := acksConfig{}
		fs.StringVar(&cfg.url, "url", "http://127.0.0.1:18080", "the room's base URL (loopback only)")
		fs.IntVar(&cfg.pid, "pid", 0, "the server's process id, for CPU from /proc (optional)")
		fs.Float64Var(&cfg.rate, "rate", 100, "posts per second")
		fs.DurationVar(&cfg.duration, "duration", 20*time.Second, "how long to post")
		target = func() string { return cfg.url }
		run = func() error { return runAcks(ctx, cfg, out) }
	case "pushcert":
		if err := fs.Parse(args[1:]); errors.Is(err, flag.ErrHelp) {
			return nil
		} else if err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return errors.New("usage: loadgen pushcert DIR")
		}
		return writePushCert(fs.Arg(0))
	case "compare":
		if err := fs.Parse(args[1:]); errors.Is(err, flag.ErrHelp) {
			return nil
		} else if err != nil {
			return err
		}
		return runCompare(fs.Args(), out)
	case "ready":
		cfg := readyConfig{}
		fs.StringVar(&cfg.bin, "bin", "./chatbox", "the chatbox binary")
		fs.IntVar(&cfg.runs, "runs", 10, "how many starts to time")
		fs.StringVar(&cfg.listen, "listen", "127.0.0.1:18090", "address the server listens on (loopback only)")
		target = func() string { return "http://" + cfg.listen }
		run = func() error { return runReady(ctx, cfg, out) }
	default:
		return errors.New(usage)
	}
	if err := fs.Parse(args[1:]); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	if err := loopbackURL(target()); err != nil {
		return err
	}
	return run()
}

// loopbackURL refuses any URL whose host is not a loopback address.
func loopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("bad URL %q: %w", raw, err)
	}
	a, err := netip.ParseAddr(u.Hostname())
	if err != nil || !a.IsLoopback() {
		return fmt.Errorf("%s is not a loopback address; loadgen only talks to 127.0.0.0/8", u.Host)
	}
	return nil
}

// Source address blocks: clients connect from 127.1.x.y, posters from
// 127.2.x.y.
const (
	clientBlock = 1
	posterBlock = 2
)

// sourceAddr returns the i-th loopback source address of block:
// 127.block.(i/250).(i%250+1), good for 64,000 addresses.
func sourceAddr(block byte, i int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, block, byte(i / 250), byte(i%250 + 1)})
}

// dialFrom returns a dial function whose connections come from src.
func dialFrom(src netip.Addr) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0)), Timeout: 10 * time.Second}
	return d.DialContext
}

// waitHealthy polls base/healthz until it answers 200 or ctx ends.
func waitHealthy(ctx context.Context, client *http.Client, base string) error {
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s/healthz did not answer: %w", base, ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
}
