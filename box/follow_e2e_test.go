package box_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/box"
)

// whatIsMyIP is a loopback "what is my IP" service whose answer the test
// sets; with no answer it fails with 503.
type whatIsMyIP struct {
	*httptest.Server
	mu       sync.Mutex
	answer   string
	requests atomic.Int64
}

func startWhatIsMyIP(t *testing.T, answer string) *whatIsMyIP {
	t.Helper()
	w := &whatIsMyIP{answer: answer}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		w.requests.Add(1)
		w.mu.Lock()
		answer := w.answer
		w.mu.Unlock()
		if answer == "" {
			http.Error(rw, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(rw, answer)
	}))
	t.Cleanup(w.Close)
	return w
}

// set makes the service answer addr, or fail when addr is empty.
func (w *whatIsMyIP) set(addr string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.answer = addr
}

// freeWildcardPorts returns ports nothing listens on at any address, for a
// box that listens on all of them (127.0.0.1 and 127.0.0.2 alike).
func freeWildcardPorts(t *testing.T) ports {
	t.Helper()
	free := func() int {
		ln, err := net.Listen("tcp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().(*net.TCPAddr).Port
	}
	return ports{http: free(), https: free()}
}

// servedLeaf returns the leaf certificate the box's HTTPS listener gives a
// client that connects to ip without SNI, trusting nothing.
func servedLeaf(t *testing.T, ip string, p ports) (string, error) {
	t.Helper()
	resp, _, err := get(client(net.JoinHostPort(ip, strconv.Itoa(p.https)), nil, true), fmt.Sprintf("https://%s/healthz", net.JoinHostPort(ip, strconv.Itoa(p.https))))
	if err != nil {
		return "", err
	}
	leaf := resp.TLS.PeerCertificates[0]
	return fmt.Sprintf("%v serial %v", leaf.IPAddresses, leaf.SerialNumber), nil
}

func TestIPOnlyBoxFollowsItsPublicAddress(t *testing.T) {
	requireE2E(t)
	p := freeWildcardPorts(t)
	dnsSrv := startDNS(t, testZone, nil, nil)
	ca := startPebble(t, p, dnsSrv.addr, 5)
	myIP := startWhatIsMyIP(t, "127.0.0.1")
	cfg := boxConfig(t, p, ca.directory, ca.serverRoot)
	// Listening on every address lets the box (and Pebble's checks) be
	// reached at 127.0.0.2 as well as at 127.0.0.1.
	cfg.Server.HTTPListen = fmt.Sprintf(":%d", p.http)
	cfg.Server.HTTPSListen = fmt.Sprintf(":%d", p.https)
	// No server.ip: the box detects the address it starts with.
	cfg.Server.IPDetect = "url:" + myIP.URL
	managed := make(chan func(string) bool, 1)
	b := startBoxWith(t, cfg, box.TestOptions{AllowLoopback: true, IPCheckEvery: 200 * time.Millisecond, Managed: managed})
	var isManaged func(string) bool
	select {
	case isManaged = <-managed:
	case <-time.After(10 * time.Second):
		t.Fatal("the box did not start managing its certificate")
	}

	resp := waitForTrustedCert(t, "127.0.0.1", p, ca.roots, issueTimeout)
	first := checkServedChain(t, resp, "127.0.0.1", ca.roots)
	if len(first.IPAddresses) != 1 || !first.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) {
		t.Fatalf("the first certificate is for %v, want 127.0.0.1", first.IPAddresses)
	}
	firstServed, err := servedLeaf(t, "127.0.0.1", p)
	if err != nil {
		t.Fatal(err)
	}

	// A failed detection changes nothing.
	myIP.set("")
	asked := myIP.requests.Load()
	waitFor(t, 10*time.Second, "two failed detections to be logged", func() error {
		if myIP.requests.Load() < asked+2 || !strings.Contains(b.log.String(), "could not detect the public address") {
			return errNotYet
		}
		return nil
	})
	if now, err := servedLeaf(t, "127.0.0.1", p); err != nil || now != firstServed {
		t.Errorf("after failed detections the box serves %s, %v; want %s still", now, err, firstServed)
	}
	if !isManaged("127.0.0.1") {
		t.Errorf("after failed detections 127.0.0.1 is no longer managed")
	}

	// The address changes: a client at the new one, sending no SNI,
	// gets a trusted certificate for it, and the old one is dropped.
	myIP.set("127.0.0.2")
	resp = waitForTrustedCert(t, "127.0.0.2", p, ca.roots, issueTimeout)
	second := checkServedChain(t, resp, "127.0.0.2", ca.roots)
	if !slices.ContainsFunc(second.IPAddresses, func(ip net.IP) bool { return ip.Equal(net.IPv4(127, 0, 0, 2)) }) {
		t.Errorf("the new certificate is for %v, want 127.0.0.2", second.IPAddresses)
	}
	if life := second.NotAfter.Sub(second.NotBefore); life > 7*24*time.Hour {
		t.Errorf("the new certificate lives %v, want the shortlived profile (6 days)", life)
	}
	if got := ca.profiles(); len(got) < 2 || slices.ContainsFunc(got, func(p string) bool { return p != "shortlived" }) {
		t.Errorf("the box ordered with profiles %q, want shortlived for both addresses", got)
	}
	if isManaged("127.0.0.1") {
		t.Errorf("the old address 127.0.0.1 is still managed")
	}
	if !isManaged("127.0.0.2") {
		t.Errorf("the new address 127.0.0.2 is not managed")
	}
	checkRedirect(t, p, "127.0.0.2")
	if log := b.log.String(); !strings.Contains(log, "the public address changed") || !strings.Contains(log, `new=127.0.0.2`) {
		t.Errorf("the change of address was not logged")
	}
}
