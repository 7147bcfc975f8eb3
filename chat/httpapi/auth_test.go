package httpapi

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// from makes a request come from addr, through the trusted proxy the
// test rooms here sit behind.
func from(addr string, more ...func(*http.Request)) func(*http.Request) {
	return func(r *http.Request) {
		r.Header.Set("X-Forwarded-For", addr)
		for _, f := range more {
			f(r)
		}
	}
}

// behindProxy makes 127.0.0.1 a trusted proxy, so that each request can
// say which address it comes from.
func behindProxy(o *testOptions) { o.Web.TrustedProxies = []string{"127.0.0.1"} }

func sessionOf(res *http.Response) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == sessionCookie {
			return c
		}
	}
	return nil
}

// TestPasswordChecksAreBoundedAcrossAddresses holds the slow password
// checks under way and guesses from a hundred other addresses: each is
// answered 429 at once, with Retry-After, without a check of its own,
// and the rest of the room answers meanwhile.
func TestPasswordChecksAreBoundedAcrossAddresses(t *testing.T) {
	var checks atomic.Int64
	entered := make(chan struct{}, 200)
	release := make(chan struct{})
	tr, _ := newPrivateRoom(t, func(o *testOptions) {
		behindProxy(o)
		o.PasswordChecks = 2
		o.BeforePasswordCheck = func() {
			if checks.Add(1) <= 2 {
				entered <- struct{}{}
				<-release
			}
		}
	})
	held := make(chan int, 2)
	for i := range 2 {
		go func() {
			res, _ := tr.do(t, "POST", "/api/login", map[string]string{"password": "guess"}, from(fmt.Sprintf("198.51.100.%d", i+1)))
			held <- res.StatusCode
		}()
	}
	<-entered
	<-entered

	var wg sync.WaitGroup
	statuses := make([]int, 100)
	retry := make([]string, 100)
	for i := range statuses {
		wg.Go(func() {
			res, _ := tr.do(t, "POST", "/api/login", map[string]string{"password": "guess"}, from(fmt.Sprintf("203.0.113.%d", i+1)))
			statuses[i], retry[i] = res.StatusCode, res.Header.Get("Retry-After")
		})
	}
	wg.Wait()
	start := time.Now()
	res, _ := tr.do(t, "GET", "/api/room", nil, nil)
	took := time.Since(start)
	close(release)
	for i, s := range statuses {
		if s != http.StatusTooManyRequests || retry[i] == "" {
			t.Fatalf("guess %d while 2 checks ran: %d (Retry-After %q), want 429 with Retry-After", i, s, retry[i])
		}
	}
	if n := checks.Load(); n != 2 {
		t.Fatalf("%d password checks ran, want only the 2 held ones", n)
	}
	if res.StatusCode != http.StatusOK || took > time.Second {
		t.Fatalf("GET /api/room while the checks ran: %d in %v", res.StatusCode, took)
	}
	for range 2 {
		if s := <-held; s != http.StatusUnauthorized {
			t.Fatalf("a held wrong guess ended with %d, want 401", s)
		}
	}
}

// TestPasswordGuessingDoesNotExhaustMemory sends a hundred wrong
// passwords at once, each from its own address, and measures the peak
// memory of the process while a stranger keeps asking for the room.
// Unbounded, each guess ran its own 16 MiB scrypt: 1.56 GB for 100.
func TestPasswordGuessingDoesNotExhaustMemory(t *testing.T) {
	const guesses = 100
	const bound = 150 << 20
	var checks atomic.Int64
	tr, _ := newPrivateRoom(t, func(o *testOptions) {
		behindProxy(o)
		o.PasswordChecks = 2
		o.BeforePasswordCheck = func() { checks.Add(1) }
	})
	runtime.GC()
	debug.FreeOSMemory()
	before := procStatus(t, "VmRSS")
	// Writing 5 resets the peak (VmHWM) to the current size.
	peakReset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	var sampled atomic.Int64
	stop := make(chan struct{})
	sampler := make(chan struct{})
	go func() {
		defer close(sampler)
		for {
			sampled.Store(max(sampled.Load(), procStatus(t, "VmRSS")))
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()

	var slowest atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			start := time.Now()
			res, _ := tr.do(t, "GET", "/api/room", nil, nil)
			if res.StatusCode != http.StatusOK {
				t.Errorf("GET /api/room during the guessing: %d", res.StatusCode)
			}
			slowest.Store(max(slowest.Load(), int64(time.Since(start))))
		}
	})
	statuses := make([]int, guesses)
	var guessing sync.WaitGroup
	for i := range guesses {
		guessing.Go(func() {
			res, _ := tr.do(t, "POST", "/api/login", map[string]string{"password": "guess"}, from(fmt.Sprintf("203.0.%d.%d", i/200, i%200+1)))
			statuses[i] = res.StatusCode
		})
	}
	guessing.Wait()
	close(done)
	wg.Wait()
	close(stop)
	<-sampler

	peak := sampled.Load()
	if peakReset {
		peak = max(peak, procStatus(t, "VmHWM"))
	}
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	growth := peak - before
	t.Logf("RELIABILITY password guessing: %d wrong guesses at once from %d addresses: %d checked (401), %d refused at once (429); peak memory growth %.1f MiB (bound %d MiB); slowest GET /api/room %v",
		guesses, guesses, count[http.StatusUnauthorized], count[http.StatusTooManyRequests], float64(growth)/(1<<20), bound>>20, time.Duration(slowest.Load()).Round(time.Millisecond))
	if count[http.StatusUnauthorized]+count[http.StatusTooManyRequests] != guesses {
		t.Fatalf("answers %v; want only 401 and 429", count)
	}
	if int(checks.Load()) != count[http.StatusUnauthorized] {
		t.Fatalf("%d password checks for %d answers 401: a refused guess was hashed", checks.Load(), count[http.StatusUnauthorized])
	}
	if growth > bound {
		t.Fatalf("peak memory grew by %d MiB, bound %d MiB", growth>>20, bound>>20)
	}
	latency := time.Second
	if raceDetector {
		latency = 5 * time.Second
	}
	if d := time.Duration(slowest.Load()); d > latency {
		t.Fatalf("GET /api/room took %v during the guessing, want under %v", d, latency)
	}
}

// TestThrottledAddressIsRefusedEvenWithTheRightPassword: once an address
// has guessed too often, every password it sends is answered 429, the
// right one too, and even while the right one is cached (no slow check
// would tell a guesser it is right).
func TestThrottledAddressIsRefusedEvenWithTheRightPassword(t *testing.T) {
	var checks atomic.Int64
	// The room's clock stands still: the guesser's budget does not refill
	// however long the 1,000 requests take (under the race detector, more
	// than the 10 s a token takes).
	clock := newTestClock()
	tr, password := newPrivateRoom(t, func(o *testOptions) {
		behindProxy(o)
		o.Now = clock.now
		o.LoginsPerMinute = 6
		o.BeforePasswordCheck = func() { checks.Add(1) }
	})
	guesser := "203.0.113.7"
	// The guesser logs in once (so the right password is cached) and
	// keeps its session.
	res, raw := tr.do(t, "POST", "/api/login", map[string]string{"password": password}, from(guesser))
	cookie := sessionOf(res)
	if res.StatusCode != http.StatusOK || cookie == nil {
		t.Fatalf("login: %d %s", res.StatusCode, raw)
	}
	throttled := false
	for range 20 {
		res, _ := tr.do(t, "POST", "/api/login", map[string]string{"password": "guess"}, from(guesser))
		if res.StatusCode == http.StatusTooManyRequests {
			throttled = true
			break
		}
	}
	if !throttled {
		t.Fatal("20 wrong guesses were never throttled")
	}
	checked := checks.Load()
	ok := 0
	basic := func(r *http.Request) { r.SetBasicAuth("", password) }
	for i := range 1000 {
		var res *http.Response
		if i%2 == 0 {
			res, _ = tr.do(t, "POST", "/api/login", map[string]string{"password": password}, from(guesser))
		} else {
			res, _ = tr.do(t, "GET", "/api/messages", nil, from(guesser, basic))
		}
		if res.StatusCode == http.StatusOK {
			ok++
		} else if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
			t.Fatalf("right password while throttled: %d (Retry-After %q), want 429", res.StatusCode, res.Header.Get("Retry-After"))
		}
	}
	if ok > 0 {
		t.Fatalf("%d of 1000 right passwords were let in while the address was throttled", ok)
	}
	if n := checks.Load() - checked; n != 0 {
		t.Fatalf("%d password checks ran for a throttled address", n)
	}
	// A session is no password attempt: it still works.
	if res, raw := tr.do(t, "GET", "/api/messages", nil, from(guesser, func(r *http.Request) { r.AddCookie(cookie) })); res.StatusCode != http.StatusOK {
		t.Fatalf("session of a throttled address: %d %s", res.StatusCode, raw)
	}
	// Another address with the cached password is not held back.
	if res, raw := tr.do(t, "GET", "/api/messages", nil, from("198.51.100.1", basic)); res.StatusCode != http.StatusOK {
		t.Fatalf("right password from another address: %d %s", res.StatusCode, raw)
	}
}

// TestCheckSpanningAPasswordChangeLetsNothingIn holds the slow check of
// the old password while the owner sets a new one or resets the room:
// when the check ends, the old password earns no session, opens nothing,
// and is not cached for the new room.
func TestCheckSpanningAPasswordChangeLetsNothingIn(t *testing.T) {
	changes := []struct {
		name   string
		change func(*testing.T, *testRoom)
	}{
		{"a new password", func(t *testing.T, tr *testRoom) {
			if _, err := tr.SetPassword(); err != nil {
				t.Fatal(err)
			}
		}},
		{"a reset to a new private room", func(t *testing.T, tr *testRoom) {
			if _, err := tr.Reset(true); err != nil {
				t.Fatal(err)
			}
		}},
	}
	ways := []struct {
		name string
		try  func(*testing.T, *testRoom, string) *http.Response
	}{
		{"a login", func(t *testing.T, tr *testRoom, pw string) *http.Response {
			res, _ := tr.do(t, "POST", "/api/login", map[string]string{"password": pw}, nil)
			return res
		}},
		{"a request with basic auth", func(t *testing.T, tr *testRoom, pw string) *http.Response {
			res, _ := tr.do(t, "GET", "/api/messages", nil, func(r *http.Request) { r.SetBasicAuth("", pw) })
			return res
		}},
	}
	for _, c := range changes {
		for _, w := range ways {
			t.Run(w.name+" checked across "+c.name+" is refused", func(t *testing.T) {
				var hold atomic.Bool
				entered := make(chan struct{})
				release := make(chan struct{})
				tr, old := newPrivateRoom(t, func(o *testOptions) {
					o.BeforePasswordCheck = func() {
						if hold.CompareAndSwap(true, false) {
							entered <- struct{}{}
							<-release
						}
					}
				})
				hold.Store(true)
				answer := make(chan *http.Response, 1)
				go func() { answer <- w.try(t, tr, old) }()
				<-entered
				c.change(t, tr)
				close(release)
				res := <-answer
				if res.StatusCode != http.StatusUnauthorized {
					t.Fatalf("the old password checked across the change: %d, want 401", res.StatusCode)
				}
				if cookie := sessionOf(res); cookie != nil && cookie.Value != "" {
					t.Fatalf("the old password earned a session: %+v", cookie)
				}
				// Nor was it cached for the new room.
				if res := w.try(t, tr, old); res.StatusCode != http.StatusUnauthorized {
					t.Fatalf("the old password after the change: %d, want 401", res.StatusCode)
				}
			})
		}
	}
}

func TestLogoutEndsTheSession(t *testing.T) {
	tr, password := newPrivateRoom(t, nil)
	res, raw := tr.do(t, "POST", "/api/login", map[string]string{"password": password}, nil)
	cookie := sessionOf(res)
	if res.StatusCode != http.StatusOK || cookie == nil {
		t.Fatalf("login: %d %s", res.StatusCode, raw)
	}
	withCookie := func(r *http.Request) { r.AddCookie(cookie) }
	if res, _ := tr.do(t, "POST", "/api/logout", nil, func(r *http.Request) {
		withCookie(r)
		r.Header.Set("Origin", "https://evil.example")
	}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("logout from another site: %d, want 403", res.StatusCode)
	}
	if res, _ := tr.do(t, "GET", "/api/messages", nil, withCookie); res.StatusCode != http.StatusOK {
		t.Fatalf("the session after a refused logout: %d", res.StatusCode)
	}
	res, raw = tr.do(t, "POST", "/api/logout", nil, withCookie)
	cleared := sessionOf(res)
	if res.StatusCode != http.StatusOK || cleared == nil || cleared.Value != "" || cleared.MaxAge >= 0 {
		t.Fatalf("logout: %d %s, cookie %+v; want 200 and the cookie cleared", res.StatusCode, raw, cleared)
	}
	// The server forgot it: the old cookie, replayed, is refused.
	if res, _ := tr.do(t, "GET", "/api/messages", nil, withCookie); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the session after logout: %d, want 401", res.StatusCode)
	}
	// Logging out again, or without a session, is harmless.
	if res, _ := tr.do(t, "POST", "/api/logout", nil, nil); res.StatusCode != http.StatusOK {
		t.Fatalf("logout without a session: %d", res.StatusCode)
	}
}

// testClock is a clock the test moves.
type testClock struct{ t atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.t.Store(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *testClock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *testClock) advance(d time.Duration) { c.t.Add(int64(d)) }

func TestSessionsEndWhenIdleAndAfterThirtyDays(t *testing.T) {
	clock := newTestClock()
	tr, password := newPrivateRoom(t, func(o *testOptions) {
		o.Now = clock.now
		o.SessionIdle = 7 * 24 * time.Hour
	})
	login := func() func(*http.Request) {
		res, raw := tr.do(t, "POST", "/api/login", map[string]string{"password": password}, nil)
		cookie := sessionOf(res)
		if res.StatusCode != http.StatusOK || cookie == nil {
			t.Fatalf("login: %d %s", res.StatusCode, raw)
		}
		return func(r *http.Request) { r.AddCookie(cookie) }
	}
	status := func(cookie func(*http.Request)) int {
		res, _ := tr.do(t, "GET", "/api/messages", nil, cookie)
		return res.StatusCode
	}
	day := 24 * time.Hour

	t.Run("a session used every 6 days lasts 30 days, no more", func(t *testing.T) {
		cookie := login()
		for i := range 4 {
			clock.advance(6 * day)
			if s := status(cookie); s != http.StatusOK {
				t.Fatalf("day %d: %d, want 200", 6*(i+1), s)
			}
		}
		clock.advance(6*day + time.Minute) // 30 days and a minute
		if s := status(cookie); s != http.StatusUnauthorized {
			t.Fatalf("after 30 days: %d, want 401", s)
		}
	})
	t.Run("a session unused for 7 days ends", func(t *testing.T) {
		cookie := login()
		clock.advance(3 * day)
		if s := status(cookie); s != http.StatusOK {
			t.Fatalf("after 3 days: %d", s)
		}
		clock.advance(7*day - time.Minute)
		if s := status(cookie); s != http.StatusOK {
			t.Fatalf("7 days less a minute after its last use: %d, want 200", s)
		}
		clock.advance(7*day + time.Minute)
		if s := status(cookie); s != http.StatusUnauthorized {
			t.Fatalf("7 days and a minute after its last use: %d, want 401", s)
		}
	})
}

// TestPrivateFilesAndFeedsAreNotStored: what a private room serves is
// kept by no cache, the browser's included.
func TestPrivateFilesAndFeedsAreNotStored(t *testing.T) {
	tr, password := newPrivateRoom(t, nil)
	auth := func(r *http.Request) { r.SetBasicAuth("", password) }
	tr.do(t, "POST", "/api/messages", map[string]string{"nick": "alice", "text": "hello"}, auth)
	res, raw := tr.shareFile(t, "alice", "notes.txt", []byte("secret notes"), auth)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", res.StatusCode, raw)
	}
	file := decode[struct{ File struct{ URL string } }](t, raw)
	for _, path := range []string{file.File.URL, "/rss/all.xml"} {
		res, _ := tr.do(t, "GET", path, nil, auth)
		if cc := res.Header.Get("Cache-Control"); res.StatusCode != http.StatusOK || !strings.Contains(cc, "no-store") {
			t.Errorf("GET %s: %d, Cache-Control %q; want no-store", path, res.StatusCode, cc)
		}
	}
}
