package platform

import (
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestProcListenersReadsThisMachinesSocketTable(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the socket table is in /proc on Linux only")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	found, err := ProcListeners("/proc", port)
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	if len(found) != 1 || found[0].PID != os.Getpid() || found[0].Port != port || found[0].Exe != exe {
		t.Fatalf("got %+v, want this test (pid %d, %s) on port %d", found, os.Getpid(), exe, port)
	}
}

func TestProcListeners(t *testing.T) {
	proc := t.TempDir()
	put := func(p, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(proc, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(proc, p), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, p string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(proc, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(proc, p)); err != nil {
			t.Fatal(err)
		}
	}
	head := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	// Port 80 (0x50) listens on IPv4, held by nginx's master (100) and a
	// worker (200); port 443 (0x1BB) listens on IPv6 and its process cannot
	// be read; port 22 listens but was not asked about; a connection from
	// port 80 (state 01) is no listener.
	put("net/tcp", head+
		"   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0 100 0 0 10 0\n"+
		"   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 222 1 0 100 0 0 10 0\n"+
		"   2: 0100007F:0050 0100007F:D000 01 00000000:00000000 00:00000000 00000000     0        0 333 1 0 100 0 0 10 0\n")
	put("net/tcp6", head+
		"   0: 00000000000000000000000000000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 444 1 0 100 0 0 10 0\n")
	for _, pid := range []string{"100", "200"} {
		link("socket:[111]", pid+"/fd/6")
		link("/usr/sbin/nginx", pid+"/exe")
	}
	link("socket:[333]", "300/fd/3")
	link("/usr/bin/curl", "300/exe")

	found, err := ProcListeners(proc, 80, 443)
	if err != nil {
		t.Fatal(err)
	}
	want := []Listener{{Port: 80, PID: 100, Program: "nginx", Exe: "/usr/sbin/nginx"}, {Port: 443}}
	if len(found) != len(want) || found[0] != want[0] || found[1] != want[1] {
		t.Fatalf("got %+v, want %+v", found, want)
	}
	if got := found[1].String(); got != "a program that could not be named (run as root to see which)" {
		t.Errorf("an unreadable listener is called %q", got)
	}
	if _, err := ProcListeners(filepath.Join(proc, "missing"), 80); err != ErrCannotTell {
		t.Errorf("a missing /proc gives %v, want ErrCannotTell", err)
	}
}
