package admin

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/chat"
)

// fakeService is a room that remembers what it was asked.
type fakeService struct {
	mu           sync.Mutex
	info         chat.Info
	password     string // what SetPassword and a private Reset return
	initial      string // the first password, until taken
	resetPrivate bool
	destroyed    bool
	locked       bool
	destroyAt    time.Time
	snapshot     []byte // what Snapshot hands over
	snapshotSize int64  // the size Snapshot claims; len(snapshot) when 0
	err          error  // when set, every operation but TakeInitialPassword fails with it
}

// fail makes every operation but TakeInitialPassword fail with err (or
// succeed again when err is nil).
func (f *fakeService) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// seen returns what Reset, Destroy and SetLocked were last asked.
func (f *fakeService) seen() (private, destroyed, locked bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.resetPrivate, f.destroyed, f.locked
}

func (f *fakeService) Info(context.Context) (chat.Info, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.info, f.err
}

func (f *fakeService) SetPassword(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return "", f.err
	}
	return f.password, nil
}

func (f *fakeService) Reset(_ context.Context, kind chat.RoomKind) (string, error) {
	private := kind.Private
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return "", f.err
	}
	f.resetPrivate = private
	if !private {
		return "", nil
	}
	return f.password, nil
}

func (f *fakeService) Destroy(context.Context) (time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return time.Time{}, f.err
	}
	f.destroyed = true
	return f.destroyAt, nil
}

func (f *fakeService) SetLocked(_ context.Context, locked bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.locked = locked
	f.info.Locked = locked
	return nil
}

func (f *fakeService) TakeInitialPassword() (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.initial
	f.initial = ""
	return p, p != ""
}

func (f *fakeService) Snapshot(context.Context) (io.ReadCloser, int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, 0, f.err
	}
	size := f.snapshotSize
	if size == 0 {
		size = int64(len(f.snapshot))
	}
	return io.NopCloser(bytes.NewReader(f.snapshot)), size, nil
}

// serve serves svc's admin API on a socket in a temporary directory and
// returns a Client of it.
func serve(t *testing.T, svc Service, log *slog.Logger) *Client {
	t.Helper()
	path := filepath.Join(t.TempDir(), "admin.sock")
	ln, err := Listen(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: Handler(svc, log), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return New(path)
}

func TestClientAndHandlerAgree(t *testing.T) {
	created := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	svc := &fakeService{
		info: chat.Info{
			Exists: true, Private: true, CreatedAt: created,
			DestroyAt: created.Add(time.Hour), DestroyBy: "ann",
			Members: []string{"ann", "bob"}, Clients: 3, Messages: 42,
		},
		password:  "abcde-fghij-klmno-pqrst",
		destroyAt: created.Add(2 * time.Hour),
	}
	c := serve(t, svc, nil)
	ctx := t.Context()

	t.Run("info carries every fact of the room", func(t *testing.T) {
		got, err := c.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := RoomInfo{
			Exists: true, Private: true, CreatedAt: created,
			DestroyAt: created.Add(time.Hour), DestroyBy: "ann",
			Members: []string{"ann", "bob"}, Clients: 3, Messages: 42,
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v\nwant %+v", got, want)
		}
	})
	t.Run("a new password comes back", func(t *testing.T) {
		got, err := c.SetPassword(ctx)
		if err != nil || got != svc.password {
			t.Errorf("SetPassword = %q, %v; want %q", got, err, svc.password)
		}
	})
	t.Run("a private reset asks for a private room and returns its password", func(t *testing.T) {
		got, err := c.Reset(ctx, chat.RoomKind{Private: true})
		private, _, _ := svc.seen()
		if err != nil || got != svc.password || !private {
			t.Errorf("Reset(true) = %q, %v; service saw private %v", got, err, private)
		}
	})
	t.Run("a public reset returns no password", func(t *testing.T) {
		got, err := c.Reset(ctx, chat.RoomKind{})
		private, _, _ := svc.seen()
		if err != nil || got != "" || private {
			t.Errorf("Reset(false) = %q, %v; service saw private %v", got, err, private)
		}
	})
	t.Run("destroy returns when the countdown ends", func(t *testing.T) {
		got, err := c.Destroy(ctx)
		_, destroyed, _ := svc.seen()
		if err != nil || !got.Equal(svc.destroyAt) || !destroyed {
			t.Errorf("Destroy = %v, %v; want %v (service destroyed: %v)", got, err, svc.destroyAt, destroyed)
		}
	})
	t.Run("lock makes the room read-only and says so", func(t *testing.T) {
		got, err := c.SetLocked(ctx, true)
		_, _, locked := svc.seen()
		if err != nil || !locked || !got.Locked {
			t.Errorf("SetLocked(true) = %+v, %v; service saw locked %v", got, err, locked)
		}
		if got, err := c.SetLocked(ctx, false); err != nil || got.Locked {
			t.Errorf("SetLocked(false) = %+v, %v", got, err)
		}
	})
	t.Run("info of no room has no members rather than none known", func(t *testing.T) {
		svc.mu.Lock()
		svc.info = chat.Info{DestroyedAt: created, DestroyedBy: "bob"}
		svc.mu.Unlock()
		got, err := c.Info(ctx)
		if err != nil || got.Exists || got.Members == nil || !got.DestroyedAt.Equal(created) || got.DestroyedBy != "bob" {
			t.Errorf("Info = %+v, %v", got, err)
		}
	})
}

func TestClientCarriesTheServicesRefusal(t *testing.T) {
	var logged bytes.Buffer
	svc := &fakeService{}
	c := serve(t, svc, slog.New(slog.NewTextHandler(&logged, nil)))
	ctx := t.Context()

	t.Run("a refusal reads as the room's sentence with its status", func(t *testing.T) {
		svc.fail(&chat.Error{Code: chat.CodeNoRoom, Msg: "there is no room to destroy"})
		_, err := c.Destroy(ctx)
		e, ok := errors.AsType[*Error](err)
		if !ok || err.Error() != "there is no room to destroy" || e.Status != http.StatusConflict || e.Code != "no_room" {
			t.Fatalf("Destroy = %#v; want the room's refusal with 409", err)
		}
	})
	t.Run("a failure of the service's own is logged, not told", func(t *testing.T) {
		svc.fail(errors.New("the disk caught fire"))
		_, err := c.Info(ctx)
		if e, ok := errors.AsType[*Error](err); !ok || e.Status != http.StatusInternalServerError || strings.Contains(err.Error(), "fire") {
			t.Fatalf("Info = %#v; want a 500 that reveals nothing", err)
		}
		if !strings.Contains(logged.String(), "the disk caught fire") {
			t.Errorf("the failure was not logged:\n%s", logged.String())
		}
	})
	t.Run("a body the request does not take is refused with a sentence", func(t *testing.T) {
		svc.fail(nil)
		err := c.do(ctx, http.MethodPost, pathReset, map[string]bool{"privat": true}, &PasswordResponse{})
		if e, ok := errors.AsType[*Error](err); !ok || e.Status != http.StatusBadRequest || !strings.Contains(err.Error(), "privat") {
			t.Fatalf("reset with a misspelt field: %v; want 400 naming it", err)
		}
	})
}

func TestInitialPasswordIsHandedOverOnce(t *testing.T) {
	c := serve(t, &fakeService{initial: "first-pass"}, nil)
	ctx := t.Context()
	if got, ok, err := c.InitialPassword(ctx); err != nil || !ok || got != "first-pass" {
		t.Fatalf("first InitialPassword = %q, %v, %v; want the password", got, ok, err)
	}
	if got, ok, err := c.InitialPassword(ctx); err != nil || ok || got != "" {
		t.Fatalf("second InitialPassword = %q, %v, %v; want none and no error", got, ok, err)
	}
}

func TestClientSaysWhenNothingListens(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale.sock")
	staleSocket(t, stale)
	for _, path := range []string{filepath.Join(dir, "missing.sock"), stale} {
		_, err := New(path).Info(t.Context())
		if !errors.Is(err, ErrNotRunning) || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Info through %s: %v; want one sentence saying chatbox is not running, naming the socket", path, err)
		}
	}
}

// staleSocket leaves a socket file at path that nothing answers on, as a
// killed service does.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
}

func TestListen(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()

	t.Run("a socket only its owner may use", func(t *testing.T) {
		path := filepath.Join(dir, "fresh.sock")
		ln, err := Listen(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("socket mode %v (%v); want 0600", fi.Mode(), err)
		}
	})
	t.Run("a socket another process answers on is refused", func(t *testing.T) {
		path := filepath.Join(dir, "live.sock")
		ln, err := Listen(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		if second, err := Listen(ctx, path); err == nil || !strings.Contains(err.Error(), "already serving") {
			if second != nil {
				second.Close()
			}
			t.Fatalf("second Listen: %v; want a refusal", err)
		}
		if c, err := net.Dial("unix", path); err != nil {
			t.Fatalf("the first listener lost its socket: %v", err)
		} else {
			c.Close()
		}
	})
	t.Run("a stale socket is replaced", func(t *testing.T) {
		path := filepath.Join(dir, "stale.sock")
		staleSocket(t, path)
		ln, err := Listen(ctx, path)
		if err != nil {
			t.Fatalf("Listen over a stale socket: %v", err)
		}
		defer ln.Close()
		if c, err := net.Dial("unix", path); err != nil {
			t.Fatalf("nothing answers on the new socket: %v", err)
		} else {
			c.Close()
		}
	})
	t.Run("a file that is not a socket is left alone", func(t *testing.T) {
		path := filepath.Join(dir, "notes.txt")
		if err := os.WriteFile(path, []byte("keep me"), 0o644); err != nil {
			t.Fatal(err)
		}
		if ln, err := Listen(ctx, path); err == nil {
			ln.Close()
			t.Fatal("Listen replaced a regular file")
		}
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			t.Fatal("Listen removed a regular file")
		}
	})
}

func TestSnapshotTravelsWhole(t *testing.T) {
	want := bytes.Repeat([]byte("bbolt page "), 100_000)
	svc := &fakeService{snapshot: want}
	c := serve(t, svc, nil)

	t.Run("the copy arrives with its size", func(t *testing.T) {
		rc, size, err := c.Snapshot(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		got, err := io.ReadAll(rc)
		if err != nil || size != int64(len(want)) || !bytes.Equal(got, want) {
			t.Errorf("Snapshot = %d bytes (size %d), %v; want %d bytes", len(got), size, err, len(want))
		}
	})
	t.Run("a copy cut short is an error to its reader", func(t *testing.T) {
		svc.mu.Lock()
		svc.snapshotSize = int64(len(want)) + 10
		svc.mu.Unlock()
		rc, _, err := c.Snapshot(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		if _, err := io.ReadAll(rc); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("reading a short copy: %v; want io.ErrUnexpectedEOF", err)
		}
	})
	t.Run("a refusal carries the service's sentence", func(t *testing.T) {
		svc.fail(&chat.Error{Code: chat.CodeInvalid, Msg: "no store to copy"})
		_, _, err := c.Snapshot(t.Context())
		if e, ok := errors.AsType[*Error](err); !ok || e.Msg != "no store to copy" {
			t.Errorf("Snapshot = %v; want the service's refusal", err)
		}
	})
}
