package openbsd

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chatbox-dev/chatbox/platform"
)

// scripted answers each command with the next output in its list.
type scripted struct {
	platform.Recorder
	out map[string][]string
	ran []string
}

func (s *scripted) Run(_ context.Context, c platform.Cmd) ([]byte, error) {
	s.ran = append(s.ran, c.String())
	outs := s.out[c.Args[0]]
	if len(outs) == 0 {
		return nil, nil
	}
	s.out[c.Args[0]] = outs[1:]
	return []byte(outs[0]), nil
}

func TestUpdateSystemHandlesSyspatch(t *testing.T) {
	tests := []struct {
		name      string
		outputs   []string
		syspatchN int
		reboot    bool
	}{
		{"nothing to do runs syspatch once", []string{""}, 1, false},
		{"a syspatch that updated itself runs again", []string{"syspatch updated itself, run it again to install missing patches\n", ""}, 2, false},
		{"a kernel patch asks for a reboot and does not reboot", []string{"Installing patch 004_kernel\nRelinking to create unique kernel... done; reboot to load the new kernel\n"}, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &scripted{out: map[string][]string{"syspatch": tt.outputs}}
			h := &platform.Host{Root: t.TempDir(), Live: true, Runner: s}
			notes, err := (&OpenBSD{}).UpdateSystem(context.Background(), h)
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(strings.Join(s.ran, "\n"), "syspatch"); n != tt.syspatchN {
				t.Errorf("syspatch ran %d times, want %d: %v", n, tt.syspatchN, s.ran)
			}
			if got := len(notes) > 0 && strings.Contains(notes[0], "reboot"); got != tt.reboot {
				t.Errorf("reboot note = %v, want %v (%v)", got, tt.reboot, notes)
			}
			for _, c := range s.ran {
				if strings.Contains(c, "sysupgrade") || c == "reboot" {
					t.Errorf("ran %q", c)
				}
			}
			if s.ran[len(s.ran)-1] != "pkg_add -u -I" {
				t.Errorf("packages were not updated: %v", s.ran)
			}
		})
	}
}

func TestOpenFirewallPutsABrokenPfConfBack(t *testing.T) {
	var out bytes.Buffer
	root := t.TempDir()
	rec := &failingPfctl{Recorder: platform.Recorder{W: &out, Root: root}}
	h := &platform.Host{Root: root, Live: true, Runner: rec}
	orig := "set skip on lo\npass\n"
	if _, err := h.WriteFile(context.Background(), "/etc/pf.conf", []byte(orig), 0o600, ""); err != nil {
		t.Fatal(err)
	}
	err := (&OpenBSD{}).OpenFirewall(context.Background(), h)
	if err == nil {
		t.Fatal("a ruleset pfctl -n refuses was accepted")
	}
	if data, _ := h.ReadFile("/etc/pf.conf"); string(data) != orig {
		t.Errorf("pf.conf was left as %q", data)
	}
	if strings.Contains(out.String(), "run: pfctl -f") {
		t.Errorf("the refused ruleset was loaded:\n%s", out.String())
	}
}

type failingPfctl struct{ platform.Recorder }

func (f *failingPfctl) Run(ctx context.Context, c platform.Cmd) ([]byte, error) {
	f.Recorder.Run(ctx, c)
	if c.String() == "pfctl -n -f /etc/pf.conf" {
		return nil, fmt.Errorf("syntax error")
	}
	return nil, nil
}
