// Package config reads, validates and writes chatbox's one configuration
// file, /etc/chatbox/config.toml. Every other package receives plain values
// from it; none of them reads the file itself.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/chatbox-dev/chatbox/internal/bytesize"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// DefaultPath is where an installed box keeps its configuration.
const DefaultPath = "/etc/chatbox/config.toml"

// Config is the whole configuration of a box. The zero value is not useful;
// start from Default.
type Config struct {
	Server Server `toml:"server"`
	TLS    TLS    `toml:"tls"`
	DNS    DNS    `toml:"dns"`
	DynDNS DynDNS `toml:"dyndns"`
	Room   Room   `toml:"room"`
	Limits Limits `toml:"limits"`
	Push   Push   `toml:"push"`
	Update Update `toml:"update"`
	Backup Backup `toml:"backup"`
}

// DefaultUpdateURL is the project's release channel.
const DefaultUpdateURL = "https://github.com/chatbox-dev/chatbox/releases"

// Update says where `chatbox update` finds new releases.
type Update struct {
	// URL is the release channel: signed manifests under
	// URL/latest/download/ and URL/download/VERSION/. https only, except
	// a loopback address for tests.
	URL string `toml:"url"`
	// CARoot is a PEM file with a root that signs the channel's HTTPS
	// certificate, besides the system's; only for a test channel.
	CARoot string `toml:"ca_root"`
	// Auto has `chatbox install` schedule `chatbox update` (a systemd
	// timer; daily.local on OpenBSD); false removes that schedule.
	Auto bool `toml:"auto"`
	// Schedule is when the automatic update runs, as systemd's OnCalendar.
	Schedule string `toml:"schedule"`
	// RandomDelay spreads the automatic update over this long after
	// Schedule, at a delay each box picks once.
	RandomDelay Duration `toml:"random_delay"`
}

// Server says where the box listens and keeps its data.
type Server struct {
	// Domain is the box's DNS name. Empty for an IP-only box.
	Domain string `toml:"domain"`
	// IP is the public address of a box without a domain. With IPDetect
	// set it is only the address the box starts with, and may be empty.
	IP string `toml:"ip"`
	// IPDetect makes a box without a domain follow its public address:
	// a detection method as in DynDNS.IPv4 ("cloudflare.trace",
	// "url:https://...", "iface:eth0", "static:ADDR"), checked every
	// DynDNS.Interval. Empty: the address is fixed as IP.
	IPDetect string `toml:"ip_detect"`
	// HTTPListen answers ACME HTTP-01 and redirects everything else to HTTPS.
	HTTPListen string `toml:"http_listen"`
	// HTTPSListen serves the room.
	HTTPSListen string `toml:"https_listen"`
	// DataDir holds messages.db, files/ and the certificate storage.
	DataDir string `toml:"data_dir"`
	// TrustedProxies lists addresses or CIDRs whose X-Forwarded-For and
	// X-Forwarded-Proto are believed. Empty in proxy mode means loopback
	// (see Proxies).
	TrustedProxies []string `toml:"trusted_proxies"`
	// Mode is "direct" (the box answers on 80 and 443 with its own
	// certificates) or "proxy" (plain HTTP on Listen behind a reverse
	// proxy that holds the certificate).
	Mode string `toml:"mode"`
	// Listen is the loopback or private address the room is served on in
	// proxy mode.
	Listen string `toml:"listen"`
	// PublicURL is the room's address as people open it in proxy mode,
	// e.g. "https://chat.example.com/".
	PublicURL string `toml:"public_url"`
}

// Mode values of Server.Mode.
const (
	ModeDirect = "direct"
	ModeProxy  = "proxy"
)

// Proxies are the trusted proxies in force: TrustedProxies, or loopback
// in proxy mode when it is empty.
func (s Server) Proxies() []string {
	if len(s.TrustedProxies) == 0 && s.Mode == ModeProxy {
		return []string{"127.0.0.0/8", "::1"}
	}
	return s.TrustedProxies
}

// TLS configures certificates.
type TLS struct {
	// Email is the ACME account contact. Optional.
	Email string `toml:"email"`
	// CA is the ACME directory URL.
	CA string `toml:"ca"`
	// CARoot is a PEM file with the root that signs the ACME server's own
	// HTTPS certificate; only needed for a test CA such as Pebble.
	CARoot string `toml:"ca_root"`
	// Challenge is "auto" (HTTP-01 and TLS-ALPN-01) or "dns-01".
	Challenge string `toml:"challenge"`
	// Profile is the ACME profile to ask for. Empty means the CA's default,
	// or "shortlived" for a box with only an IP address.
	Profile string `toml:"profile"`
	// Resolvers are DNS servers (IP or IP:port) asked when DNS-01 finds the
	// zone and waits for its TXT record to be visible. Empty means the
	// system's resolvers.
	Resolvers []string `toml:"resolvers"`
}

// DNS names the DNS provider used for DNS-01 and dynamic DNS.
type DNS struct {
	// Provider is "" (none) or "cloudflare".
	Provider string `toml:"provider"`
	// APIToken is the provider's API token. Never logged.
	APIToken string `toml:"api_token"`
	// Zone is the DNS zone that holds Domain, e.g. "example.com". When empty
	// it is found from Domain.
	Zone string `toml:"zone"`
	// APIURL overrides the provider's API base URL (tests only).
	APIURL string `toml:"api_url"`
}

// DynDNS keeps the box's DNS records pointing at its public address.
type DynDNS struct {
	Enabled bool `toml:"enabled"`
	// Interval between checks.
	Interval Duration `toml:"interval"`
	// IPv4 and IPv6 name the detection method: "cloudflare.trace",
	// "url:https://...", "iface:eth0", "static:ADDR" or "none".
	IPv4 string `toml:"ipv4"`
	IPv6 string `toml:"ipv6"`
}

// Room configures the chat room.
type Room struct {
	Private bool `toml:"private"`
	// Encrypted makes the room created at start an encrypted one: the
	// browsers encrypt, the box keeps only ciphertext (docs/ENCRYPTION.md).
	// A room stays encrypted or not for its whole life; a room that
	// exists already is not changed.
	Encrypted        bool     `toml:"encrypted"`
	MaxMessageLength int      `toml:"max_message_length"`
	MaxPGPLength     int      `toml:"max_pgp_length"`
	RetentionCount   int      `toml:"retention_messages"`
	RetentionAge     Duration `toml:"retention_age"`
	MaxFileSize      Size     `toml:"max_file_size"`
	Quota            Size     `toml:"quota"`
	DestroyCountdown Duration `toml:"destroy_countdown"`
	// Destroy says who may destroy the room: "everyone" in it, only the
	// "owner" (chatbox room destroy), or "nobody".
	Destroy string `toml:"destroy"`
	// LauncherPrivate lets the launcher (the page shown when no room
	// exists) create a private room; false keeps every new room public.
	LauncherPrivate bool `toml:"launcher_private"`
	// SessionIdle ends a private room's login session unused for this
	// long; no session lasts more than 30 days.
	SessionIdle Duration `toml:"session_idle"`
	// EditWindow is how long after sending a message its sender may edit
	// or delete it; 0s turns editing and deleting off.
	EditWindow Duration `toml:"edit_window"`
	// NickHold keeps a nickname for its browser this long after the
	// browser's last connection closes, so a reload keeps it.
	NickHold Duration `toml:"nick_hold"`
	// PushPreview puts the sender and the start of the text in push
	// notifications; false makes them say only "New message".
	PushPreview bool `toml:"push_preview"`
}

// Push configures Web Push notifications to browsers whose page of the
// room is closed.
type Push struct {
	// Enabled offers notifications in the page and sends them.
	Enabled bool `toml:"enabled"`
	// MaxPerNickname is the most devices one nickname keeps subscribed; a
	// new one beyond it replaces the oldest.
	MaxPerNickname int `toml:"max_per_nickname"`
	// MaxSubscriptions is the most subscriptions the box keeps in all.
	MaxSubscriptions int `toml:"max_subscriptions"`
	// PerSecond is the most pushes sent a second, to all push services.
	PerSecond int `toml:"per_second"`
	// Queue is how many messages may wait to be turned into pushes.
	Queue int `toml:"queue"`
	// TTL is how long a push service keeps a push for an offline device.
	TTL Duration `toml:"ttl"`
	// Collapse is the least time between two pushes to one device; the
	// messages in between make one "N new messages" notification.
	Collapse Duration `toml:"collapse"`
	// Contact is an e-mail address push services may write to about the
	// box's pushes; empty uses the room's https:// address.
	Contact string `toml:"contact"`
}

// Limits protects the box from floods.
type Limits struct {
	MaxClients        int `toml:"max_clients"`
	MaxClientsPerAddr int `toml:"max_clients_per_address"`
	// PostsPerMinute bounds writes (messages, uploads) per client address.
	PostsPerMinute int `toml:"posts_per_minute"`
	// LoginsPerMinute bounds password attempts per client address.
	LoginsPerMinute int `toml:"logins_per_minute"`
	// ConnectsPerMinute bounds WebSocket connections opened per client
	// address.
	ConnectsPerMinute int `toml:"connects_per_minute"`
	// RoomPostsPerMinute bounds writes to the room from all addresses
	// together, so that a flood from many addresses cannot push the
	// history out through retention.
	RoomPostsPerMinute int `toml:"room_posts_per_minute"`
	// PasswordChecks bounds the slow password checks (about 16 MiB of
	// memory each) that run at once, whatever address they come from.
	PasswordChecks int `toml:"password_checks"`
	// ReadsPerMinute bounds the pages of history (at most 1 MiB each)
	// one client address may read per minute.
	ReadsPerMinute int `toml:"reads_per_minute"`
	// MaxConnsPerAddr bounds the open connections (HTTP and WebSocket
	// alike) from one address; IPv6 addresses count per /64, trusted
	// proxies not at all.
	MaxConnsPerAddr int `toml:"max_conns_per_address"`
	// UploadMinRate is the slowest an upload's body may arrive, in bytes a
	// second, over each UploadRateWindow.
	UploadMinRate Size `toml:"upload_min_rate"`
	// UploadRateWindow is the span UploadMinRate is measured over.
	UploadRateWindow Duration `toml:"upload_rate_window"`
}

// Default returns the configuration of a box with nothing set.
func Default() Config {
	return Config{
		Server: Server{
			HTTPListen:  ":80",
			HTTPSListen: ":443",
			DataDir:     "/var/lib/chatbox",
			Mode:        ModeDirect,
			Listen:      "127.0.0.1:8080",
		},
		TLS: TLS{
			CA:        "https://acme-v02.api.letsencrypt.org/directory",
			Challenge: "auto",
		},
		DynDNS: DynDNS{
			Interval: Duration(5 * time.Minute),
			IPv4:     "cloudflare.trace",
			IPv6:     "none",
		},
		Room: Room{
			MaxMessageLength: 1000,
			MaxPGPLength:     64 << 10,
			RetentionCount:   10000,
			RetentionAge:     Duration(30 * 24 * time.Hour),
			MaxFileSize:      Size(10 << 20),
			Quota:            Size(500 << 20),
			DestroyCountdown: Duration(15 * time.Second),
			Destroy:          "everyone",
			LauncherPrivate:  true,
			SessionIdle:      Duration(7 * 24 * time.Hour),
			EditWindow:       Duration(5 * time.Minute),
			NickHold:         Duration(10 * time.Minute),
			PushPreview:      true,
		},
		Limits: Limits{
			MaxClients:         20000,
			MaxClientsPerAddr:  50,
			PostsPerMinute:     120,
			LoginsPerMinute:    10,
			ConnectsPerMinute:  60,
			RoomPostsPerMinute: 600,
			PasswordChecks:     2,
			ReadsPerMinute:     120,
			MaxConnsPerAddr:    200,
			UploadMinRate:      Size(16 << 10),
			UploadRateWindow:   Duration(10 * time.Second),
		},
		Update: Update{
			URL:         DefaultUpdateURL,
			Auto:        true,
			Schedule:    defaultUpdateSchedule,
			RandomDelay: Duration(defaultUpdateRandomDelay),
		},
		Backup: Backup{Dir: defaultBackupDir, Schedule: defaultBackupSchedule},
		Push: Push{
			Enabled:          true,
			MaxPerNickname:   5,
			MaxSubscriptions: 20000,
			PerSecond:        100,
			Queue:            1000,
			TTL:              Duration(24 * time.Hour),
			Collapse:         Duration(10 * time.Second),
		},
	}
}

// Load reads path over Default and validates the result. Errors name the
// key and the reason.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	cfg, err := Parse(data)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// Parse decodes TOML over Default and validates the result.
func Parse(data []byte) (Config, error) {
	cfg := Default()
	md, err := toml.Decode(string(data), &cfg)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			if perr.LastKey != "" {
				return Config{}, fmt.Errorf("line %d: %s: %s", perr.Position.Line, perr.LastKey, perr.Message)
			}
			return Config{}, fmt.Errorf("line %d: %s", perr.Position.Line, perr.Message)
		}
		return Config{}, err
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		return Config{}, fmt.Errorf("%s: unknown key", undecoded[0])
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// FieldError is a configuration mistake at one key.
type FieldError struct {
	Key    string
	Reason string
}

func (e *FieldError) Error() string { return e.Key + ": " + e.Reason }

func bad(key, format string, args ...any) error {
	return &FieldError{Key: key, Reason: fmt.Sprintf(format, args...)}
}

// Validate reports the first mistake in c, naming its key.
func (c Config) Validate() error {
	s := c.Server
	if s.Domain != "" {
		if err := ValidateDomain(s.Domain); err != nil {
			return bad("server.domain", "%v", err)
		}
	}
	if s.IP != "" && net.ParseIP(s.IP) == nil {
		return bad("server.ip", "%q is not an IP address", s.IP)
	}
	if s.IPDetect != "" {
		if s.Domain != "" {
			return bad("server.ip_detect", "only for a box without server.domain (dyndns keeps a domain pointing at a changing address)")
		}
		if err := checkDetectMethod(s.IPDetect); err != nil {
			return bad("server.ip_detect", "%v", err)
		}
		if c.DynDNS.Interval.Std() < 10*time.Second {
			return bad("dyndns.interval", "must be at least 10s (server.ip_detect checks the address that often)")
		}
	}
	for _, addr := range []struct{ key, v string }{
		{"server.http_listen", s.HTTPListen}, {"server.https_listen", s.HTTPSListen},
	} {
		if addr.v == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr.v); err != nil {
			return bad(addr.key, "%q is not host:port", addr.v)
		}
	}
	if s.DataDir == "" {
		return bad("server.data_dir", "must not be empty")
	}
	switch s.Mode {
	case ModeDirect:
	case ModeProxy:
		if err := checkProxyListen(s.Listen); err != nil {
			return bad("server.listen", "%v", err)
		}
		if err := checkPublicURL(s.PublicURL); err != nil {
			return bad("server.public_url", "%v", err)
		}
	default:
		return bad("server.mode", "%q is not one of direct, proxy", s.Mode)
	}
	for _, p := range s.TrustedProxies {
		if net.ParseIP(p) == nil {
			if _, _, err := net.ParseCIDR(p); err != nil {
				return bad("server.trusted_proxies", "%q is neither an IP address nor a CIDR", p)
			}
		}
	}
	switch c.TLS.Challenge {
	case "auto", "http-01", "tls-alpn-01":
	case "dns-01":
		if c.DNS.Provider == "" {
			return bad("tls.challenge", "dns-01 needs a DNS provider in dns.provider")
		}
		if s.Domain == "" {
			return bad("tls.challenge", "dns-01 works only for a domain, not an IP address")
		}
	default:
		return bad("tls.challenge", "%q is not one of auto, http-01, tls-alpn-01, dns-01", c.TLS.Challenge)
	}
	if !strings.HasPrefix(c.TLS.CA, "https://") {
		return bad("tls.ca", "%q is not an https:// ACME directory URL", c.TLS.CA)
	}
	for _, r := range c.TLS.Resolvers {
		host := r
		if h, _, err := net.SplitHostPort(r); err == nil {
			host = h
		}
		if net.ParseIP(host) == nil {
			return bad("tls.resolvers", "%q is not an IP address or IP:port", r)
		}
	}
	switch c.DNS.Provider {
	case "":
	case "cloudflare":
		if c.DNS.APIToken == "" {
			return bad("dns.api_token", "the cloudflare provider needs an API token with Zone:Read and DNS:Edit")
		}
	default:
		return bad("dns.provider", "%q is not supported; use cloudflare or leave it empty", c.DNS.Provider)
	}
	if c.DynDNS.Enabled {
		if c.DNS.Provider == "" {
			return bad("dyndns.enabled", "dynamic DNS needs a DNS provider in dns.provider")
		}
		if s.Domain == "" {
			return bad("dyndns.enabled", "dynamic DNS needs server.domain")
		}
		if c.DynDNS.Interval.Std() < 10*time.Second {
			return bad("dyndns.interval", "must be at least 10s")
		}
	}
	r := c.Room
	if r.MaxMessageLength < 1 || r.MaxMessageLength > 1<<20 {
		return bad("room.max_message_length", "must be between 1 and 1048576")
	}
	if r.MaxPGPLength < r.MaxMessageLength || r.MaxPGPLength > 1<<20 {
		return bad("room.max_pgp_length", "must be between room.max_message_length and 1048576")
	}
	if r.RetentionCount < 0 {
		return bad("room.retention_messages", "must not be negative")
	}
	if r.RetentionAge < 0 {
		return bad("room.retention_age", "must not be negative")
	}
	if r.MaxFileSize <= 0 {
		return bad("room.max_file_size", "must be positive")
	}
	if r.Quota < r.MaxFileSize {
		return bad("room.quota", "must be at least room.max_file_size")
	}
	if r.DestroyCountdown < 0 || r.DestroyCountdown.Std() > time.Hour {
		return bad("room.destroy_countdown", "must be between 0s and 1h")
	}
	switch r.Destroy {
	case "everyone", "owner", "nobody":
	default:
		return bad("room.destroy", `must be "everyone", "owner" or "nobody"`)
	}
	if r.SessionIdle.Std() < time.Minute || r.SessionIdle.Std() > 30*24*time.Hour {
		return bad("room.session_idle", "must be between 1m and 720h (30 days)")
	}
	if r.EditWindow < 0 || r.EditWindow.Std() > 24*time.Hour {
		return bad("room.edit_window", "must be between 0s (no editing) and 24h")
	}
	if r.NickHold < 0 || r.NickHold.Std() > 24*time.Hour {
		return bad("room.nick_hold", "must be between 0s and 24h")
	}
	l := c.Limits
	if l.MaxClients < 1 {
		return bad("limits.max_clients", "must be at least 1")
	}
	if l.MaxClientsPerAddr < 1 {
		return bad("limits.max_clients_per_address", "must be at least 1")
	}
	if l.PostsPerMinute < 1 {
		return bad("limits.posts_per_minute", "must be at least 1")
	}
	if l.ConnectsPerMinute < 1 {
		return bad("limits.connects_per_minute", "must be at least 1")
	}
	if l.RoomPostsPerMinute < 1 {
		return bad("limits.room_posts_per_minute", "must be at least 1")
	}
	if l.LoginsPerMinute < 1 {
		return bad("limits.logins_per_minute", "must be at least 1")
	}
	if l.PasswordChecks < 1 || l.PasswordChecks > 64 {
		return bad("limits.password_checks", "must be between 1 and 64")
	}
	if l.ReadsPerMinute < 1 {
		return bad("limits.reads_per_minute", "must be at least 1")
	}
	if l.MaxConnsPerAddr < 2 {
		return bad("limits.max_conns_per_address", "must be at least 2")
	}
	if l.UploadMinRate < 1 {
		return bad("limits.upload_min_rate", "must be at least 1 byte a second")
	}
	if l.UploadRateWindow.Std() < time.Second || l.UploadRateWindow.Std() > 10*time.Minute {
		return bad("limits.upload_rate_window", "must be between 1s and 10m")
	}
	if err := c.Push.validate(); err != nil {
		return err
	}
	if err := checkUpdateURL(c.Update.URL); err != nil {
		return bad("update.url", "%v", err)
	}
	return c.validateSchedules()
}

// validate reports the first mistake in the push section.
func (p Push) validate() error {
	switch {
	case p.MaxPerNickname < 1 || p.MaxPerNickname > 100:
		return bad("push.max_per_nickname", "must be between 1 and 100")
	case p.MaxSubscriptions < p.MaxPerNickname || p.MaxSubscriptions > 1000000:
		return bad("push.max_subscriptions", "must be between push.max_per_nickname and 1000000")
	case p.PerSecond < 1 || p.PerSecond > 100000:
		return bad("push.per_second", "must be between 1 and 100000")
	case p.Queue < 1 || p.Queue > 1000000:
		return bad("push.queue", "must be between 1 and 1000000")
	case p.TTL.Std() < time.Minute || p.TTL.Std() > 28*24*time.Hour:
		return bad("push.ttl", "must be between 1m and 672h (28 days, what push services keep at most)")
	case p.Collapse < 0 || p.Collapse.Std() > time.Hour:
		return bad("push.collapse", "must be between 0s and 1h")
	case p.Contact != "" && (!strings.Contains(p.Contact, "@") || strings.ContainsAny(p.Contact, " \t<>:")):
		return bad("push.contact", "%q is not an e-mail address", p.Contact)
	}
	return nil
}

// checkUpdateURL checks that a release channel is an https:// URL, or an
// http:// one to a loopback address (a test channel).
// checkProxyListen wants host:port on a loopback or private address: in
// proxy mode the room speaks plain HTTP and only the proxy may reach it.
func checkProxyListen(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	ip := net.ParseIP(host)
	if host == "localhost" || ip != nil && (ip.IsLoopback() || ip.IsPrivate()) {
		return nil
	}
	return fmt.Errorf("%q is not a loopback or private address; in proxy mode the room speaks plain HTTP and only the proxy may reach it", addr)
}

// checkPublicURL wants an https:// URL, or http:// on loopback for tests.
func checkPublicURL(raw string) error {
	if raw == "" {
		return errors.New("proxy mode needs the address people open, such as \"https://chat.example.com/\"")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q is not a URL like https://chat.example.com/", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if ip := net.ParseIP(u.Hostname()); u.Hostname() == "localhost" || ip != nil && ip.IsLoopback() {
			return nil
		}
	}
	return fmt.Errorf("%q must be https:// (http:// only on a loopback address, for tests)", raw)
}

func checkUpdateURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q is not a URL like %s", s, DefaultUpdateURL)
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	loopback := host == "localhost" || ip != nil && ip.IsLoopback()
	if u.Scheme != "https" && !(u.Scheme == "http" && loopback) {
		return fmt.Errorf("%q is not https:// (plain http is only for a loopback test channel)", s)
	}
	return nil
}

// checkDetectMethod checks the form of a public-address detection method;
// dyndns.NewDetector, which the box calls before it listens, checks the
// rest (such as the URL's scheme).
func checkDetectMethod(method string) error {
	kind, arg, _ := strings.Cut(method, ":")
	switch {
	case method == "cloudflare.trace":
		return nil
	case kind == "url" && arg != "", kind == "iface" && arg != "":
		return nil
	case kind == "static" && net.ParseIP(arg) != nil:
		return nil
	}
	return fmt.Errorf("%q is not one of cloudflare.trace, url:https://..., iface:NAME, static:ADDR", method)
}

// ValidateDomain checks that name is a fully qualified DNS name (RFC 1123),
// without scheme, port or path, and not an IP address.
func ValidateDomain(name string) error {
	if strings.Contains(name, "://") {
		return fmt.Errorf("%q has a scheme; give the bare name, like chat.example.com", name)
	}
	if net.ParseIP(name) != nil {
		return fmt.Errorf("%q is an IP address, not a domain name", name)
	}
	if err := ValidateHostname(name); err != nil {
		return err
	}
	if !strings.Contains(name, ".") {
		return fmt.Errorf("%q is not a fully qualified domain name", name)
	}
	return nil
}

// ValidateHostname checks name against RFC 1123: dot-separated labels of
// letters, digits and hyphens, 1 to 63 characters each, not starting or
// ending with a hyphen, 253 characters in all.
func ValidateHostname(name string) error {
	if name == "" {
		return errors.New("the host name is empty")
	}
	if len(name) > 253 {
		return fmt.Errorf("%q is longer than 253 characters", name)
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("%q has a label that is empty or longer than 63 characters", name)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("%q has a label that starts or ends with a hyphen", name)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("%q may hold only letters, digits, hyphens and dots", name)
			}
		}
	}
	return nil
}

// Encode renders c as TOML.
func (c Config) Encode() ([]byte, error) {
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(c); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	return buf.Bytes(), nil
}

// Duration is a time.Duration written as "5m" in TOML.
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// UnmarshalText parses "90s", "5m", "720h".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration like 90s, 5m or 720h", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes d as "5m0s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Size is a byte count written as "10MiB" in TOML.
type Size int64

// UnmarshalText parses "512", "64KiB", "10MiB", "1GiB" (also KB, MB, GB as
// powers of 1000).
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = Size(v)
	return nil
}

// MarshalText writes s in the largest whole binary unit.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s Size) String() string { return bytesize.Format(int64(s)) }

// ParseSize parses a byte count such as "10MiB".
func ParseSize(text string) (int64, error) { return bytesize.Parse(text) }
