//go:build linux

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/internal/vmtest"
)

// powerCutInit is the short boot's /init: it starts the box on the
// machine's own ext4 disk, and serves a listing of the uploads on disk on
// port 8081 (the test checks, once the box has opened its store and swept
// what a cut left half-done, that each belongs to a stored message).
const powerCutInit = `#!/bin/sh
cd /run/box
(HOME=/run/box /run/box/chatbox serve --dev --listen 0.0.0.0:80 --data /run/box/data --config /run/box/config.toml
echo "vmtest: chatbox exited with status $?") &
exec python3 -m http.server 8081 --bind 0.0.0.0 --directory /run/box/data/files
`

// TestVMPowerCutsLoseNothing cuts a real machine's power while the host
// posts messages and uploads at a steady rate. QEMU is killed with
// SIGKILL, so whatever the guest kernel had not flushed to the virtual
// disk (QEMU's cache=writeback, which honours flushes) is gone, as in a
// power cut; SIGKILL of chatbox alone (TestCrashesUnderMixedLoadLoseNothing)
// keeps the page cache. After each cut the machine boots again: ext4
// replays its journal, the store opens, every message that got a 201 is
// there with its text, every upload that got a 201 is served whole, and
// every upload on disk belongs to a stored message once the box has
// opened its store.
//
// To keep a boot short under emulation, the machine does not boot systemd:
// its init mounts the data disk and starts chatbox serve (see vmtest's
// BootInit). The kernel, the virtio disk, ext4 and the flushes are real.
// CHATBOX_VM_CUTS sets the number of cuts (default 5).
func TestVMPowerCutsLoseNothing(t *testing.T) {
	env := vmtest.Setup(t)
	cuts := 5
	if n, err := strconv.Atoi(os.Getenv("CHATBOX_VM_CUTS")); err == nil && n > 0 {
		cuts = n
	}
	powerCuts(t, env, vmtest.Debian13(), cuts)
}

// TestVMPowerCutOnARM64 is one power cut of a Debian 13 arm64 machine
// (qemu-system-aarch64 -M virt) running the linux/arm64 binary, built as
// a release's: what a Raspberry Pi's box does when its plug is pulled.
func TestVMPowerCutOnARM64(t *testing.T) {
	vmtest.SkipUnlessFull(t, "the arm64 power cut (its image takes 20 minutes to build under qemu-user)")
	env := vmtest.Setup(t)
	powerCuts(t, env, vmtest.Debian13ARM64(), 1)
}

// powerCuts cuts the power of a machine of r cuts times under load (see
// TestVMPowerCutsLoseNothing).
func powerCuts(t *testing.T, env *vmtest.Env, r vmtest.Release, cuts int) {
	// An image built under emulation (arm64) takes up to an hour on a
	// busy machine; it has a bound of its own.
	ictx, icancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer icancel()
	img := env.Image(ictx, t, r)
	// Under emulation on a busy machine a boot takes up to two minutes
	// (arm64 more).
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(5+4*cuts)*time.Minute)
	defer cancel()
	bin := vmtest.BuildChatbox(ctx, t, r.Arch)

	box := filepath.Join(t.TempDir(), "box")
	for _, d := range []string{"data"} {
		if err := os.MkdirAll(filepath.Join(box, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(box, "init"), powerCutInit, 0o755)
	writeFile(t, filepath.Join(box, "config.toml"), "[limits]\nposts_per_minute = 1000000\nroom_posts_per_minute = 1000000\nreads_per_minute = 1000000\n", 0o644)
	raw, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(box, "chatbox"), string(raw), 0o755)
	disk := filepath.Join(t.TempDir(), "box.raw")
	if err := vmtest.NewDataDisk(ctx, disk, box, "1G"); err != nil {
		t.Fatal(err)
	}

	vm := env.BootInit(ctx, t, img, disk, "power-cut", vmtest.Options{ExtraPorts: []int{8081}})
	url := fmt.Sprintf("http://127.0.0.1:%d", vm.HTTPPort)
	var acked []storedMessage
	uploads := map[string][32]byte{} // file id -> sha256 of what was sent
	var lost, failedOpen, halfWritten, checked int
	for cut := 0; cut <= cuts; cut++ {
		step := vmtest.Step(t, fmt.Sprintf("boot %d", cut))
		if cut > 0 {
			if err := vm.Start(); err != nil {
				t.Fatal(err)
			}
		}
		if err := waitHealthy(ctx, vm, url, 3*time.Minute); err != nil {
			failedOpen++
			t.Fatalf("boot %d: %v (stores failed to open: %d)\nconsole:\n%s", cut, err, failedOpen, lastBoot(vm.Console()))
		}
		step()
		if cut > 0 {
			l, h, n := checkAfterPowerCut(ctx, t, url, fmt.Sprintf("http://127.0.0.1:%d/", vm.Ports[8081]), acked, uploads)
			lost, halfWritten, checked = lost+l, halfWritten+h, n
			if t.Failed() {
				t.FailNow()
			}
		}
		if cut == cuts {
			break
		}

		load, stop := context.WithCancel(ctx)
		var mu sync.Mutex
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { // a message every 50 ms
			defer wg.Done()
			c := &http.Client{Timeout: 10 * time.Second}
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-load.Done():
					return
				case <-tick.C:
				}
				res, raw, err := postJSON(load, c, url+"/api/messages", map[string]string{"nick": "w", "text": fmt.Sprintf("cut %d message %d", cut, i)})
				var m storedMessage
				if err == nil && res.StatusCode == http.StatusCreated && json.Unmarshal(raw, &m) == nil {
					mu.Lock()
					acked = append(acked, m)
					mu.Unlock()
				}
			}
		}()
		go func() { // a 64 KiB upload every 250 ms
			defer wg.Done()
			c := &http.Client{Timeout: 10 * time.Second}
			tick := time.NewTicker(250 * time.Millisecond)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-load.Done():
					return
				case <-tick.C:
				}
				data := make([]byte, 64<<10)
				rand.Read(data)
				res, raw, err := postFile(load, c, url, fmt.Sprintf("cut%d-%d.bin", cut, i), data)
				var m storedMessage
				if err == nil && res.StatusCode == http.StatusCreated && json.Unmarshal(raw, &m) == nil && m.File != nil {
					mu.Lock()
					acked = append(acked, m)
					uploads[m.File.ID] = sha256.Sum256(data)
					mu.Unlock()
				}
			}
		}()
		// The cut comes at a random moment 1 to 6 s into the load.
		at := time.Duration(1000+mrand.IntN(5000)) * time.Millisecond
		select {
		case <-time.After(at):
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
		vm.Kill()
		stop()
		wg.Wait()
		t.Logf("cut %d after %s of load: %d messages acknowledged so far", cut+1, at, len(acked))
	}
	vm.Kill()
	nUploads := len(uploads)
	t.Logf("RELIABILITY power cuts: %d cuts of a %s machine under QEMU (%s); %d messages acknowledged (%d of them uploads), %d checked after the last boot; lost %d, stores failed to open %d, half-written or missing uploads %d",
		cuts, r.Name, env.Accel(ctx, img), len(acked), nUploads, checked, lost, failedOpen, halfWritten)
}

// checkAfterPowerCut compares the booted box with what was acknowledged
// before the cut. It returns the lost messages, the uploads not served
// whole or on disk without a message, and how many messages it checked.
func checkAfterPowerCut(ctx context.Context, t *testing.T, url, listing string, acked []storedMessage, uploads map[string][32]byte) (lost, bad, checked int) {
	t.Helper()
	stored := map[uint64]storedMessage{}
	for after := uint64(0); ; {
		res, err := http.Get(fmt.Sprintf("%s/api/messages?after=%d&limit=1000", url, after))
		if err != nil {
			t.Fatalf("read history after the cut: %v", err)
		}
		var page []storedMessage
		err = json.NewDecoder(res.Body).Decode(&page)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("read history after the cut: %d %v", res.StatusCode, err)
		}
		for _, m := range page {
			stored[m.ID] = m
		}
		next := res.Header.Get("X-Next-After")
		if next == "" {
			break
		}
		after, _ = strconv.ParseUint(next, 10, 64)
	}
	for _, a := range acked {
		checked++
		got, ok := stored[a.ID]
		if !ok || got.Text != a.Text || (a.File != nil) != (got.File != nil) {
			lost++
			t.Errorf("acknowledged message %d %q is lost after the power cut", a.ID, a.Text)
		}
	}
	referenced := map[string]bool{}
	for _, m := range stored {
		if m.File == nil {
			continue
		}
		referenced[m.File.ID] = true
		res, err := http.Get(url + m.File.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		want, sent := uploads[m.File.ID]
		if err != nil || res.StatusCode != http.StatusOK || (sent && sha256.Sum256(body) != want) {
			bad++
			t.Errorf("upload %s: %d, %d bytes, not what was sent", m.File.URL, res.StatusCode, len(body))
		}
	}
	// The upload folders on disk, as the guest lists them.
	var page string
	err := vmtest.WaitFor(ctx, "the guest's listing of files/", time.Minute, time.Second, func(ctx context.Context) (bool, error) {
		res, err := http.Get(listing)
		if err != nil {
			return false, err
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		page = string(body)
		return err == nil && (res.StatusCode == http.StatusOK || res.StatusCode == http.StatusNotFound), fmt.Errorf("status %d", res.StatusCode)
	})
	if err != nil {
		t.Fatal(err)
	}
	onDisk := map[string]bool{}
	for _, m := range regexp.MustCompile(`href="([0-9a-f]+)/"`).FindAllStringSubmatch(page, -1) {
		onDisk[m[1]] = true
		if !referenced[m[1]] {
			bad++
			t.Errorf("upload %s is on disk without a stored message", m[1])
		}
	}
	for id := range referenced {
		if !onDisk[id] { // also shows that the listing is read right
			t.Errorf("the stored upload %s is not in the guest's listing of files/", id)
		}
	}
	return lost, bad, checked
}

// lastBoot is the console output since the last power-on.
func lastBoot(console string) string {
	if i := strings.LastIndex(console, "==== vmtest: power on"); i >= 0 {
		return console[i:]
	}
	return console
}

// waitHealthy waits until the box on vm answers /healthz at url; a
// machine whose QEMU has exited ends the wait at once.
func waitHealthy(ctx context.Context, vm *vmtest.VM, url string, limit time.Duration) error {
	c := &http.Client{Timeout: 5 * time.Second}
	return vmtest.WaitFor(ctx, "the box's /healthz", limit, 500*time.Millisecond, func(ctx context.Context) (bool, error) {
		if !vm.Running() {
			return false, vmtest.Hopeless(errors.New("QEMU exited"))
		}
		res, err := c.Get(url + "/healthz")
		if err != nil {
			return false, err
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK, fmt.Errorf("status %d", res.StatusCode)
	})
}

func postFile(ctx context.Context, c *http.Client, url, name string, data []byte) (*http.Response, []byte, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("nick", "uploader")
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequestWithContext(ctx, "POST", url+"/api/files", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return roundTrip(c, req)
}

func writeFile(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}
