package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"time"
)

type readyConfig struct {
	bin    string
	runs   int
	listen string
}

// runReady starts `chatbox serve --dev` cfg.runs times and reports how
// long each took to answer /healthz: with a new data folder (the room is
// created at start) and again on the folder the previous start left.
func runReady(ctx context.Context, cfg readyConfig, out io.Writer) error {
	if cfg.runs < 1 {
		return errors.New("-runs must be at least 1")
	}
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var fresh, again []time.Duration
	for range cfg.runs {
		dir, err := os.MkdirTemp("", "chatbox-ready-")
		if err != nil {
			return err
		}
		for _, times := range []*[]time.Duration{&fresh, &again} {
			d, err := timeStart(ctx, client, cfg, dir)
			if err != nil {
				os.RemoveAll(dir)
				return err
			}
			*times = append(*times, d)
		}
		os.RemoveAll(dir)
	}
	fmt.Fprintf(out, "ready (new data folder): %s\n", spread(fresh))
	fmt.Fprintf(out, "ready (existing data):   %s\n", spread(again))
	return nil
}

// timeStart starts the server once, times it to its first healthy answer
// and stops it.
func timeStart(ctx context.Context, client *http.Client, cfg readyConfig, dir string) (time.Duration, error) {
	cmd := exec.Command(cfg.bin, "serve", "--dev", "--listen", cfg.listen, "--data", dir)
	cmd.Stderr = io.Discard
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", cfg.bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err := waitHealthy(hctx, client, "http://"+cfg.listen)
	took := time.Since(start)
	cancel()
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
	return took, err
}

// spread reads "min 1.00 ms  median 2.00 ms  max 3.00 ms (n 10)".
func spread(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	return fmt.Sprintf("min %s  median %s  max %s  (n %d)", ms(s[0]), ms(s[len(s)/2]), ms(s[len(s)-1]), len(s))
}
