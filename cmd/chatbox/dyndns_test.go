package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/internal/cloudflaretest"
)

// dyndnsBox is a Cloudflare stand-in holding chat.example.com's old A
// record, a "what is my IP" service answering 203.0.113.7, and a config
// file using both.
func dyndnsBox(t *testing.T, token, dnsSection string) (*cloudflaretest.Server, string) {
	t.Helper()
	cf := cloudflaretest.NewServer()
	t.Cleanup(cf.Close)
	cf.AddZone("example.com")
	cf.AddToken("box-token", cloudflaretest.FullAccess())
	cf.AddRecord("example.com", cloudflaretest.Record{Name: "chat", Type: "A", Content: "198.51.100.1", TTL: 300})
	ip := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "203.0.113.7")
	}))
	t.Cleanup(ip.Close)
	if dnsSection == "" {
		dnsSection = fmt.Sprintf("[dns]\nprovider = \"cloudflare\"\napi_token = %q\napi_url = %q\n", token, cf.URL())
	}
	conf := fmt.Sprintf(`[server]
domain = "chat.example.com"

%s
[dyndns]
enabled = true
ipv4 = "url:%s/"
ipv6 = "none"
`, dnsSection, ip.URL)
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return cf, path
}

func TestDyndnsCommand(t *testing.T) {
	tests := []struct {
		name       string
		token      string
		dns        string
		args       func(path string) []string
		wantCode   int
		wantOut    string
		wantErr    string
		wantRecord string
	}{
		{
			name: "once updates a changed record and prints what it did", token: "box-token",
			args:     func(p string) []string { return []string{"dyndns", "--once", "--config", p} },
			wantCode: 0, wantOut: "chat.example.com A 203.0.113.7: updated (was 198.51.100.1)\n",
			wantRecord: "203.0.113.7",
		},
		{
			name: "once with a refused token names the permissions and exits 1", token: "wrong-token",
			args:     func(p string) []string { return []string{"dyndns", "--once", "--config", p} },
			wantCode: 1, wantErr: "Zone:Read and DNS:Edit", wantRecord: "198.51.100.1",
		},
		{
			name: "a config without a DNS provider exits 1 and names the key", dns: "[dns]\n",
			args:     func(p string) []string { return []string{"dyndns", "--once", "--config", p} },
			wantCode: 1, wantErr: "dns.provider", wantRecord: "198.51.100.1",
		},
		{
			name: "a missing config file exits 1", token: "box-token",
			args:     func(p string) []string { return []string{"dyndns", "--once", "--config", p + ".missing"} },
			wantCode: 1, wantErr: "read config", wantRecord: "198.51.100.1",
		},
		{
			name: "an argument is a usage mistake and exits 2", token: "box-token",
			args:     func(p string) []string { return []string{"dyndns", "--once", "--config", p, "extra"} },
			wantCode: 2, wantErr: "no arguments", wantRecord: "198.51.100.1",
		},
		{
			name: "an unknown flag is a usage mistake and exits 2", token: "box-token",
			args:     func(p string) []string { return []string{"dyndns", "--twice", "--config", p} },
			wantCode: 2, wantErr: "unknown flag", wantRecord: "198.51.100.1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf, path := dyndnsBox(t, tt.token, tt.dns)
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args(path), strings.NewReader(""), &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (stderr: %s)", code, tt.wantCode, stderr.String())
			}
			if stdout.String() != tt.wantOut {
				t.Errorf("stdout = %q, want %q", stdout.String(), tt.wantOut)
			}
			if tt.wantErr == "" && stderr.Len() != 0 {
				t.Errorf("stderr = %q, want nothing", stderr.String())
			}
			if tt.wantErr != "" {
				if !strings.Contains(stderr.String(), tt.wantErr) {
					t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.wantErr)
				}
				if lines := strings.Count(strings.TrimSpace(stderr.String()), "\n"); lines != 0 || !strings.HasPrefix(stderr.String(), "chatbox: ") {
					t.Errorf("stderr is not one chatbox: sentence: %q", stderr.String())
				}
			}
			if recs := cf.Records("example.com", "chat.example.com", "A"); len(recs) != 1 || recs[0].Content != tt.wantRecord {
				t.Errorf("A records = %+v, want one holding %s", recs, tt.wantRecord)
			}
			if strings.Contains(stdout.String()+stderr.String(), tt.token) && tt.token != "" {
				t.Errorf("the token appears in the output")
			}
		})
	}
}

func TestDyndnsCommandRunsUntilStopped(t *testing.T) {
	cf, path := dyndnsBox(t, "box-token", "")
	ctx, cancel := context.WithCancel(context.Background())
	var stdout bytes.Buffer
	var stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"dyndns", "--config", path}, strings.NewReader(""), &stdout, &stderr)
	}()
	// Wait for the log line, not only for the record: the API stores the
	// record before its answer reaches the loop, and a stop in between
	// would cancel the request whose effect already landed.
	deadline := time.Now().Add(10 * time.Second)
	for {
		recs := cf.Records("example.com", "chat.example.com", "A")
		if len(recs) == 1 && recs[0].Content == "203.0.113.7" && strings.Contains(stderr.String(), "updated") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the loop never updated the record and said so: %+v\n%s", recs, stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code after stopping = %d, want 0 (stderr: %s)", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("dyndns did not stop when its context ended")
	}
	if !strings.Contains(stderr.String(), "updated") || strings.Contains(stderr.String(), "box-token") {
		t.Errorf("the log should report the update without the token: %s", stderr.String())
	}
}

// lockedBuffer is a bytes.Buffer that a command writes while the test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
