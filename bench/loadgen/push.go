package main

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatbox-dev/chatbox/internal/testcert"
)

// The push receiver stands in for the browsers' push services, which
// cannot be reached from a benchmark: it answers every push 201 and
// notes when it came. It neither checks nor decrypts them (the tests do,
// with chat/push/pushtest): what is measured is the box's work. The box
// reaches it only as `serve --dev`, which may push to loopback, over
// HTTPS with the certificate `loadgen pushcert` writes, which the box
// trusts through SSL_CERT_FILE.

// pushBlock is the block of the source addresses subscriptions are made
// from: 127.3.x.y.
const pushBlock = 3

// Files `loadgen pushcert DIR` writes.
const (
	pushCertFile = "push-cert.pem"
	pushKeyFile  = "push-key.pem"
)

// writePushCert writes a self-signed certificate for 127.0.0.1 and its key
// to dir.
func writePushCert(dir string) error {
	p, err := testcert.SelfSigned(7*24*time.Hour, "127.0.0.1")
	if err != nil {
		return fmt.Errorf("make the push receiver's certificate: %w", err)
	}
	return p.Write(filepath.Join(dir, pushCertFile), filepath.Join(dir, pushKeyFile))
}

// pushReceiver is the stand-in push service.
type pushReceiver struct {
	srv   *http.Server
	base  string // https://127.0.0.1:PORT
	epoch time.Time

	total atomic.Int64
	mu    sync.Mutex
	// first is when each subscription's first push came, since epoch.
	first map[int]time.Duration
	// perSecond counts every push by the second it came in, since epoch.
	perSecond map[int64]int
}

func startPushReceiver(certDir string, epoch time.Time) (*pushReceiver, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(certDir, pushCertFile), filepath.Join(certDir, pushKeyFile))
	if err != nil {
		return nil, fmt.Errorf("the push receiver's certificate (loadgen pushcert %s): %w", certDir, err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		return nil, err
	}
	r := &pushReceiver{base: "https://" + ln.Addr().String(), epoch: epoch, first: map[int]time.Duration{}, perSecond: map[int64]int{}}
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

func (r *pushReceiver) close() { r.srv.Close() }

// serve takes one push to /push/N.
func (r *pushReceiver) serve(w http.ResponseWriter, req *http.Request) {
	io.Copy(io.Discard, io.LimitReader(req.Body, 8<<10))
	n, err := strconv.Atoi(strings.TrimPrefix(req.URL.Path, "/push/"))
	if req.Method != http.MethodPost || err != nil {
		http.Error(w, "not a push", http.StatusNotFound)
		return
	}
	at := time.Since(r.epoch)
	r.total.Add(1)
	r.mu.Lock()
	if _, ok := r.first[n]; !ok {
		r.first[n] = at
	}
	r.perSecond[int64(at/time.Second)]++
	r.mu.Unlock()
	w.Header().Set("Location", r.base+"/message/"+strconv.Itoa(n))
	w.WriteHeader(http.StatusCreated)
}

// firsts returns how many subscriptions have had a push.
func (r *pushReceiver) firsts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.first)
}

// subscribeAll stores n subscriptions at the room, in mode "all", each
// from its own address with a key pair made as a browser makes one.
func (r *pushReceiver) subscribeAll(ctx context.Context, base string, n int) error {
	work := make(chan int)
	var failed atomic.Int64
	var lastErr atomic.Value
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for i := range work {
				if err := r.subscribe(ctx, base, i); err != nil {
					failed.Add(1)
					lastErr.Store(err.Error())
				}
			}
		})
	}
	for i := range n {
		select {
		case work <- i:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(work)
	wg.Wait()
	if f := failed.Load(); f > 0 {
		return fmt.Errorf("%d of %d subscriptions refused (last: %s)", f, n, lastErr.Load())
	}
	return ctx.Err()
}

func (r *pushReceiver) subscribe(ctx context.Context, base string, i int) error {
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	body, _ := json.Marshal(map[string]any{
		"nick":     "lgpush" + strconv.Itoa(i),
		"endpoint": r.base + "/push/" + strconv.Itoa(i),
		"keys": map[string]string{
			"p256dh": base64.RawURLEncoding.EncodeToString(key.PublicKey().Bytes()),
			"auth":   base64.RawURLEncoding.EncodeToString(auth),
		},
		"mode": "all",
	})
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: dialFrom(sourceAddr(pushBlock, i)), DisableKeepAlives: true,
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/push", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("POST /api/push: %s: %s", resp.Status, bytes.TrimSpace(raw))
	}
	return nil
}

// report prints the pushes of the message to everyone, posted at sent
// (since epoch): how fast they went out, and when each subscription had
// its push.
func (r *pushReceiver) report(printf func(string, ...any), n int, sent time.Duration) {
	r.mu.Lock()
	lat := &histogram{}
	var last time.Duration
	for _, at := range r.first {
		lat.add(at - sent)
		last = max(last, at)
	}
	busiest := 0
	for _, c := range r.perSecond {
		busiest = max(busiest, c)
	}
	got := len(r.first)
	r.mu.Unlock()
	if got == 0 {
		printf("pushes: none of %d subscriptions had a push", n)
		return
	}
	span := (last - sent).Seconds()
	printf("pushes: %d of %d subscriptions had the message to everyone in %.1f s: %.0f pushes/s (busiest second %d); POST to push %s; %d pushes in all",
		got, n, span, float64(got)/span, busiest, lat.summary(), r.total.Load())
}

// waitPushes waits, bounded, until every subscription has had a push.
func (r *pushReceiver) waitPushes(ctx context.Context, n int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for r.firsts() < n {
		if time.Now().After(deadline) {
			return errors.New("not every subscription had its push")
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}
