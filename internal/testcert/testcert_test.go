package testcert

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"
)

// A server with the pair is trusted, by name and by address, by a client
// that trusts the pair's pool and nothing else; a name not in it is not.
func TestAClientTrustingThePoolReachesTheServer(t *testing.T) {
	p, err := SelfSigned(time.Hour, "box.test", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := p.Write(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	kp, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatalf("the written pair does not load: %v", err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{kp}}
	srv.StartTLS()
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for _, c := range []struct {
		name string
		ok   bool
	}{{"127.0.0.1", true}, {"box.test", true}, {"other.test", false}} {
		client := &http.Client{Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: p.Pool(), ServerName: c.name},
		}}
		res, err := client.Get("https://127.0.0.1:" + port + "/")
		if err == nil {
			res.Body.Close()
		}
		if (err == nil) != c.ok {
			t.Errorf("as %s: %v, want trusted %v", c.name, err, c.ok)
		}
	}
}
