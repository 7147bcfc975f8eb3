package dyndns_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/config"
	"github.com/chatbox-dev/chatbox/dyndns"
	"github.com/chatbox-dev/chatbox/internal/cloudflaretest"
	"github.com/libdns/libdns"
)

const token = "box-token_0123456789abcdef"

// whatIsMyIP is a local "what is my IP" service whose answer a test sets.
type whatIsMyIP struct {
	*httptest.Server
	mu     sync.Mutex
	answer string
	status int
}

func newWhatIsMyIP(t *testing.T, answer string) *whatIsMyIP {
	w := &whatIsMyIP{answer: answer, status: http.StatusOK}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		w.mu.Lock()
		defer w.mu.Unlock()
		rw.WriteHeader(w.status)
		fmt.Fprintln(rw, w.answer)
	}))
	t.Cleanup(w.Close)
	return w
}

func (w *whatIsMyIP) set(answer string, status int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.answer, w.status = answer, status
}

// box is a Cloudflare stand-in with the zone example.com and a full-access
// token, a what-is-my-IP service, and the config of chat.example.com using
// both.
type box struct {
	cf  *cloudflaretest.Server
	ip  *whatIsMyIP
	cfg config.Config
	log bytes.Buffer
}

func newBox(t *testing.T, answer string) *box {
	t.Helper()
	b := &box{cf: cloudflaretest.NewServer(), ip: newWhatIsMyIP(t, answer)}
	t.Cleanup(b.cf.Close)
	b.cf.AddZone("example.com")
	b.cf.AddToken(token, cloudflaretest.FullAccess())
	b.cfg = config.Default()
	b.cfg.Server.Domain = "chat.example.com"
	b.cfg.DNS = config.DNS{Provider: "cloudflare", APIToken: token, APIURL: b.cf.URL()}
	b.cfg.DynDNS = config.DynDNS{Enabled: true, Interval: config.Duration(time.Minute), IPv4: "url:" + b.ip.URL, IPv6: "none"}
	return b
}

func (b *box) updater(t *testing.T) *dyndns.Updater {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.MultiWriter(t.Output(), &b.log), &slog.HandlerOptions{Level: slog.LevelDebug}))
	u, err := dyndns.New(b.cfg, dyndns.Options{Logger: logger, RetryDelay: time.Millisecond})
	if err != nil {
		t.Fatalf("new updater: %v", err)
	}
	return u
}

type wantRecord struct {
	content string
	ttl     int
	proxied bool
}

func (b *box) checkRecords(t *testing.T, typ string, want ...wantRecord) {
	t.Helper()
	var got []wantRecord
	for _, r := range b.cf.Records("example.com", "chat.example.com", typ) {
		got = append(got, wantRecord{r.Content, r.TTL, r.Proxied})
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s records of chat.example.com = %+v, want %+v\nrequests:\n%s", typ, got, want, strings.Join(b.cf.Log(), "\n"))
	}
}

func TestOnce(t *testing.T) {
	tests := []struct {
		name       string
		seed       []cloudflaretest.Record
		answer     string
		status     int
		wantErr    string
		wantAction dyndns.Action
		wantWrites int
		want       []wantRecord
	}{
		{
			name:   "a changed address updates the record once and keeps its TTL",
			seed:   []cloudflaretest.Record{{Name: "chat", Type: "A", Content: "198.51.100.1", TTL: 300}},
			answer: "203.0.113.7", wantAction: dyndns.Updated, wantWrites: 1,
			want: []wantRecord{{"203.0.113.7", 300, false}},
		},
		{
			name:   "an unchanged address writes nothing",
			seed:   []cloudflaretest.Record{{Name: "chat", Type: "A", Content: "203.0.113.7", TTL: 300}},
			answer: "203.0.113.7", wantAction: dyndns.Unchanged, wantWrites: 0,
			want: []wantRecord{{"203.0.113.7", 300, false}},
		},
		{
			name:   "a missing record is created DNS-only with automatic TTL",
			answer: "203.0.113.7", wantAction: dyndns.Created, wantWrites: 1,
			want: []wantRecord{{"203.0.113.7", 1, false}},
		},
		{
			name:   "a proxied record stays proxied when its address changes",
			seed:   []cloudflaretest.Record{{Name: "chat", Type: "A", Content: "198.51.100.1", Proxied: true}},
			answer: "203.0.113.7", wantAction: dyndns.Updated, wantWrites: 1,
			want: []wantRecord{{"203.0.113.7", 1, true}},
		},
		{
			name: "a stale second record is deleted and the current one kept",
			seed: []cloudflaretest.Record{
				{Name: "chat", Type: "A", Content: "198.51.100.1", TTL: 120},
				{Name: "chat", Type: "A", Content: "203.0.113.7", TTL: 600},
			},
			answer: "203.0.113.7", wantAction: dyndns.Unchanged, wantWrites: 1,
			want: []wantRecord{{"203.0.113.7", 600, false}},
		},
		{
			name:   "records of other names and types are left alone",
			seed:   []cloudflaretest.Record{{Name: "www", Type: "A", Content: "198.51.100.1"}, {Name: "chat", Type: "TXT", Content: `"hello"`}},
			answer: "203.0.113.7", wantAction: dyndns.Created, wantWrites: 1,
			want: []wantRecord{{"203.0.113.7", 1, false}},
		},
		{
			name:   "a failed detection writes nothing",
			seed:   []cloudflaretest.Record{{Name: "chat", Type: "A", Content: "198.51.100.1", TTL: 300}},
			answer: "oops", status: http.StatusInternalServerError, wantErr: "500",
			want: []wantRecord{{"198.51.100.1", 300, false}},
		},
		{
			name:   "an answer that is not an address writes nothing",
			seed:   []cloudflaretest.Record{{Name: "chat", Type: "A", Content: "198.51.100.1", TTL: 300}},
			answer: "<html>rate limited</html>", wantErr: "not an IP address",
			want: []wantRecord{{"198.51.100.1", 300, false}},
		},
		{
			name:   "a private address is not published",
			seed:   []cloudflaretest.Record{{Name: "chat", Type: "A", Content: "198.51.100.1", TTL: 300}},
			answer: "192.168.1.20", wantErr: "not a public address",
			want: []wantRecord{{"198.51.100.1", 300, false}},
		},
		{
			name:    "one of Cloudflare's own addresses is not published",
			answer:  "104.16.0.1",
			wantErr: "Cloudflare's own",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBox(t, tt.answer)
			if tt.status != 0 {
				b.ip.set(tt.answer, tt.status)
			}
			for _, r := range tt.seed {
				b.cf.AddRecord("example.com", r)
			}
			changes, err := b.updater(t).Once(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Once error = %v, want one containing %q", err, tt.wantErr)
				}
				if len(changes) != 0 {
					t.Errorf("changes = %v, want none", changes)
				}
			} else {
				if err != nil {
					t.Fatalf("Once: %v", err)
				}
				if len(changes) != 1 || changes[0].Action != tt.wantAction || changes[0].Type != "A" || changes[0].Addr.String() != tt.answer {
					t.Errorf("changes = %v, want one A %s %s", changes, tt.answer, tt.wantAction)
				}
			}
			if got := b.cf.Writes(); got != tt.wantWrites {
				t.Errorf("writes = %d, want %d\nrequests:\n%s", got, tt.wantWrites, strings.Join(b.cf.Log(), "\n"))
			}
			b.checkRecords(t, "A", tt.want...)
		})
	}
}

func TestOnceHandlesIPv4AndIPv6(t *testing.T) {
	b := newBox(t, "203.0.113.7")
	b.cfg.DynDNS.IPv6 = "static:2001:db8::7"
	b.cf.AddRecord("example.com", cloudflaretest.Record{Name: "chat", Type: "AAAA", Content: "2001:db8::1", TTL: 3600})
	changes, err := b.updater(t).Once(context.Background())
	if err != nil {
		t.Fatalf("Once: %v", err)
	}
	want := "[chat.example.com A 203.0.113.7: created chat.example.com AAAA 2001:db8::7: updated (was 2001:db8::1)]"
	if fmt.Sprint(changes) != want {
		t.Errorf("changes = %v\nwant %s", changes, want)
	}
	b.checkRecords(t, "A", wantRecord{"203.0.113.7", 1, false})
	b.checkRecords(t, "AAAA", wantRecord{"2001:db8::7", 3600, false})
	if got := b.cf.Writes(); got != 2 {
		t.Errorf("writes = %d, want 2", got)
	}
}

// An IPv6-only box (dyndns.ipv4 = "none") asks its "what is my IP" service
// over IPv6 and gets the AAAA record, and no A record; a unique local
// address found instead is never published.
func TestOnceOnAnIPv6OnlyBox(t *testing.T) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Fatalf("this machine has no IPv6 loopback to test on: %v", err)
	}
	var answer atomic.Value
	answer.Store("2001:db8::7")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, answer.Load())
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)

	b := newBox(t, "")
	b.cfg.DynDNS.IPv4 = "none"
	b.cfg.DynDNS.IPv6 = "url:" + srv.URL
	changes, err := b.updater(t).Once(context.Background())
	if err != nil {
		t.Fatalf("Once: %v", err)
	}
	if want := "[chat.example.com AAAA 2001:db8::7: created]"; fmt.Sprint(changes) != want {
		t.Errorf("changes = %v\nwant %s", changes, want)
	}
	b.checkRecords(t, "AAAA", wantRecord{"2001:db8::7", 1, false})
	b.checkRecords(t, "A")

	answer.Store("fd12:3456::1")
	if _, err := b.updater(t).Once(context.Background()); err == nil || !strings.Contains(err.Error(), "fd12:3456::1 is not a public address (it is in fc00::/7)") {
		t.Errorf("Once with a unique local address found: %v; want it refused as not public", err)
	}
	b.checkRecords(t, "AAAA", wantRecord{"2001:db8::7", 1, false})
	if got := b.cf.Writes(); got != 1 {
		t.Errorf("writes = %d, want only the first AAAA record's", got)
	}
}

func TestOnceUpdatesAtTheZoneApex(t *testing.T) {
	b := newBox(t, "203.0.113.7")
	b.cfg.Server.Domain = "example.com"
	b.cf.AddRecord("example.com", cloudflaretest.Record{Name: "@", Type: "A", Content: "198.51.100.1", TTL: 300})
	if _, err := b.updater(t).Once(context.Background()); err != nil {
		t.Fatalf("Once: %v", err)
	}
	got := b.cf.Records("example.com", "example.com", "A")
	if len(got) != 1 || got[0].Content != "203.0.113.7" || got[0].TTL != 300 {
		t.Errorf("apex A records = %+v, want one 203.0.113.7 with TTL 300", got)
	}
}

func TestOnceFindsTheZoneOrSaysWhy(t *testing.T) {
	t.Run("a configured zone is used as it is", func(t *testing.T) {
		b := newBox(t, "203.0.113.7")
		b.cf.AddZone("chat.example.com") // would win the search by length
		b.cfg.DNS.Zone = "example.com"
		if _, err := b.updater(t).Once(context.Background()); err != nil {
			t.Fatalf("Once: %v", err)
		}
		if len(b.cf.Records("example.com", "chat.example.com", "A")) != 1 {
			t.Errorf("the record was not made in the configured zone: %v", b.cf.Log())
		}
	})
	t.Run("a domain in no zone names the zones it tried", func(t *testing.T) {
		b := newBox(t, "203.0.113.7")
		b.cfg.Server.Domain = "chat.example.org"
		_, err := b.updater(t).Once(context.Background())
		if err == nil || !strings.Contains(err.Error(), "chat.example.org or example.org") {
			t.Fatalf("Once error = %v, want one naming the zones tried", err)
		}
	})
}

func TestRefusedTokenNamesThePermissions(t *testing.T) {
	tests := []struct {
		name  string
		token string
		perms *cloudflaretest.Permissions
	}{
		{name: "an unknown token", token: "not-a-known-token"},
		{name: "a token without Zone:Read", token: "dns-only", perms: &cloudflaretest.Permissions{DNSEdit: true}},
		{name: "a token without DNS:Edit", token: "read-only", perms: &cloudflaretest.Permissions{ZoneRead: true, DNSRead: true}},
		{name: "a token for another zone", token: "other-zone", perms: &cloudflaretest.Permissions{ZoneRead: true, DNSEdit: true, Zones: []string{"example.org"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBox(t, "203.0.113.7")
			b.cf.AddRecord("example.com", cloudflaretest.Record{Name: "chat", Type: "A", Content: "198.51.100.1"})
			if tt.perms != nil {
				b.cf.AddToken(tt.token, *tt.perms)
			}
			b.cfg.DNS.APIToken = tt.token
			_, err := b.updater(t).Once(context.Background())
			if err == nil || !strings.Contains(err.Error(), "Zone:Read and DNS:Edit") {
				t.Fatalf("Once error = %v, want one naming Zone:Read and DNS:Edit", err)
			}
			if b.cf.Writes() != 0 {
				t.Errorf("a refused token changed records")
			}
			if strings.Contains(b.log.String(), tt.token) || strings.Contains(err.Error(), tt.token) {
				t.Errorf("the token appears in the log or the error:\n%s\n%v", b.log.String(), err)
			}
		})
	}
}

func TestFailedRequestsAreRetried(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		t.Run(fmt.Sprintf("after HTTP %d the update still happens once", status), func(t *testing.T) {
			b := newBox(t, "203.0.113.7")
			b.cf.AddRecord("example.com", cloudflaretest.Record{Name: "chat", Type: "A", Content: "198.51.100.1", TTL: 300})
			b.cf.FailNext(2, status)
			if _, err := b.updater(t).Once(context.Background()); err != nil {
				t.Fatalf("Once: %v", err)
			}
			b.checkRecords(t, "A", wantRecord{"203.0.113.7", 300, false})
			if got := b.cf.Writes(); got != 1 {
				t.Errorf("writes = %d, want 1", got)
			}
			if log := strings.Join(b.cf.Log(), "\n"); strings.Count(log, fmt.Sprintf(" %d", status)) != 2 {
				t.Errorf("requests show no two failures before success:\n%s", log)
			}
		})
	}
	t.Run("a request still failing after the last attempt is reported", func(t *testing.T) {
		b := newBox(t, "203.0.113.7")
		b.cf.FailNext(100, http.StatusTooManyRequests)
		_, err := b.updater(t).Once(context.Background())
		if err == nil || !strings.Contains(err.Error(), "429") {
			t.Fatalf("Once error = %v, want the 429", err)
		}
	})
	t.Run("a Retry-After longer than the backoff is waited for", func(t *testing.T) {
		b := newBox(t, "203.0.113.7")
		b.cf.FailNext(1, http.StatusTooManyRequests)
		b.cf.SetRetryAfter(time.Hour)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if _, err := b.updater(t).Once(ctx); err == nil {
			t.Fatal("Once succeeded without waiting the hour Cloudflare asked for")
		}
		if ctx.Err() == nil {
			t.Error("Once returned before the context ended, so it did not wait as asked")
		}
	})
	t.Run("waiting to retry ends with the context", func(t *testing.T) {
		b := newBox(t, "203.0.113.7")
		b.cf.FailNext(100, http.StatusTooManyRequests)
		u, err := dyndns.New(b.cfg, dyndns.Options{Logger: slog.New(slog.DiscardHandler), RetryDelay: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if _, err := u.Once(ctx); err == nil {
			t.Fatal("Once succeeded against a rate-limited API")
		}
		if ctx.Err() == nil {
			t.Error("Once returned before the context ended, so it did not wait to retry")
		}
	})
}

func TestRunFollowsTheAddress(t *testing.T) {
	b := newBox(t, "203.0.113.7")
	b.cfg.DynDNS.Interval = config.Duration(20 * time.Millisecond)
	u := b.updater(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()

	waitForA(t, b.cf, "203.0.113.7")
	b.ip.set("203.0.113.8", http.StatusOK)
	waitForA(t, b.cf, "203.0.113.8")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v after the context ended, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the context ended")
	}
}

func waitForA(t *testing.T, cf *cloudflaretest.Server, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		recs := cf.Records("example.com", "chat.example.com", "A")
		if len(recs) == 1 && recs[0].Content == want {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("the A record never became %s: %+v", want, cf.Records("example.com", "chat.example.com", "A"))
}

func TestProviderServesDNS01ThroughAPIURL(t *testing.T) {
	b := newBox(t, "")
	p, err := dyndns.Provider(b.cfg.DNS)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	b.cf.FailNext(1, http.StatusTooManyRequests)
	txt := libdns.TXT{Name: "_acme-challenge.chat", Text: "digest"}
	if _, err := p.AppendRecords(ctx, "example.com.", []libdns.Record{txt}); err != nil {
		t.Fatalf("append: %v", err)
	}
	if recs := b.cf.Records("", "_acme-challenge.chat.example.com.", "TXT"); len(recs) != 1 || recs[0].Text() != "digest" {
		t.Fatalf("TXT records = %+v, want the challenge", recs)
	}
	if _, err := p.DeleteRecords(ctx, "example.com.", []libdns.Record{txt}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if recs := b.cf.Records("", "_acme-challenge.chat.example.com", "TXT"); len(recs) != 0 {
		t.Fatalf("TXT records after delete = %+v", recs)
	}
}

func TestNewReportsConfigMistakesByKey(t *testing.T) {
	tests := []struct {
		name   string
		change func(*config.Config)
		want   string
	}{
		{"an unknown detection method", func(c *config.Config) { c.DynDNS.IPv4 = "dig" }, "dyndns.ipv4:"},
		{"a plain http detection URL to another host", func(c *config.Config) { c.DynDNS.IPv6 = "url:http://ip.example.net/" }, "dyndns.ipv6:"},
		{"a private static address", func(c *config.Config) { c.DynDNS.IPv4 = "static:10.0.0.1" }, "dyndns.ipv4: 10.0.0.1 is not a public address"},
		{"an IPv6 address for IPv4", func(c *config.Config) { c.DynDNS.IPv4 = "static:2001:db8::1" }, "dyndns.ipv4:"},
		{"no method for either family", func(c *config.Config) { c.DynDNS.IPv4 = "none" }, "both none"},
		{"no domain", func(c *config.Config) { c.Server.Domain = "" }, "server.domain:"},
		{"no provider", func(c *config.Config) { c.DNS.Provider = "" }, "dns.provider:"},
		{"no token", func(c *config.Config) { c.DNS.APIToken = "" }, "dns.api_token:"},
		{"a plain http API URL to another host", func(c *config.Config) { c.DNS.APIURL = "http://api.example.net/client/v4" }, "dns.api_url:"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is reported with its key", func(t *testing.T) {
			cfg := config.Default()
			cfg.Server.Domain = "chat.example.com"
			cfg.DNS = config.DNS{Provider: "cloudflare", APIToken: token}
			tt.change(&cfg)
			_, err := dyndns.New(cfg, dyndns.Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// remoteAddr answers the caller's address, as a real "what is my IP"
// service does.
func remoteAddr(t *testing.T, network, addr string) string {
	t.Helper()
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		fmt.Fprintln(w, host)
	}))
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestURLDetectionUsesTheFamily(t *testing.T) {
	url4 := remoteAddr(t, "tcp4", "127.0.0.1:0")
	url6 := remoteAddr(t, "tcp6", "[::1]:0")
	loopback := dyndns.Options{AllowLoopback: true}
	tests := []struct {
		name    string
		url     string
		family  dyndns.Family
		opts    dyndns.Options
		want    string
		wantErr string
	}{
		{"IPv4 detection sees the IPv4 address", url4, dyndns.IPv4, loopback, "127.0.0.1", ""},
		{"IPv6 detection sees the IPv6 address", url6, dyndns.IPv6, loopback, "::1", ""},
		{"IPv4 detection never connects over IPv6", url6, dyndns.IPv4, loopback, "", "detect public IPv4 address"},
		{"a loopback address is refused unless allowed", url4, dyndns.IPv4, dyndns.Options{}, "", "not a public address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := dyndns.NewDetector("url:"+tt.url, tt.family, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.Detect(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Detect = %v, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("Detect = %v, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestInterfaceDetection(t *testing.T) {
	var lo string
	ifaces, _ := net.Interfaces()
	for _, ifi := range ifaces {
		if ifi.Flags&net.FlagLoopback != 0 {
			lo = ifi.Name
		}
	}
	if lo == "" {
		t.Skip("this machine has no loopback interface")
	}
	d, err := dyndns.NewDetector("iface:"+lo, dyndns.IPv4, dyndns.Options{AllowLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := d.Detect(context.Background()); err != nil || !got.IsLoopback() {
		t.Errorf("Detect on %s with loopback allowed = %v, %v; want a loopback address", lo, got, err)
	}
	d, err = dyndns.NewDetector("iface:"+lo, dyndns.IPv4, dyndns.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := d.Detect(context.Background()); err == nil || !strings.Contains(err.Error(), "no public IPv4 address") {
		t.Errorf("Detect on %s = %v, %v; want no public address", lo, got, err)
	}
	d, _ = dyndns.NewDetector("iface:no-such-interface0", dyndns.IPv4, dyndns.Options{})
	if _, err := d.Detect(context.Background()); err == nil {
		t.Error("Detect on a missing interface succeeded")
	}
}

func TestPublishable(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"203.0.113.7", true}, {"8.8.8.8", true}, {"2001:db8::7", true}, {"2a01:4f8::1", true},
		{"10.1.2.3", false}, {"172.16.0.1", false}, {"192.168.1.1", false}, {"100.64.0.1", false},
		{"127.0.0.1", false}, {"169.254.1.1", false}, {"0.0.0.0", false}, {"224.0.0.1", false},
		{"::1", false}, {"::", false}, {"fe80::1", false}, {"fd00::1", false}, {"ff02::1", false},
		{"::ffff:192.168.1.1", false},
		{"104.16.0.1", false}, {"172.67.1.1", false}, {"2606:4700::1", false}, {"2a06:98c0::1", false},
	}
	for _, tt := range tests {
		name := tt.addr + " may be published"
		if !tt.ok {
			name = tt.addr + " is refused"
		}
		t.Run(name, func(t *testing.T) {
			err := dyndns.Publishable(netip.MustParseAddr(tt.addr))
			if (err == nil) != tt.ok {
				t.Errorf("Publishable(%s) = %v", tt.addr, err)
			}
		})
	}
}

func TestUnreachableAPIIsNamedAndItsRetriesShown(t *testing.T) {
	b := newBox(t, "203.0.113.7")
	api := b.cf.URL()
	b.cf.Close() // a closed port: every connection is refused
	_, err := b.updater(t).Once(context.Background())
	if err == nil {
		t.Fatal("Once succeeded against a closed port")
	}
	want := "could not reach the DNS API at " + api
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "check dns.api_url") {
		t.Errorf("Once error = %q, want it to say %q and what to check", err, want)
	}
	if strings.Contains(err.Error(), "dial tcp") {
		t.Errorf("Once error = %q, a raw Go error chain", err)
	}
	// Each retry is told when it happens, above debug, so --once shows it.
	if n := strings.Count(b.log.String(), "level=WARN msg=\"could not reach the DNS API"); n != 4 {
		t.Errorf("the log shows %d retries at warning, want 4 (5 attempts):\n%s", n, b.log.String())
	}
}
