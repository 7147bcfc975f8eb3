package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/chat/admin"
	"github.com/chatbox-dev/chatbox/chat/datadir"
	"github.com/chatbox-dev/chatbox/chat/httpapi"
)

// roomOptions are a room's options, quick, in dir.
func roomOptions(dir string) chat.Options {
	return chat.Options{
		DataDir: dir, CreateOnStart: true,
		MaxMessageLength: 1000, MaxPGPLength: 64 << 10,
		RetentionCount: 100000, RetentionAge: 30 * 24 * time.Hour,
		MaxFileSize: 10 << 20, Quota: 500 << 20,
		DestroyCountdown: time.Minute, Destroy: chat.DestroyByEveryone,
		MaxClients: 100, MaxClientsPerAddr: 50,
		PostsPerMinute: 1 << 30, RoomPostsPerMinute: 1 << 40, LoginsPerMinute: 10,
		ConnectsPerMinute: 60, PasswordChecks: 2, SessionIdle: time.Hour, ReadsPerMinute: 6000,
	}
}

// snapshotter is the admin Service of a room as far as a backup needs it:
// its store's copy. after, when set, runs once the copy is taken.
type snapshotter struct {
	admin.Service
	room  *chat.Room
	after func()
}

func (s snapshotter) Snapshot(context.Context) (io.ReadCloser, int64, error) {
	f, n, err := s.room.Snapshot()
	if err != nil {
		return nil, 0, err
	}
	if s.after != nil {
		s.after()
	}
	return f, n, nil
}

// serveAdmin serves svc's admin API on a socket in a temporary directory.
func serveAdmin(t *testing.T, svc admin.Service) *admin.Client {
	t.Helper()
	path := filepath.Join(t.TempDir(), "admin.sock")
	ln, err := admin.Listen(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: admin.Handler(svc, nil), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return admin.New(path)
}

// recorder is a Service that remembers the calls and, on Start, checks
// what a starting service would find.
type recorder struct {
	calls   []string
	onStart func() error
}

func (r *recorder) Stop(context.Context) error { r.calls = append(r.calls, "stop"); return nil }
func (r *recorder) Start(context.Context) error {
	r.calls = append(r.calls, "start")
	if r.onStart != nil {
		return r.onStart()
	}
	return nil
}

// load posts messages and shares files in a room until stopped, and
// remembers what the room acknowledged.
type load struct {
	url  string
	mu   sync.Mutex
	msgs map[uint64]string // id → text
	docs map[string][]byte // file id → content
	err  error
	stop chan struct{}
	done sync.WaitGroup
}

func startLoad(t *testing.T, url string) *load {
	l := &load{url: url, msgs: map[uint64]string{}, docs: map[string][]byte{}, stop: make(chan struct{})}
	for w := range 2 {
		l.done.Add(1)
		go func() {
			defer l.done.Done()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				var err error
				if w == 1 {
					err = l.share(i)
				} else {
					err = l.post(i)
				}
				if err != nil {
					l.mu.Lock()
					l.err = err
					l.mu.Unlock()
					return
				}
			}
		}()
	}
	t.Cleanup(l.end)
	return l
}

func (l *load) end() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.done.Wait()
}

func (l *load) post(i int) error {
	text := fmt.Sprintf("message %d", i)
	body, _ := json.Marshal(map[string]string{"nick": "ann", "text": text})
	m, err := l.send("/api/messages", "application/json", body)
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.msgs[m.ID] = text
	l.mu.Unlock()
	return nil
}

func (l *load) share(i int) error {
	data := make([]byte, 20_000+i%7*1000)
	rand.NewChaCha8([32]byte{byte(i), byte(i >> 8)}).Read(data)
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("nick", "bob")
	pw, _ := mw.CreateFormFile("file", fmt.Sprintf("doc-%d.bin", i))
	pw.Write(data)
	mw.Close()
	m, err := l.send("/api/files", mw.FormDataContentType(), b.Bytes())
	if err != nil {
		return err
	}
	if m.File == nil || m.File.ID == "" {
		return fmt.Errorf("a shared file came back without its id: %+v", m)
	}
	l.mu.Lock()
	l.docs[m.File.ID] = data
	l.msgs[m.ID] = m.Text
	l.mu.Unlock()
	return nil
}

func (l *load) send(path, ctype string, body []byte) (chat.Message, error) {
	var m chat.Message
	res, err := http.Post(l.url+path, ctype, bytes.NewReader(body))
	if err != nil {
		return m, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		return m, fmt.Errorf("POST %s: %s %s", path, res.Status, raw)
	}
	return m, json.Unmarshal(raw, &m)
}

// acked returns copies of what the room has acknowledged so far.
func (l *load) acked() (map[uint64]string, map[string][]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	msgs := make(map[uint64]string, len(l.msgs))
	for k, v := range l.msgs {
		msgs[k] = v
	}
	docs := make(map[string][]byte, len(l.docs))
	for k, v := range l.docs {
		docs[k] = v
	}
	return msgs, docs, l.err
}

// waitFor polls until the load has had at least msgs messages and docs
// files acknowledged.
func (l *load) waitFor(t *testing.T, msgs, docs int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, d, err := l.acked()
		if err != nil {
			t.Fatal(err)
		}
		if len(m) >= msgs && len(d) >= docs {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s the room acknowledged %d messages and %d files; want %d and %d", len(m), len(d), msgs, docs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fresh makes an installed box's data directory and config file, with a
// marker in each, and returns them.
func fresh(t *testing.T) (dataDir, configPath string) {
	box := t.TempDir()
	dataDir = filepath.Join(box, "data")
	if err := os.Mkdir(dataDir, 0o750); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dataDir, "fresh-room"), []byte("new box"), 0o640)
	configPath = filepath.Join(box, "config.toml")
	os.WriteFile(configPath, []byte("# the new box's config\n"), 0o640)
	return dataDir, configPath
}

func TestBackupWhileTheRoomRunsRestoresEveryAcknowledgedMessageAndFile(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	room, err := chat.Open(ctx, roomOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(ctx, room, httpapi.Options{}))
	t.Cleanup(func() { room.CloseClients(); srv.Close(); room.Close() })
	os.MkdirAll(filepath.Join(dir, "certmagic", "acme"), 0o700)
	os.WriteFile(filepath.Join(dir, "certmagic", "acme", "account.key"), []byte("a key"), 0o600)
	vapid := datadir.Layout{Dir: dir}.VAPIDKey()
	os.MkdirAll(filepath.Dir(vapid), 0o700)
	os.WriteFile(vapid, []byte(`{"public":"the box's push key"}`), 0o600)
	srcConfig := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(srcConfig, []byte("[server]\ndomain = \"chat.example.com\"\n"), 0o640)

	l := startLoad(t, srv.URL)
	l.waitFor(t, 200, 10)
	var before map[uint64]string
	var beforeDocs map[string][]byte
	snapped := false
	client := serveAdmin(t, snapshotter{room: room, after: func() {
		// The room goes on taking posts and files while the backup runs:
		// wait for more of both before the backup goes on.
		msgs, docs, _ := l.acked()
		l.waitFor(t, len(msgs)+50, len(docs)+3)
		snapped = true
	}})
	before, beforeDocs, _ = l.acked() // acknowledged before the snapshot began
	archive := filepath.Join(t.TempDir(), "box.tar.gz")
	f, err := os.Create(archive)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Write(ctx, f, Source{Snapshot: client.Snapshot, Layout: datadir.Layout{Dir: dir}, ConfigPath: srcConfig, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	l.end()
	if _, _, err := l.acked(); err != nil || !snapped {
		t.Fatalf("load: %v (snapshot taken: %v)", err, snapped)
	}
	after, _, _ := l.acked()
	t.Logf("backup of %d entries, %d bytes, while the room acknowledged %d messages before and %d by the end", len(m.Entries), m.Size(), len(before), len(after))

	dataDir, configPath := fresh(t)
	svc := &recorder{onStart: func() error {
		_, err := os.Stat(filepath.Join(dataDir, "messages.db"))
		return err
	}}
	res, err := Restore(ctx, archive, Target{DataDir: dataDir, ConfigPath: configPath, UID: -1, GID: -1, Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(svc.calls, []string{"stop", "start"}) {
		t.Errorf("service calls %v; want stop, start", svc.calls)
	}

	t.Run("every message acknowledged before the snapshot is restored", func(t *testing.T) {
		restored, err := chat.Open(ctx, roomOptions(dataDir))
		if err != nil {
			t.Fatal(err)
		}
		defer restored.Close()
		msgs, err := restored.Messages(0, 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		got := map[uint64]string{}
		for _, m := range msgs {
			got[m.ID] = m.Text
		}
		for id, text := range before {
			if got[id] != text {
				t.Fatalf("message %d: restored %q; want %q (%d of %d restored)", id, got[id], text, len(got), len(before))
			}
		}
		for id, want := range beforeDocs {
			f, err := restored.OpenFile(id, false)
			if err != nil {
				t.Fatalf("file %s: %v", id, err)
			}
			data, err := io.ReadAll(f)
			f.Close()
			if err != nil || !bytes.Equal(data, want) {
				t.Fatalf("file %s: restored %d bytes (%v); want the %d shared, byte for byte", id, len(data), err, len(want))
			}
		}
	})
	t.Run("the config and the certificates come back, the old ones are kept", func(t *testing.T) {
		if got, _ := os.ReadFile(configPath); !strings.Contains(string(got), "chat.example.com") {
			t.Errorf("config after restore: %q", got)
		}
		if got, _ := os.ReadFile(res.OldConfig); string(got) != "# the new box's config\n" {
			t.Errorf("old config kept as %s: %q", res.OldConfig, got)
		}
		if got, _ := os.ReadFile(filepath.Join(dataDir, "certmagic", "acme", "account.key")); string(got) != "a key" {
			t.Errorf("certificate storage after restore: %q", got)
		}
		if got, _ := os.ReadFile(datadir.Layout{Dir: dataDir}.VAPIDKey()); string(got) != `{"public":"the box's push key"}` {
			t.Errorf("the push key after restore: %q", got)
		}
		if _, err := os.Stat(filepath.Join(res.OldData, "fresh-room")); err != nil {
			t.Errorf("the replaced data is not kept: %v", err)
		}
	})
	t.Run("modes are an installed box's", func(t *testing.T) {
		filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			fi, _ := d.Info()
			want := fs.FileMode(0o640)
			switch {
			case d.IsDir():
				want = 0o750
			case p == filepath.Join(dataDir, "messages.db"), p == datadir.Layout{Dir: dataDir}.VAPIDKey():
				want = 0o600
			case strings.HasSuffix(p, ".lock") || strings.HasSuffix(p, "meta.json"):
				return nil // written by the restored room when opened
			}
			if fi.Mode().Perm() != want && !strings.Contains(p, ".incoming") {
				t.Errorf("%s: mode %v; want %v", p, fi.Mode().Perm(), want)
			}
			return nil
		})
	})
}

// smallBackup writes the backup of a small room (three messages, a file
// and a certificate) and returns the archive's bytes.
func smallBackup(t *testing.T) []byte {
	t.Helper()
	dir := t.TempDir()
	room, err := chat.Open(t.Context(), roomOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer room.Close()
	for i := range 3 {
		if _, err := room.Post(t.Context(), chat.Sender{Nick: "ann"}, fmt.Sprint("hello ", i)); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(dir, "localca"), 0o700)
	os.WriteFile(filepath.Join(dir, "localca", "root.crt"), bytes.Repeat([]byte("certificate "), 5000), 0o600)
	var b bytes.Buffer
	_, err = Write(t.Context(), &b, Source{
		Snapshot: func(context.Context) (io.ReadCloser, int64, error) { return room.Snapshot() },
		Layout:   datadir.Layout{Dir: dir},
		Version:  "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// entry is one entry of a crafted archive.
type entry struct {
	name     string
	body     string
	typeflag byte
	linkname string
}

// craft makes a gzip tar of entries followed by a manifest that lists
// them truthfully; edit, when set, changes the manifest first.
func craft(t *testing.T, entries []entry, edit func(*Manifest)) []byte {
	t.Helper()
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	tw := tar.NewWriter(gz)
	m := Manifest{Format: Format, Version: "test", Created: time.Now().UTC()}
	for _, e := range entries {
		flag := e.typeflag
		if flag == 0 {
			flag = tar.TypeReg
		}
		hdr := &tar.Header{Name: e.name, Mode: 0o640, Typeflag: flag, Linkname: e.linkname}
		if flag == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.body))
		sum := sha256.Sum256([]byte(e.body))
		m.Entries = append(m.Entries, Entry{Path: e.name, Size: int64(len(e.body)), SHA256: hex.EncodeToString(sum[:])})
	}
	if edit != nil {
		edit(&m)
	}
	if edit == nil || m.Format >= 0 { // a negative format leaves the manifest out
		raw, _ := json.Marshal(m)
		tw.WriteHeader(&tar.Header{Name: manifestName, Mode: 0o640, Size: int64(len(raw)), Typeflag: tar.TypeReg})
		tw.Write(raw)
	}
	tw.Close()
	gz.Close()
	return b.Bytes()
}

func TestRestoreRefusesABadArchiveAndChangesNothing(t *testing.T) {
	good := smallBackup(t)
	store := entry{name: storeName, body: "not really bbolt"}
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x01
	cases := []struct {
		name    string
		archive []byte
		reason  string // part of the refusal's sentence
	}{
		{"one flipped byte", flipped, "corrupt"},
		{"cut in half", good[:len(good)/2], "cut short"},
		{"cut by its last ten bytes", good[:len(good)-10], "cut short"},
		{"empty", nil, "is empty"},
		{"not gzip at all", []byte("#!/bin/sh\nrm -rf /\n"), "not gzip-compressed"},
		{"another program's tar.gz", craft(t, []entry{{name: "hello.txt", body: "hi"}}, nil), "not part of a chatbox backup"},
		{"no manifest", craft(t, []entry{store}, func(m *Manifest) { m.Format = -1 }), "has no manifest"},
		{"a format to come", craft(t, []entry{store}, func(m *Manifest) { m.Format = 2 }), "format 2"},
		{"no store", craft(t, []entry{{name: "data/files/a/b", body: "x"}}, nil), "no copy of the room's store"},
		{"an entry climbing out", craft(t, []entry{store, {name: "data/files/../../../etc/cron.d/x", body: "* * * * * root sh"}}, nil), "not clean or leaves its folder"},
		{"an entry climbing out from the start", craft(t, []entry{store, {name: "../x", body: "x"}}, nil), "leaves its folder"},
		{"an absolute entry", craft(t, []entry{store, {name: "/etc/passwd", body: "x"}}, nil), "absolute"},
		{"a symbolic link", craft(t, []entry{store, {name: "data/files/a/link", typeflag: tar.TypeSymlink, linkname: "/etc/shadow"}}, nil), "symbolic link"},
		{"a hard link", craft(t, []entry{store, {name: "data/files/a/link", typeflag: tar.TypeLink, linkname: "/etc/shadow"}}, nil), "hard link"},
		{"uploads still arriving", craft(t, []entry{store, {name: "data/files/.incoming/x", body: "x"}}, nil), "not part of a chatbox backup"},
		{"a file its manifest does not list", craft(t, []entry{store, {name: "data/files/a/b", body: "x"}}, func(m *Manifest) { m.Entries = m.Entries[:1] }), "manifest lists 1"},
		{"a file that is not what its manifest says", craft(t, []entry{store}, func(m *Manifest) { m.Entries[0].SHA256 = strings.Repeat("0", 64) }), "SHA-256 does not match"},
		{"a file of another size", craft(t, []entry{store}, func(m *Manifest) { m.Entries[0].Size++ }), "its manifest says"},
		{"a file twice", craft(t, []entry{store, store}, nil), "twice"},
	}
	for _, c := range cases {
		t.Run("refuses "+c.name, func(t *testing.T) {
			archive := filepath.Join(t.TempDir(), "box.tar.gz")
			os.WriteFile(archive, c.archive, 0o600)
			dataDir, configPath := fresh(t)
			svc := &recorder{}
			_, err := Restore(t.Context(), archive, Target{DataDir: dataDir, ConfigPath: configPath, UID: -1, GID: -1, Service: svc})
			bad, ok := errors.AsType[*BadArchiveError](err)
			if !ok || !strings.Contains(bad.Error(), c.reason) {
				t.Fatalf("Restore = %v; want a refusal saying %q", err, c.reason)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("the refusal is more than one line: %q", err)
			}
			if len(svc.calls) > 0 {
				t.Errorf("the service was touched: %v", svc.calls)
			}
			box, _ := os.ReadDir(filepath.Dir(dataDir))
			data, _ := os.ReadDir(dataDir)
			if len(box) != 2 || len(data) != 1 || data[0].Name() != "fresh-room" {
				t.Errorf("the box changed: %v, data %v", box, data)
			}
		})
	}
	t.Run("restores the intact archive", func(t *testing.T) {
		archive := filepath.Join(t.TempDir(), "box.tar.gz")
		os.WriteFile(archive, good, 0o600)
		dataDir, configPath := fresh(t)
		svc := &recorder{}
		res, err := Restore(t.Context(), archive, Target{DataDir: dataDir, ConfigPath: configPath, UID: -1, GID: -1, Service: svc})
		if err != nil {
			t.Fatal(err)
		}
		if res.OldConfig != "" {
			t.Errorf("a backup without a config replaced the box's (kept as %s)", res.OldConfig)
		}
		if _, err := os.Stat(filepath.Join(dataDir, "localca", "root.crt")); err != nil {
			t.Error(err)
		}
	})
}

func TestRestoreThatCannotStartKeepsTheOldData(t *testing.T) {
	archive := filepath.Join(t.TempDir(), "box.tar.gz")
	os.WriteFile(archive, smallBackup(t), 0o600)
	dataDir, configPath := fresh(t)
	svc := &recorder{onStart: func() error { return errors.New("chatbox did not answer within 90s") }}
	res, err := Restore(t.Context(), archive, Target{DataDir: dataDir, ConfigPath: configPath, UID: -1, GID: -1, Service: svc})
	if err == nil || !strings.Contains(err.Error(), res.OldData) || res.OldData == "" {
		t.Fatalf("Restore = %v; want the failure to start, naming where the old data is (%q)", err, res.OldData)
	}
	if _, err := os.Stat(filepath.Join(res.OldData, "fresh-room")); err != nil {
		t.Error(err)
	}
}
