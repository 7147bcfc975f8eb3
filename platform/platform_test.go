package platform_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatbox-dev/chatbox/platform"
	"github.com/chatbox-dev/chatbox/platform/centos"
	"github.com/chatbox-dev/chatbox/platform/linux"
	"github.com/chatbox-dev/chatbox/platform/openbsd"
)

func backends() []platform.Backend {
	return []platform.Backend{linux.Backend{}, centos.Backend{}, openbsd.Backend{}}
}

func TestDetectReadsOSRelease(t *testing.T) {
	tests := []struct {
		name      string
		osRelease string
		wantID    string // "" when refused
		wantErr   string
	}{
		{"Debian 12 is supported", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n", "debian", ""},
		{"Debian 10 is refused by name", "PRETTY_NAME=\"Debian GNU/Linux 10 (buster)\"\nID=debian\nVERSION_ID=\"10\"\n", "", "Debian GNU/Linux 10 (buster) is not supported"},
		{"Ubuntu 24.04 is supported", "ID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"24.04\"\n", "ubuntu", ""},
		{"Ubuntu 20.04 is refused", "ID=ubuntu\nVERSION_ID=\"20.04\"\n", "", "ubuntu 20.04 is not supported"},
		{"Raspberry Pi OS 12 is supported", "ID=raspbian\nVERSION_ID=\"12\"\n", "raspbian", ""},
		{"Rocky 9.4 is supported", "ID=\"rocky\"\nVERSION_ID=\"9.4\"\n", "rocky", ""},
		{"AlmaLinux 8 is supported", "ID=\"almalinux\"\nVERSION_ID=\"8.10\"\n", "almalinux", ""},
		{"CentOS 7 is refused", "ID=\"centos\"\nVERSION_ID=\"7\"\n", "", "centos 7 is not supported"},
		{"Fedora 40 is supported", "ID=fedora\nVERSION_ID=40\n", "fedora", ""},
		{"Arch is refused with the supported list", "NAME=\"Arch Linux\"\nPRETTY_NAME=\"Arch Linux\"\nID=arch\n", "", "Arch Linux is not supported; chatbox installs on Debian 11+"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			os.MkdirAll(filepath.Join(root, "etc"), 0o755)
			if err := os.WriteFile(filepath.Join(root, "etc/os-release"), []byte(tt.osRelease), 0o644); err != nil {
				t.Fatal(err)
			}
			p, err := platform.Detect(context.Background(), root, "linux", "", backends()...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, platform.ErrUnsupported) {
					t.Fatalf("got %v, want an unsupported error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.ID() != tt.wantID {
				t.Errorf("ID = %q, want %q", p.ID(), tt.wantID)
			}
		})
	}
}

func TestDetectWithOSPlansForAnyMachine(t *testing.T) {
	for _, id := range platform.Backends(backends()).IDs() {
		t.Run("the ID "+id+" is accepted on a machine without os-release", func(t *testing.T) {
			p, err := platform.Detect(context.Background(), t.TempDir(), "darwin", id, backends()...)
			if err != nil {
				t.Fatal(err)
			}
			if p.ID() != id {
				t.Errorf("ID = %q", p.ID())
			}
		})
	}
	t.Run("an unknown ID is refused with the supported list", func(t *testing.T) {
		_, err := platform.Detect(context.Background(), "/", "linux", "arch", backends()...)
		var u *platform.UnsupportedError
		if !errors.As(err, &u) || u.Found != `"arch"` {
			t.Fatalf("got %v, want an UnsupportedError for \"arch\"", err)
		}
	})
	t.Run("another kernel is refused without --os", func(t *testing.T) {
		_, err := platform.Detect(context.Background(), "/", "darwin", "", backends()...)
		if !errors.Is(err, platform.ErrUnsupported) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestHostsWithName(t *testing.T) {
	tests := []struct {
		name, hosts, addr, host, want string
	}{
		{"the Debian 127.0.1.1 line gets the new name", "127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n::1\tlocalhost\n", "127.0.1.1", "chat.example.com",
			"127.0.0.1\tlocalhost\n127.0.1.1\tchat.example.com\tchat\n::1\tlocalhost\n"},
		{"a missing line is added", "127.0.0.1 localhost\n", "127.0.1.1", "box",
			"127.0.0.1 localhost\n127.0.1.1\tbox\n"},
		{"localhost stays on OpenBSD's 127.0.0.1 line", "127.0.0.1\tlocalhost\n::1\t\tlocalhost\n", "127.0.0.1", "chat.example.com",
			"127.0.0.1\tlocalhost\tchat.example.com\tchat\n::1\t\tlocalhost\n"},
		{"an empty file gets one line", "", "127.0.1.1", "box", "127.0.1.1\tbox\n"},
		{"running twice changes nothing more", "127.0.1.1\tchat.example.com\tchat\n", "127.0.1.1", "chat.example.com",
			"127.0.1.1\tchat.example.com\tchat\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(platform.HostsWithName([]byte(tt.hosts), tt.addr, tt.host)); got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestWithBlock(t *testing.T) {
	block := "# b\nx\n# e\n"
	if got := string(platform.WithBlock([]byte("a\n"), "# b", "# e", block)); got != "a\n"+block {
		t.Errorf("append: %q", got)
	}
	if got := string(platform.WithBlock([]byte("a\n# b\nold\n# e\nz\n"), "# b", "# e", block)); got != "a\n"+block+"z\n" {
		t.Errorf("replace: %q", got)
	}
}

func TestAtLeast(t *testing.T) {
	tests := []struct {
		v, min string
		want   bool
	}{
		{"12", "11", true}, {"11", "11", true}, {"10", "11", false},
		{"22.04", "22.04", true}, {"20.04", "22.04", false}, {"24.10", "22.04", true},
		{"7.6", "7.4", true}, {"7.3", "7.4", false}, {"9", "9.2", false}, {"", "11", true},
	}
	for _, tt := range tests {
		if got := platform.AtLeast(tt.v, tt.min); got != tt.want {
			t.Errorf("AtLeast(%q, %q) = %v, want %v", tt.v, tt.min, got, tt.want)
		}
	}
}

func TestCmdStringQuotesForTheShell(t *testing.T) {
	c := platform.Cmd{Env: []string{"A=b"}, Args: []string{"useradd", "--comment", "chatbox service", "it's"}}
	if got, want := c.String(), `A=b useradd --comment 'chatbox service' 'it'\''s'`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestExecWritesFilesAtomicallyWithModeUnderRoot(t *testing.T) {
	root := t.TempDir()
	x := platform.Exec{Root: root}
	ctx := context.Background()
	for _, data := range []string{"first\n", "second\n"} {
		if err := x.WriteFile(ctx, platform.File{Path: "/etc/chatbox/config.toml", Data: []byte(data), Mode: 0o640}); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(root, "etc/chatbox/config.toml")
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %04o, want 0640", fi.Mode().Perm())
	}
	if data, _ := os.ReadFile(file); string(data) != "second\n" {
		t.Errorf("content %q", data)
	}
	entries, _ := os.ReadDir(filepath.Dir(file))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestExecRunReportsTheCommandAndAcceptsListedExitCodes(t *testing.T) {
	ctx := context.Background()
	x := platform.Exec{Root: "/"}
	_, err := x.Run(ctx, platform.Command("sh", "-c", "echo oops >&2; exit 3"))
	var ce *platform.CmdError
	if !errors.As(err, &ce) || ce.Code != 3 || !strings.Contains(err.Error(), "sh -c 'echo oops >&2; exit 3' failed with exit status 3: oops") {
		t.Fatalf("got %v", err)
	}
	if _, err := x.Run(ctx, platform.Cmd{Args: []string{"sh", "-c", "exit 2"}, OKExit: []int{2}}); err != nil {
		t.Errorf("exit 2 listed as OK: %v", err)
	}
}

func TestExecRunStopsTheCommandWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	go func() {
		time.Sleep(100 * time.Millisecond)
		cancel()
	}()
	_, err := platform.Exec{}.Run(ctx, platform.Command("sleep", "30"))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the command ran on for %s after the cancel", d)
	}
}

func TestReadOnlyAnswersQueriesAndRefusesChanges(t *testing.T) {
	ctx := context.Background()
	r := platform.ReadOnly{Root: "/"}
	if !r.Query(ctx, platform.Command("true")) || r.Query(ctx, platform.Command("false")) {
		t.Error("queries are not answered as on the host")
	}
	file := filepath.Join(t.TempDir(), "f")
	if _, err := r.Run(ctx, platform.Command("touch", file)); !errors.Is(err, platform.ErrReadOnly) {
		t.Errorf("Run: got %v, want ErrReadOnly", err)
	}
	if err := r.WriteFile(ctx, platform.File{Path: file, Data: []byte("x"), Mode: 0o644}); !errors.Is(err, platform.ErrReadOnly) {
		t.Errorf("WriteFile: got %v, want ErrReadOnly", err)
	}
	if err := r.Remove(ctx, file); !errors.Is(err, platform.ErrReadOnly) {
		t.Errorf("Remove: got %v, want ErrReadOnly", err)
	}
	if _, err := os.Stat(file); err == nil {
		t.Error("the host was changed")
	}
}

// fakeBackend is a backend that is only its table.
type fakeBackend platform.Family

func (f fakeBackend) Family() platform.Family { return platform.Family(f) }

func (fakeBackend) Platform(platform.OSRelease) (platform.Platform, error) { return nil, nil }

func TestBackendsDeriveTheSupportedSystemsFromTheirTables(t *testing.T) {
	tests := []struct {
		name      string
		backends  platform.Backends
		ids       []string
		supported string
	}{
		{"one system is named alone", platform.Backends{fakeBackend{{"a", "Alpha", "1"}}}, []string{"a"}, "Alpha 1+"},
		{"two systems are joined with and", platform.Backends{fakeBackend{{"a", "Alpha", "1"}}, fakeBackend{{"b", "Beta", "2"}}},
			[]string{"a", "b"}, "Alpha 1+ and Beta 2+"},
		{"neighbours with the same oldest version share it", platform.Backends{
			fakeBackend{{"a", "Alpha", "1"}, {"b", "Beta", "8"}, {"c", "Gamma", "8"}, {"d", "Delta", "8"}},
			fakeBackend{{"e", "Epsilon", "3"}},
		}, []string{"a", "b", "c", "d", "e"}, "Alpha 1+, Beta, Gamma and Delta 8+ and Epsilon 3+"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.backends.IDs(); !slices.Equal(got, tt.ids) {
				t.Errorf("IDs = %q, want %q", got, tt.ids)
			}
			if got := tt.backends.Supported(); got != tt.supported {
				t.Errorf("Supported = %q, want %q", got, tt.supported)
			}
		})
	}
}

// The IDs and the sentence people read come from the backends' tables
// alone: every row is an ID that Detect accepts and a name in the sentence.
func TestTheSupportedSystemsAgreeWithTheBackendsTables(t *testing.T) {
	bs := platform.Backends(backends())
	ids, supported := bs.IDs(), bs.Supported()
	if want := []string{"debian", "ubuntu", "raspbian", "centos", "rhel", "rocky", "almalinux", "fedora", "openbsd"}; !slices.Equal(ids, want) {
		t.Errorf("IDs = %q, want the documented %q", ids, want)
	}
	if want := "Debian 11+, Ubuntu 22.04+, Raspberry Pi OS 11+, CentOS Stream 9+, RHEL, Rocky Linux and AlmaLinux 8+, Fedora 39+ and OpenBSD 7.4+"; supported != want {
		t.Errorf("Supported = %q, want the documented %q", supported, want)
	}
	n := 0
	for _, b := range bs {
		for _, r := range b.Family() {
			n++
			if !slices.Contains(ids, r.ID) || !strings.Contains(supported, r.Name) {
				t.Errorf("%s (%s) is in a table but not in IDs or Supported", r.ID, r.Name)
			}
			p, err := platform.Detect(context.Background(), t.TempDir(), "linux", r.ID, backends()...)
			if err != nil || p.ID() != r.ID {
				t.Errorf("Detect(%s) = %v, %v", r.ID, p, err)
			}
		}
	}
	if n != len(ids) {
		t.Errorf("%d table rows but %d IDs", n, len(ids))
	}
}

// cloud-init keeps the name chatbox set: the drop-in is written even
// before cloud-init is installed (its first boot would otherwise set the
// data source's name), and once cloud-init's hosts template is there it
// maps the name too, whatever fqdn user data gives. Setting the name again
// changes nothing.
func TestKeepHostnameCloudInit(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	var notes []string
	h := &platform.Host{Root: root, Runner: platform.Exec{Root: root}, Notef: func(f string, a ...any) {
		notes = append(notes, f)
	}}
	if err := platform.KeepHostnameCloudInit(ctx, h, "chat.example.com", "127.0.1.1", "debian"); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(root, platform.CloudInitHostnameConfig))
	if err != nil {
		t.Fatalf("no drop-in without cloud-init: %v", err)
	}
	for _, want := range []string{"\npreserve_hostname: true\n", "\nfqdn: \"chat.example.com\"\n", "\nhostname: \"chat\"\n"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("the drop-in lacks %q:\n%s", want, cfg)
		}
	}
	if len(notes) != 0 {
		t.Errorf("notes without a hosts template: %q", notes)
	}

	tmpl := filepath.Join(root, "etc/cloud/templates/hosts.debian.tmpl")
	orig := "## template:jinja\n{# The value '{{hostname}}' will be replaced with the local-hostname -#}\n127.0.1.1 {{fqdn}} {{hostname}}\n127.0.0.1 localhost\n"
	if err := os.MkdirAll(filepath.Dir(tmpl), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmpl, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := platform.KeepHostnameCloudInit(ctx, h, "chat.example.com", "127.0.1.1", "debian"); err != nil {
		t.Fatal(err)
	}
	want := "## template:jinja\n{# The value '{{hostname}}' will be replaced with the local-hostname -#}\n127.0.1.1\tchat.example.com\tchat\n127.0.0.1 localhost\n"
	if got, _ := os.ReadFile(tmpl); string(got) != want {
		t.Errorf("the hosts template is\n%s\nwant\n%s", got, want)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "hosts template") {
		t.Errorf("notes %q, want one about the hosts template", notes)
	}
	if err := platform.KeepHostnameCloudInit(ctx, h, "chat.example.com", "127.0.1.1", "debian"); err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 {
		t.Errorf("setting the same name again noted %q", notes[1:])
	}
}
