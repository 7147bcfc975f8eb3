// Package pushtest is a stand-in push service for tests. The real ones
// (Google's, Mozilla's, Apple's) cannot be reached from a test, and they
// would not say what they received; this one follows RFC 8030 as they do,
// and checks what they check and more: it accepts a push only with a valid
// VAPID token (RFC 8292: ES256 by the box's public key, aud its own
// origin, exp within 24 hours, sub present), and it decrypts every
// payload (RFC 8291, aes128gcm) with the private key of a subscription
// it made the way a browser makes one (a P-256 key pair and a 16-byte
// authentication secret). A push it can read is one a browser can read.
// It answers 201 unless a test asks for 404, 410, 429 with Retry-After,
// or 500.
package pushtest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is the stand-in push service.
type Server struct {
	*httptest.Server
	// vapid is the box's public key (65 bytes), set by Trust.
	vapid []byte

	// Later, when set before the first push, answers 201 at once and
	// checks and decrypts each push only when Received is called: a load
	// test then measures the box's work, not the stand-in's.
	Later bool

	mu      sync.Mutex
	devices map[string]*Device
	got     []Push
	arrived chan Push
}

// Device is one browser's subscription at the stand-in.
type Device struct {
	ID       string
	Endpoint string
	// P256dh and Auth are what PushSubscription.getKey() gives a page,
	// base64url.
	P256dh, Auth string
	priv         *ecdh.PrivateKey
	auth         []byte
	// answers are the statuses to give the next pushes, then 201.
	answers []Answer
}

// Answer is how the stand-in answers one push.
type Answer struct {
	Status     int
	RetryAfter string
}

// Push is one push the stand-in received.
type Push struct {
	Device *Device
	At     time.Time
	// Status is what the stand-in answered.
	Status int
	Header http.Header
	// Plain is the decrypted payload.
	Plain []byte
	// Err says why the push was refused (a bad token, a payload that does
	// not decrypt); nil for a good one.
	Err error

	// req and body are kept for a check Later.
	req     *http.Request
	body    []byte
	checked bool
}

// New starts a stand-in push service over HTTPS (a push endpoint is
// always https); the box must trust it with the test's Client.
func New(t testing.TB) *Server {
	s := &Server{devices: map[string]*Device{}, arrived: make(chan Push, 100000)}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Trust sets the box's VAPID public key (base64url) that tokens must be
// signed with.
func (s *Server) Trust(publicKey string) error {
	raw, err := base64.RawURLEncoding.DecodeString(publicKey)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.vapid = raw
	s.mu.Unlock()
	return nil
}

// NewDevice makes a subscription the way a browser does.
func (s *Server) NewDevice(t testing.TB) *Device {
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	idb := make([]byte, 12)
	rand.Read(idb)
	id := base64.RawURLEncoding.EncodeToString(idb)
	d := &Device{
		ID: id, Endpoint: s.URL + "/push/" + id,
		P256dh: base64.RawURLEncoding.EncodeToString(priv.PublicKey().Bytes()),
		Auth:   base64.RawURLEncoding.EncodeToString(auth),
		priv:   priv, auth: auth,
	}
	s.mu.Lock()
	s.devices[id] = d
	s.mu.Unlock()
	return d
}

// AnswerNext makes the device's next pushes get these answers, in order.
func (s *Server) AnswerNext(d *Device, answers ...Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d.answers = append(d.answers, answers...)
}

// Received returns every push so far, each checked and decrypted.
func (s *Server) Received() []Push {
	s.mu.Lock()
	got := append([]Push(nil), s.got...)
	vapid := s.vapid
	s.mu.Unlock()
	for i := range got {
		got[i].verify(s, vapid)
	}
	return got
}

// Count is how many pushes arrived so far.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

// verify checks and decrypts p, once.
func (p *Push) verify(s *Server, vapid []byte) {
	if p.checked {
		return
	}
	p.checked = true
	p.Err = s.check(p.req, vapid)
	if p.Err == nil {
		p.Plain, p.Err = p.Device.Decrypt(p.body)
	}
}

// Next waits for the next push, or fails the test after timeout.
func (s *Server) Next(t testing.TB, timeout time.Duration) Push {
	t.Helper()
	select {
	case p := <-s.arrived:
		return p
	case <-time.After(timeout):
		t.Fatalf("no push arrived within %v", timeout)
		return Push{}
	}
}

func (s *Server) serve(w http.ResponseWriter, req *http.Request) {
	id, ok := strings.CutPrefix(req.URL.Path, "/push/")
	s.mu.Lock()
	d := s.devices[id]
	vapid := s.vapid
	s.mu.Unlock()
	if req.Method != "POST" || !ok || d == nil {
		http.NotFound(w, req)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(req.Body, 8<<10))
	p := Push{Device: d, At: time.Now(), Header: req.Header.Clone(), req: req.Clone(req.Context()), body: body}
	if !s.Later {
		p.verify(s, vapid)
	}
	status, retry := http.StatusCreated, ""
	if p.Err != nil {
		status = http.StatusBadRequest
	} else {
		s.mu.Lock()
		if len(d.answers) > 0 {
			status, retry = d.answers[0].Status, d.answers[0].RetryAfter
			d.answers = d.answers[1:]
		}
		s.mu.Unlock()
	}
	p.Status = status
	s.mu.Lock()
	s.got = append(s.got, p)
	s.mu.Unlock()
	s.arrived <- p
	if retry != "" {
		w.Header().Set("Retry-After", retry)
	}
	if status == http.StatusCreated {
		w.Header().Set("Location", s.URL+"/message/"+id)
	}
	w.WriteHeader(status)
	if p.Err != nil {
		fmt.Fprintln(w, p.Err)
	}
}

// check verifies the RFC 8030 headers and the VAPID token (RFC 8292).
func (s *Server) check(req *http.Request, vapid []byte) error {
	if ce := req.Header.Get("Content-Encoding"); ce != "aes128gcm" {
		return fmt.Errorf("Content-Encoding %q, want aes128gcm", ce)
	}
	if req.Header.Get("TTL") == "" {
		return errors.New("no TTL header (RFC 8030 section 5.2 requires one)")
	}
	auth, ok := strings.CutPrefix(req.Header.Get("Authorization"), "vapid ")
	if !ok {
		return errors.New("no vapid Authorization")
	}
	var token, k string
	for _, part := range strings.Split(auth, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch name {
		case "t":
			token = value
		case "k":
			k = value
		}
	}
	if vapid == nil {
		return errors.New("the stand-in was not told the box's key")
	}
	if k != base64.RawURLEncoding.EncodeToString(vapid) {
		return errors.New("the k= key is not the box's VAPID public key")
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), vapid)
	if err != nil {
		return errors.New("the box's VAPID key is no P-256 point")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errors.New("the VAPID token is no JWT")
	}
	var hdr struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
	}
	if err := decodePart(parts[0], &hdr); err != nil || hdr.Alg != "ES256" {
		return fmt.Errorf("the JWT header is %+v (%v), want alg ES256", hdr, err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return errors.New("the JWT signature is not 64 bytes of base64url (r||s)")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return errors.New("the JWT signature does not verify with the box's VAPID key")
	}
	var claims struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		Sub string `json:"sub"`
	}
	if err := decodePart(parts[1], &claims); err != nil {
		return fmt.Errorf("the JWT claims: %w", err)
	}
	if claims.Aud != s.URL {
		return fmt.Errorf("aud %q, want the push service's origin %q", claims.Aud, s.URL)
	}
	exp := time.Unix(claims.Exp, 0)
	if now := time.Now(); !exp.After(now) || exp.After(now.Add(24*time.Hour)) {
		return fmt.Errorf("exp %v is not within 24 hours from now (RFC 8292 section 2)", exp)
	}
	if !strings.HasPrefix(claims.Sub, "mailto:") && !strings.HasPrefix(claims.Sub, "https:") {
		return fmt.Errorf("sub %q is neither a mailto: nor an https: URL", claims.Sub)
	}
	return nil
}

func decodePart(part string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// Decrypt reads an aes128gcm body (RFC 8188) encrypted for this device as
// RFC 8291 says, with its private key and authentication secret.
func (d *Device) Decrypt(body []byte) ([]byte, error) {
	// The header: salt (16), rs (4), idlen (1), keyid (the sender's
	// ephemeral public key, 65 bytes).
	if len(body) < 21 {
		return nil, errors.New("the body is shorter than its header")
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if idlen != 65 || len(body) < 21+idlen {
		return nil, fmt.Errorf("keyid is %d bytes, want the 65 of a P-256 key", idlen)
	}
	asPublic, ct := body[21:21+idlen], body[21+idlen:]
	if rs < 18 || len(ct) > int(rs) {
		return nil, fmt.Errorf("one record of %d bytes with rs %d: RFC 8291 pushes are one record", len(ct), rs)
	}
	as, err := ecdh.P256().NewPublicKey(asPublic)
	if err != nil {
		return nil, fmt.Errorf("the sender's key: %w", err)
	}
	ecdhSecret, err := d.priv.ECDH(as)
	if err != nil {
		return nil, err
	}
	// RFC 8291 section 3.3: IKM from the ECDH secret, keyed by the auth
	// secret, bound to both public keys.
	keyInfo := append(append([]byte("WebPush: info\x00"), d.priv.PublicKey().Bytes()...), asPublic...)
	prkKey, err := hkdf.Extract(sha256.New, ecdhSecret, d.auth)
	if err != nil {
		return nil, err
	}
	ikm, err := hkdf.Expand(sha256.New, prkKey, string(keyInfo), 32)
	if err != nil {
		return nil, err
	}
	// RFC 8188 section 2.2: the content key and nonce from the salt.
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, nonce, ct, nil) // one record: sequence number 0
	if err != nil {
		return nil, fmt.Errorf("the payload does not decrypt: %w", err)
	}
	// Padding: the last record ends with 0x02 and then zeros.
	end := bytes.LastIndexFunc(plain, func(r rune) bool { return r != 0 })
	if end < 0 || plain[end] != 2 {
		return nil, errors.New("the record has no last-record delimiter (0x02)")
	}
	return plain[:end], nil
}
