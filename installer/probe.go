package installer

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Probe looks at the machine around a plan without changing it: the
// preflight checks and the service's health.
type Probe interface {
	// IsRoot reports whether the process runs as root.
	IsRoot() bool
	// FreeBytes returns the space left on the file system holding path.
	FreeBytes(path string) (uint64, error)
	// PortInUse reports whether something listens on TCP port.
	PortInUse(port string) bool
	// LookupHost resolves a DNS name.
	LookupHost(ctx context.Context, name string) ([]string, error)
	// LocalAddrs lists this machine's own IP addresses.
	LocalAddrs() []string
	// Healthy asks url once and reports why it is not healthy.
	Healthy(ctx context.Context, url string) error
	// UnderCloudInit reports whether this process was started by
	// cloud-init (its runcmd, say), which then waits for it.
	UnderCloudInit() bool
	// CertIssuer connects to the TLS server at addr, asking for name, and
	// returns the common name of the issuer of the certificate it serves.
	CertIssuer(ctx context.Context, addr, name string) (string, error)
}

// SystemProbe is the Probe of the machine this process runs on.
type SystemProbe struct{}

// IsRoot reports whether the effective user is root.
func (SystemProbe) IsRoot() bool { return os.Geteuid() == 0 }

// FreeBytes returns the bytes available on path's file system.
func (SystemProbe) FreeBytes(path string) (uint64, error) { return freeBytes(path) }

// PortInUse tries to listen on port on all addresses.
func (SystemProbe) PortInUse(port string) bool {
	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		return true
	}
	ln.Close()
	return false
}

// LookupHost resolves name with the system resolver.
func (SystemProbe) LookupHost(ctx context.Context, name string) ([]string, error) {
	return net.DefaultResolver.LookupHost(ctx, name)
}

// LocalAddrs lists the addresses of the machine's interfaces.
func (SystemProbe) LocalAddrs() []string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			out = append(out, ipn.IP.String())
		}
	}
	return out
}

// Healthy GETs url and wants 200 with {"status":"ok"}.
func (SystemProbe) Healthy(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &body) != nil || body.Status != "ok" {
		return fmt.Errorf("%s answered %d %q", url, resp.StatusCode, data)
	}
	return nil
}

// UnderCloudInit walks this process's ancestors in /proc and reports
// whether one of them runs cloud-init.
func (SystemProbe) UnderCloudInit() bool {
	pid := os.Getppid()
	for range 64 {
		if pid <= 1 {
			return false
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			return false
		}
		if strings.Contains(string(cmdline), "cloud-init") {
			return true
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return false
		}
		// The fields after the command name, which is in parentheses.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) < 2 {
			return false
		}
		if pid, err = strconv.Atoi(f[1]); err != nil {
			return false
		}
	}
	return false
}

// CertIssuer reads the certificate addr serves for name, without
// checking it (the question is who issued it).
func (SystemProbe) CertIssuer(ctx context.Context, addr, name string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	d := tls.Dialer{Config: &tls.Config{ServerName: name, InsecureSkipVerify: true}} //nolint:gosec // only the issuer's name is read
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return "", fmt.Errorf("%s served no certificate", addr)
	}
	return certs[0].Issuer.CommonName, nil
}

// healthReportEvery is how many failed health checks pass between two
// "still waiting" lines: about every five seconds at the usual interval.
const healthReportEvery = 20

// waitHealthy polls url every interval until it is healthy or timeout
// passes, telling note (when not nil) that it waits, and then every
// healthReportEvery checks how long it has waited and why.
func waitHealthy(ctx context.Context, p Probe, url string, timeout, interval time.Duration, note func(string, ...any)) error {
	start := time.Now()
	deadline := start.Add(timeout)
	for n := 1; ; n++ {
		err := p.Healthy(ctx, url)
		if err == nil {
			return nil
		}
		// The first failure is told even when it came after the deadline
		// (a slow first check on a loaded machine): it was waited for.
		if note != nil {
			switch {
			case n == 1:
				note("waiting for chatbox to answer %s (up to %s)", url, timeout)
			case n%healthReportEvery == 0 && !time.Now().After(deadline):
				note("still waiting after %s: %v", time.Since(start).Round(time.Second), err)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("chatbox did not answer %s within %s: %w (see chatbox logs)", url, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}
