package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/chat/datadir"
	"github.com/chatbox-dev/chatbox/chat/uploads"
	"github.com/chatbox-dev/chatbox/internal/testpics"
)

// shareFile uploads data as name through POST /api/files, with the nick
// field first as the page sends it. A nil data sends no file part.
func (tr *testRoom) shareFile(t *testing.T, nick, name string, data []byte, change func(*http.Request)) (*http.Response, []byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if nick != "" {
		mw.WriteField("nick", nick)
	}
	if data != nil {
		h := make(textproto.MIMEHeader)
		h.Set("Content-Disposition", `form-data; name="file"; filename="`+strings.ReplaceAll(name, `"`, `\"`)+`"`)
		h.Set("Content-Type", "image/png") // what the client says counts for nothing
		pw, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		pw.Write(data)
	}
	mw.Close()
	return tr.do(t, "POST", "/api/files", body.String(), func(r *http.Request) {
		r.Header.Set("Content-Type", mw.FormDataContentType())
		if change != nil {
			change(r)
		}
	})
}

// shared uploads a file and returns its message, failing unless it is 201.
func (tr *testRoom) shared(t *testing.T, nick, name string, data []byte) chat.Message {
	t.Helper()
	res, raw := tr.shareFile(t, nick, name, data, nil)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("upload %s: %d %s", name, res.StatusCode, raw)
	}
	var m chat.Message
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if m.Kind != chat.KindFile || m.File == nil || !uploads.ValidID(m.File.ID) {
		t.Fatalf("upload %s: the message is not a file message: %s", name, raw)
	}
	return m
}

// uploadDirs returns the committed upload folders.
func uploadDirs(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "files"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.Name() != ".incoming" {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestSharedFilesAreServedSafely(t *testing.T) {
	tr := newTestRoom(t, nil)
	picture := testpics.PNG(800, 600)
	webp, err := os.ReadFile("../uploads/testdata/picture.webp")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		upload      string
		data        []byte
		wantName    string
		wantType    string // served Content-Type
		disposition string
		thumb       bool
	}{
		{"a PNG picture is shown inline with a thumbnail", "holiday.png", picture, "holiday.png", "image/png", "inline", true},
		{"a WebP picture is shown inline with a thumbnail", "pink.webp", webp, "pink.webp", "image/webp", "inline", true},
		{"an HTML page is only ever an attachment", "page.html", []byte("<!doctype html><html><script>alert(1)</script></html>"), "page.html", "application/octet-stream", "attachment", false},
		{"an SVG drawing is only ever an attachment", "x.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), "x.svg", "application/octet-stream", "attachment", false},
		{"a script posing as a PNG is only ever an attachment", "fake.png", []byte("alert(document.cookie)"), "fake.png", "application/octet-stream", "attachment", false},
		{"a name with a path keeps only its base name", "../../etc/passwd", []byte("root:x:0:0::/root:/bin/sh\n"), "passwd", "application/octet-stream", "attachment", false},
		{"a Windows path keeps only its base name", `C:\Users\me\notes.txt`, []byte("notes"), "notes.txt", "application/octet-stream", "attachment", false},
		{"a name of dots becomes a plain name", "..", []byte("dots"), "file", "application/octet-stream", "attachment", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tr.shared(t, "alice", tt.upload, tt.data)
			if m.File.Name != tt.wantName || m.Text != tt.wantName {
				t.Errorf("stored name %q (text %q), want %q", m.File.Name, m.Text, tt.wantName)
			}
			if m.File.Size != int64(len(tt.data)) {
				t.Errorf("size %d, want %d", m.File.Size, len(tt.data))
			}
			res, raw := tr.do(t, "GET", m.File.URL, nil, nil)
			if res.StatusCode != http.StatusOK || !bytes.Equal(raw, tt.data) {
				t.Fatalf("GET %s: %d, %d bytes; want 200 with the %d bytes uploaded", m.File.URL, res.StatusCode, len(raw), len(tt.data))
			}
			if got := res.Header.Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type %q, want %q", got, tt.wantType)
			}
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q, want nosniff", got)
			}
			if got := res.Header.Get("Content-Disposition"); !strings.HasPrefix(got, tt.disposition+";") || !strings.Contains(got, tt.wantName) {
				t.Errorf("Content-Disposition %q, want %s with the name %q", got, tt.disposition, tt.wantName)
			}
			if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") {
				t.Errorf("Content-Security-Policy %q does not sandbox the file", csp)
			}
			if !tt.thumb {
				if m.File.Thumb != "" {
					t.Errorf("a non-picture got a thumbnail %s", m.File.Thumb)
				}
				res, _ := tr.do(t, "GET", "/files/"+m.File.ID+"/thumb", nil, nil)
				if res.StatusCode != http.StatusNotFound {
					t.Errorf("thumbnail of a non-picture: %d, want 404", res.StatusCode)
				}
				return
			}
			res, raw = tr.do(t, "GET", m.File.Thumb, nil, nil)
			if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/jpeg" {
				t.Fatalf("GET %s: %d %s", m.File.Thumb, res.StatusCode, res.Header.Get("Content-Type"))
			}
			img, _, err := image.Decode(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("the thumbnail does not decode: %v", err)
			}
			if w := img.Bounds().Dx(); w > uploads.ThumbWidth {
				t.Errorf("thumbnail is %d wide, want at most %d", w, uploads.ThumbWidth)
			}
		})
	}
	// The client's name never became a path: only id folders exist.
	for _, d := range uploadDirs(t, tr.dir) {
		if !uploads.ValidID(d) {
			t.Errorf("files/ holds %q, which is not an upload id", d)
		}
	}
	if _, err := os.Stat(filepath.Join(tr.dir, "..", "etc", "passwd")); err == nil {
		t.Error("an upload escaped the data directory")
	}
}

func TestSameNameUploadsDoNotOverwriteEachOther(t *testing.T) {
	tr := newTestRoom(t, nil)
	a := tr.shared(t, "alice", "notes.txt", []byte("first"))
	b := tr.shared(t, "bob", "notes.txt", []byte("second"))
	if a.File.URL == b.File.URL {
		t.Fatalf("both uploads are at %s", a.File.URL)
	}
	for m, want := range map[*chat.Message]string{&a: "first", &b: "second"} {
		if _, raw := tr.do(t, "GET", m.File.URL, nil, nil); string(raw) != want {
			t.Errorf("%s holds %q, want %q", m.File.URL, raw, want)
		}
	}
}

func TestBadUploadsAreRefusedAndStoreNothing(t *testing.T) {
	tr := newTestRoom(t, func(o *testOptions) {
		o.MaxFileSize = 2 << 10
		o.Quota = 5 << 10
	})
	tr.shared(t, "alice", "first.bin", bytes.Repeat([]byte{1}, 2<<10))
	tr.shared(t, "alice", "second.bin", bytes.Repeat([]byte{2}, 2<<10))
	before := len(tr.history(t, nil))

	form := func(fields ...string) string {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.SetBoundary("xyz")
		for i := 0; i+1 < len(fields); i += 2 {
			mw.WriteField(fields[i], fields[i+1])
		}
		mw.Close()
		return b.String()
	}
	multipartType := func(r *http.Request) { r.Header.Set("Content-Type", "multipart/form-data; boundary=xyz") }
	tests := []struct {
		name   string
		send   func(t *testing.T) (*http.Response, []byte)
		status int
		says   string
	}{
		{"a file over the size limit", func(t *testing.T) (*http.Response, []byte) {
			return tr.shareFile(t, "alice", "big.bin", bytes.Repeat([]byte{3}, 2<<10+1), nil)
		}, 413, "at most 2KiB"},
		{"a file far over the size limit, announced by its length", func(t *testing.T) (*http.Response, []byte) {
			return tr.shareFile(t, "alice", "huge.bin", bytes.Repeat([]byte{3}, 200<<10), nil)
		}, 413, "at most 2KiB"},
		{"a file over the size limit sent without a length", func(t *testing.T) (*http.Response, []byte) {
			return tr.shareFile(t, "alice", "big.bin", bytes.Repeat([]byte{3}, 100<<10), func(r *http.Request) {
				r.ContentLength = -1 // chunked: the limit is found while reading
				r.Body = io.NopCloser(io.MultiReader(r.Body))
			})
		}, 413, "at most 2KiB"},
		{"a file over the room's quota", func(t *testing.T) (*http.Response, []byte) {
			return tr.shareFile(t, "alice", "third.bin", bytes.Repeat([]byte{4}, 1500), nil)
		}, 413, "at most 5KiB in all"},
		{"a picture claiming 100000x100000 pixels", func(t *testing.T) (*http.Response, []byte) {
			return tr.shareFile(t, "alice", "bomb.png", testpics.PNGClaiming(100000, 100000), nil)
		}, 422, "at most 96 MiB of memory to decode"},
		{"an empty file", func(t *testing.T) (*http.Response, []byte) {
			return tr.shareFile(t, "alice", "empty.txt", []byte{}, nil)
		}, 400, "empty"},
		{"an upload without a nick", func(t *testing.T) (*http.Response, []byte) {
			return tr.shareFile(t, "", "a.txt", []byte("a"), nil)
		}, 400, "nickname"},
		{"an upload with a bad nick", func(t *testing.T) (*http.Response, []byte) {
			return tr.shareFile(t, "a/b", "a.txt", []byte("a"), nil)
		}, 400, "letters and digits"},
		{"an upload without a file", func(t *testing.T) (*http.Response, []byte) {
			return tr.do(t, "POST", "/api/files", form("nick", "alice"), multipartType)
		}, 400, "field named file"},
		{"an upload with an unknown field", func(t *testing.T) (*http.Response, []byte) {
			return tr.do(t, "POST", "/api/files", form("nick", "alice", "path", "/etc"), multipartType)
		}, 400, `unknown field "path"`},
		{"a JSON body", func(t *testing.T) (*http.Response, []byte) {
			return tr.do(t, "POST", "/api/files", map[string]string{"nick": "alice"}, nil)
		}, 415, "multipart/form-data"},
		{"a cut-off multipart body", func(t *testing.T) (*http.Response, []byte) {
			return tr.do(t, "POST", "/api/files", "--xyz\r\nContent-Disposition: form-data; name=\"nick\"\r\n\r\nalice", multipartType)
		}, 400, "ended early"},
		{"an upload from another site", func(t *testing.T) (*http.Response, []byte) {
			return tr.shareFile(t, "alice", "a.txt", []byte("a"), func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") })
		}, 403, "other sites"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			res, raw := tt.send(t)
			var e struct{ Error string }
			json.Unmarshal(raw, &e)
			if res.StatusCode != tt.status || !strings.Contains(e.Error, tt.says) {
				t.Fatalf("got %d %s, want %d with %q", res.StatusCode, raw, tt.status, tt.says)
			}
		})
	}
	if after := len(tr.history(t, nil)); after != before {
		t.Errorf("refused uploads stored %d messages", after-before)
	}
	if dirs := uploadDirs(t, tr.dir); len(dirs) != 2 {
		t.Errorf("files/ holds %d uploads after the refusals, want the 2 accepted: %v", len(dirs), dirs)
	}
	if left, _ := os.ReadDir(filepath.Join(tr.dir, "files", ".incoming")); len(left) != 0 {
		t.Errorf("refused uploads left %d staged folders", len(left))
	}
}

func TestFilesOfAPrivateRoomNeedThePassword(t *testing.T) {
	tr, password := newPrivateRoom(t, nil)
	withPassword := func(pw string) func(*http.Request) {
		return func(r *http.Request) { r.SetBasicAuth("", pw) }
	}
	res, raw := tr.shareFile(t, "alice", "a.png", testpics.PNG(10, 10), nil)
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("upload without the password: %d %s, want 401", res.StatusCode, raw)
	}
	res, raw = tr.shareFile(t, "alice", "a.png", testpics.PNG(10, 10), withPassword(password))
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("upload with the password: %d %s", res.StatusCode, raw)
	}
	var m chat.Message
	json.Unmarshal(raw, &m)
	for _, path := range []string{m.File.URL, m.File.Thumb} {
		if res, _ := tr.do(t, "GET", path, nil, nil); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without the password: %d, want 401", path, res.StatusCode)
		}
		if res, _ := tr.do(t, "GET", path, nil, withPassword("wrong")); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s with a wrong password: %d, want 401", path, res.StatusCode)
		}
		if res, _ := tr.do(t, "GET", path, nil, withPassword(password)); res.StatusCode != http.StatusOK {
			t.Errorf("GET %s with the password: %d, want 200", path, res.StatusCode)
		}
	}
}

func TestUnknownFilesAre404(t *testing.T) {
	tr := newTestRoom(t, nil)
	m := tr.shared(t, "alice", "a.txt", []byte("a"))
	for _, path := range []string{
		"/files/" + m.File.ID + "/other.txt",
		"/files/00000000000000000000000000000000/a.txt",
		"/files/..%2f..%2fmessages.db/a.txt",
		"/files/" + strings.ToUpper(m.File.ID) + "/a.txt",
	} {
		if res, raw := tr.do(t, "GET", path, nil, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d %s, want 404", path, res.StatusCode, raw)
		}
	}
}

func TestRetentionAndDestroyRemoveFiles(t *testing.T) {
	tr := newTestRoom(t, func(o *testOptions) { o.RetentionCount = 1 })
	m := tr.shared(t, "alice", "old.txt", []byte("old"))
	tr.post(t, "alice", "newer")
	tr.ApplyRetention()
	if _, err := os.Stat(filepath.Join(tr.dir, "files", m.File.ID)); !os.IsNotExist(err) {
		t.Fatalf("retention dropped the message but its file is still there: %v", err)
	}
	if res, _ := tr.do(t, "GET", m.File.URL, nil, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET a pruned file: %d, want 404", res.StatusCode)
	}

	tr.shared(t, "alice", "doomed.txt", []byte("doomed"))
	if res, raw := tr.do(t, "POST", "/api/destroy", map[string]string{"nick": "alice"}, nil); res.StatusCode != http.StatusAccepted {
		t.Fatalf("destroy: %d %s", res.StatusCode, raw)
	}
	for deadline := time.Now().Add(5 * time.Second); tr.State().Exists; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the room still exists 5s after a destroy with a 50ms countdown")
		}
	}
	if _, err := os.Stat(filepath.Join(tr.dir, "files")); !os.IsNotExist(err) {
		t.Fatalf("files/ survived the destroy: %v", err)
	}
}

func TestUploadWhoseMessageIsNotStoredIsRemoved(t *testing.T) {
	tr := newTestRoom(t, nil)
	up, err := tr.BeginUpload(1)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Discard()
	if err := up.SetNick("alice"); err != nil {
		t.Fatal(err)
	}
	if err := up.SaveFile("x.txt", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the store refuses a cancelled append
	if _, err := up.Commit(ctx); err == nil {
		t.Fatal("the commit succeeded without storing its message")
	}
	if dirs := uploadDirs(t, tr.dir); len(dirs) != 0 {
		t.Fatalf("the upload stayed although its message was not stored: %v", dirs)
	}
}

func TestOpenSweepsUploadsNoMessageRefersTo(t *testing.T) {
	dir := t.TempDir()
	opts := roomOptions(dir)
	room, err := chat.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	tr := &testRoom{Room: room, dir: dir}
	tr.srv = httptest.NewServer(New(context.Background(), room, Options{}))
	kept := tr.shared(t, "alice", "kept.txt", []byte("kept"))
	tr.srv.Close()
	room.Close()

	// What a crash can leave: a committed folder whose message was never
	// stored, and a half-written staged upload.
	orphan := filepath.Join(dir, "files", "0123456789abcdef0123456789abcdef")
	staged := filepath.Join(dir, "files", ".incoming", "up-123")
	for _, d := range []string{orphan, staged} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, "original"), []byte("left over"), 0o640)
	}

	room, err = chat.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer room.Close()
	for _, d := range []string{orphan, filepath.Join(dir, "files", ".incoming")} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s survived the sweep at open: %v", filepath.Base(d), err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "files", kept.File.ID, "original")); err != nil {
		t.Errorf("the sweep removed an upload a message refers to: %v", err)
	}
}

func TestConcurrentUploadsStayWithinTheQuota(t *testing.T) {
	tr := newTestRoom(t, func(o *testOptions) {
		o.MaxFileSize = 4 << 10
		o.Quota = 10 << 10
	})
	const n = 8 // each fits alone; together they are 3 times the quota
	statuses := make(chan int, n)
	for i := range n {
		go func() {
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			mw.WriteField("nick", "alice")
			fw, _ := mw.CreateFormFile("file", "part.bin")
			fw.Write(bytes.Repeat([]byte{byte(i)}, 4<<10-200))
			mw.Close()
			res, err := tr.srv.Client().Post(tr.srv.URL+"/api/files", mw.FormDataContentType(), &body)
			if err != nil {
				statuses <- 0
				return
			}
			res.Body.Close()
			statuses <- res.StatusCode
		}()
	}
	accepted := 0
	for range n {
		switch s := <-statuses; s {
		case http.StatusCreated:
			accepted++
		case http.StatusRequestEntityTooLarge:
		default:
			t.Errorf("an upload got %d, want 201 or 413", s)
		}
	}
	used, err := uploads.New(datadir.Layout{Dir: tr.dir}, 4<<10).Usage()
	if err != nil {
		t.Fatal(err)
	}
	if used > 10<<10 || accepted != 2 {
		t.Fatalf("%d uploads accepted using %d bytes; want 2 within the quota of %d", accepted, used, 10<<10)
	}
	if n := len(tr.history(t, nil)); n != accepted {
		t.Fatalf("%d messages for %d accepted uploads", n, accepted)
	}
}

func TestAPIIndexListsSharing(t *testing.T) {
	tr := newTestRoom(t, nil)
	_, raw := tr.do(t, "GET", "/api", nil, nil)
	var index struct{ Endpoints []endpoint }
	if err := json.Unmarshal(raw, &index); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"POST /api/files", "GET /files/{id}/{name}", "GET /files/{id}/thumb", "GET /rss/all.xml", "GET /rss/ping/{nick}.xml"} {
		found := false
		for _, e := range index.Endpoints {
			found = found || e.Method+" "+e.Path == want
		}
		if !found {
			t.Errorf("GET /api does not list %s", want)
		}
	}
	if res, raw := tr.do(t, "GET", "/api/files", nil, nil); res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /api/files: %d %s, want 405", res.StatusCode, raw)
	}
}

// After an ordinary upload nothing is orphaned: reopening the room must
// not report the staging folder as an upload it removed.
func TestOpenAfterAnUploadReportsNoOrphans(t *testing.T) {
	dir := t.TempDir()
	var logged bytes.Buffer
	opts := withOptions(roomOptions(dir), func(o *chat.Options) { o.Logger = slog.New(slog.NewTextHandler(&logged, nil)) })
	room, err := chat.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	tr := &testRoom{Room: room, dir: dir, srv: httptest.NewServer(New(context.Background(), room, Options{}))}
	tr.shared(t, "alice", "kept.txt", []byte("kept"))
	tr.srv.Close()
	room.Close()
	if _, err := os.Stat(filepath.Join(dir, "files", ".incoming")); err != nil {
		t.Fatalf("the upload left no staging folder, so this test shows nothing: %v", err)
	}
	logged.Reset()
	room, err = chat.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer room.Close()
	if strings.Contains(logged.String(), "removed") {
		t.Fatalf("reopening after a clean upload logged: %s", logged.String())
	}
}
