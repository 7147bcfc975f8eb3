package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/chatbox-dev/chatbox/internal/release"
	"github.com/chatbox-dev/chatbox/internal/release/releasetest"
)

// update --check says whether the channel has a newer release, with exit
// code 0 (up to date) or 10 (newer available), and 1 with one sentence
// when the channel cannot be trusted.
func TestUpdateCheckExitCodes(t *testing.T) {
	ch := releasetest.New(t)
	_, stranger := releasetest.NewKey(t)
	m := release.Manifest{Version: "v1.1.0", Files: []release.File{releasetest.FileFor("linux", "amd64", "chatbox-linux-amd64", []byte("bin"))}}
	ch.Publish(t, releasetest.Dir(""), m, ch.Key, nil)
	m.Version = "v2.0.0"
	ch.Publish(t, releasetest.Dir("v2.0.0"), m, stranger, nil)
	tests := []struct {
		name     string
		current  string
		version  string
		code     int
		out, err string
	}{
		{"an up-to-date binary exits 0", "v1.1.0", "", 0, "chatbox v1.1.0 is up to date (the channel has v1.1.0).\n", ""},
		{"a newer release exits 10", "v1.0.0", "", 10, "chatbox v1.1.0 is available (this is v1.0.0); run chatbox update to install it.\n", ""},
		{"a binary newer than the channel is up to date", "v1.2.0", "", 0, "chatbox v1.2.0 is up to date (the channel has v1.1.0).\n", ""},
		{"a development build is older than any release", "dev", "", 10, "chatbox v1.1.0 is available (this is dev); run chatbox update to install it.\n", ""},
		{"a release signed by an unknown key fails with one sentence", "v1.0.0", "v2.0.0", 1, "", "which this chatbox does not trust and no trusted key vouches for\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			s := &streams{in: strings.NewReader(""), out: &out, err: &errb}
			o := updateOptions{check: true, version: tt.version, current: tt.current, channel: ch.Client()}
			o.host.root, o.host.osID = t.TempDir(), "debian"
			code := exitCode(runUpdate(context.Background(), s, o, "chatbox update --check"), &errb)
			if code != tt.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tt.code, errb.String())
			}
			if out.String() != tt.out {
				t.Errorf("stdout %q, want %q", out.String(), tt.out)
			}
			if !strings.HasSuffix(errb.String(), tt.err) || strings.Count(errb.String(), "\n") > 1 {
				t.Errorf("stderr %q, want one line ending %q", errb.String(), tt.err)
			}
		})
	}
}

func TestUpdateRefusesConflictingFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"--self with --check is refused", []string{"update", "--self", "x", "--check"}, "goes with neither --check nor --version"},
		{"--check with --system is refused", []string{"update", "--check", "--system"}, "--check only looks at the release channel"},
		{"a --version that is not semantic is refused", []string{"update", "--version", "1.2"}, `--version: "1.2" is not a release version like v1.2.3`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(context.Background(), tt.args, strings.NewReader(""), &out, &errb); code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			if !strings.Contains(errb.String(), tt.want) {
				t.Errorf("stderr %q does not say %q", errb.String(), tt.want)
			}
		})
	}
}
