// Command backupbench measures `chatbox backup` of a room as the command
// runs on a box: a `chatbox serve --dev` process holds the room, and a
// separate `chatbox backup` process asks it for a copy of the store over
// the admin socket and writes and checks the archive.
//
//	go run ./bench/backupbench -messages 10000 -mib 50,200
//
// It fills a fresh data folder with -messages messages, then, for each
// size in -mib (ascending), adds uploads until the folder holds that many
// MiB of random (incompressible) files and runs one backup. Half of each
// step's new bytes are one file, so that holding a whole file in memory
// would show. For each backup it prints the wall time, the backup
// process's peak RSS (its rusage, as /usr/bin/time -v reports it) and
// how much the server's peak RSS (VmHWM, reset through clear_refs just
// before) rose above its RSS while it made the copy.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/chat/datadir"
)

func main() {
	messages := flag.Int("messages", 10000, "messages in the room")
	sizes := flag.String("mib", "50,200", "MiB of uploads at each backup, ascending, comma-separated")
	bin := flag.String("chatbox", "", "chatbox binary to measure (default: build ./cmd/chatbox)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *messages, *sizes, *bin); err != nil {
		fmt.Fprintln(os.Stderr, "backupbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, messages int, sizes, bin string) error {
	var mibs []int
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 2 || len(mibs) > 0 && n <= mibs[len(mibs)-1] {
			return fmt.Errorf("-mib %q: want ascending sizes of at least 2 MiB", sizes)
		}
		mibs = append(mibs, n)
	}
	work, err := os.MkdirTemp("", "backupbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if bin == "" {
		bin = filepath.Join(work, "chatbox")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/chatbox")
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("go build ./cmd/chatbox (run from the repository's root): %w", err)
		}
	}
	dir := filepath.Join(work, "data")
	start := time.Now()
	if err := fillMessages(ctx, dir, messages); err != nil {
		return err
	}
	fmt.Printf("machine: %s, %d cores, load average %s\n", cpuModel(), runtime.NumCPU(), loadAvg())
	fmt.Printf("filled the room with %d messages in %v\n", messages, time.Since(start).Round(time.Millisecond))

	addr, err := freePort()
	if err != nil {
		return err
	}
	serve := exec.CommandContext(ctx, bin, "serve", "--dev", "--listen", addr, "--data", dir)
	serve.Stdout, serve.Stderr = io.Discard, io.Discard
	serve.Cancel = func() error { return serve.Process.Signal(syscall.SIGTERM) }
	serve.WaitDelay = 10 * time.Second
	if err := serve.Start(); err != nil {
		return fmt.Errorf("start chatbox serve: %w", err)
	}
	defer serve.Wait()
	defer serve.Process.Signal(syscall.SIGTERM)
	if err := waitHealthy(ctx, "http://"+addr+"/healthz", 30*time.Second); err != nil {
		return err
	}
	// An empty config file, kept in the backup as a box's would be.
	conf := filepath.Join(work, "config.toml")
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		return err
	}

	rng := rand.NewChaCha8([32]byte{7})
	have, next := 0, 0
	fmt.Println("| messages | files | archive | time | backup process: peak RSS | server: peak RSS above its RSS |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, mib := range mibs {
		if next, err = addFiles(dir, rng, mib-have, next); err != nil {
			return err
		}
		have = mib
		out := filepath.Join(work, fmt.Sprintf("backup-%d.tar.gz", mib))
		before, err := serverRSS(serve.Process.Pid)
		if err != nil {
			return err
		}
		backup := exec.CommandContext(ctx, bin, "backup", "--data", dir, "--config", conf, out)
		backup.Stderr = os.Stderr
		t0 := time.Now()
		if msg, err := backup.Output(); err != nil {
			return fmt.Errorf("chatbox backup: %w: %s", err, msg)
		}
		took := time.Since(t0)
		peak := backup.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB on Linux
		server, err := procStatusKiB(serve.Process.Pid, "VmHWM")
		if err != nil {
			return err
		}
		fi, err := os.Stat(out)
		if err != nil {
			return err
		}
		fmt.Printf("| %d | %d MiB | %.1f MB | %.1f s | %.1f MiB | %.1f MiB |\n", messages, mib, float64(fi.Size())/1e6,
			took.Seconds(), float64(peak)/1024, float64(server-before)/1024)
		os.Remove(out)
	}
	fmt.Printf("load average after: %s\n", loadAvg())
	return nil
}

// fillMessages makes the room in dir and appends n messages, each stored
// as the room stores a posted one (one fsync each).
func fillMessages(ctx context.Context, dir string, n int) error {
	store, err := chat.OpenStore(ctx, dir)
	if err != nil {
		return err
	}
	defer store.Close()
	if _, err := store.UpdateRoom(func(st *chat.RoomState) error { st.Exists = true; return nil }); err != nil {
		return err
	}
	text := strings.Repeat("a message of some length ", 8)
	for i := range n {
		if _, err := store.Append(ctx, chat.Message{Nick: "ann", Text: fmt.Sprint(i, text)}); err != nil {
			return fmt.Errorf("append message %d: %w", i, err)
		}
	}
	return store.Close()
}

// addFiles adds mib MiB of uploads to dir, streamed from rng: one file of
// half of it, the rest in 1 MiB files. It returns the next upload number.
func addFiles(dir string, rng io.Reader, mib, next int) (int, error) {
	l := datadir.Layout{Dir: dir}
	sizes := []int64{int64(mib/2) << 20}
	for range mib - mib/2 {
		sizes = append(sizes, 1<<20)
	}
	for _, size := range sizes {
		d := l.Files(fmt.Sprintf("%032x", next))
		next++
		if err := os.MkdirAll(d, 0o750); err != nil {
			return next, err
		}
		f, err := os.Create(filepath.Join(d, "original"))
		if err != nil {
			return next, err
		}
		_, err = io.CopyN(f, rng, size)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return next, fmt.Errorf("write an upload: %w", err)
		}
	}
	return next, nil
}

// serverRSS resets the server's peak RSS to its RSS now and returns it.
func serverRSS(pid int) (int64, error) {
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		return 0, fmt.Errorf("reset the server's peak RSS: %w", err)
	}
	return procStatusKiB(pid, "VmRSS")
}

// procStatusKiB reads a field of /proc/PID/status, in KiB.
func procStatusKiB(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

func waitHealthy(ctx context.Context, url string, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("chatbox serve did not answer %s within %v", url, within)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
		}
	}
	return "unknown CPU"
}

func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(data))[:3], " ")
}
