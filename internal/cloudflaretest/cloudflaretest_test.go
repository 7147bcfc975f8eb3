package cloudflaretest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/internal/cloudflaretest"
	"github.com/libdns/libdns"
)

const token = "good-token_0123456789"

func newServer(t *testing.T) *cloudflaretest.Server {
	t.Helper()
	s := cloudflaretest.NewServer()
	t.Cleanup(s.Close)
	s.AddZone("example.com")
	s.AddToken(token, cloudflaretest.FullAccess())
	return s
}

func TestRealClientManagesRecords(t *testing.T) {
	s := newServer(t)
	p := s.Provider(token)
	ctx := context.Background()

	added, err := p.AppendRecords(ctx, "example.com.", []libdns.Record{
		libdns.Address{Name: "chat", IP: netip.MustParseAddr("203.0.113.7"), TTL: 5 * time.Minute},
		libdns.TXT{Name: "_acme-challenge.chat", Text: "token-digest"},
	})
	if err != nil {
		t.Fatalf("append records: %v", err)
	}
	if len(added) != 2 {
		t.Fatalf("append returned %d records, want 2", len(added))
	}
	if got := s.Writes(); got != 2 {
		t.Errorf("writes = %d, want 2", got)
	}

	a := s.Records("example.com", "chat.example.com.", "A")
	if len(a) != 1 || a[0].Content != "203.0.113.7" || a[0].TTL != 300 || a[0].Proxied {
		t.Errorf("stored A records = %+v, want one DNS-only 203.0.113.7 with TTL 300", a)
	}
	txt := s.Records("", "_acme-challenge.chat.example.com.", "TXT")
	if len(txt) != 1 || txt[0].Text() != "token-digest" {
		t.Errorf("stored TXT records = %+v, want one with text token-digest", txt)
	}

	got, err := p.GetRecords(ctx, "example.com.")
	if err != nil {
		t.Fatalf("get records: %v", err)
	}
	if len(got) != 2 {
		t.Errorf("get records returned %d, want 2: %+v", len(got), got)
	}

	if _, err := p.DeleteRecords(ctx, "example.com.", []libdns.Record{libdns.TXT{Name: "_acme-challenge.chat", Text: "token-digest"}}); err != nil {
		t.Fatalf("delete records: %v", err)
	}
	if txt := s.Records("", "_acme-challenge.chat.example.com", "TXT"); len(txt) != 0 {
		t.Errorf("TXT records after delete = %+v, want none", txt)
	}
	if a := s.Records("example.com", "chat.example.com", "A"); len(a) != 1 {
		t.Errorf("delete of the TXT record touched the A record: %+v", a)
	}
}

func TestRealClientReadsEveryPage(t *testing.T) {
	s := newServer(t)
	for i := range 250 {
		s.AddRecord("example.com", cloudflaretest.Record{Name: fmt.Sprintf("h%d", i), Type: "A", Content: "203.0.113.1"})
	}
	got, err := s.Provider(token).GetRecords(context.Background(), "example.com.")
	if err != nil {
		t.Fatalf("get records: %v", err)
	}
	if len(got) != 250 {
		t.Errorf("got %d records across pages, want 250", len(got))
	}
	if s.Writes() != 0 {
		t.Errorf("reading counted %d writes", s.Writes())
	}
}

func TestUpdateKeepsFieldsNotSent(t *testing.T) {
	s := newServer(t)
	rec := s.AddRecord("example.com", cloudflaretest.Record{Name: "@", Type: "A", Content: "203.0.113.1", TTL: 120, Comment: "box"})
	if rec.Name != "example.com" {
		t.Fatalf("apex record stored as %q, want example.com", rec.Name)
	}
	zoneID := s.AddZone("example.com")
	do(t, s, http.MethodPatch, "/zones/"+zoneID+"/dns_records/"+rec.ID, `{"content":"203.0.113.2"}`, http.StatusOK)
	got := s.Records("example.com", "example.com", "A")
	if len(got) != 1 || got[0].Content != "203.0.113.2" || got[0].TTL != 120 || got[0].Comment != "box" {
		t.Errorf("after PATCH: %+v, want content changed and TTL and comment kept", got)
	}
	do(t, s, http.MethodPut, "/zones/"+zoneID+"/dns_records/"+rec.ID, `{"type":"A","name":"@","content":"203.0.113.3"}`, http.StatusOK)
	got = s.Records("example.com", "example.com", "A")
	if len(got) != 1 || got[0].Content != "203.0.113.3" || got[0].TTL != 1 || got[0].Comment != "" {
		t.Errorf("after PUT: %+v, want a replaced record with automatic TTL", got)
	}
}

func TestErrorsAreCloudflares(t *testing.T) {
	tests := []struct {
		name       string
		token      string
		perms      *cloudflaretest.Permissions
		method     string
		path       string
		body       string
		wantStatus int
		wantCode   int
	}{
		{name: "a malformed Authorization header is an invalid request header", token: "has space",
			method: "GET", path: "/zones?name=example.com", wantStatus: 400, wantCode: 6003},
		{name: "an unknown token is an invalid access token", token: "unknown",
			method: "GET", path: "/zones?name=example.com", wantStatus: 403, wantCode: 9109},
		{name: "a token without Zone:Read cannot list zones", token: "dnsonly", perms: &cloudflaretest.Permissions{DNSEdit: true},
			method: "GET", path: "/zones?name=example.com", wantStatus: 403, wantCode: 10000},
		{name: "a read-only token cannot create records", token: "readonly", perms: &cloudflaretest.Permissions{ZoneRead: true, DNSRead: true},
			method: "POST", path: "/zones/ZONE/dns_records", body: `{"type":"A","name":"x","content":"203.0.113.1"}`, wantStatus: 403, wantCode: 10000},
		{name: "a token scoped to another zone cannot read this one", token: "other", perms: &cloudflaretest.Permissions{ZoneRead: true, DNSEdit: true, Zones: []string{"example.org"}},
			method: "GET", path: "/zones/ZONE/dns_records", wantStatus: 403, wantCode: 10000},
		{name: "an A record with an IPv6 address is refused", token: token,
			method: "POST", path: "/zones/ZONE/dns_records", body: `{"type":"A","name":"x","content":"2001:db8::1"}`, wantStatus: 400, wantCode: 1004},
		{name: "a TTL below 60 is refused", token: token,
			method: "POST", path: "/zones/ZONE/dns_records", body: `{"type":"A","name":"x","content":"203.0.113.1","ttl":30}`, wantStatus: 400, wantCode: 1004},
		{name: "an unknown zone id cannot be routed", token: token,
			method: "GET", path: "/zones/0123/dns_records", wantStatus: 404, wantCode: 7003},
		{name: "an unknown record is reported missing", token: token,
			method: "DELETE", path: "/zones/ZONE/dns_records/ffff", wantStatus: 404, wantCode: 81044},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			if tt.perms != nil {
				s.AddToken(tt.token, *tt.perms)
			}
			path := strings.Replace(tt.path, "ZONE", s.AddZone("example.com"), 1)
			env := doAs(t, s, tt.token, tt.method, path, tt.body, tt.wantStatus)
			if env.Success || len(env.Errors) != 1 || env.Errors[0].Code != tt.wantCode {
				t.Errorf("answer = %+v, want success false and error code %d", env, tt.wantCode)
			}
			if s.Writes() != 0 {
				t.Errorf("a refused request counted as a write")
			}
		})
	}
}

func TestFailNextInjectsRateLimitsThenRecovers(t *testing.T) {
	s := newServer(t)
	s.FailNext(2, http.StatusTooManyRequests)
	doAs(t, s, token, "GET", "/zones?name=example.com", "", 429)
	doAs(t, s, token, "GET", "/zones?name=example.com", "", 429)
	env := doAs(t, s, token, "GET", "/zones?name=example.com", "", 200)
	if !env.Success || env.ResultInfo == nil || env.ResultInfo.TotalCount != 1 {
		t.Errorf("after the injected failures: %+v, want one zone", env)
	}
	if n := len(s.Log()); n != 3 {
		t.Errorf("log has %d lines, want 3", n)
	}
}

func TestClientRefusesOtherHosts(t *testing.T) {
	s := newServer(t)
	resp, err := s.Client().Get("https://example.net/")
	if err == nil {
		resp.Body.Close()
		t.Fatal("the stand-in's client sent a request to another host")
	}
}

type envelope struct {
	Success bool `json:"success"`
	Errors  []struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
	Messages   []any           `json:"messages"`
	Result     json.RawMessage `json:"result"`
	ResultInfo *struct {
		TotalCount int `json:"total_count"`
	} `json:"result_info"`
}

func do(t *testing.T, s *cloudflaretest.Server, method, path, body string, wantStatus int) envelope {
	t.Helper()
	return doAs(t, s, token, method, path, body, wantStatus)
}

func doAs(t *testing.T, s *cloudflaretest.Server, tok, method, path, body string, wantStatus int) envelope {
	t.Helper()
	req, err := http.NewRequest(method, cloudflaretest.RealBaseURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var env envelope
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatalf("%s %s: the answer is not JSON: %v", method, path, err)
	}
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s %s: status %d, want %d: %+v", method, path, resp.StatusCode, wantStatus, env)
	}
	if env.Errors == nil || env.Messages == nil {
		t.Errorf("%s %s: the envelope lacks errors or messages: %+v", method, path, env)
	}
	return env
}
