package chat

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/scrypt"
)

// passwordAlphabet avoids look-alike characters (0/o, 1/l/i).
const passwordAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// NewPassword returns a random room password of four groups of five
// characters, about 99 bits from crypto/rand, easy to read out loud.
func NewPassword() (string, error) {
	var b strings.Builder
	buf := make([]byte, 20)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("generate password: %w", err)
	}
	for i := range 20 {
		if i > 0 && i%5 == 0 {
			b.WriteByte('-')
		}
		// Rejection sampling would be exact; 256 % 31 leaves a bias of under
		// 1% per character, which costs less than a tenth of a bit each.
		b.WriteByte(passwordAlphabet[int(buf[i])%len(passwordAlphabet)])
	}
	return b.String(), nil
}

// scrypt parameters: about 50 ms and 16 MiB on a small box.
const (
	scryptN      = 1 << 14
	scryptR      = 8
	scryptP      = 1
	scryptKeyLen = 32
)

// HashPassword returns a slow, salted hash of password for the store.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key, err := scrypt.Key([]byte(password), salt, scryptN, scryptR, scryptP, scryptKeyLen)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	enc := base64.RawStdEncoding
	return fmt.Sprintf("scrypt$%d$%d$%d$%s$%s", scryptN, scryptR, scryptP, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

var errBadHash = errors.New("the stored password hash is damaged")

// checkPassword compares password with a hash from HashPassword in
// constant time.
func checkPassword(hash, password string) (bool, error) {
	var n, r, p int
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "scrypt" {
		return false, errBadHash
	}
	if _, err := fmt.Sscanf(parts[1]+" "+parts[2]+" "+parts[3], "%d %d %d", &n, &r, &p); err != nil {
		return false, errBadHash
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || n > 1<<20 || r > 32 || p > 16 {
		return false, errBadHash
	}
	got, err := scrypt.Key([]byte(password), salt, n, r, p, len(want))
	if err != nil {
		return false, errBadHash
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// passwordCache remembers, as a keyed MAC, the one password that was last
// proven right, so that scripts using basic auth on every request do not
// pay the slow hash each time. It holds no password in the clear. Each
// entry belongs to one generation of the room's password (RoomState's
// Generation): a check that began before a change, or a reset, can put
// the old password back, but never for the new generation.
type passwordCache struct {
	mu  sync.Mutex
	key []byte
	mac []byte
	gen uint64
}

func newPasswordCache() *passwordCache {
	key := make([]byte, 32)
	rand.Read(key)
	return &passwordCache{key: key}
}

func (c *passwordCache) sum(password string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(password))
	return m.Sum(nil)
}

// known reports whether password was proven right for generation gen.
func (c *passwordCache) known(password string, gen uint64) bool {
	s := c.sum(password)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mac != nil && c.gen == gen && hmac.Equal(s, c.mac)
}

// remember keeps password as proven right for generation gen, unless a
// newer generation's password is kept already.
func (c *passwordCache) remember(password string, gen uint64) {
	s := c.sum(password)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mac != nil && c.gen > gen {
		return
	}
	c.mac, c.gen = s, gen
}

func (c *passwordCache) forget() {
	c.mu.Lock()
	c.mac = nil
	c.mu.Unlock()
}

// newSessionToken returns a random cookie value and the hash the store
// keeps of it.
func newSessionToken() (token string, hash []byte, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("create session: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, sessionHash(token), nil
}

func sessionHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
