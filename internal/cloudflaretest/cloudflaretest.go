// Package cloudflaretest is a stand-in for Cloudflare's v4 API, for tests.
//
// Tests cannot reach Cloudflare, and a DNS-01 challenge or a dynamic-DNS
// update is only proven when the real client library
// (github.com/libdns/cloudflare) has talked to something that behaves like
// the real API. Server is that something: an httptest server on loopback
// that answers the part of the API the library uses, as Cloudflare
// documents it (https://developers.cloudflare.com/api/, "Zones" and "DNS
// Records for a Zone"):
//
//   - GET /zones?name=…&page=…&per_page=… lists zones (a trailing dot on
//     the name is ignored and zone names are answered without it);
//   - GET /zones/{zone_id}/dns_records filters by name (name, name.exact),
//     type, content (content, content.exact, content.contains) and pages with
//     page and per_page;
//   - POST /zones/{zone_id}/dns_records creates a record; PUT replaces one,
//     PATCH changes only the fields sent, DELETE removes it and answers its id;
//   - every answer is the v4 envelope {"success", "errors":[{"code",
//     "message"}], "messages", "result", "result_info"}, and lists always
//     carry result_info {page, per_page, count, total_count, total_pages};
//   - record names may be sent relative to the zone or as "@"; they are stored
//     and answered fully qualified without the trailing dot, as Cloudflare
//     does; a TTL of 1 means "automatic"; proxied records get TTL 1.
//
// Authentication follows what the real API answers for an API token: a
// missing or malformed Authorization header gets HTTP 400 with code 6003
// ("Invalid request headers", chained 6111); an unknown token gets HTTP 403
// with code 9109 ("Invalid access token"); a known token without the needed
// permission (Zone:Read for /zones, DNS:Read or DNS:Edit for reading records,
// DNS:Edit for changing them) gets HTTP 403 with code 10000 ("Authentication
// error"). Rate limiting answers HTTP 429 with code 971.
//
// Tests seed zones, tokens and records, read what is stored, count writes,
// inject 429 and 5xx failures, and use Records to answer DNS queries for what
// the client stored (so an ACME server can validate a DNS-01 challenge).
package cloudflaretest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/libdns/cloudflare"
)

// RealBaseURL is the base URL of Cloudflare's v4 API, which
// github.com/libdns/cloudflare v0.2.2 has built in.
const RealBaseURL = "https://api.cloudflare.com/client/v4"

// Permissions says what an API token may do. Cloudflare's names for these
// are Zone:Read (Zone → Zone → Read), DNS:Read and DNS:Edit (Zone → DNS).
type Permissions struct {
	ZoneRead bool
	DNSRead  bool
	DNSEdit  bool
	// Zones limits the token to these zone names; empty means all zones.
	Zones []string
}

// FullAccess is what a token needs to manage a zone's records: Zone:Read and
// DNS:Edit on all zones.
func FullAccess() Permissions {
	return Permissions{ZoneRead: true, DNSRead: true, DNSEdit: true}
}

// Record is a DNS record as the stand-in stores it and the API answers it.
type Record struct {
	ID        string    `json:"id"`
	ZoneID    string    `json:"zone_id"`
	ZoneName  string    `json:"zone_name"`
	Name      string    `json:"name"`
	Type      string    `json:"type"`
	Content   string    `json:"content"`
	TTL       int       `json:"ttl"`
	Proxied   bool      `json:"proxied"`
	Proxiable bool      `json:"proxiable"`
	Priority  uint16    `json:"priority,omitempty"`
	Comment   string    `json:"comment,omitempty"`
	Created   time.Time `json:"created_on"`
	Modified  time.Time `json:"modified_on"`
}

// Text returns the record's content with the surrounding double quotes of a
// TXT record removed: what a DNS server answers for it.
func (r Record) Text() string {
	c := r.Content
	if len(c) >= 2 && strings.HasPrefix(c, `"`) && strings.HasSuffix(c, `"`) {
		return c[1 : len(c)-1]
	}
	return c
}

type zone struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
	Type   string `json:"type"`
}

// Server is the stand-in. Its methods are safe for concurrent use.
type Server struct {
	srv *httptest.Server

	mu       sync.Mutex
	nextID   int
	zones    []zone
	tokens   map[string]Permissions
	records  []Record
	writes   int
	log      []string
	failN    int
	failCode int
	retryIn  time.Duration
	now      func() time.Time
}

// NewServer starts a stand-in on loopback with no zones and no tokens.
// Call Close when done.
func NewServer() *Server {
	s := &Server{tokens: map[string]Permissions{}, now: time.Now}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /client/v4/zones", s.listZones)
	mux.HandleFunc("GET /client/v4/zones/{zone}", s.getZone)
	mux.HandleFunc("GET /client/v4/zones/{zone}/dns_records", s.listRecords)
	mux.HandleFunc("POST /client/v4/zones/{zone}/dns_records", s.createRecord)
	mux.HandleFunc("GET /client/v4/zones/{zone}/dns_records/{id}", s.recordHandler(canReadDNS, s.getRecord))
	mux.HandleFunc("PUT /client/v4/zones/{zone}/dns_records/{id}", s.recordHandler(canEditDNS, s.updateRecord))
	mux.HandleFunc("PATCH /client/v4/zones/{zone}/dns_records/{id}", s.recordHandler(canEditDNS, s.updateRecord))
	mux.HandleFunc("DELETE /client/v4/zones/{zone}/dns_records/{id}", s.recordHandler(canEditDNS, s.deleteRecord))
	s.srv = httptest.NewServer(s.front(mux))
	return s
}

// Close shuts the stand-in down.
func (s *Server) Close() { s.srv.Close() }

// URL is the stand-in's API base URL, the counterpart of RealBaseURL
// ("http://127.0.0.1:PORT/client/v4"). Give it to code that takes an API
// base URL, such as the dns.api_url config key.
func (s *Server) URL() string { return s.srv.URL + "/client/v4" }

// Client returns an HTTP client that sends requests for RealBaseURL to the
// stand-in and refuses every other host, so the real libdns client, whose
// base URL is fixed, talks to the stand-in. It fits
// cloudflare.Provider.HTTPClient.
func (s *Server) Client() *http.Client {
	return &http.Client{Transport: rewrite{base: s.URL(), next: s.srv.Client().Transport}, Timeout: 30 * time.Second}
}

// Provider returns the real libdns Cloudflare provider with token, talking to
// the stand-in through Client.
func (s *Server) Provider(token string) *cloudflare.Provider {
	return &cloudflare.Provider{APIToken: token, HTTPClient: s.Client()}
}

type rewrite struct {
	base string
	next http.RoundTripper
}

func (t rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	u := req.URL.String()
	if !strings.HasPrefix(u, RealBaseURL+"/") && !strings.HasPrefix(u, RealBaseURL+"?") {
		return nil, fmt.Errorf("cloudflaretest: refusing to send a request to %s off the stand-in", req.URL.Host)
	}
	to, err := url.Parse(t.base + strings.TrimPrefix(u, RealBaseURL))
	if err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.URL = to
	r.Host = to.Host
	return t.next.RoundTrip(r)
}

// AddZone adds an active zone named name (e.g. "example.com") and returns
// its id. Adding a zone that exists returns the existing id.
func (s *Server) AddZone(name string) string {
	name = canonical(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if z, ok := s.zoneByName(name); ok {
		return z.ID
	}
	z := zone{ID: s.newID(), Name: name, Status: "active", Type: "full"}
	s.zones = append(s.zones, z)
	return z.ID
}

// Zones returns the names of the zones, in the order they were added.
func (s *Server) Zones() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for _, z := range s.zones {
		names = append(names, z.Name)
	}
	return names
}

// AddToken makes token known with the given permissions, replacing any
// earlier permissions of the same token.
func (s *Server) AddToken(token string, p Permissions) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = p
}

// AddRecord stores r in the zone named zone, as if made in the dashboard,
// and returns it as stored. r.Name may be relative to the zone or "@"; a
// zero TTL becomes 1 (automatic). AddRecord does not count as a write. It
// panics if the zone does not exist, which is a mistake in the test.
func (s *Server) AddRecord(zoneName string, r Record) Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	z, ok := s.zoneByName(canonical(zoneName))
	if !ok {
		panic("cloudflaretest: AddRecord to unknown zone " + zoneName)
	}
	return s.store(normalize(z, r))
}

// Records returns copies of the stored records of the zone named zone whose
// name and type match. An empty zone, name or typ matches any; names compare
// without case and trailing dot, so "_acme-challenge.example.com." finds the
// TXT record the client stored as "_acme-challenge.example.com".
func (s *Server) Records(zoneName, name, typ string) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for _, r := range s.records {
		if zoneName != "" && r.ZoneName != canonical(zoneName) {
			continue
		}
		if name != "" && r.Name != canonical(name) {
			continue
		}
		if typ != "" && !strings.EqualFold(r.Type, typ) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// Writes counts the successful API requests that changed a record (POST,
// PUT, PATCH, DELETE).
func (s *Server) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// Log returns one line per API request answered so far, such as
// "PATCH /client/v4/zones/ID/dns_records/ID 200", for test failure messages.
func (s *Server) Log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// FailNext answers the next n API requests, whatever they are, with the HTTP
// status code (429 for rate limiting, or a 5xx) and Cloudflare's error body
// for it, before looking at them. Nothing is stored by a failed request.
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failCode = n, status
}

// SetRetryAfter makes injected 429 answers carry a Retry-After header of d
// in whole seconds. Zero, the default, sends none.
func (s *Server) SetRetryAfter(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retryIn = d
}

// newID returns a Cloudflare-style 32-hex-digit identifier. Callers hold mu.
func (s *Server) newID() string {
	s.nextID++
	return fmt.Sprintf("%032x", s.nextID)
}

func (s *Server) zoneByName(name string) (zone, bool) {
	for _, z := range s.zones {
		if z.Name == name {
			return z, true
		}
	}
	return zone{}, false
}

func (s *Server) zoneByID(id string) (zone, bool) {
	for _, z := range s.zones {
		if z.ID == id {
			return z, true
		}
	}
	return zone{}, false
}

// canonical writes a DNS name as Cloudflare answers it: lower case, no
// trailing dot.
func canonical(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, "."))
}

// absolute makes a record name sent to the API fully qualified in zone z.
func absolute(name string, z zone) string {
	name = canonical(name)
	switch {
	case name == "" || name == "@":
		return z.Name
	case name == z.Name || strings.HasSuffix(name, "."+z.Name):
		return name
	default:
		return name + "." + z.Name
	}
}

// normalize fills in what the API derives for a record of zone z: the
// fully qualified name, the upper-case type, proxiable, and TTL 1
// (automatic) when none was sent or the record is proxied.
func normalize(z zone, r Record) Record {
	r.ZoneID, r.ZoneName = z.ID, z.Name
	r.Name = absolute(r.Name, z)
	r.Type = strings.ToUpper(r.Type)
	r.Proxiable = proxiable(r.Type)
	if r.TTL == 0 || r.Proxied {
		r.TTL = 1
	}
	return r
}

// store gives rec an id and timestamps and keeps it. Callers hold mu.
func (s *Server) store(rec Record) Record {
	rec.ID = s.newID()
	rec.Created = s.now().UTC()
	rec.Modified = rec.Created
	s.records = append(s.records, rec)
	return rec
}

func proxiable(typ string) bool { return typ == "A" || typ == "AAAA" || typ == "CNAME" }

// apiError is one entry of the envelope's errors list.
type apiError struct {
	Code       int        `json:"code"`
	Message    string     `json:"message"`
	ErrorChain []apiError `json:"error_chain,omitempty"`
}

type resultInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
	TotalPages int `json:"total_pages"`
}

type envelope struct {
	Success    bool        `json:"success"`
	Errors     []apiError  `json:"errors"`
	Messages   []any       `json:"messages"`
	Result     any         `json:"result"`
	ResultInfo *resultInfo `json:"result_info,omitempty"`
}

func reply(w http.ResponseWriter, status int, result any, info *resultInfo) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(envelope{Success: true, Errors: []apiError{}, Messages: []any{}, Result: result, ResultInfo: info})
}

func fail(w http.ResponseWriter, status int, errs ...apiError) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(envelope{Errors: errs, Messages: []any{}})
}

// statusWriter remembers the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

var tokenFormat = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// front logs each request, injects failures, authenticates the token and
// answers unknown routes, before the mux dispatches.
func (s *Server) front(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			s.mu.Lock()
			s.log = append(s.log, fmt.Sprintf("%s %s %d", r.Method, r.URL.RequestURI(), sw.status))
			if sw.status < 300 && r.Method != http.MethodGet {
				s.writes++
			}
			s.mu.Unlock()
		}()
		s.mu.Lock()
		injected := 0
		if s.failN > 0 {
			s.failN--
			injected = s.failCode
		}
		retryIn := s.retryIn
		s.mu.Unlock()
		switch {
		case injected == http.StatusTooManyRequests:
			if retryIn > 0 {
				sw.Header().Set("Retry-After", strconv.Itoa(int(retryIn.Seconds())))
			}
			fail(sw, injected, apiError{Code: 971, Message: "Please wait and consider throttling your request speed"})
			return
		case injected != 0:
			fail(sw, injected, apiError{Code: 10001, Message: http.StatusText(injected)})
			return
		}
		if _, pattern := mux.Handler(r); pattern == "" {
			fail(sw, http.StatusNotFound, apiError{Code: 7000, Message: "No route for that URI"})
			return
		}
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !tokenFormat.MatchString(token) {
			fail(sw, http.StatusBadRequest, apiError{Code: 6003, Message: "Invalid request headers",
				ErrorChain: []apiError{{Code: 6111, Message: "Invalid format for Authorization header"}}})
			return
		}
		s.mu.Lock()
		_, known := s.tokens[token]
		s.mu.Unlock()
		if !known {
			fail(sw, http.StatusForbidden, apiError{Code: 9109, Message: "Invalid access token"})
			return
		}
		mux.ServeHTTP(sw, r)
	})
}

// allowed reports whether the request's token may do what need says in
// zone z (nil for the zones list). It writes the 403 when not.
func (s *Server) allowed(w http.ResponseWriter, r *http.Request, z *zone, need func(Permissions) bool) bool {
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	p := s.tokens[token]
	s.mu.Unlock()
	ok := need(p)
	if ok && z != nil && len(p.Zones) > 0 {
		ok = slices.ContainsFunc(p.Zones, func(n string) bool { return canonical(n) == z.Name })
	}
	if !ok {
		fail(w, http.StatusForbidden, apiError{Code: 10000, Message: "Authentication error"})
	}
	return ok
}

func canReadZones(p Permissions) bool { return p.ZoneRead }
func canReadDNS(p Permissions) bool   { return p.DNSRead || p.DNSEdit }
func canEditDNS(p Permissions) bool   { return p.DNSEdit }

// paging reads page and per_page (Cloudflare's defaults: 1 and 100 for DNS
// records, 20 for zones).
func paging(w http.ResponseWriter, q url.Values, defPerPage, maxPerPage int) (page, perPage int, ok bool) {
	page, perPage = 1, defPerPage
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			fail(w, http.StatusBadRequest, apiError{Code: 1004, Message: "page must be a positive integer"})
			return 0, 0, false
		}
		page = n
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPerPage {
			fail(w, http.StatusBadRequest, apiError{Code: 1004, Message: fmt.Sprintf("per_page must be between 1 and %d", maxPerPage)})
			return 0, 0, false
		}
		perPage = n
	}
	return page, perPage, true
}

// pageOf cuts one page out of all and describes it.
func pageOf[T any](all []T, page, perPage int) ([]T, *resultInfo) {
	info := &resultInfo{Page: page, PerPage: perPage, TotalCount: len(all), TotalPages: (len(all) + perPage - 1) / perPage}
	start := min((page-1)*perPage, len(all))
	end := min(start+perPage, len(all))
	out := all[start:end]
	if out == nil {
		out = []T{}
	}
	info.Count = len(out)
	return out, info
}

func (s *Server) listZones(w http.ResponseWriter, r *http.Request) {
	if !s.allowed(w, r, nil, canReadZones) {
		return
	}
	q := r.URL.Query()
	page, perPage, ok := paging(w, q, 20, 50)
	if !ok {
		return
	}
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	p := s.tokens[token]
	var zones []zone
	for _, z := range s.zones {
		if name := q.Get("name"); name != "" && canonical(name) != z.Name {
			continue
		}
		if len(p.Zones) > 0 && !slices.ContainsFunc(p.Zones, func(n string) bool { return canonical(n) == z.Name }) {
			continue // a token sees only the zones it is scoped to
		}
		zones = append(zones, z)
	}
	s.mu.Unlock()
	out, info := pageOf(zones, page, perPage)
	reply(w, http.StatusOK, out, info)
}

// zoneOf finds the path's zone and checks the token's permission for it.
func (s *Server) zoneOf(w http.ResponseWriter, r *http.Request, need func(Permissions) bool) (zone, bool) {
	s.mu.Lock()
	z, ok := s.zoneByID(r.PathValue("zone"))
	s.mu.Unlock()
	if !ok {
		fail(w, http.StatusNotFound, apiError{Code: 7003, Message: "Could not route to " + strings.TrimPrefix(r.URL.Path, "/client/v4") + ", perhaps your object identifier is invalid?"})
		return zone{}, false
	}
	return z, s.allowed(w, r, &z, need)
}

func (s *Server) getZone(w http.ResponseWriter, r *http.Request) {
	if z, ok := s.zoneOf(w, r, canReadZones); ok {
		reply(w, http.StatusOK, z, nil)
	}
}

func (s *Server) listRecords(w http.ResponseWriter, r *http.Request) {
	z, ok := s.zoneOf(w, r, canReadDNS)
	if !ok {
		return
	}
	q := r.URL.Query()
	page, perPage, ok := paging(w, q, 100, 5000000)
	if !ok {
		return
	}
	name := q.Get("name.exact")
	if name == "" {
		name = q.Get("name")
	}
	content := q.Get("content.exact")
	if content == "" {
		content = q.Get("content")
	}
	s.mu.Lock()
	var recs []Record
	for _, rec := range s.records {
		switch {
		case rec.ZoneID != z.ID,
			name != "" && rec.Name != canonical(name),
			q.Get("type") != "" && rec.Type != strings.ToUpper(q.Get("type")),
			content != "" && rec.Content != content,
			q.Get("content.contains") != "" && !strings.Contains(rec.Content, q.Get("content.contains")):
			continue
		}
		recs = append(recs, rec)
	}
	s.mu.Unlock()
	out, info := pageOf(recs, page, perPage)
	reply(w, http.StatusOK, out, info)
}

// recordHandler answers a request for one record: it checks the token's
// permission in the path's zone, finds the record, and calls fn with s.mu
// held and the record's index in s.records.
func (s *Server) recordHandler(need func(Permissions) bool, fn func(w http.ResponseWriter, r *http.Request, z zone, i int)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		z, ok := s.zoneOf(w, r, need)
		if !ok {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		i := s.recordIndex(z, r.PathValue("id"))
		if i < 0 {
			fail(w, http.StatusNotFound, apiError{Code: 81044, Message: "Record does not exist."})
			return
		}
		fn(w, r, z, i)
	}
}

func (s *Server) getRecord(w http.ResponseWriter, _ *http.Request, _ zone, i int) {
	reply(w, http.StatusOK, s.records[i], nil)
}

func (s *Server) recordIndex(z zone, id string) int {
	return slices.IndexFunc(s.records, func(rec Record) bool { return rec.ZoneID == z.ID && rec.ID == id })
}

// recordBody is what clients send to create or change a record. Pointers
// tell a PATCH which fields were sent.
type recordBody struct {
	Type     *string `json:"type"`
	Name     *string `json:"name"`
	Content  *string `json:"content"`
	TTL      *int    `json:"ttl"`
	Proxied  *bool   `json:"proxied"`
	Priority *uint16 `json:"priority"`
	Comment  *string `json:"comment"`
}

func decodeBody(w http.ResponseWriter, r *http.Request) (recordBody, bool) {
	var b recordBody
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&b); err != nil {
		fail(w, http.StatusBadRequest, apiError{Code: 9207, Message: "Request body is invalid."})
		return b, false
	}
	return b, true
}

// apply copies the sent fields of b onto rec.
func (b recordBody) apply(rec *Record) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&rec.Type, b.Type)
	set(&rec.Name, b.Name)
	set(&rec.Content, b.Content)
	set(&rec.Comment, b.Comment)
	if b.TTL != nil {
		rec.TTL = *b.TTL
	}
	if b.Proxied != nil {
		rec.Proxied = *b.Proxied
	}
	if b.Priority != nil {
		rec.Priority = *b.Priority
	}
}

// validate checks a record the way the API does before storing it.
func validate(rec Record) *apiError {
	dnsErr := func(code int, msg string) *apiError {
		return &apiError{Code: 1004, Message: "DNS Validation Error", ErrorChain: []apiError{{Code: code, Message: msg}}}
	}
	switch {
	case rec.Type == "":
		return dnsErr(9000, "DNS record type is invalid.")
	case rec.Name == "":
		return dnsErr(9007, "DNS record name is required.")
	case rec.Content == "":
		return dnsErr(9005, "Content is required.")
	case rec.TTL != 1 && (rec.TTL < 60 || rec.TTL > 86400):
		return dnsErr(9021, "Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic.")
	case rec.Proxied && !proxiable(rec.Type):
		return dnsErr(9004, "This record type cannot be proxied.")
	}
	if rec.Type == "A" || rec.Type == "AAAA" {
		ip, err := netip.ParseAddr(rec.Content)
		if err != nil || ip.Is4() != (rec.Type == "A") || ip.Zone() != "" {
			family := map[string]string{"A": "IPv4", "AAAA": "IPv6"}[rec.Type]
			return dnsErr(9005, "Content for "+rec.Type+" record is invalid. Must be a valid "+family+" address.")
		}
	}
	return nil
}

// valid checks rec as the API does before storing it, and writes the 400
// when it is refused: invalid fields, or another record of the zone with the
// same type, name and content (code 81058). Callers hold mu.
func (s *Server) valid(w http.ResponseWriter, rec Record) bool {
	if e := validate(rec); e != nil {
		fail(w, http.StatusBadRequest, *e)
		return false
	}
	if slices.ContainsFunc(s.records, func(o Record) bool {
		return o.ID != rec.ID && o.ZoneID == rec.ZoneID && o.Type == rec.Type && o.Name == rec.Name && o.Content == rec.Content
	}) {
		fail(w, http.StatusBadRequest, apiError{Code: 81058, Message: "An identical record already exists."})
		return false
	}
	return true
}

func (s *Server) createRecord(w http.ResponseWriter, r *http.Request) {
	z, ok := s.zoneOf(w, r, canEditDNS)
	if !ok {
		return
	}
	b, ok := decodeBody(w, r)
	if !ok {
		return
	}
	var rec Record
	b.apply(&rec)
	rec = normalize(z, rec)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.valid(w, rec) {
		return
	}
	reply(w, http.StatusOK, s.store(rec), nil)
}

func (s *Server) updateRecord(w http.ResponseWriter, r *http.Request, z zone, i int) {
	b, ok := decodeBody(w, r)
	if !ok {
		return
	}
	rec := s.records[i]
	if r.Method == http.MethodPut {
		// PUT replaces the record: fields not sent go back to their defaults.
		rec = Record{ID: rec.ID, ZoneID: rec.ZoneID, ZoneName: rec.ZoneName, Created: rec.Created}
	}
	b.apply(&rec)
	rec = normalize(z, rec)
	if !s.valid(w, rec) {
		return
	}
	rec.Modified = s.now().UTC()
	s.records[i] = rec
	reply(w, http.StatusOK, rec, nil)
}

func (s *Server) deleteRecord(w http.ResponseWriter, _ *http.Request, _ zone, i int) {
	id := s.records[i].ID
	s.records = slices.Delete(s.records, i, i+1)
	reply(w, http.StatusOK, map[string]string{"id": id}, nil)
}
