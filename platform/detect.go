package platform

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// OSRelease is what a host says about its operating system: the fields of
// os-release(5) that chatbox uses.
type OSRelease struct {
	ID         string // "debian", "rocky", "openbsd"
	VersionID  string // "12", "9.4", "7.6"; empty when planning for an ID alone
	PrettyName string // "Debian GNU/Linux 12 (bookworm)"
}

// String names the release for a person.
func (r OSRelease) String() string {
	if r.PrettyName != "" {
		return r.PrettyName
	}
	if r.VersionID != "" {
		return r.ID + " " + r.VersionID
	}
	return r.ID
}

// ParseOSRelease reads os-release(5) text.
func ParseOSRelease(data []byte) OSRelease {
	var r OSRelease
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		key, val, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.HasPrefix(key, "#") {
			continue
		}
		if uq, err := strconv.Unquote(val); err == nil {
			val = uq
		} else {
			val = strings.Trim(val, `'"`)
		}
		if strings.IndexFunc(val, unicode.IsControl) >= 0 {
			continue // an escaped control character: not a value we can show or trust
		}
		switch key {
		case "ID":
			if strings.ContainsAny(val, " /") {
				continue
			}
			r.ID = strings.ToLower(val)
		case "VERSION_ID":
			r.VersionID = val
		case "PRETTY_NAME":
			r.PrettyName = val
		}
	}
	return r
}

// Backend makes Platforms for the releases it knows. Platform returns nil
// and no error for a release of another family, and an UnsupportedError
// for a version of its family that it does not support.
type Backend interface {
	// Family is the releases the backend supports: the one table of them.
	Family() Family
	Platform(rel OSRelease) (Platform, error)
}

// Backends are the backends chatbox has, in the order its documentation
// lists the systems. The supported systems are derived from their tables.
type Backends []Backend

// IDs returns the os-release IDs of every supported system, in order.
func (bs Backends) IDs() []string {
	var ids []string
	for _, r := range bs.releases() {
		ids = append(ids, r.ID)
	}
	return ids
}

// Supported names the supported systems and their oldest versions for a
// person: "Debian 11+, RHEL and Rocky Linux 8+ and OpenBSD 7.4+".
// Neighbours with the same oldest version share it.
func (bs Backends) Supported() string {
	all := bs.releases()
	var groups, names []string
	for i, r := range all {
		names = append(names, r.Name)
		if i+1 < len(all) && all[i+1].Min == r.Min {
			continue
		}
		groups = append(groups, andList(names)+" "+r.Min+"+")
		names = nil
	}
	return andList(groups)
}

// releases are the rows of every backend's table, in order.
func (bs Backends) releases() []Release {
	var all []Release
	for _, b := range bs {
		all = append(all, b.Family()...)
	}
	return all
}

// andList joins "a", "b" and "c" as "a, b and c".
func andList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// Detect finds the Platform for the host at root: from osID when it is not
// empty (any machine can plan for any supported OS), else from the kernel
// (goos, normally runtime.GOOS) and root's os-release(5). The host is only
// read; an unsupported OS is refused before anything changes, with an
// UnsupportedError naming what the backends support.
func Detect(ctx context.Context, root, goos, osID string, backends ...Backend) (Platform, error) {
	p, err := detect(ctx, root, goos, osID, backends)
	var unsup *UnsupportedError
	if errors.As(err, &unsup) {
		unsup.Supported = Backends(backends).Supported()
	}
	return p, err
}

func detect(ctx context.Context, root, goos, osID string, backends Backends) (Platform, error) {
	var rel OSRelease
	switch {
	case osID != "":
		if !slices.Contains(backends.IDs(), osID) {
			return nil, &UnsupportedError{Found: fmt.Sprintf("%q", osID)}
		}
		rel = OSRelease{ID: osID}
	case goos == "openbsd" && (root == "" || root == "/"):
		out, err := exec.CommandContext(ctx, "uname", "-r").Output()
		if err != nil {
			return nil, fmt.Errorf("detect the OpenBSD release: %w", err)
		}
		v := strings.TrimSpace(string(out))
		rel = OSRelease{ID: "openbsd", VersionID: v, PrettyName: "OpenBSD " + v}
	case goos != "linux" && (root == "" || root == "/"):
		return nil, &UnsupportedError{Found: goos}
	default:
		h := Host{Root: root}
		data, err := h.ReadFile("/etc/os-release")
		if err != nil {
			data, err = h.ReadFile("/usr/lib/os-release")
		}
		if err != nil {
			return nil, fmt.Errorf("detect the operating system: %w", err)
		}
		rel = ParseOSRelease(data)
	}
	for _, b := range backends {
		p, err := b.Platform(rel)
		if err != nil {
			return nil, err
		}
		if p != nil {
			return p, nil
		}
	}
	return nil, &UnsupportedError{Found: rel.String()}
}

// AtLeast reports whether the dotted version v is min or later. An empty v
// (planning for an ID alone) counts as recent.
func AtLeast(v, min string) bool {
	if v == "" {
		return true
	}
	a, b := strings.Split(v, "."), strings.Split(min, ".")
	for i := range b {
		var x int
		if i < len(a) {
			x, _ = strconv.Atoi(a[i])
		}
		y, _ := strconv.Atoi(b[i])
		if x != y {
			return x > y
		}
	}
	return true
}

// Release is a supported operating system: its os-release ID, its name
// for people and the oldest version chatbox supports.
type Release struct{ ID, Name, Min string }

// Family is the releases one backend supports, in the order the
// documentation lists them.
type Family []Release

// Match returns rel's name and version ("Debian 12") when rel belongs to
// the family, an UnsupportedError when its version is too old, and ""
// when it belongs to another family.
func (f Family) Match(rel OSRelease) (string, error) {
	i := slices.IndexFunc(f, func(r Release) bool { return r.ID == rel.ID })
	if i < 0 {
		return "", nil
	}
	r := f[i]
	if !AtLeast(rel.VersionID, r.Min) {
		return "", &UnsupportedError{Found: rel.String()}
	}
	if rel.VersionID == "" {
		return r.Name, nil
	}
	return r.Name + " " + rel.VersionID, nil
}
