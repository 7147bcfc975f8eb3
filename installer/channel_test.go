package installer

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"aead.dev/minisign"
	"github.com/chatbox-dev/chatbox/internal/release"
	"github.com/chatbox-dev/chatbox/internal/release/releasetest"
)

// fakeVersionEnv makes this test binary act as a chatbox binary that
// answers `version` with the variable's value: a real ELF executable for
// this machine to serve as a release.
const fakeVersionEnv = "CHATBOX_TEST_FAKE_VERSION"

func TestMain(m *testing.M) {
	if v := os.Getenv(fakeVersionEnv); v != "" && len(os.Args) == 2 && os.Args[1] == "version" {
		fmt.Printf("chatbox %s (test, %s/%s, %s)\n", v, runtime.GOOS, runtime.GOARCH, runtime.Version())
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// releaseBinary is this test binary's bytes, set up to answer `version`
// as chatbox version.
func releaseBinary(t *testing.T, version string) []byte {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeVersionEnv, version)
	return data
}

// releaseBinaryFile writes releaseBinary(version) to a file and returns
// its path.
func releaseBinaryFile(t *testing.T, version string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "chatbox")
	if err := os.WriteFile(p, releaseBinary(t, version), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// channelRelease publishes version on ch for this machine, signed by key,
// as the latest release (and under its own version).
func channelRelease(t *testing.T, ch *releasetest.Channel, version string, key minisign.PrivateKey, bin []byte) release.Manifest {
	goos, arch := release.Target()
	name := "chatbox-" + goos + "-" + arch
	m := release.Manifest{Version: version, Files: []release.File{
		releasetest.FileFor(goos, arch, name, bin),
		releasetest.FileFor("openbsd", "riscv64", "chatbox-openbsd-riscv64", []byte("other")),
	}}
	for _, dir := range []string{releasetest.Dir(""), releasetest.Dir(version)} {
		ch.Publish(t, dir, m, key, map[string][]byte{name: bin})
	}
	return m
}

// installedSim is a simulated Debian host with chatbox v1 installed.
func installedSim(t *testing.T) (*Installer, *simHost, *bytes.Buffer) {
	t.Helper()
	var out bytes.Buffer
	in, sim, _ := newSim(t, "debian", &out)
	if err := in.Install(context.Background(), opts(t)); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	return in, sim, &out
}

func TestChannelUpdateVerifiesAndSwapsTheBinary(t *testing.T) {
	ch := releasetest.New(t)
	bin := releaseBinary(t, "v1.1.0")
	channelRelease(t, ch, "v1.1.0", ch.Key, bin)
	in, sim, out := installedSim(t)

	err := in.Update(context.Background(), UpdateOptions{FromChannel: true, Current: "v1.0.0", Channel: ch.Client()})
	if err != nil {
		t.Fatalf("update from the channel: %v\n%s", err, out)
	}
	for file, want := range map[string][]byte{"chatbox": bin, "chatbox.prev": []byte("chatbox v1")} {
		if data, _ := os.ReadFile(filepath.Join(sim.root, "/usr/local/bin", file)); !bytes.Equal(data, want) {
			t.Errorf("%s holds %d bytes, want %d", file, len(data), len(want))
		}
	}
	if !strings.Contains(out.String(), "run: systemctl restart chatbox.service") {
		t.Errorf("the service was not restarted with the new binary:\n%s", out)
	}
	assertNoDownloads(t, sim.root)
}

func TestChannelUpdateRefusesAndChangesNothing(t *testing.T) {
	_, other := releasetest.NewKey(t)
	goos, arch := release.Target()
	name := "chatbox-" + goos + "-" + arch
	tests := []struct {
		name    string
		version string // --version, or ""
		setup   func(t *testing.T, ch *releasetest.Channel, bin []byte)
		want    string
	}{
		{"a manifest signed by an unknown key is refused", "", func(t *testing.T, ch *releasetest.Channel, bin []byte) {
			channelRelease(t, ch, "v1.1.0", other, bin)
		}, "which this chatbox does not trust and no trusted key vouches for"},
		{"a binary whose hash does not match is refused", "", func(t *testing.T, ch *releasetest.Channel, bin []byte) {
			channelRelease(t, ch, "v1.1.0", ch.Key, bin)
			evil := bytes.Clone(bin)
			evil[len(evil)/2] ^= 1
			ch.Put(releasetest.Dir("")+name, evil)
		}, "not the " + "%SHA%" + " the signed manifest says"},
		{"a truncated download is refused", "", func(t *testing.T, ch *releasetest.Channel, bin []byte) {
			channelRelease(t, ch, "v1.1.0", ch.Key, bin)
			ch.Truncate(releasetest.Dir("") + name)
		}, "unexpected EOF"},
		{"a manifest without this architecture is refused", "", func(t *testing.T, ch *releasetest.Channel, bin []byte) {
			m := release.Manifest{Version: "v1.1.0", Files: []release.File{releasetest.FileFor("plan9", "mips", "chatbox-plan9-mips", []byte("x"))}}
			ch.Publish(t, releasetest.Dir(""), m, ch.Key, nil)
		}, fmt.Sprintf("release v1.1.0 has no binary for %s/%s", goos, arch)},
		{"a downgrade without --version is refused", "", func(t *testing.T, ch *releasetest.Channel, bin []byte) {
			channelRelease(t, ch, "v0.9.0", ch.Key, bin)
		}, "the channel's newest release v0.9.0 is older than this chatbox v1.0.0; a downgrade needs --version v0.9.0"},
		{"a binary that says it is another version is refused", "", func(t *testing.T, ch *releasetest.Channel, bin []byte) {
			channelRelease(t, ch, "v1.2.0", ch.Key, bin)
		}, `not chatbox v1.2.0`},
		{"a binary for another machine is refused", "", func(t *testing.T, ch *releasetest.Channel, bin []byte) {
			channelRelease(t, ch, "v1.1.0", ch.Key, []byte("#!/bin/sh\necho chatbox v1.1.0 x\n"))
		}, "the download is not an ELF executable"},
		{"a pinned version whose manifest names another version is refused", "v1.5.0", func(t *testing.T, ch *releasetest.Channel, bin []byte) {
			m := channelRelease(t, ch, "v1.1.0", ch.Key, bin)
			ch.Publish(t, releasetest.Dir("v1.5.0"), m, ch.Key, nil)
		}, "the manifest for v1.5.0 is signed for v1.1.0 instead"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := releasetest.New(t)
			bin := releaseBinary(t, "v1.1.0")
			tt.setup(t, ch, bin)
			in, sim, out := installedSim(t)
			before, changes := snapshot(t, sim.root)+sim.state(), sim.n

			err := in.Update(context.Background(), UpdateOptions{FromChannel: true, Version: tt.version, Current: "v1.0.0", Channel: ch.Client()})
			want := strings.ReplaceAll(tt.want, "%SHA%", releasetest.FileFor("", "", "", bin).SHA256)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("got %v, want a refusal saying %q\n%s", err, want, out)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("the refusal is more than one line: %q", err)
			}
			if after := snapshot(t, sim.root) + sim.state(); after != before || sim.n != changes {
				t.Errorf("the refused update changed the host (%d changes):\n--- before\n%s--- after\n%s", sim.n-changes, before, after)
			}
			assertNoDownloads(t, sim.root)
		})
	}
}

func TestChannelUpdateDowngradesWhenAskedByVersion(t *testing.T) {
	ch := releasetest.New(t)
	bin := releaseBinary(t, "v0.9.0")
	channelRelease(t, ch, "v0.9.0", ch.Key, bin)
	channelRelease(t, ch, "v1.1.0", ch.Key, []byte("newer"))
	in, sim, out := installedSim(t)
	if err := in.Update(context.Background(), UpdateOptions{FromChannel: true, Version: "v0.9.0", Current: "v1.0.0", Channel: ch.Client()}); err != nil {
		t.Fatalf("update --version v0.9.0: %v\n%s", err, out)
	}
	if data, _ := os.ReadFile(filepath.Join(sim.root, "/usr/local/bin/chatbox")); !bytes.Equal(data, bin) {
		t.Errorf("the binary is not v0.9.0's")
	}
}

func TestChannelUpdateRetriesA5xx(t *testing.T) {
	ch := releasetest.New(t)
	bin := releaseBinary(t, "v1.1.0")
	channelRelease(t, ch, "v1.1.0", ch.Key, bin)
	goos, arch := release.Target()
	manifest := releasetest.Dir("") + release.ManifestName
	file := releasetest.Dir("") + "chatbox-" + goos + "-" + arch
	ch.Fail(manifest, 1)
	ch.Fail(file, 2)
	in, sim, out := installedSim(t)
	if err := in.Update(context.Background(), UpdateOptions{FromChannel: true, Current: "v1.0.0", Channel: ch.Client()}); err != nil {
		t.Fatalf("update after 500s: %v\n%s", err, out)
	}
	if got := ch.Hits(manifest); got != 2 {
		t.Errorf("the manifest was asked for %d times, want 2 (a 500, then the answer)", got)
	}
	if got := ch.Hits(file); got != 3 {
		t.Errorf("the binary was asked for %d times, want 3 (two 500s, then the answer)", got)
	}
	if data, _ := os.ReadFile(filepath.Join(sim.root, "/usr/local/bin/chatbox")); !bytes.Equal(data, bin) {
		t.Errorf("the binary was not replaced after the retries")
	}
}

func TestChannelUpdateGivesUpAfterItsAttempts(t *testing.T) {
	ch := releasetest.New(t)
	channelRelease(t, ch, "v1.1.0", ch.Key, releaseBinary(t, "v1.1.0"))
	manifest := releasetest.Dir("") + release.ManifestName
	ch.Fail(manifest, 100)
	in, sim, _ := installedSim(t)
	before := snapshot(t, sim.root)
	c := ch.Client()
	c.Attempts = 3
	err := in.Update(context.Background(), UpdateOptions{FromChannel: true, Current: "v1.0.0", Channel: c})
	if err == nil || !strings.Contains(err.Error(), "500 Internal Server Error (tried 3 times)") {
		t.Fatalf("got %v, want a failure after 3 tries", err)
	}
	if got := ch.Hits(manifest); got != 3 {
		t.Errorf("%d requests, want 3", got)
	}
	if snapshot(t, sim.root) != before {
		t.Error("the failed update changed the host")
	}
}

func TestChannelUpToDateChangesNothing(t *testing.T) {
	ch := releasetest.New(t)
	channelRelease(t, ch, "v1.0.0", ch.Key, releaseBinary(t, "v1.0.0"))
	in, sim, out := installedSim(t)
	before := snapshot(t, sim.root)
	if err := in.Update(context.Background(), UpdateOptions{FromChannel: true, Current: "v1.0.0", Channel: ch.Client()}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "nothing to update") || snapshot(t, sim.root) != before {
		t.Errorf("an up-to-date box was changed or not told so:\n%s", out)
	}
	goos, arch := release.Target()
	if n := ch.Hits(releasetest.Dir("") + "chatbox-" + goos + "-" + arch); n != 0 {
		t.Errorf("the binary was downloaded %d times for nothing", n)
	}
}

// assertNoDownloads fails when a download was left beside the binary.
func assertNoDownloads(t *testing.T, root string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(root, "/usr/local/bin"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".chatbox-") {
			t.Errorf("%s was left beside the binary", e.Name())
		}
	}
}

func TestChannelUpdateRefusesAConfigThatDoesNotParse(t *testing.T) {
	in, sim, _ := installedSim(t)
	conf := filepath.Join(sim.root, in.Platform.Paths().Config)
	data, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	// A typo in the config must not send the box to the default channel.
	if err := os.WriteFile(conf, append(data, "\n[update\nurl = \"https://mirror.example\"\n"...), 0o640); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, sim.root)
	err = in.Update(context.Background(), UpdateOptions{FromChannel: true, Current: "v1.0.0"})
	if err == nil || !strings.Contains(err.Error(), in.Platform.Paths().Config) {
		t.Fatalf("update with a broken config: %v, want an error naming %s", err, in.Platform.Paths().Config)
	}
	if snapshot(t, sim.root) != before {
		t.Error("the refused update changed the host")
	}
}
