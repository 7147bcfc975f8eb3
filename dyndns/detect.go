package dyndns

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// Family is an IP address family: IPv4 (A records) or IPv6 (AAAA records).
type Family int

// The address families.
const (
	IPv4 Family = 4
	IPv6 Family = 6
)

func (f Family) String() string {
	if f == IPv6 {
		return "IPv6"
	}
	return "IPv4"
}

// RecordType is the DNS record type that holds addresses of the family.
func (f Family) RecordType() string {
	if f == IPv6 {
		return "AAAA"
	}
	return "A"
}

// traceURL is Cloudflare's trace endpoint for the family. The addresses are
// Cloudflare's public resolver, so the request leaves over that family.
func traceURL(f Family) string {
	if f == IPv6 {
		return "https://[2606:4700:4700::1111]/cdn-cgi/trace"
	}
	return "https://1.1.1.1/cdn-cgi/trace"
}

// Detector finds the box's public address of one family with one method.
type Detector struct {
	family Family
	method string
	// Exactly one of the following is set, by method.
	url    string
	iface  string
	static netip.Addr

	client        *http.Client
	allowLoopback bool
}

// NewDetector returns a Detector for method, one of:
//
//	cloudflare.trace    the ip= line of Cloudflare's trace endpoint
//	url:https://…       any URL that answers the address as text (or as a trace)
//	iface:NAME          the first public address of a local interface
//	static:ADDR         a fixed address
//	none                no address of this family: NewDetector returns nil
//
// A url: method needs https, except to a loopback host (tests).
func NewDetector(method string, family Family, opts Options) (*Detector, error) {
	d := &Detector{family: family, method: method, allowLoopback: opts.AllowLoopback}
	kind, arg, _ := strings.Cut(method, ":")
	switch {
	case method == "none":
		return nil, nil
	case method == "cloudflare.trace":
		d.url = traceURL(family)
	case kind == "url":
		u, err := url.Parse(arg)
		if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && loopbackHost(u.Hostname()))) {
			return nil, fmt.Errorf("%q needs an https:// URL after \"url:\"", method)
		}
		d.url = arg
	case kind == "iface" && arg != "":
		d.iface = arg
	case kind == "static":
		a, err := netip.ParseAddr(arg)
		if err != nil {
			return nil, fmt.Errorf("%q does not hold an IP address after \"static:\"", method)
		}
		if a, err = d.check(a); err != nil {
			return nil, err
		}
		d.static = a
	default:
		return nil, fmt.Errorf("%q is not one of cloudflare.trace, url:https://…, iface:NAME, static:ADDR, none", method)
	}
	if d.url != "" {
		d.client = familyClient(family)
	}
	return d, nil
}

// String names the method, for logs.
func (d *Detector) String() string { return d.method }

// Detect returns the public address, or an error when the method fails or
// finds only an address that must not be published.
func (d *Detector) Detect(ctx context.Context) (netip.Addr, error) {
	switch {
	case d.static.IsValid():
		return d.static, nil
	case d.iface != "":
		return d.fromInterface()
	default:
		return d.fromURL(ctx)
	}
}

func (d *Detector) fromURL(ctx context.Context) (netip.Addr, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.url, nil)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("detect public %s address: %w", d.family, err)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("detect public %s address: %w", d.family, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("detect public %s address: read %s: %w", d.family, d.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return netip.Addr{}, fmt.Errorf("detect public %s address: %s answered %s", d.family, d.url, resp.Status)
	}
	a, err := ParseAddress(body)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("detect public %s address: %s: %w", d.family, d.url, err)
	}
	return d.check(a)
}

func (d *Detector) fromInterface() (netip.Addr, error) {
	ifi, err := net.InterfaceByName(d.iface)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("detect public %s address: %w", d.family, err)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("detect public %s address: interface %s: %w", d.family, d.iface, err)
	}
	var rejected error
	for _, a := range addrs {
		ipnet, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipnet.IP)
		if !ok || ip.Unmap().Is4() != (d.family == IPv4) {
			continue
		}
		ip, err := d.check(ip)
		if err == nil {
			return ip, nil
		}
		rejected = err
	}
	if rejected != nil {
		return netip.Addr{}, fmt.Errorf("interface %s has no public %s address: %w", d.iface, d.family, rejected)
	}
	return netip.Addr{}, fmt.Errorf("interface %s has no %s address", d.iface, d.family)
}

// check returns a in the detector's family if it may be published.
func (d *Detector) check(a netip.Addr) (netip.Addr, error) {
	if d.family == IPv4 {
		a = a.Unmap()
		if !a.Is4() {
			return netip.Addr{}, fmt.Errorf("%s is not an IPv4 address", a)
		}
	} else if !a.Is6() || a.Is4In6() {
		return netip.Addr{}, fmt.Errorf("%s is not an IPv6 address", a)
	}
	if d.allowLoopback && a.IsLoopback() {
		return a, nil
	}
	return a, Publishable(a)
}

// ParseAddress reads an IP address from what a "what is my IP" service
// answers: either Cloudflare's trace format (key=value lines, one of them
// ip=ADDR) or the bare address, with surrounding white space.
func ParseAddress(body []byte) (netip.Addr, error) {
	text := body
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("ip=")); ok {
			text = v
			break
		}
	}
	text = bytes.TrimSpace(text)
	if len(text) == 0 {
		return netip.Addr{}, errors.New("the answer holds no address")
	}
	a, err := netip.ParseAddr(string(text))
	if err != nil || a.Zone() != "" {
		const max = 32
		if len(text) > max {
			text = append(text[:max:max], "…"...)
		}
		return netip.Addr{}, fmt.Errorf("the answer %q is not an IP address", text)
	}
	return a, nil
}

// notPublic are the ranges no box can be reached at from the internet
// (RFC 6890 special-purpose registries: private, loopback, link-local,
// shared address space/CGNAT, unique local, and the like).
var notPublic = prefixes(
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
	"172.16.0.0/12", "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15",
	"224.0.0.0/4", "240.0.0.0/4",
	"::/128", "::1/128", "64:ff9b:1::/48", "100::/64", "fc00::/7", "fe80::/10", "ff00::/8",
)

// cloudflareRanges are Cloudflare's own published address ranges, from
// https://www.cloudflare.com/ips-v4 and https://www.cloudflare.com/ips-v6.
// A detected address in them is Cloudflare's proxy, not the box.
var cloudflareRanges = prefixes(
	"173.245.48.0/20", "103.21.244.0/22", "103.22.200.0/22", "103.31.4.0/22",
	"141.101.64.0/18", "108.162.192.0/18", "190.93.240.0/20", "188.114.96.0/20",
	"197.234.240.0/22", "198.41.128.0/17", "162.158.0.0/15", "104.16.0.0/13",
	"104.24.0.0/14", "172.64.0.0/13", "131.0.72.0/22",
	"2400:cb00::/32", "2606:4700::/32", "2803:f800::/32", "2405:b500::/32",
	"2405:8100::/32", "2a06:98c0::/29", "2c0f:f248::/32",
)

func prefixes(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(s))
	for i, p := range s {
		out[i] = netip.MustParsePrefix(p)
	}
	return out
}

// Publishable reports why a must not go into a DNS record as the box's
// public address, or nil when it may: private, loopback, link-local,
// CGNAT, multicast and other special-purpose addresses, and Cloudflare's
// own ranges, are refused.
func Publishable(a netip.Addr) error {
	a = a.Unmap()
	for _, p := range notPublic {
		if p.Contains(a) {
			return fmt.Errorf("%s is not a public address (it is in %s)", a, p)
		}
	}
	for _, p := range cloudflareRanges {
		if p.Contains(a) {
			return fmt.Errorf("%s is one of Cloudflare's own addresses (%s), not the box's", a, p)
		}
	}
	return nil
}

func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// familyClient returns an HTTP client whose connections use only the
// family's addresses, so the service sees (and answers) that family.
func familyClient(f Family) *http.Client {
	network := "tcp4"
	if f == IPv6 {
		network = "tcp6"
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = func(ctx context.Context, _, addr string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, addr)
	}
	return &http.Client{
		Transport: tr,
		Timeout:   20 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			// An https service must not hand the answer to plain http,
			// where anyone on the way could change the address.
			if req.URL.Scheme != "https" && via[0].URL.Scheme == "https" {
				return fmt.Errorf("refusing the redirect from %s to plain http", via[0].URL.Host)
			}
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			return nil
		},
	}
}
