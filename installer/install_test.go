package installer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/chat"
	"github.com/chatbox-dev/chatbox/chat/admin"
	"github.com/chatbox-dev/chatbox/chat/datadir"
	"github.com/chatbox-dev/chatbox/config"
)

func opts(t *testing.T) InstallOptions {
	return InstallOptions{Domain: "chat.example.com", Binary: testBinary(t, "chatbox v1"),
		Retry: "sudo chatbox install --domain=chat.example.com"}
}

// A failure at any change stops the run; the next run completes and the
// host ends exactly as after a run that never failed.
func TestInstallRecoversFromAFailureAtEveryChange(t *testing.T) {
	ctx := context.Background()
	for _, osID := range Backends().IDs() {
		t.Run("on "+osID+" a failed install is finished by the next run", func(t *testing.T) {
			in, sim, _ := newSim(t, osID, io.Discard)
			o := opts(t)
			if err := in.Install(ctx, o); err != nil {
				t.Fatalf("clean install: %v", err)
			}
			want := snapshot(t, sim.root) + sim.state()
			total := sim.n
			if total < 10 {
				t.Fatalf("a clean install made only %d changes", total)
			}
			for k := 1; k <= total; k++ {
				var out bytes.Buffer
				in, sim, _ := newSim(t, osID, &out)
				sim.failAt = k
				err := in.Install(ctx, o)
				var stepErr *StepError
				if !errors.Is(err, errInjected) || !errors.As(err, &stepErr) {
					t.Fatalf("failing change %d of %d: got %v, want the injected failure in a StepError", k, total, err)
				}
				if !strings.Contains(out.String(), "failed\n") || !strings.Contains(out.String(), o.Retry) {
					t.Fatalf("failing change %d: the report lacks the failed step or the retry command:\n%s", k, out.String())
				}
				sim.failAt = 0
				if err := in.Install(ctx, o); err != nil {
					t.Fatalf("the run after failing change %d: %v", k, err)
				}
				if got := snapshot(t, sim.root) + sim.state(); got != want {
					t.Fatalf("after failing change %d and running again the host differs from a clean install:\n--- got\n%s--- want\n%s", k, got, want)
				}
			}
		})
	}
}

func TestInstallTwiceChangesNothingTheSecondTime(t *testing.T) {
	ctx := context.Background()
	for _, osID := range Backends().IDs() {
		t.Run("on "+osID+" the second install says nothing to do", func(t *testing.T) {
			var out bytes.Buffer
			in, sim, _ := newSim(t, osID, &out)
			o := opts(t)
			if err := in.Install(ctx, o); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, sim.root)
			out.Reset()
			if err := in.Install(ctx, o); err != nil {
				t.Fatal(err)
			}
			for _, prefix := range []string{"run: ", "write: ", "remove: "} {
				if strings.Contains(out.String(), "\n"+prefix) {
					t.Errorf("the second install changed the host:\n%s", out.String())
				}
			}
			if !strings.Contains(out.String(), "Nothing to do") {
				t.Errorf("the second install does not say there was nothing to do:\n%s", out.String())
			}
			if after := snapshot(t, sim.root); after != before {
				t.Errorf("files changed on the second install")
			}
		})
	}
}

func TestInstallNeverOverwritesAnEditedConfig(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	in, sim, _ := newSim(t, "debian", &out)
	if err := in.Install(ctx, opts(t)); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(sim.root, "/etc/chatbox/config.toml")
	edited, _ := os.ReadFile(file)
	edited = append(edited, []byte("\n# my own note\n")...)
	edited = bytes.Replace(edited, []byte("max_clients = 20000"), []byte("max_clients = 30"), 1)
	if err := os.WriteFile(file, edited, 0o640); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	o := opts(t)
	o.Domain = "other.example.com"
	before := snapshot(t, sim.root)
	err := in.Install(ctx, o)
	if err == nil || !strings.Contains(err.Error(), `server.domain = "chat.example.com" (asked: the domain other.example.com)`) {
		t.Fatalf("got %v, want a refusal naming server.domain", err)
	}
	if after := snapshot(t, sim.root); after != before {
		t.Errorf("the refused install changed the host:\n%s", out.String())
	}
	if err := in.Install(ctx, opts(t)); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(file); !bytes.Equal(got, edited) {
		t.Errorf("the edited config was changed:\n%s", got)
	}
}

// Options an existing config contradicts are refused before anything
// changes, with the key in the way; install never ends "as asked" when
// the room is not as asked.
func TestInstallRefusesOptionsTheConfigContradicts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		first   func(*InstallOptions)
		then    func(*InstallOptions)
		wantKey string
	}{
		{"a domain on a box set up with an IP address", func(o *InstallOptions) { o.Domain, o.IP = "", "203.0.113.7" },
			func(o *InstallOptions) {}, `server.ip = "203.0.113.7" (asked: the domain chat.example.com)`},
		{"an IP address on a box with a domain", func(o *InstallOptions) {},
			func(o *InstallOptions) { o.Domain, o.IP = "", "203.0.113.7" }, `server.domain = "chat.example.com" (asked: the IP address 203.0.113.7)`},
		{"a private room on a public box", func(o *InstallOptions) {},
			func(o *InstallOptions) { o.Private = true }, `room.private = "false" (asked: a private room)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			in, sim, _ := newSim(t, "debian", &out)
			o := opts(t)
			tc.first(&o)
			if err := in.Install(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			o = opts(t)
			tc.then(&o)
			before := snapshot(t, sim.root)
			out.Reset()
			err := in.Install(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), tc.wantKey) || !strings.Contains(err.Error(), "nothing was changed") {
				t.Fatalf("got %v, want a refusal naming %s", err, tc.wantKey)
			}
			if strings.Contains(out.String(), "as asked") {
				t.Errorf("the refused install says it is as asked:\n%s", out.String())
			}
			if after := snapshot(t, sim.root); after != before {
				t.Errorf("the refused install changed the host")
			}
		})
	}
}

// A config edited to room.private = true while the service runs a public
// room: install makes the room private and shows the new password rather
// than saying it is unchanged.
func TestInstallMakesARunningPublicRoomPrivateWhenTheConfigSaysSo(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	in, sim, _ := newSim(t, "debian", &out)
	room := serveRoom(t, in, sim, "")
	if err := in.Install(ctx, opts(t)); err != nil {
		t.Fatal(err)
	}
	room.mu.Lock()
	room.public = true
	room.mu.Unlock()
	file := filepath.Join(sim.root, "/etc/chatbox/config.toml")
	cfg, _ := os.ReadFile(file)
	cfg = bytes.Replace(cfg, []byte("private = false"), []byte("private = true"), 1)
	if err := os.WriteFile(file, cfg, 0o640); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	o := opts(t)
	o.Private = true
	if err := in.Install(ctx, o); err != nil {
		t.Fatal(err)
	}
	if _, sets := room.taken(); sets != 1 || !strings.Contains(out.String(), "Password:  new-password-1") {
		t.Errorf("set %d passwords; want one, shown:\n%s", sets, out.String())
	}
	if strings.Contains(out.String(), "unchanged") {
		t.Errorf("install says the password is unchanged on a room that had none:\n%s", out.String())
	}
}

// A config edited to room.private = true while the service runs a public
// encrypted room: install leaves the room as it is and says why, since
// an encrypted room's privacy cannot change.
func TestInstallLeavesAPublicEncryptedRoomPublic(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	in, sim, _ := newSim(t, "debian", &out)
	room := serveRoom(t, in, sim, "")
	o := opts(t)
	o.Encrypted = true
	if err := in.Install(ctx, o); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(sim.root, "/etc/chatbox/config.toml")
	cfg, _ := os.ReadFile(file)
	if !regexp.MustCompile(`(?m)^\s*encrypted = true$`).Match(cfg) {
		t.Fatalf("install --encrypted wrote no encrypted = true:\n%s", cfg)
	}
	room.mu.Lock()
	room.public, room.encrypted = true, true
	room.mu.Unlock()
	cfg = bytes.Replace(cfg, []byte("private = false"), []byte("private = true"), 1)
	if err := os.WriteFile(file, cfg, 0o640); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	o.Private = true
	if err := in.Install(ctx, o); err != nil {
		t.Fatalf("install on a public encrypted room with private set: %v\n%s", err, out.String())
	}
	if _, sets := room.taken(); sets != 0 || !strings.Contains(out.String(), "privacy cannot change") {
		t.Errorf("set %d passwords, want none, and a note saying why:\n%s", sets, out.String())
	}
}

// simRoom is the room of the simulated service. While the service runs it
// answers on the admin socket under the host's root; like the real one,
// it has a first password to hand over only after the start that created
// its private room.
type simRoom struct {
	t    *testing.T
	sock string
	srv  *http.Server

	mu      sync.Mutex
	created bool // the private room exists
	public  bool // the room has no password
	// encrypted rooms refuse a change of privacy, as the real one does.
	encrypted bool
	first     string // the first password, until taken
	sets      int    // SetPassword calls
}

// serveRoom makes sim's service run a simRoom whose first password is
// first.
func serveRoom(t *testing.T, in *Installer, sim *simHost, first string) *simRoom {
	r := &simRoom{t: t, sock: in.Host.Path(datadir.Layout{Dir: in.Platform.Paths().DataDir}.AdminSocket())}
	sim.onStart = func() { r.start(first) }
	t.Cleanup(r.stop)
	return r
}

// start (re)starts the service: the room is created at its first start.
func (r *simRoom) start(first string) {
	r.stop()
	r.mu.Lock()
	if !r.created {
		r.created, r.first = true, first
	}
	r.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(r.sock), 0o755); err != nil {
		r.t.Fatal(err)
	}
	ln, err := admin.Listen(context.Background(), r.sock)
	if err != nil {
		r.t.Fatal(err)
	}
	r.srv = &http.Server{Handler: admin.Handler(r, nil), ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(ln)
}

func (r *simRoom) stop() {
	if r.srv != nil {
		r.srv.Close()
		r.srv = nil
	}
}

// taken reports whether the first password was handed over, and how many
// new passwords were set.
func (r *simRoom) taken() (bool, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.first == "", r.sets
}

func (r *simRoom) Info(context.Context) (chat.Info, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return chat.Info{Exists: true, Private: !r.public, Encrypted: r.encrypted}, nil
}

func (r *simRoom) SetPassword(context.Context) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.encrypted && r.public {
		return "", errors.New("an encrypted room stays public or private for its whole life")
	}
	r.sets++
	r.public = false
	return fmt.Sprintf("new-password-%d", r.sets), nil
}

func (r *simRoom) Reset(context.Context, chat.RoomKind) (string, error) {
	return "", errors.New("the installer does not reset rooms")
}

func (r *simRoom) Destroy(context.Context) (time.Time, error) {
	return time.Time{}, errors.New("the installer does not destroy rooms")
}

func (r *simRoom) SetLocked(context.Context, bool) error {
	return errors.New("the installer does not lock rooms")
}

func (r *simRoom) Snapshot(context.Context) (io.ReadCloser, int64, error) {
	return nil, 0, errors.New("the installer does not copy rooms")
}

func (r *simRoom) TakeInitialPassword() (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.first
	r.first = ""
	return p, p != ""
}

func TestInstallShowsAPrivateRoomsPasswordOnce(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	in, sim, _ := newSim(t, "debian", &out)
	room := serveRoom(t, in, sim, "correct-horse-battery")
	o := opts(t)
	o.Private = true
	if err := in.Install(ctx, o); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Password:  correct-horse-battery") || !strings.Contains(out.String(), "https://chat.example.com/") {
		t.Errorf("the box lacks the URL or the password:\n%s", out.String())
	}
	if taken, _ := room.taken(); !taken {
		t.Error("the installer did not take the first password from the service")
	}
	out.Reset()
	if err := in.Install(ctx, o); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "password is unchanged") {
		t.Errorf("a re-install does not say the password is unchanged:\n%s", out.String())
	}
	if _, sets := room.taken(); sets != 0 {
		t.Errorf("the installer set %d new passwords on a room it had shown the password of", sets)
	}
}

// A fresh install whose room has no first password to hand over (it was
// taken, or the service restarted) sets a new one and shows it.
func TestInstallSetsAPasswordWhenNoneIsLeft(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	in, sim, _ := newSim(t, "debian", &out)
	room := serveRoom(t, in, sim, "")
	o := opts(t)
	o.Private = true
	if err := in.Install(ctx, o); err != nil {
		t.Fatal(err)
	}
	if _, sets := room.taken(); sets != 1 || !strings.Contains(out.String(), "Password:  new-password-1") {
		t.Errorf("set %d passwords; want one, shown:\n%s", sets, out.String())
	}
}

// A run after one that could not ask the service for the first password
// shows it.
func TestInstallRetryShowsTheFirstPassword(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	in, sim, _ := newSim(t, "debian", &out)
	o := opts(t)
	o.Private = true
	err := in.Install(ctx, o)
	if !errors.Is(err, admin.ErrNotRunning) || !strings.Contains(err.Error(), "get the room's password") {
		t.Fatalf("install with no admin socket: %v; want it to say it could not get the password", err)
	}
	room := serveRoom(t, in, sim, "correct-horse-battery")
	room.start("correct-horse-battery")
	out.Reset()
	if err := in.Install(ctx, o); err != nil {
		t.Fatal(err)
	}
	if taken, sets := room.taken(); !taken || sets != 0 || !strings.Contains(out.String(), "Password:  correct-horse-battery") {
		t.Errorf("taken %v, %d passwords set; want the first password shown:\n%s", taken, sets, out.String())
	}
}

func TestPreflightRefusesBeforeChangingAnything(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		probe func(*fakeProbe)
		want  string
	}{
		{"a run as a normal user is refused", func(p *fakeProbe) { p.notRoot = true }, "must run as root"},
		{"a port taken by another web server is refused", func(p *fakeProbe) { p.portUsed = map[string]bool{"443": true} }, "port 443 is in use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			in, sim, probe := newSim(t, "debian", &out)
			tt.probe(probe)
			before := snapshot(t, sim.root)
			err := in.Install(ctx, opts(t))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error saying %q", err, tt.want)
			}
			if sim.n != 0 || snapshot(t, sim.root) != before {
				t.Errorf("the host was changed (%d changes)", sim.n)
			}
		})
	}
}

func TestPreflightWarnsWhenTheDomainDoesNotPointHere(t *testing.T) {
	tests := []struct {
		name string
		dns  map[string][]string
		want string
	}{
		{"a name that does not resolve gets a warning", nil, "does not resolve yet"},
		{"a name pointing elsewhere gets a warning", map[string][]string{"chat.example.com": {"198.51.100.9"}}, "points at 198.51.100.9"},
		{"a name pointing here gets none", map[string][]string{"chat.example.com": {"203.0.113.7"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			in, _, probe := newSim(t, "debian", &out)
			probe.dns = tt.dns
			if err := in.Install(context.Background(), opts(t)); err != nil {
				t.Fatal(err)
			}
			got := strings.Contains(out.String(), "warning:")
			if tt.want == "" && got || tt.want != "" && !strings.Contains(out.String(), tt.want) {
				t.Errorf("want warning %q, got:\n%s", tt.want, out.String())
			}
		})
	}
}

func TestAptWaitsForTheDpkgLockAndNeverAsks(t *testing.T) {
	var out bytes.Buffer
	in, sim, _ := newSim(t, "ubuntu", &out)
	lock := filepath.Join(sim.root, "/var/lib/dpkg/lock-frontend")
	f, err := os.OpenFile(lock, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// dpkg and apt hold their locks with fcntl(F_SETLK).
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &syscall.Flock_t{Type: syscall.F_WRLCK}); err != nil {
		t.Fatal(err)
	}
	if err := in.Install(context.Background(), opts(t)); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if !strings.Contains(text, "waiting for it to finish") {
		t.Errorf("no message says install waits for the dpkg lock:\n%s", text)
	}
	for _, want := range []string{"DEBIAN_FRONTEND=noninteractive", "NEEDRESTART_MODE=a", "DPkg::Lock::Timeout=600"} {
		if !strings.Contains(text, want+" ") {
			t.Errorf("apt-get runs without %s:\n%s", want, text)
		}
	}
}

func TestAnInterruptedDpkgIsRepairedFirst(t *testing.T) {
	var out bytes.Buffer
	in, sim, _ := newSim(t, "debian", &out)
	if err := os.MkdirAll(filepath.Join(sim.root, "/var/lib/dpkg/updates"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sim.root, "/var/lib/dpkg/updates/0001"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := in.Install(context.Background(), opts(t)); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	repair := strings.Index(text, "dpkg --force-confdef --force-confold --configure -a")
	apt := strings.Index(text, "apt-get")
	if repair < 0 || apt < 0 || repair > apt {
		t.Errorf("dpkg --configure -a does not run before apt-get:\n%s", text)
	}
}

// brokenSelfUpdate installs chatbox v1 on a simulated Debian host whose
// systemd refuses a fourth start without reset-failed, then hands update
// --self a binary that passes the checks but never answers: every failed
// health check is one auto-restart of the unit, as Restart=on-failure
// does, so the rollback's start meets the start limit unless the failure
// state is cleared first.
func brokenSelfUpdate(t *testing.T) (in *Installer, sim *simHost, probe *fakeProbe, out *bytes.Buffer, broken string) {
	t.Helper()
	out = &bytes.Buffer{}
	in, sim, probe = newSim(t, "debian", out)
	if err := in.Install(context.Background(), opts(t)); err != nil {
		t.Fatal(err)
	}
	broken = filepath.Join(t.TempDir(), "chatbox")
	bad := releaseBinary(t, "v2.0.0")
	if err := os.WriteFile(broken, bad, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(sim.root, "/usr/local/bin/chatbox")
	probe.health = func() error {
		if data, _ := os.ReadFile(bin); bytes.Equal(data, bad) {
			sim.autoRestart()
			return errors.New("connection refused")
		}
		return nil
	}
	sim.startLimit = 3
	in.HealthTimeout = time.Second
	in.healthInterval = time.Millisecond
	out.Reset()
	return in, sim, probe, out, broken
}

func TestSelfUpdateRollsBackABinaryThatDoesNotComeUp(t *testing.T) {
	in, sim, _, out, broken := brokenSelfUpdate(t)
	err := in.Update(context.Background(), UpdateOptions{Self: broken})
	if !errors.Is(err, ErrRolledBack) {
		t.Fatalf("got %v, want a rollback:\n%s", err, out)
	}
	if data, _ := os.ReadFile(filepath.Join(sim.root, "/usr/local/bin/chatbox")); string(data) != "chatbox v1" {
		t.Errorf("after the rollback the binary is %q, want the previous one", data)
	}
	if !sim.active {
		t.Error("the service is not running after the rollback")
	}
	text := out.String()
	if strings.Count(text, "run: systemctl restart chatbox.service") != 2 {
		t.Errorf("want a restart for the new binary and one for the old:\n%s", text)
	}
	if strings.Count(text, "run: systemctl reset-failed chatbox.service\nrun: systemctl restart chatbox.service") != 2 {
		t.Errorf("the failure state is not cleared before each start:\n%s", text)
	}
	if !strings.Contains(text, "waiting for chatbox to answer http://") {
		t.Errorf("no line says the update waits for chatbox to answer:\n%s", text)
	}
}

func TestSelfUpdateSaysHowToBringTheOldBinaryBackWhenTheRollbackFails(t *testing.T) {
	in, sim, _, out, broken := brokenSelfUpdate(t)
	sim.onChange = func(int) {
		// The previous binary is gone by the time the rollback needs it.
		os.Remove(filepath.Join(sim.root, "/usr/local/bin/chatbox.prev"))
	}
	err := in.Update(context.Background(), UpdateOptions{Self: broken})
	var rf *RollbackError
	if !errors.As(err, &rf) {
		t.Fatalf("got %v, want a failed rollback:\n%s", err, out)
	}
	want := "chatbox is not running. These commands put the previous binary back and start it:\n" +
		"  cp /usr/local/bin/chatbox.prev /usr/local/bin/chatbox\n" +
		"  systemctl reset-failed chatbox.service\n" +
		"  systemctl start chatbox.service\n"
	if !strings.HasSuffix(out.String(), want) {
		t.Errorf("the output does not end with the commands to run:\n%s", out)
	}
	if strings.Contains(out.String(), "run this again") {
		t.Errorf("a failed rollback is not something to run again:\n%s", out)
	}
}

func TestSelfUpdateReportsWhileItWaitsForHealth(t *testing.T) {
	var out bytes.Buffer
	in, _, probe := newSim(t, "debian", &out)
	if err := in.Install(context.Background(), opts(t)); err != nil {
		t.Fatal(err)
	}
	// The new binary answers at the 45th check: two "still waiting" lines
	// (after the 20th and the 40th) come before it does.
	probe.health = func() error {
		if probe.asked < 45 {
			return errors.New("connection refused")
		}
		return nil
	}
	probe.asked = 0
	in.HealthTimeout = time.Minute
	in.healthInterval = time.Millisecond
	out.Reset()
	if err := in.Update(context.Background(), UpdateOptions{Self: releaseBinaryFile(t, "v2.0.0")}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if n := strings.Count(out.String(), "still waiting after"); n != 2 {
		t.Errorf("%d progress lines, want 2:\n%s", n, out.String())
	}
}

func TestSelfUpdateRefusesAFileThatIsNotChatbox(t *testing.T) {
	for name, file := range map[string]func(t *testing.T) string{
		"a text file":                      func(t *testing.T) string { return testBinary(t, "chatbox v2") },
		"an ELF that does not say chatbox": func(*testing.T) string { return "/bin/true" },
	} {
		t.Run(name, func(t *testing.T) {
			in, sim, out := installedSim(t)
			before := snapshot(t, sim.root)
			err := in.Update(context.Background(), UpdateOptions{Self: file(t)})
			if err == nil || !strings.Contains(err.Error(), "nothing was changed") {
				t.Fatalf("got %v, want a refusal", err)
			}
			if after := snapshot(t, sim.root); after != before {
				t.Errorf("the refused update changed the host:\n%s", out)
			}
		})
	}
}

func TestSelfUpdateKeepsTheBinaryBefore(t *testing.T) {
	ctx := context.Background()
	in, sim, _ := newSim(t, "debian", io.Discard)
	if err := in.Install(ctx, opts(t)); err != nil {
		t.Fatal(err)
	}
	v2 := releaseBinaryFile(t, "v2.0.0")
	if err := in.Update(ctx, UpdateOptions{Self: v2}); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(v2)
	for file, want := range map[string]string{"chatbox": string(want), "chatbox.prev": "chatbox v1"} {
		if data, _ := os.ReadFile(filepath.Join(sim.root, "/usr/local/bin", file)); string(data) != want {
			t.Errorf("%s holds %d bytes, want %d", file, len(data), len(want))
		}
	}
}

func TestUninstallPurgeLeavesNothingOfChatbox(t *testing.T) {
	ctx := context.Background()
	for _, osID := range Backends().IDs() {
		t.Run("on "+osID+" uninstall --purge undoes install", func(t *testing.T) {
			in, sim, _ := newSim(t, osID, io.Discard)
			if err := in.Install(ctx, opts(t)); err != nil {
				t.Fatal(err)
			}
			if err := in.Uninstall(ctx, UninstallOptions{Purge: true}); err != nil {
				t.Fatal(err)
			}
			p := in.Platform.Paths()
			for _, gone := range []string{p.Binary, p.PrevBinary(), p.ConfigDir, p.DataDir, p.ServiceFile} {
				if in.Host.Exists(gone) {
					t.Errorf("%s is still there", gone)
				}
			}
			if in.Host.HasUser(in.Platform.User()) {
				t.Errorf("the %s user is still there", in.Platform.User())
			}
			if sim.active {
				t.Error("the service still runs")
			}
		})
	}
}

func TestInsideServiceReadsTheCgroup(t *testing.T) {
	tests := []struct {
		name   string
		cgroup string
		want   bool
	}{
		{"the chatbox unit on cgroup v2 is inside", "0::/system.slice/chatbox.service\n", true},
		{"the chatbox unit on cgroup v1 is inside", "12:pids:/system.slice/chatbox.service\n1:name=systemd:/system.slice/chatbox.service\n", true},
		{"a login shell is outside", "0::/user.slice/user-0.slice/session-1.scope\n", false},
		{"a transient update unit is outside", "0::/system.slice/chatbox-update.service\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := insideService([]byte(tt.cgroup)); got != tt.want {
				t.Errorf("insideService = %v, want %v", got, tt.want)
			}
		})
	}
}

// Ctrl-C cancels the context: the run stops at the step it is in, says it
// was interrupted, leaves no temporary file, and the next run finishes.
func TestAnInterruptedInstallIsFinishedByTheNextRun(t *testing.T) {
	clean, cleanSim, _ := newSim(t, "debian", io.Discard)
	o := opts(t)
	if err := clean.Install(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	want := snapshot(t, cleanSim.root) + cleanSim.state()

	var out bytes.Buffer
	in, sim, _ := newSim(t, "debian", &out)
	ctx, cancel := context.WithCancel(context.Background())
	sim.onChange = func(n int) {
		if n == 6 {
			cancel()
		}
	}
	err := in.Install(ctx, o)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("got %v, want an interrupted run", err)
	}
	sim.onChange = nil
	if err := in.Install(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(t, sim.root) + sim.state(); got != want {
		t.Errorf("after an interrupted run and another one the host differs from a clean install:\n--- got\n%s--- want\n%s", got, want)
	}
}

func TestUpdateWithoutFlagsUpdatesTheSystemAndLeavesTheBinary(t *testing.T) {
	var out bytes.Buffer
	in, _, _ := newSim(t, "debian", &out)
	if err := in.Update(context.Background(), UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if !strings.Contains(text, "full-upgrade") {
		t.Errorf("update without flags:\n%s", text)
	}
	if strings.Contains(text, "write: /usr/local/bin/chatbox") {
		t.Errorf("update without --self replaced the binary:\n%s", text)
	}
}

func TestRunOutsideServiceRunsTheInstalledBinaryThroughSystemdRun(t *testing.T) {
	bin := t.TempDir()
	fake := "#!/bin/sh\necho \"systemd-run $*\"\necho warning >&2\n"
	if err := os.WriteFile(filepath.Join(bin, "systemd-run"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	var out, errb bytes.Buffer
	in, _, _ := newSim(t, "debian", &bytes.Buffer{})
	if err := in.RunOutsideService(context.Background(), []string{"update", "--self", "/tmp/new"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	want := "systemd-run --wait --collect --quiet --pipe --unit=chatbox-update /usr/local/bin/chatbox update --self /tmp/new\n"
	if out.String() != want {
		t.Errorf("ran %q, want %q", out.String(), want)
	}
	if errb.String() != "warning\n" {
		t.Errorf("stderr %q, want the unit's own", errb.String())
	}
}

func TestRunOutsideServiceSaysWhenSystemdRunFails(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	in, _, _ := newSim(t, "debian", &bytes.Buffer{})
	err := in.RunOutsideService(context.Background(), []string{"update"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "systemd-run") {
		t.Fatalf("got %v, want an error naming systemd-run", err)
	}
}

// apt-get update exits 0 when a mirror cannot be reached unless asked
// with --error-on=any (apt 2.1.16 and later); older apt's output is read
// instead. Either way the update stops with one sentence naming the
// mirror.
func TestAptUpdateSaysWhenTheMirrorCannotBeReached(t *testing.T) {
	const unreachable = "Err:1 http://mirror.example/debian trixie InRelease\n  Temporary failure resolving 'mirror.example'\n" +
		"W: Failed to fetch http://mirror.example/debian/dists/trixie/InRelease\nW: Some index files failed to download.\n"
	for _, tc := range []struct {
		name, apt string
		fails     bool
		flag      bool
	}{
		{"apt 2.6 is asked to fail", "2.6.1", true, true},
		{"apt 2.0 exits 0 and its output is read", "2.0.9", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			in, sim, _ := newSim(t, "debian", &out)
			status := filepath.Join(sim.root, "/var/lib/dpkg/status")
			data, _ := os.ReadFile(status)
			os.WriteFile(status, bytes.Replace(data, []byte("Version: 2.6.1"), []byte("Version: "+tc.apt), 1), 0o644)
			sim.aptUpdate, sim.aptUpdateFails = unreachable, tc.fails
			err := in.Update(context.Background(), UpdateOptions{System: true})
			if err == nil || !strings.Contains(err.Error(), "the package mirror (http://mirror.example/debian) could not be reached") {
				t.Fatalf("got %v, want a sentence naming the mirror:\n%s", err, out.String())
			}
			if got := strings.Contains(out.String(), "update --error-on=any"); got != tc.flag {
				t.Errorf("--error-on=any used: %v, want %v:\n%s", got, tc.flag, out.String())
			}
			if strings.Contains(out.String(), "full-upgrade") {
				t.Errorf("the upgrade ran after a failed update:\n%s", out.String())
			}
		})
	}
}

func TestUpdateSystemSaysWhatItDid(t *testing.T) {
	var out bytes.Buffer
	in, sim, _ := newSim(t, "debian", &out)
	sim.aptUpgrade = "Reading package lists...\n3 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n"
	if err := in.Update(context.Background(), UpdateOptions{System: true}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Note: apt upgraded 3 packages.", "Note: no reboot is needed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q:\n%s", want, out.String())
		}
	}
}

// --ip takes an IPv6 address: the config holds it as given (the box's
// certificate is for it), and the room's address brackets it.
func TestInstallWithAnIPv6Address(t *testing.T) {
	var out bytes.Buffer
	in, sim, _ := newSim(t, "debian", &out)
	o := opts(t)
	o.Domain, o.IP, o.Retry = "", "2001:db8::7", "sudo chatbox install --ip 2001:db8::7"
	if err := in.Install(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(sim.root, "etc/chatbox/config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(data)
	if err != nil {
		t.Fatalf("the config install wrote: %v", err)
	}
	if cfg.Server.IP != "2001:db8::7" || cfg.Server.Domain != "" {
		t.Errorf("server.ip = %q, server.domain = %q; want the IPv6 address and no domain", cfg.Server.IP, cfg.Server.Domain)
	}
	if !strings.Contains(out.String(), "  https://[2001:db8::7]/ ") {
		t.Errorf("install does not show the room at https://[2001:db8::7]/:\n%s", out.String())
	}
}
