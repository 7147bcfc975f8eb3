package installer

// The reverse proxies of issue "a box that lives with other software", for
// real: Debian's nginx and caddy packages in the booted Debian of
// debian_e2e_test.go. With the web server holding port 80, install stops
// before changing anything and names it; install --behind-proxy then
// works with the configuration it writes dropped into the server's place,
// and the room's traffic goes through the server: the page, a WebSocket
// both ways, the largest upload and one byte more, and rate limits that
// count the browser's address, not the proxy's.
//
// The container shares this machine's network, so the servers' ports 80
// and 443 are this machine's, and the test reaches them on 127.0.0.1 under
// the room's name (nothing resolves it; the test dials the address itself).

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/internal/testcert"

	"github.com/gorilla/websocket"

	"github.com/chatbox-dev/chatbox/config"
)

// proxyDomain is the room's name behind the proxies.
const proxyDomain = "chat.example.com"

// untouchedDirs are what a refused install must leave byte for byte as
// they were: all of /etc (the config, units, apt settings, host name,
// users), /usr/local (the binary), and where chatbox keeps its data, its
// backups and the proxy configurations.
var untouchedDirs = []string{"etc", "usr/local", "var/lib/chatbox", "var/backups/chatbox", "usr/share/doc/chatbox"}

// frontServer is one web server put in front of the box.
type frontServer struct {
	name    string // the program, as install names it
	pkg     string // the Debian package apt installs
	owner   string // a pattern of the package install names as the program's
	welcome string // what the package's own page on port 80 says
	// place drops install's configuration into the server and reloads
	// it, and returns the pool that trusts the certificate it serves.
	place func(ctx context.Context, t *testing.T, c *container, tree string) *x509.CertPool
	// from is the client a request from browser i (0, 1, 2) goes out as.
	from func(i int) clientAddr
	// writesAddress is set for a server that sets X-Forwarded-For to the
	// connection's address whatever the browser sent.
	writesAddress bool
}

// clientAddr is how the test makes the server see a browser: the source
// address of the connection and the headers sent on it.
type clientAddr struct {
	source net.IP
	header http.Header
}

// checkProxies runs the nginx and then the Caddy walk-through in the
// booted container c over tree.
func checkProxies(ctx context.Context, t *testing.T, c *container, tree string) {
	// Earlier subtests may have left a chatbox behind; this one starts
	// from a host that never had one.
	if _, err := os.Stat(filepath.Join(tree, "usr/local/bin/chatbox")); err == nil {
		if out, err := c.exec(ctx, "/root/chatbox", "uninstall", "--purge", "--yes"); err != nil {
			t.Fatalf("uninstall what the earlier subtests left: %v\n%s", err, out)
		}
	}
	if out, err := c.exec(ctx, "rm", "-rf", "/etc/chatbox", "/var/lib/chatbox", "/usr/share/doc/chatbox"); err != nil {
		t.Fatalf("clear chatbox's directories: %v\n%s", err, out)
	}

	if out, err := c.exec(ctx, "apt-get", "update", "-q"); err != nil {
		t.Fatalf("apt-get update: %v\n%s", err, out)
	}

	servers := []frontServer{{
		name: "nginx", pkg: "nginx", owner: `nginx(-[a-z]+)?`, welcome: "Welcome to nginx!",
		place: placeNginx,
		// nginx appends the address it sees to X-Forwarded-For: the test
		// connects from loopback, a trusted proxy's address, and says
		// which browser it forwards for, as a CDN in front of nginx would.
		from: func(i int) clientAddr {
			return clientAddr{source: net.IPv4(127, 0, 0, 1), header: http.Header{"X-Forwarded-For": {fmt.Sprintf("198.51.100.%d", i+1)}}}
		},
	}, {
		name: "caddy", pkg: "caddy", owner: `caddy`, welcome: "Caddy",
		place: placeCaddy, writesAddress: true,
		// Caddy believes no X-Forwarded-For from a client it does not
		// trust and writes the connection's address instead: each
		// browser connects from an address of its own.
		from: func(i int) clientAddr { return clientAddr{source: net.IPv4(127, 0, 0, byte(i+2))} },
	}}
	for _, s := range servers {
		if !t.Run(s.name, func(t *testing.T) { checkProxy(ctx, t, c, tree, s) }) {
			t.Logf("journal of %s:\n%s", s.name, c.unitJournal(ctx, s.name+".service"))
			t.Logf("journal of chatbox:\n%s", c.journal(ctx))
		}
		// The next server needs ports 80 and 443, and a host without chatbox.
		if out, err := c.exec(ctx, "/root/chatbox", "uninstall", "--purge", "--yes"); err != nil {
			t.Errorf("uninstall after %s: %v\n%s", s.name, err, out)
		}
		if out, err := c.exec(ctx, "systemctl", "disable", "--now", s.name+".service"); err != nil {
			t.Errorf("stop %s: %v\n%s", s.name, err, out)
		}
	}
}

func checkProxy(ctx context.Context, t *testing.T, c *container, tree string, s frontServer) {
	if out, err := c.exec(ctx, "apt-get", "install", "-y", "-q", "--no-install-recommends", s.pkg); err != nil {
		t.Fatalf("apt-get install %s: %v\n%s", s.pkg, err, out)
	}
	waitFront(ctx, t, 30*time.Second, s.name+" to serve its own page on port 80", func() error {
		res, body, err := getNoRedirect(ctx, "http://127.0.0.1/")
		if err != nil {
			return err
		}
		if res.StatusCode != http.StatusOK || !strings.Contains(body, s.welcome) {
			return fmt.Errorf("%s, %.200q", res.Status, body)
		}
		return nil
	})

	t.Run("install stops before any change and names "+s.name, func(t *testing.T) {
		want := regexp.MustCompile(regexp.QuoteMeta(s.name) + ` \(package ` + s.owner + `\) is listening on port 80, and chatbox will not take over another web server`)
		out, err := c.exec(ctx, "/root/chatbox", "install", "--dry-run", "--domain", proxyDomain)
		if err == nil || !want.MatchString(out) {
			t.Errorf("install --dry-run (%v) does not name %s on port 80:\n%s", err, s.name, out)
		}
		before := hashDirs(t, tree, untouchedDirs...)
		out, err = c.exec(ctx, "/root/chatbox", "install", "--yes", "--domain", proxyDomain)
		t.Logf("install with %s on port 80:\n%s", s.name, out)
		if err == nil {
			t.Fatal("install succeeded")
		}
		if !want.MatchString(out) || !strings.Contains(out, "--behind-proxy") {
			t.Errorf("install does not name %s on port 80 and offer --behind-proxy", s.name)
		}
		if !strings.Contains(out, "[1/12] Checking this host ... failed") || strings.Contains(out, "[2/12]") {
			t.Error("install went past its first step")
		}
		if diff := diffHashes(before, hashDirs(t, tree, untouchedDirs...)); diff != "" {
			t.Errorf("the refused install changed /%s:\n%s", strings.Join(untouchedDirs, ", /"), diff)
		}
		if res, body, err := getNoRedirect(ctx, "http://127.0.0.1/"); err != nil || !strings.Contains(body, s.welcome) {
			t.Errorf("%s no longer serves its page: %v %v", s.name, err, res)
		}
	})
	if t.Failed() {
		t.FailNow()
	}

	var cfg config.Config
	t.Run("install --behind-proxy writes the configuration and starts the room", func(t *testing.T) {
		out, err := c.exec(ctx, "/root/chatbox", "install", "--yes", "--domain", proxyDomain, "--behind-proxy")
		t.Logf("install --behind-proxy:\n%s", out)
		if err != nil {
			t.Fatalf("install --behind-proxy: %v", err)
		}
		if !strings.Contains(out, "[12/12] Starting chatbox ... done") {
			t.Error("install did not report a started room")
		}
		data, err := os.ReadFile(filepath.Join(tree, "etc/chatbox/config.toml"))
		if err != nil {
			t.Fatal(err)
		}
		if cfg, err = config.Parse(data); err != nil {
			t.Fatalf("the config install wrote: %v", err)
		}
		if cfg.Server.Mode != config.ModeProxy {
			t.Fatalf("server.mode = %q", cfg.Server.Mode)
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	pool := s.place(ctx, t, c, tree)
	throughFront(ctx, t, s, cfg, pool)
}

// placeNginx drops install's nginx.conf where Debian's nginx reads a site,
// as its hint says, with a certificate where certbot would have put one
// (no CA on the Internet can be reached from here).
func placeNginx(ctx context.Context, t *testing.T, c *container, tree string) *x509.CertPool {
	certPEM, keyPEM, pool := certFor(t, proxyDomain)
	live := filepath.Join(tree, "etc/letsencrypt/live", proxyDomain)
	if err := os.MkdirAll(live, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(live, "fullchain.pem"), certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(live, "privkey.pem"), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"cp", ProxyDocDir + "/nginx.conf", "/etc/nginx/sites-available/chatbox"},
		{"ln", "-s", "/etc/nginx/sites-available/chatbox", "/etc/nginx/sites-enabled/chatbox"},
		{"nginx", "-t"},
		{"systemctl", "reload", "nginx"},
	} {
		if out, err := c.exec(ctx, args...); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return pool
}

// placeCaddy makes install's Caddyfile Debian's /etc/caddy/Caddyfile,
// after a global block that has Caddy issue the certificate from its own
// CA instead of Let's Encrypt, which cannot be reached from here.
func placeCaddy(ctx context.Context, t *testing.T, c *container, tree string) *x509.CertPool {
	site, err := os.ReadFile(filepath.Join(tree, "usr/share/doc/chatbox/Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	global := "{\n\tlocal_certs\n\tskip_install_trust\n}\n\n"
	if err := os.WriteFile(filepath.Join(tree, "etc/caddy/Caddyfile"), append([]byte(global), site...), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"caddy", "validate", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"},
		{"systemctl", "reload", "caddy"},
	} {
		if out, err := c.exec(ctx, args...); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// Caddy makes its CA on the first certificate it issues, in the home
	// of the caddy user.
	root := filepath.Join(tree, "var/lib/caddy/.local/share/caddy/pki/authorities/local/root.crt")
	pool := x509.NewCertPool()
	waitFront(ctx, t, 30*time.Second, "Caddy's local CA at /"+strings.TrimPrefix(root, tree+"/"), func() error {
		data, err := os.ReadFile(root)
		if err != nil {
			return err
		}
		if !pool.AppendCertsFromPEM(data) {
			return fmt.Errorf("no certificate in %s", root)
		}
		return nil
	})
	return pool
}

// throughFront checks the room's traffic through the server s in front.
func throughFront(ctx context.Context, t *testing.T, s frontServer, cfg config.Config, pool *x509.CertPool) {
	base := "https://" + proxyDomain
	origin := base
	tlsConf := &tls.Config{RootCAs: pool, ServerName: proxyDomain}
	dialFrom := func(src net.IP) func(ctx context.Context, network, addr string) (net.Conn, error) {
		return func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 10 * time.Second}
			return d.DialContext(ctx, "tcp4", net.JoinHostPort("127.0.0.1", port))
		}
	}
	clients := map[int]*http.Client{}
	client := func(i int) *http.Client {
		if clients[i] == nil {
			clients[i] = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DialContext: dialFrom(s.from(i).source), TLSClientConfig: tlsConf}}
			t.Cleanup(clients[i].CloseIdleConnections)
		}
		return clients[i]
	}
	// do sends a request as browser i and returns the answer's status,
	// Content-Type and body.
	do := func(t *testing.T, i int, method, url, contentType string, body io.Reader) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, url, body)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range s.from(i).header {
			req.Header[k] = v
		}
		req.Header.Set("Origin", origin)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		res, err := client(i).Do(req)
		if err != nil {
			t.Fatalf("%s %s through %s: %v", method, url, s.name, err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatalf("%s %s through %s: reading the answer: %v", method, url, s.name, err)
		}
		return res, b
	}
	// Browser 0 and 1 are for the rate limit; the rest goes as browser 2.
	const other = 2

	// A reload is graceful: the old workers answer on for a while, and
	// port 80 and 443 can change over at different moments. Both must
	// answer with the new configuration: port 80 sends /healthz on to
	// HTTPS, where the room answers it.
	waitFront(ctx, t, 30*time.Second, s.name+" to send http://"+proxyDomain+"/healthz on to the room over HTTPS", func() error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+proxyDomain+"/healthz", nil)
		res, err := client(other).Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.Request.URL.String() != base+"/healthz" {
			return fmt.Errorf("ended at %s", res.Request.URL)
		}
		if res.StatusCode != http.StatusOK || !bytes.Contains(b, []byte(`"ok"`)) {
			return fmt.Errorf("%s %.200q", res.Status, b)
		}
		return nil
	})

	t.Run("the page loads, from port 80 sent on to HTTPS", func(t *testing.T) {
		res, body := do(t, other, http.MethodGet, "http://"+proxyDomain+"/", "", nil)
		if res.Request.URL.String() != base+"/" {
			t.Errorf("http://%s/ ended at %s, want %s/", proxyDomain, res.Request.URL, base)
		}
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || !bytes.Contains(body, []byte("<title>chatbox</title>")) {
			t.Fatalf("GET %s/: %s %s %.300q", base, res.Status, res.Header.Get("Content-Type"), body)
		}
		if res.Header.Get("Strict-Transport-Security") == "" {
			t.Errorf("no HSTS: %s did not tell the room the page was asked for over HTTPS", s.name)
		}
	})

	t.Run("a WebSocket carries messages both ways", func(t *testing.T) {
		d := websocket.Dialer{NetDialContext: dialFrom(s.from(other).source), TLSClientConfig: tlsConf, HandshakeTimeout: 10 * time.Second}
		h := http.Header{"Origin": {origin}}
		for k, v := range s.from(other).header {
			h[k] = v
		}
		ws, res, err := d.DialContext(ctx, "wss://"+proxyDomain+"/ws?nick=bob", h)
		if err != nil {
			t.Fatalf("open the WebSocket through %s: %v (%v)", s.name, err, res)
		}
		defer ws.Close()
		// read waits for the message nick sent with text to come over the socket.
		read := func(nick, text string) {
			t.Helper()
			_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
			for {
				var ev struct {
					Type    string `json:"type"`
					Error   string `json:"error"`
					Message *struct {
						Nick, Text string
					} `json:"message"`
				}
				if err := ws.ReadJSON(&ev); err != nil {
					t.Fatalf("waiting for %s's %q on the socket: %v", nick, text, err)
				}
				if ev.Type == "error" {
					t.Fatalf("the room sent an error: %s", ev.Error)
				}
				if ev.Type == "message" && ev.Message != nil && ev.Message.Nick == nick && ev.Message.Text == text {
					return
				}
			}
		}
		if err := ws.WriteJSON(map[string]string{"type": "message", "text": "up the socket"}); err != nil {
			t.Fatal(err)
		}
		read("bob", "up the socket")
		res2, body := do(t, other, http.MethodPost, base+"/api/messages", "application/json", strings.NewReader(`{"nick":"ann","text":"down the socket"}`))
		if res2.StatusCode != http.StatusCreated {
			t.Fatalf("POST /api/messages: %s %s", res2.Status, body)
		}
		read("ann", "down the socket")
	})

	limit := int64(cfg.Room.MaxFileSize)
	upload := func(t *testing.T, size int64) (*http.Response, []byte) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		if err := mw.WriteField("nick", "ann"); err != nil {
			t.Fatal(err)
		}
		fw, err := mw.CreateFormFile("file", "big.bin")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(bytes.Repeat([]byte{'x'}, int(size))); err != nil {
			t.Fatal(err)
		}
		if err := mw.Close(); err != nil {
			t.Fatal(err)
		}
		return do(t, other, http.MethodPost, base+"/api/files", mw.FormDataContentType(), &body)
	}
	t.Run(fmt.Sprintf("an upload of max_file_size (%d bytes) is stored", limit), func(t *testing.T) {
		res, body := upload(t, limit)
		var msg struct {
			File struct {
				Size int64 `json:"size"`
			} `json:"file"`
		}
		if res.StatusCode != http.StatusCreated || json.Unmarshal(body, &msg) != nil || msg.File.Size != limit {
			t.Fatalf("POST /api/files of %d bytes: %s %.300q", limit, res.Status, body)
		}
	})
	t.Run("one byte more gets the room's own 413 sentence", func(t *testing.T) {
		res, body := upload(t, limit+1)
		var e struct{ Error, Code string }
		if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") ||
			json.Unmarshal(body, &e) != nil || e.Code != "too_long" || !strings.HasPrefix(e.Error, "a file may be at most ") || !strings.HasSuffix(e.Error, "(the room's max_file_size)") {
			t.Fatalf("POST /api/files of %d bytes: %s %s %.300q, want chatbox's JSON 413", limit+1, res.Status, res.Header.Get("Content-Type"), body)
		}
		t.Logf("413 through %s: %s", s.name, body)
	})

	t.Run("the rate limit counts each browser's address", func(t *testing.T) {
		// post sends a message as browser i; a browser that says it is
		// another address sends an X-Forwarded-For of its own.
		post := func(i int, says string) (*http.Response, []byte) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/messages", strings.NewReader(fmt.Sprintf(`{"nick":"p%d","text":"hello"}`, i)))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range s.from(i).header {
				req.Header[k] = v
			}
			if says != "" {
				req.Header.Set("X-Forwarded-For", says)
			}
			req.Header.Set("Origin", origin)
			req.Header.Set("Content-Type", "application/json")
			res, err := client(i).Do(req)
			if err != nil {
				t.Fatalf("POST /api/messages through %s: %v", s.name, err)
			}
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			return res, b
		}
		perMinute := cfg.Limits.PostsPerMinute
		sent := 0
		for {
			// Where the server in front writes the address itself, browser
			// 0 also claims a new address on each post: it must not help.
			says := ""
			if s.writesAddress {
				says = fmt.Sprintf("198.51.100.%d", 1+sent%250)
			}
			res, body := post(0, says)
			if res.StatusCode == http.StatusTooManyRequests {
				var e struct{ Error, Code string }
				if json.Unmarshal(body, &e) != nil || e.Code != "rate_limited" {
					t.Errorf("the 429 is not the room's JSON: %.300q", body)
				}
				break
			}
			if res.StatusCode != http.StatusCreated {
				t.Fatalf("post %d: %s %.300q", sent+1, res.Status, body)
			}
			sent++
			if sent > 2*perMinute {
				t.Fatalf("%d posts from browser 0 (%s) in a row were all taken; limits.posts_per_minute is %d", sent, s.from(0), perMinute)
			}
		}
		t.Logf("browser 0 (%s) was limited after %d posts in a row (limits.posts_per_minute = %d)", s.from(0), sent, perMinute)
		if res, body := post(1, ""); res.StatusCode != http.StatusCreated {
			t.Errorf("browser 1 (%s), never limited, got %s %.300q: the room counts the proxy's address", s.from(1), res.Status, body)
		}
	})
}

func (a clientAddr) String() string {
	if xff := a.header.Get("X-Forwarded-For"); xff != "" {
		return "X-Forwarded-For " + xff + " from " + a.source.String()
	}
	return "from " + a.source.String()
}

// getNoRedirect asks url over plain HTTP without following redirects.
func getNoRedirect(ctx context.Context, url string) (*http.Response, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, "", err
	}
	c := http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res, string(b), err
}

// waitFront polls check every quarter second until it returns nil, and
// fails the test with check's last error after timeout.
func waitFront(ctx context.Context, t *testing.T, timeout time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("waited %s for %s: %v", timeout, what, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// certFor makes a self-signed certificate for name, and returns it and
// its key in PEM and a pool that trusts it.
func certFor(t *testing.T, name string) (certPEM, keyPEM []byte, pool *x509.CertPool) {
	t.Helper()
	p, err := testcert.SelfSigned(24*time.Hour, name)
	if err != nil {
		t.Fatal(err)
	}
	return p.CertPEM, p.KeyPEM, p.Pool()
}

// hashDirs describes every file, directory and link under dirs of tree:
// its type and mode, owner, and the SHA-256 of a file's bytes or a link's
// target. A missing dir is described as missing.
func hashDirs(t *testing.T, tree string, dirs ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, dir := range dirs {
		root := filepath.Join(tree, dir)
		if _, err := os.Lstat(root); err != nil {
			out[dir] = "missing"
			continue
		}
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(tree, path)
			st := fi.Sys().(*syscall.Stat_t)
			desc := fmt.Sprintf("%v %d:%d", fi.Mode(), st.Uid, st.Gid)
			switch {
			case fi.Mode().IsRegular():
				data, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				desc += fmt.Sprintf(" %d %x", len(data), sha256.Sum256(data))
			case fi.Mode()&fs.ModeSymlink != 0:
				target, err := os.Readlink(path)
				if err != nil {
					return err
				}
				desc += " -> " + target
			}
			out[rel] = desc
			return nil
		})
		if err != nil {
			t.Fatalf("hash /%s: %v", dir, err)
		}
	}
	return out
}

// diffHashes lists what differs between two hashDirs, one path a line.
func diffHashes(before, after map[string]string) string {
	var lines []string
	for p, b := range before {
		if a, ok := after[p]; !ok {
			lines = append(lines, "removed /"+p)
		} else if a != b {
			lines = append(lines, fmt.Sprintf("changed /%s: %s -> %s", p, b, a))
		}
	}
	for p, a := range after {
		if _, ok := before[p]; !ok {
			lines = append(lines, "added /"+p+": "+a)
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}
