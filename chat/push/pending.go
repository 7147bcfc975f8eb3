package push

import (
	"sync"
	"time"

	"github.com/chatbox-dev/chatbox/chat"
)

// pendingSet holds the pushes waiting to be sent, one entry per
// subscription: the messages that arrive while one waits (for the
// collapse window, a retry, or its turn under the rate) join it, so a
// burst sends one "N new messages" push, not N.
type pendingSet struct {
	s      *Service
	mu     sync.Mutex
	byEnd  map[string]*pending
	ready  []string
	wakeup chan struct{}
	timers map[*time.Timer]struct{}
}

type pending struct {
	count  int
	last   chat.Message
	urgent bool
	// attempts is how often the push in hand has failed to be delivered.
	attempts int
	// queued: in ready, or waiting on a timer to be. inflight: a sender
	// has it. A new message sets neither while one holds.
	queued, inflight bool
	// notBefore is when the next push may go: the end of the collapse
	// window after the last one, or a retry's wait.
	notBefore time.Time
}

func (p *pendingSet) init(s *Service) {
	p.s = s
	p.byEnd = map[string]*pending{}
	p.wakeup = make(chan struct{}, 1)
	p.timers = map[*time.Timer]struct{}{}
}

// add counts m in endpoint's pending push and queues it if it is not.
func (p *pendingSet) add(endpoint string, m chat.Message, urgent bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.byEnd[endpoint]
	if e == nil {
		e = &pending{}
		p.byEnd[endpoint] = e
	}
	e.count++
	e.last = m
	e.urgent = e.urgent || urgent
	if !e.queued && !e.inflight {
		e.queued = true
		p.schedule(endpoint, e.notBefore)
	}
}

// schedule puts endpoint in ready at at (now when at has passed); mu is
// held.
func (p *pendingSet) schedule(endpoint string, at time.Time) {
	wait := at.Sub(p.s.now())
	if wait <= 0 {
		p.ready = append(p.ready, endpoint)
		p.wake()
		return
	}
	var t *time.Timer
	t = time.AfterFunc(wait, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		delete(p.timers, t)
		p.ready = append(p.ready, endpoint)
		p.wake()
	})
	p.timers[t] = struct{}{}
}

// wake tells a waiting sender that ready may hold something.
func (p *pendingSet) wake() {
	select {
	case p.wakeup <- struct{}{}:
	default:
	}
}

// stopTimers stops the retries and windows still waiting (at Close).
func (p *pendingSet) stopTimers() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for t := range p.timers {
		t.Stop()
	}
	clear(p.timers)
}

// take hands a sender the next push due, or reports false when ctx ends.
func (p *pendingSet) take() (endpoint string, e pending, ok bool) {
	for {
		p.mu.Lock()
		for len(p.ready) > 0 {
			endpoint = p.ready[0]
			p.ready = p.ready[1:]
			pe := p.byEnd[endpoint]
			if pe == nil || !pe.queued {
				continue // deleted meanwhile
			}
			pe.queued, pe.inflight = false, true
			e = *pe
			pe.count, pe.urgent = 0, false
			if len(p.ready) > 0 {
				p.wake() // pass it on to the next sender
			}
			p.mu.Unlock()
			return endpoint, e, true
		}
		p.mu.Unlock()
		select {
		case <-p.s.ctx.Done():
			p.wake() // and to the other senders
			return "", pending{}, false
		case <-p.wakeup:
		}
	}
}

// done records how the push to endpoint (sent as e) ended: delivered,
// skipped or given up (retry false), or to be tried again after wait.
func (p *pendingSet) done(endpoint string, e pending, retry bool, wait time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pe := p.byEnd[endpoint]
	if pe == nil {
		return
	}
	pe.inflight = false
	now := p.s.now()
	if retry {
		pe.count += e.count
		pe.urgent = pe.urgent || e.urgent
		if pe.last.ID < e.last.ID {
			pe.last = e.last
		}
		pe.attempts = e.attempts + 1
		pe.notBefore = now.Add(wait)
	} else {
		pe.attempts = 0
		pe.notBefore = now.Add(p.s.opts.Collapse)
	}
	if pe.count > 0 {
		pe.queued = true
		p.schedule(endpoint, pe.notBefore)
		return
	}
	if p.s.opts.Collapse == 0 {
		delete(p.byEnd, endpoint)
	}
}

// forget drops endpoint's pending push (its subscription is gone).
func (p *pendingSet) forget(endpoint string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.byEnd, endpoint)
}

// sweep forgets the entries that wait for nothing and whose window has
// passed, so the set does not grow with every device ever pushed to.
func (p *pendingSet) sweep() {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.s.now()
	for ep, e := range p.byEnd {
		if !e.queued && !e.inflight && e.count == 0 && !now.Before(e.notBefore) {
			delete(p.byEnd, ep)
		}
	}
}
