package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

type acksConfig struct {
	url      string
	pid      int
	rate     float64
	duration time.Duration
}

// runAcks posts at a fixed rate (open loop: the schedule never waits for
// an answer) and reports how long each acknowledgement took. The room
// answers 201 only once the message is on disk.
func runAcks(ctx context.Context, cfg acksConfig, out io.Writer) error {
	if cfg.rate <= 0 || cfg.duration <= 0 {
		return errors.New("-rate and -duration must be positive")
	}
	p := newPoster(cfg.url, time.Now())
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err := waitHealthy(hctx, &http.Client{Timeout: time.Second}, cfg.url)
	cancel()
	if err != nil {
		return err
	}
	var before procSample
	if cfg.pid > 0 {
		if before, err = sampleProc(cfg.pid); err != nil {
			return err
		}
	}
	ids := p.postAt(ctx, cfg.rate, cfg.duration, 0)
	fmt.Fprintf(out, "acks: %d posts at %.0f/s, ack %s, %s\n", len(ids), cfg.rate, p.acks.summary(), p.errorLine())
	if cfg.pid > 0 {
		after, err := sampleProc(cfg.pid)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "acks: server cpu %.3f cores, rss %s\n", cores(before, after), mib(after.rss))
	}
	return nil
}
