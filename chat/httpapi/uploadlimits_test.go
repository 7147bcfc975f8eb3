package httpapi

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// multipartHead returns the start of a multipart body with a nick and a
// file part of the given name, the end of it, and its content type.
func multipartHead(nick, name string) (head, tail []byte, ctype string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("nick", nick)
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+name+`"`)
	h.Set("Content-Type", "application/octet-stream")
	mw.CreatePart(h)
	head = append([]byte(nil), b.Bytes()...)
	b.Reset()
	mw.Close()
	return head, b.Bytes(), mw.FormDataContentType()
}

// stagedUploads returns the staging folders of the room in dir.
func stagedUploads(t *testing.T, dir string) []string {
	t.Helper()
	staged, err := filepath.Glob(filepath.Join(dir, "files", ".incoming", "*"))
	if err != nil {
		t.Fatal(err)
	}
	return staged
}

// dirSize adds up the sizes of the regular files under dir.
func dirSize(dir string) int64 {
	var total int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	return total
}

// TestSlowUploadIsCut sends an upload's headers and the first bytes of
// its body, then nothing: the server must cut it after the rate window,
// answer why, and leave no staged bytes behind. Before the minimum rate it
// waited for the body for ever (five such uploads were open at 100 s).
func TestSlowUploadIsCut(t *testing.T) {
	const window = 200 * time.Millisecond
	tr := newTestRoom(t, func(o *testOptions) {
		o.Web.UploadMinRate = 64 << 10
		o.Web.UploadRateWindow = window
	})
	head, _, ctype := multipartHead("alice", "slow.bin")
	conn, err := net.Dial("tcp", tr.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/files HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		tr.srv.Listener.Addr(), ctype, 1<<20)
	conn.Write(head)
	conn.Write(bytes.Repeat([]byte("x"), 1000))
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the stalled upload got no answer: %v", err)
	}
	raw, _ := io.ReadAll(res.Body)
	took := time.Since(start)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(raw), "too slow") {
		t.Fatalf("a stalled upload got %d %s, want 400 saying it was too slow", res.StatusCode, raw)
	}
	t.Logf("RELIABILITY a stalled upload was cut after %v (window %v)", took.Round(time.Millisecond), window)
	if staged := stagedUploads(t, tr.dir); len(staged) != 0 {
		t.Fatalf("the cut upload left %v staged", staged)
	}
	if n, _ := messageCount(tr.Room); n != 0 {
		t.Fatalf("%d messages stored from a cut upload", n)
	}
}

// TestSteadyUploadOverManyWindowsIsKept sends an upload in pieces well
// above the minimum rate, over several windows: it is stored.
func TestSteadyUploadOverManyWindowsIsKept(t *testing.T) {
	const window = 100 * time.Millisecond
	tr := newTestRoom(t, func(o *testOptions) {
		o.Web.UploadMinRate = 16 << 10
		o.Web.UploadRateWindow = window
	})
	head, tail, ctype := multipartHead("alice", "steady.bin")
	pr, pw := io.Pipe()
	go func() {
		pw.Write(head)
		for range 10 {
			pw.Write(bytes.Repeat([]byte("y"), 32<<10)) // 32 KiB per 25 ms, 80 times the minimum
			time.Sleep(window / 4)
		}
		pw.Write(tail)
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", tr.srv.URL+"/api/files", pr)
	req.Header.Set("Content-Type", ctype)
	res, err := tr.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("a steady upload got %d %s", res.StatusCode, raw)
	}
}

// TestConcurrentUploadsStayWithinQuota starts ten uploads of 900 KiB at
// once into a room with a 3 MiB quota and 1 MiB files, each holding its
// last bytes back; while they wait, the data directory must hold no more
// than the quota and one max_file_size. Before staged bytes counted
// against the quota, all ten were received (9 MiB on disk).
func TestConcurrentUploadsStayWithinQuota(t *testing.T) {
	const (
		quota   = 3 << 20
		maxFile = 1 << 20
		each    = 900 << 10
		first   = 800 << 10
		uploads = 10
	)
	tr := newTestRoom(t, func(o *testOptions) {
		o.Quota, o.MaxFileSize = quota, maxFile
	})
	head, tail, ctype := multipartHead("alice", "part.bin")
	release := make(chan struct{})
	type result struct {
		status int
		body   string
		err    error
	}
	results := make(chan result, uploads)
	var wg sync.WaitGroup
	for range uploads {
		wg.Go(func() {
			pr, pw := io.Pipe()
			go func() {
				pw.Write(head)
				pw.Write(bytes.Repeat([]byte("z"), first))
				<-release
				pw.Write(bytes.Repeat([]byte("z"), each-first))
				pw.Write(tail)
				pw.Close()
			}()
			req, _ := http.NewRequest("POST", tr.srv.URL+"/api/files", pr)
			req.Header.Set("Content-Type", ctype)
			res, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				results <- result{err: err}
				return
			}
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			results <- result{status: res.StatusCode, body: string(raw)}
		})
	}
	// Wait until every upload is either refused or has staged its first
	// part, then measure.
	var done []result
	deadline := time.Now().Add(20 * time.Second)
	for {
		for len(results) > 0 {
			done = append(done, <-results)
		}
		full := 0
		for _, s := range stagedUploads(t, tr.dir) {
			if info, err := os.Stat(filepath.Join(s, "original")); err == nil && info.Size() >= first {
				full++
			}
		}
		if full+len(done) == uploads {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20 s, %d uploads staged and %d answered of %d", full, len(done), uploads)
		}
		time.Sleep(5 * time.Millisecond)
	}
	onDisk := dirSize(tr.dir + "/files")
	t.Logf("RELIABILITY %d concurrent uploads of %d KiB, quota %d MiB, max_file_size %d MiB: %d refused at once, %d KiB on disk while they ran",
		uploads, each>>10, quota>>20, maxFile>>20, len(done), onDisk>>10)
	if onDisk > quota+maxFile {
		t.Errorf("%d KiB on disk while uploads ran, want at most the quota and one file (%d KiB)", onDisk>>10, (quota+maxFile)>>10)
	}
	for _, r := range done {
		if r.err != nil || r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, "quota") {
			t.Errorf("an upload over the staging budget got %d %s %v, want 413 naming the quota", r.status, r.body, r.err)
		}
	}
	close(release)
	wg.Wait()
	close(results)
	created := 0
	for r := range results {
		if r.status == http.StatusCreated {
			created++
		} else {
			t.Errorf("a staged upload got %d %s %v when it finished", r.status, r.body, r.err)
		}
	}
	if created == 0 {
		t.Fatal("no upload was stored")
	}
	if staged := stagedUploads(t, tr.dir); len(staged) != 0 {
		t.Errorf("staging still holds %v", staged)
	}
	if used := dirSize(tr.dir + "/files"); used > quota {
		t.Errorf("%d KiB stored, over the %d KiB quota", used>>10, quota>>10)
	}
}
