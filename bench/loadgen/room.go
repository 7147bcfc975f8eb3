package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type roomConfig struct {
	url      string
	pid      int
	clients  int
	nicks    int
	rate     float64
	duration time.Duration
	settle   time.Duration
	missed   int
	dialers  int
	// summary, when set, is a file the load phase's figures are written
	// to as JSON, for `loadgen compare`.
	summary string
	// label names the server in the summary ("floor", "chatbox").
	label string
	// pushSubs, when above 0, is how many push subscriptions to make
	// before the load phase, at a push receiver of this process with the
	// certificate in pushCerts; a message to everyone starts their pushes
	// as the load phase starts.
	pushSubs  int
	pushCerts string
}

// Phases stamp the messages they post, so clients count only their own.
const (
	phaseLoad  = 1
	phaseStorm = 2
	// phasePush stamps the message to every push subscription, which
	// no client counts.
	phasePush = 9
)

// roomRun holds one run of the room scenario.
type roomRun struct {
	cfg     roomConfig
	out     io.Writer
	track   *tracker
	post    *poster
	http    *http.Client // history and room reads, from 127.0.0.1
	wsURL   string
	clients []*wsClient
}

func runRoom(ctx context.Context, cfg roomConfig, out io.Writer) error {
	if cfg.pid <= 0 {
		return errors.New("room needs -pid, the server's process id")
	}
	if cfg.clients < 1 || cfg.clients > 64000 {
		return errors.New("-clients must be from 1 to 64000")
	}
	if cfg.nicks <= 0 || cfg.nicks > cfg.clients {
		cfg.nicks = cfg.clients
	}
	epoch := time.Now()
	r := &roomRun{
		cfg:   cfg,
		out:   out,
		track: &tracker{epoch: epoch},
		post:  newPoster(cfg.url, epoch),
		http: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
			MaxConnsPerHost:     256,
			MaxIdleConnsPerHost: 256,
			DisableCompression:  true,
		}},
		wsURL: "ws" + strings.TrimPrefix(cfg.url, "http") + "/ws",
	}
	for i := range cfg.clients {
		r.clients = append(r.clients, &wsClient{
			src:  sourceAddr(clientBlock, i),
			nick: "lg" + strconv.Itoa(i%cfg.nicks),
		})
	}
	defer r.leaveAll()

	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err := waitHealthy(hctx, r.http, cfg.url)
	cancel()
	if err != nil {
		return err
	}
	r.printf("room: %d clients (%d nicknames), %.0f msg/s for %s, server pid %d", cfg.clients, cfg.nicks, cfg.rate, cfg.duration, cfg.pid)

	// Idle, no clients.
	idle0, err := r.idle(ctx, 5*time.Second)
	if err != nil {
		return err
	}
	r.printf("idle, no clients:       rss %s, cpu %.3f cores", mib(idle0.b.rss), cores(idle0.a, idle0.b))

	if err := r.connectAll(ctx); err != nil {
		return err
	}
	idleN, err := r.idle(ctx, 5*time.Second)
	if err != nil {
		return err
	}
	perClient := float64(idleN.b.rss-idle0.b.rss) / float64(cfg.clients) / 1024
	r.printf("idle, %d clients:    rss %s (%.1f KiB per client), cpu %.3f cores", cfg.clients, mib(idleN.b.rss), perClient, cores(idleN.a, idleN.b))

	var pushes *pushReceiver
	var pushSent time.Duration
	if cfg.pushSubs > 0 {
		if pushes, err = startPushReceiver(cfg.pushCerts, epoch); err != nil {
			return err
		}
		defer pushes.close()
		start := time.Now()
		if err := pushes.subscribeAll(ctx, cfg.url, cfg.pushSubs); err != nil {
			return err
		}
		r.printf("push: %d subscriptions (every message) at a stand-in push service, made in %.1f s", cfg.pushSubs, time.Since(start).Seconds())
		pushSent = r.post.sinceEpoch()
		if _, err := r.post.post(ctx, phasePush); err != nil {
			return fmt.Errorf("the message to everyone: %w", err)
		}
	}
	if err := r.load(ctx); err != nil {
		return err
	}
	if pushes != nil {
		// The pushes went on beside the load phase; the rest are waited for.
		if pushes.firsts() < cfg.pushSubs {
			r.printf("push: %d of %d subscriptions had their push when the load phase ended", pushes.firsts(), cfg.pushSubs)
		}
		err := pushes.waitPushes(ctx, cfg.pushSubs, 5*time.Minute)
		pushes.report(r.printf, cfg.pushSubs, pushSent)
		if err != nil {
			return err
		}
	}
	if cfg.missed > 0 {
		if err := r.storm(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (r *roomRun) printf(format string, args ...any) {
	fmt.Fprintf(r.out, format+"\n", args...)
}

type window struct{ a, b procSample }

// idle waits the settle time, then measures the server over d.
func (r *roomRun) idle(ctx context.Context, d time.Duration) (window, error) {
	var w window
	if err := sleep(ctx, r.cfg.settle); err != nil {
		return w, err
	}
	a, err := sampleProc(r.cfg.pid)
	if err != nil {
		return w, err
	}
	if err := sleep(ctx, d); err != nil {
		return w, err
	}
	b, err := sampleProc(r.cfg.pid)
	return window{a, b}, err
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// connectAll opens every client, at most cfg.dialers at a time.
func (r *roomRun) connectAll(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	start := time.Now()
	sem := make(chan struct{}, max(r.cfg.dialers, 1))
	var (
		wg     sync.WaitGroup
		errs   atomic.Int64
		mu     sync.Mutex
		sample string
	)
	for _, c := range r.clients {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := c.connect(ctx, r.wsURL, r.track); err != nil {
				errs.Add(1)
				c.conn = nil
				mu.Lock()
				sample = err.Error()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	r.printf("connect: %d clients in %.2f s, errors %d %s", len(r.clients), time.Since(start).Seconds(), errs.Load(), sample)
	if errs.Load() > 0 {
		return errors.New("some clients could not connect; see above")
	}
	return ctx.Err()
}

// leaveAll closes every open client.
func (r *roomRun) leaveAll() {
	var wg sync.WaitGroup
	for _, c := range r.clients {
		if c.conn != nil && !c.dropped() {
			wg.Go(c.leave)
		}
	}
	wg.Wait()
}

// load posts at cfg.rate for cfg.duration and measures delivery.
func (r *roomRun) load(ctx context.Context) error {
	for _, c := range r.clients {
		c.resetCounts()
	}
	r.post.reset()
	base, err := r.lastID(ctx)
	if err != nil {
		return err
	}
	lat := r.track.startPhase(phaseLoad, base, int(r.cfg.rate*r.cfg.duration.Seconds()))
	before, err := sampleProc(r.cfg.pid)
	if err != nil {
		return err
	}
	self, err := sampleProc(os.Getpid())
	if err != nil {
		return err
	}
	// Sample memory while posting.
	var peakRSS atomic.Int64
	sampling, stopSampling := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-sampling.Done():
				return
			case <-t.C:
				if s, err := sampleProc(r.cfg.pid); err == nil && s.rss > peakRSS.Load() {
					peakRSS.Store(s.rss)
				}
			}
		}
	}()
	ids := r.post.postAt(ctx, r.cfg.rate, r.cfg.duration, phaseLoad)
	expected := int64(len(ids))
	// Wait (bounded) until every client that is still connected has every
	// acknowledged message.
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if r.missing(expected) == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	after, err := sampleProc(r.cfg.pid)
	stopSampling()
	<-sampled
	if err != nil {
		return err
	}
	selfAfter, err := sampleProc(os.Getpid())
	if err != nil {
		return err
	}
	elapsed := after.at.Sub(before.at)

	var delivered, dups, lost, lossy, dropped, maxLost int64
	codes := map[int32]int{}
	for _, c := range r.clients {
		delivered += c.got.Load()
		dups += c.dup.Load()
		if c.dropped() {
			dropped++
			codes[c.closeCode.Load()]++
			continue
		}
		if l := expected - c.got.Load(); l > 0 {
			lost += l
			lossy++
			maxLost = max(maxLost, l)
		}
	}
	r.printf("load: posted %d of %d, ack %s, %s", len(ids), int(r.cfg.rate*r.cfg.duration.Seconds()), r.post.acks.summary(), r.post.errorLine())
	r.printf("delivery: %s, %.0f deliveries/s", lat.summary(), float64(delivered)/elapsed.Seconds())
	r.printf("fan-out, first to last client of each message: %s", r.track.fanOut().summary())
	r.printf("loss: lost %d (clients with loss %d, most lost by one %d), duplicated %d, dropped by the server %d %v",
		lost, lossy, maxLost, dups, dropped, codes)
	r.printf("under load: cpu %.3f cores over %.1f s, rss %s (peak sampled %s); the generator used %.3f cores",
		cores(before, after), elapsed.Seconds(), mib(after.rss), mib(max(peakRSS.Load(), after.rss)), cores(self, selfAfter))
	if r.cfg.summary == "" {
		return nil
	}
	fan := r.track.fanOut()
	sum := summary{
		Label: r.cfg.label, Clients: r.cfg.clients, Posted: len(ids),
		Deliveries:  delivered,
		DeliveryP50: lat.quantile(0.50), DeliveryP99: lat.quantile(0.99), DeliveryMax: lat.max(),
		FanOutP50: fan.quantile(0.50), FanOutP99: fan.quantile(0.99),
		ServerCPU: after.cpu - before.cpu, ServerCores: cores(before, after),
		GeneratorCores: cores(self, selfAfter),
		Lost:           lost, Duplicated: dups, Dropped: dropped,
	}
	return sum.write(r.cfg.summary)
}

// missing counts the messages that clients still connected have yet to
// receive.
func (r *roomRun) missing(expected int64) int64 {
	var n int64
	for _, c := range r.clients {
		if !c.dropped() {
			n += max(expected-c.got.Load(), 0)
		}
	}
	return n
}

// storm disconnects everyone, posts cfg.missed messages, then reconnects
// every client at once; each fetches the history it missed.
func (r *roomRun) storm(ctx context.Context) error {
	r.leaveAll()
	if err := r.waitEmpty(ctx); err != nil {
		return err
	}
	r.post.reset()
	var last uint64
	for range r.cfg.missed {
		id, err := r.post.post(ctx, phaseStorm)
		if err != nil {
			return fmt.Errorf("post before the storm: %w", err)
		}
		last = max(last, id)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	each := &histogram{}
	var (
		wg     sync.WaitGroup
		errs   atomic.Int64
		mu     sync.Mutex
		sample string
	)
	fail := func(err error) {
		errs.Add(1)
		mu.Lock()
		sample = err.Error()
		mu.Unlock()
	}
	before, err := sampleProc(r.cfg.pid)
	if err != nil {
		return err
	}
	start := time.Now()
	for _, c := range r.clients {
		wg.Go(func() {
			t0 := time.Now()
			after := c.lastID.Load()
			if err := c.connect(ctx, r.wsURL, r.track); err != nil {
				c.conn = nil
				fail(fmt.Errorf("reconnect: %w", err))
				return
			}
			if err := r.catchUp(ctx, c.src, after, last); err != nil {
				fail(err)
				return
			}
			each.add(time.Since(t0))
		})
	}
	wg.Wait()
	took := time.Since(start)
	after, err := sampleProc(r.cfg.pid)
	if err != nil {
		return err
	}
	r.printf("reconnect storm: %d clients reconnected and fetched %d missed messages in %.2f s, errors %d %s",
		len(r.clients), r.cfg.missed, took.Seconds(), errs.Load(), sample)
	r.printf("storm per client: %s; server cpu %.3f cores, rss %s", each.summary(), cores(before, after), mib(after.rss))
	return nil
}

// catchUp fetches the history after id from the client's own address src,
// as a browser that reconnects does (the room budgets reads per address),
// and checks it ends at last with nothing missing.
func (r *roomRun) catchUp(ctx context.Context, src netip.Addr, after, last uint64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/api/messages?after=%d&limit=1000", r.cfg.url, after), nil)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{DialContext: dialFrom(src), DisableKeepAlives: true}, Timeout: time.Minute}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("history: %s", resp.Status)
	}
	var msgs []struct {
		ID uint64 `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&msgs); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	if want := last - after; want <= 1000 && uint64(len(msgs)) != want {
		return fmt.Errorf("history after %d: got %d messages, want %d", after, len(msgs), want)
	}
	for i, m := range msgs {
		if m.ID != after+1+uint64(i) {
			return fmt.Errorf("history after %d: message %d has id %d, want %d", after, i, m.ID, after+1+uint64(i))
		}
	}
	return nil
}

// waitEmpty waits until the room has no members left.
func (r *roomRun) waitEmpty(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		n, err := r.members(ctx)
		if err == nil && n == 0 {
			return nil
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return fmt.Errorf("the room did not empty: %w", err)
		}
	}
}

// roomInfo is the part of GET /api/room the generator reads.
type roomInfo struct {
	Members []string `json:"members"`
	LastID  uint64   `json:"last_id"`
}

func (r *roomRun) room(ctx context.Context) (roomInfo, error) {
	var info roomInfo
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.cfg.url+"/api/room", nil)
	if err != nil {
		return info, err
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return info, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return info, fmt.Errorf("GET /api/room: %s", resp.Status)
	}
	err = json.NewDecoder(resp.Body).Decode(&info)
	return info, err
}

func (r *roomRun) members(ctx context.Context) (int, error) {
	info, err := r.room(ctx)
	return len(info.Members), err
}

// lastID returns the id of the room's last message.
func (r *roomRun) lastID(ctx context.Context) (uint64, error) {
	info, err := r.room(ctx)
	return info.LastID, err
}
