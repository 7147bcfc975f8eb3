package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// posterAddrs is how many source addresses posts rotate through: at 100
// posts/s each address posts 30 times a minute, under the room's default
// limit of 120.
const posterAddrs = 200

// poster sends messages through POST /api/messages, rotating its source
// address, and times each acknowledgement.
type poster struct {
	base    string
	epoch   time.Time
	clients []*http.Client
	next    atomic.Uint64
	acks    *histogram
	errs    atomic.Int64
	lastErr atomic.Value // string
}

func newPoster(base string, epoch time.Time) *poster {
	p := &poster{base: base, epoch: epoch, acks: &histogram{}}
	for i := range posterAddrs {
		p.clients = append(p.clients, &http.Client{
			Timeout: 30 * time.Second,
			Transport: &http.Transport{
				DialContext:         dialFrom(sourceAddr(posterBlock, i)),
				MaxIdleConnsPerHost: 4,
				DisableCompression:  true,
			},
		})
	}
	return p
}

// reset forgets the acknowledgement times and errors recorded so far.
func (p *poster) reset() {
	p.acks = &histogram{}
	p.errs.Store(0)
}

// sinceEpoch is the generator's clock: monotonic, shared by posters and
// clients, so a delivery's latency is arrival minus the send time in its
// text.
func (p *poster) sinceEpoch() time.Duration { return time.Since(p.epoch) }

// post stores one message stamped with phase and the send time, and
// returns its id.
func (p *poster) post(ctx context.Context, phase uint32) (uint64, error) {
	i := p.next.Add(1)
	client := p.clients[i%uint64(len(p.clients))]
	sent := p.sinceEpoch()
	body, _ := json.Marshal(map[string]string{
		"nick": "lgpost" + strconv.FormatUint(i%posterAddrs, 10),
		"text": fmt.Sprintf("lg %d %d", phase, int64(sent)),
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/api/messages", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, p.fail(err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, p.fail(err)
	}
	if resp.StatusCode != http.StatusCreated {
		return 0, p.fail(fmt.Errorf("POST /api/messages: %s: %s", resp.Status, bytes.TrimSpace(raw)))
	}
	p.acks.add(p.sinceEpoch() - sent)
	var m struct {
		ID uint64 `json:"id"`
	}
	if err := json.Unmarshal(raw, &m); err != nil || m.ID == 0 {
		return 0, p.fail(fmt.Errorf("POST /api/messages: no id in %q", raw))
	}
	return m.ID, nil
}

func (p *poster) fail(err error) error {
	p.errs.Add(1)
	p.lastErr.Store(err.Error())
	return err
}

// postAt posts at rate per second for d, each post on its own goroutine so
// a slow acknowledgement never delays the schedule, and waits for every
// answer. It returns the acknowledged ids, in no particular order.
func (p *poster) postAt(ctx context.Context, rate float64, d time.Duration, phase uint32) []uint64 {
	n := int(rate * d.Seconds())
	every := time.Duration(float64(time.Second) / rate)
	var (
		mu  sync.Mutex
		ids []uint64
		wg  sync.WaitGroup
	)
	t := time.NewTicker(every)
	defer t.Stop()
	for range n {
		wg.Go(func() {
			if id, err := p.post(ctx, phase); err == nil {
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
			}
		})
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		if ctx.Err() != nil {
			break
		}
	}
	wg.Wait()
	return ids
}

// errorLine describes the errors seen, if any.
func (p *poster) errorLine() string {
	n := p.errs.Load()
	if n == 0 {
		return "errors 0"
	}
	last, _ := p.lastErr.Load().(string)
	return fmt.Sprintf("errors %d (last: %s)", n, last)
}
