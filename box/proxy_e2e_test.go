package box_test

// The generated reverse-proxy configurations loaded by the real servers
// Debian ships, in front of a box in proxy mode: each must be accepted by
// the server's own checker, then carry the room's traffic (a health
// check, a post, a WebSocket round trip, an upload of the largest file the
// room takes) and the scheme, so a private room's session cookie is Secure.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/internal/testcert"

	"github.com/gorilla/websocket"

	"github.com/chatbox-dev/chatbox/chat/admin"
	"github.com/chatbox-dev/chatbox/chat/datadir"
	"github.com/chatbox-dev/chatbox/config"
	"github.com/chatbox-dev/chatbox/installer/proxyconf"
)

// proxyTool finds a proxy's program: the test is skipped without
// CHATBOX_E2E=1, and fails when the program is missing under it.
func proxyTool(t *testing.T, name, pkg string) string {
	t.Helper()
	if os.Getenv("CHATBOX_E2E") != "1" {
		t.Skipf("running the real %s in front of the box is an end-to-end test; set CHATBOX_E2E=1 to run it", name)
	}
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("this test needs %s, which is not installed (as root: apt-get install -y %s)", name, pkg)
	}
	return path
}

// selfSigned writes a certificate for localhost and 127.0.0.1 and its key
// into dir, and returns their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	p, err := testcert.SelfSigned(24*time.Hour, "localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := p.Write(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, p.Pool()
}

// proxiedFileSize is the room's largest file in these tests: big enough
// that a limit written in the wrong unit (MB for MiB) refuses it.
const proxiedFileSize = 24 << 20

// proxiedBox starts a box in proxy mode whose public address is
// https://localhost:port/, and renders server's configuration for it.
func proxiedBox(t *testing.T, server string, port int) (config.Config, string) {
	t.Helper()
	cfg := proxyConfig(t)
	cfg.Server.PublicURL = fmt.Sprintf("https://localhost:%d/", port)
	cfg.Room.MaxFileSize = proxiedFileSize
	cfg.Room.Private = true
	startBox(t, cfg)
	for _, s := range proxyconf.Servers() {
		if s.Name == server {
			conf, err := s.Render(proxyconf.Params{Domain: "localhost", Upstream: cfg.Server.Listen, MaxFileSize: proxiedFileSize})
			if err != nil {
				t.Fatal(err)
			}
			return cfg, string(conf)
		}
	}
	t.Fatalf("proxyconf has no %s configuration", server)
	return cfg, ""
}

// adapt replaces each old with its new in conf, failing when the
// configuration no longer holds old: the test adapts only lines it knows.
func adapt(t *testing.T, conf string, oldnew ...string) string {
	t.Helper()
	for i := 0; i < len(oldnew); i += 2 {
		if !strings.Contains(conf, oldnew[i]) {
			t.Fatalf("the configuration no longer has %q; adapt the test:\n%s", oldnew[i], conf)
		}
		conf = strings.ReplaceAll(conf, oldnew[i], oldnew[i+1])
	}
	return conf
}

// runProxy starts a proxy server's process for the test's lifetime.
func runProxy(t *testing.T, name string, cmd *exec.Cmd) <-chan error {
	t.Helper()
	log := newLogBuffer(t, name)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return done
}

// validate runs a proxy's configuration checker and fails with its output.
func validate(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s refuses the configuration: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
}

// throughProxy checks the room's traffic through a proxy serving
// https://localhost:port/ on loopback with the certificate pool trusts.
func throughProxy(t *testing.T, name string, cfg config.Config, port int, pool *x509.CertPool, exited <-chan error) {
	t.Helper()
	password, ok, err := admin.New(datadir.Layout{Dir: cfg.Server.DataDir}.AdminSocket()).InitialPassword(context.Background())
	if err != nil || !ok {
		t.Fatalf("the private room's password: %v (there is one: %v)", err, ok)
	}
	base := fmt.Sprintf("https://localhost:%d", port)
	origin := base
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", port))
	}
	tlsConf := &tls.Config{RootCAs: pool, ServerName: "localhost"}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: dial, TLSClientConfig: tlsConf}}
	t.Cleanup(client.CloseIdleConnections)
	do := func(t *testing.T, method, path, contentType string, body io.Reader) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Origin", origin)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s through %s: %v", method, path, name, err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, b
	}

	waitFor(t, 15*time.Second, name+" to answer "+base+"/healthz", func() error {
		select {
		case err := <-exited:
			t.Fatalf("%s exited: %v", name, err)
		default:
		}
		req, _ := http.NewRequest("GET", base+"/healthz", nil)
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("status %s", res.Status)
		}
		return nil
	})
	t.Run("healthz", func(t *testing.T) {
		res, body := do(t, "GET", "/healthz", "", nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "ok") {
			t.Fatalf("GET /healthz: %s %s", res.Status, body)
		}
	})
	t.Run("a private room's session cookie is Secure", func(t *testing.T) {
		pw, _ := json.Marshal(map[string]string{"password": password})
		res, body := do(t, "POST", "/api/login", "application/json", bytes.NewReader(pw))
		if res.StatusCode != http.StatusOK {
			t.Fatalf("POST /api/login: %s %s", res.Status, body)
		}
		cookies := res.Cookies()
		if len(cookies) == 0 {
			t.Fatalf("no session cookie: %v", res.Header)
		}
		for _, c := range cookies {
			if !c.Secure {
				t.Errorf("cookie %s is not Secure: %s did not tell the room the browser came over HTTPS", c.Name, name)
			}
		}
	})
	if t.Failed() {
		t.FailNow() // everything below needs the session
	}
	t.Run("a post", func(t *testing.T) {
		res, body := do(t, "POST", "/api/messages", "application/json", strings.NewReader(`{"nick":"alice","text":"through the proxy"}`))
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("POST /api/messages: %s %s", res.Status, body)
		}
	})
	t.Run("a WebSocket round trip", func(t *testing.T) {
		d := websocket.Dialer{NetDialContext: dial, TLSClientConfig: tlsConf, Jar: jar, HandshakeTimeout: 10 * time.Second}
		c, res, err := d.Dial("wss://localhost:"+fmt.Sprint(port)+"/ws?nick=bob", http.Header{"Origin": {origin}})
		if err != nil {
			t.Fatalf("dial through %s: %v (%v)", name, err, res)
		}
		defer c.Close()
		if err := c.WriteJSON(map[string]string{"type": "message", "text": "over the socket"}); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			var ev struct {
				Type    string `json:"type"`
				Error   string `json:"error"`
				Message *struct {
					Nick, Text string
				} `json:"message"`
			}
			if err := c.ReadJSON(&ev); err != nil {
				t.Fatalf("waiting for my message back: %v", err)
			}
			if ev.Type == "error" {
				t.Fatalf("the room refused the message: %s", ev.Error)
			}
			if ev.Type == "message" && ev.Message != nil && ev.Message.Nick == "bob" && ev.Message.Text == "over the socket" {
				return
			}
		}
	})
	t.Run("an upload of the largest file the room takes", func(t *testing.T) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		if err := mw.WriteField("nick", "alice"); err != nil {
			t.Fatal(err)
		}
		fw, err := mw.CreateFormFile("file", "big.bin")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(bytes.Repeat([]byte{'x'}, proxiedFileSize)); err != nil {
			t.Fatal(err)
		}
		if err := mw.Close(); err != nil {
			t.Fatal(err)
		}
		res, resBody := do(t, "POST", "/api/files", mw.FormDataContentType(), &body)
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("POST /api/files of %d bytes through %s: %s %.300s", proxiedFileSize, name, res.Status, resBody)
		}
		var msg struct {
			File struct {
				URL  string `json:"url"`
				Size int64  `json:"size"`
			} `json:"file"`
		}
		if err := json.Unmarshal(resBody, &msg); err != nil {
			t.Fatalf("upload's answer: %v: %s", err, resBody)
		}
		if msg.File.Size != proxiedFileSize {
			t.Fatalf("stored %d bytes, sent %d", msg.File.Size, proxiedFileSize)
		}
	})
}

func TestNginxInFrontOfTheBox(t *testing.T) {
	nginx := proxyTool(t, "nginx", "nginx-light")
	dir := t.TempDir()
	port, httpPort := freePort(t), freePort(t)
	cfg, site := proxiedBox(t, "nginx", port)
	certFile, keyFile, pool := selfSigned(t, dir)
	site = adapt(t, site,
		"    listen 80;\n", fmt.Sprintf("    listen 127.0.0.1:%d;\n", httpPort),
		"    listen [::]:80;\n", "",
		"    listen 443 ssl http2;\n", fmt.Sprintf("    listen 127.0.0.1:%d ssl http2;\n", port),
		"    listen [::]:443 ssl http2;\n", "",
		"/etc/letsencrypt/live/localhost/fullchain.pem", certFile,
		"/etc/letsencrypt/live/localhost/privkey.pem", keyFile,
	)
	sitePath := filepath.Join(dir, "chatbox.conf")
	if err := os.WriteFile(sitePath, []byte(site), 0o644); err != nil {
		t.Fatal(err)
	}
	// The main configuration, as /etc/nginx/nginx.conf includes a site,
	// with every file nginx writes in the test's directory.
	mainConf := fmt.Sprintf(`worker_processes 1;
user root;
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[2]s;
}
`, dir, sitePath)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(mainConf), 0o644); err != nil {
		t.Fatal(err)
	}
	global := fmt.Sprintf("pid %s; error_log stderr;", filepath.Join(dir, "nginx.pid"))
	validate(t, exec.Command(nginx, "-t", "-c", confPath, "-g", global))
	exited := runProxy(t, "nginx", exec.Command(nginx, "-c", confPath, "-g", "daemon off; "+global))
	throughProxy(t, "nginx", cfg, port, pool, exited)
	t.Run("plain HTTP is sent to HTTPS", func(t *testing.T) {
		c := http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := c.Get(fmt.Sprintf("http://localhost:%d/x?y=1", httpPort))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "https://localhost/x?y=1" {
			t.Fatalf("got %s to %q, want 301 to https://localhost/x?y=1", res.Status, res.Header.Get("Location"))
		}
	})
}

func TestCaddyInFrontOfTheBox(t *testing.T) {
	caddy := proxyTool(t, "caddy", "caddy")
	dir := t.TempDir()
	port := freePort(t)
	cfg, site := proxiedBox(t, "caddy", port)
	certFile, keyFile, pool := selfSigned(t, dir)
	// The test brings its own certificate on its own port, keeps Caddy's
	// state in its directory, and has no admin endpoint or redirect
	// listener that would need fixed ports.
	site = adapt(t, site,
		"localhost {\n", fmt.Sprintf("https://localhost:%d {\n\tbind 127.0.0.1\n\ttls %s %s\n", port, certFile, keyFile),
	)
	global := fmt.Sprintf("{\n\tadmin off\n\tauto_https disable_redirects\n\tstorage file_system %s\n}\n\n", filepath.Join(dir, "storage"))
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(global+site), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	check := exec.Command(caddy, "validate", "--config", path, "--adapter", "caddyfile")
	check.Env = env
	validate(t, check)
	run := exec.Command(caddy, "run", "--config", path, "--adapter", "caddyfile")
	run.Env = env
	exited := runProxy(t, "caddy", run)
	throughProxy(t, "caddy", cfg, port, pool, exited)
}
