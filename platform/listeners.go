package platform

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Listener is a program listening on a TCP port of the host.
type Listener struct {
	Port int
	// PID is the listening process, 0 when it could not be told (another
	// user's process seen without root, say).
	PID int
	// Program is the executable's name (nginx, apache2, caddy), "" when
	// it could not be told.
	Program string
	// Exe is the executable's path on the host, "" when unknown.
	Exe string
	// Package is the OS package the executable came from, "" when the
	// platform cannot tell.
	Package string
}

// String names the listener for a person: "nginx (package nginx-light)",
// "caddy", or "a program that could not be named".
func (l Listener) String() string {
	switch {
	case l.Program == "":
		return "a program that could not be named (run as root to see which)"
	case l.Package != "":
		return fmt.Sprintf("%s (package %s)", l.Program, l.Package)
	}
	return l.Program
}

// IsChatbox reports whether the listener is a chatbox binary.
func (l Listener) IsChatbox() bool {
	return l.Program == "chatbox" || strings.HasPrefix(filepath.Base(l.Exe), "chatbox")
}

// ErrCannotTell is returned by a platform that cannot read its socket
// table; the caller falls back to trying the ports.
var ErrCannotTell = errors.New("this system's listening sockets cannot be read")

// ProcListeners reads the Linux socket table under proc (normally /proc):
// the TCP sockets in state LISTEN on one of ports from net/tcp and
// net/tcp6, matched by inode to the processes whose fd/ holds them. A
// listening socket whose process cannot be read is still reported, with
// PID 0. A missing proc means nothing listens that can be seen: ErrCannotTell.
func ProcListeners(proc string, ports ...int) ([]Listener, error) {
	inodes := map[string]int{} // socket inode → port
	found := false
	for _, name := range []string{"net/tcp", "net/tcp6"} {
		f, err := os.Open(filepath.Join(proc, name))
		if err != nil {
			continue
		}
		found = true
		err = readSocketTable(f, ports, inodes)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", filepath.Join(proc, name), err)
		}
	}
	if !found {
		return nil, ErrCannotTell
	}
	byPort := map[int]*Listener{}
	if len(inodes) > 0 {
		ents, _ := os.ReadDir(proc)
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			fds, err := os.ReadDir(filepath.Join(proc, e.Name(), "fd"))
			if err != nil {
				continue
			}
			for _, fd := range fds {
				target, err := os.Readlink(filepath.Join(proc, e.Name(), "fd", fd.Name()))
				if err != nil || !strings.HasPrefix(target, "socket:[") {
					continue
				}
				port, ok := inodes[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")]
				if !ok {
					continue
				}
				if l := byPort[port]; l != nil && l.PID != 0 && l.PID < pid {
					continue // keep the oldest process: nginx's master, not a worker
				}
				l := &Listener{Port: port, PID: pid}
				l.Exe, _ = os.Readlink(filepath.Join(proc, e.Name(), "exe"))
				l.Exe = strings.TrimSuffix(l.Exe, " (deleted)")
				if comm, err := os.ReadFile(filepath.Join(proc, e.Name(), "comm")); err == nil {
					l.Program = strings.TrimSpace(string(comm))
				}
				if l.Exe != "" {
					l.Program = filepath.Base(l.Exe)
				}
				byPort[port] = l
			}
		}
	}
	var out []Listener
	for _, port := range inodes {
		if byPort[port] == nil {
			byPort[port] = &Listener{Port: port}
		}
	}
	for _, l := range byPort {
		out = append(out, *l)
	}
	slices.SortFunc(out, func(a, b Listener) int { return a.Port - b.Port })
	return out, nil
}

// readSocketTable adds the inodes of the listening sockets on ports in one
// /proc/net/tcp{,6} table to inodes.
func readSocketTable(f *os.File, ports []int, inodes map[string]int) error {
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[3] != "0A" { // 0A is TCP_LISTEN
			continue
		}
		_, hexPort, ok := strings.Cut(fields[1], ":")
		if !ok {
			continue
		}
		port, err := strconv.ParseUint(hexPort, 16, 16)
		if err != nil || !slices.Contains(ports, int(port)) {
			continue
		}
		inodes[fields[9]] = int(port)
	}
	return sc.Err()
}

// DpkgOwner returns the Debian package whose file list (under the host's
// /var/lib/dpkg/info) holds path, or "" when none does.
func DpkgOwner(h *Host, path string) string {
	if path == "" {
		return ""
	}
	// With merged /usr, /usr/sbin/nginx may be listed as /sbin/nginx or
	// the other way round.
	alts := []string{path, strings.TrimPrefix(path, "/usr"), "/usr" + path}
	lists, _ := filepath.Glob(h.Path("/var/lib/dpkg/info/*.list"))
	for _, list := range lists {
		data, err := os.ReadFile(list)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if slices.Contains(alts, line) {
				pkg := strings.TrimSuffix(filepath.Base(list), ".list")
				pkg, _, _ = strings.Cut(pkg, ":") // drop a :amd64 architecture
				return pkg
			}
		}
	}
	return ""
}
