package installer

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A user who cannot read the config is told to use sudo, not shown an
// address guessed from defaults.
func TestStatusAsNonRootSaysItNeedsRoot(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	in, sim, probe := newSim(t, "debian", &out)
	if err := in.Install(ctx, opts(t)); err != nil {
		t.Fatal(err)
	}
	// root reads every file, so the unreadable config is one that
	// cannot be read by anyone: a directory in its place.
	file := filepath.Join(sim.root, "/etc/chatbox/config.toml")
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(file, 0o700); err != nil {
		t.Fatal(err)
	}
	probe.notRoot = true
	st := in.Status(ctx)
	if st.URL != "" {
		t.Errorf("status shows the room at %q, a guess from defaults", st.URL)
	}
	if !strings.Contains(st.Problem, "sudo chatbox status") || !strings.Contains(st.Problem, "/etc/chatbox/config.toml") {
		t.Errorf("problem = %q, want it to name the config and say to run with sudo", st.Problem)
	}
}

// A user outside the journal's groups is told to use sudo before
// journalctl shows them nothing of the service.
func TestLogsAsNonRootSaysItNeedsRoot(t *testing.T) {
	var out, errOut bytes.Buffer
	in, _, probe := newSim(t, "debian", &out)
	probe.notRoot = true
	in.journalGroups = func() bool { return false }
	err := in.Logs(context.Background(), 10, false, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "sudo chatbox logs") {
		t.Errorf("logs = %v, want it to say the log needs root (sudo chatbox logs)", err)
	}
}

// Status says whether the box has its Web Push key, which backups must
// hold: without it every browser's subscription ends.
func TestStatusShowsThePushKey(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	in, sim, _ := newSim(t, "debian", &out)
	if err := in.Install(ctx, opts(t)); err != nil {
		t.Fatal(err)
	}
	st := in.Status(ctx)
	if st.PushKey || !strings.HasSuffix(st.PushKeyFile, "/push/vapid.json") {
		t.Fatalf("before the first start: push key %v at %q", st.PushKey, st.PushKeyFile)
	}
	key := filepath.Join(sim.root, st.PushKeyFile)
	if err := os.MkdirAll(filepath.Dir(key), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if st := in.Status(ctx); !st.PushKey {
		t.Error("status does not see the push key")
	}
}

// A box that serves its local CA's certificate says so in status and in
// the install summary, with the /trust address and what to fix; read from
// the certificate the running box serves.
func TestStatusAndInstallSayWhenTheBoxServesItsLocalCA(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name, domain, ip, issuer string
		want                     []string // in the warning; none means no warning
	}{
		{"a private address", "", "192.168.1.20", "chatbox local CA for 192.168.1.20",
			[]string{"browsers warn until each person trusts it (http://192.168.1.20/trust shows how)", "set server.domain", "systemctl restart chatbox"}},
		{"a domain still waiting for its certificate", "chat.example.com", "", "chatbox local CA for chat.example.com",
			[]string{"http://chat.example.com/trust", "sudo chatbox logs"}},
		{"a domain with a public certificate", "chat.example.com", "", "R11", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			in, _, probe := newSim(t, "debian", &out)
			probe.issuer = c.issuer
			o := opts(t)
			o.Domain, o.IP = c.domain, c.ip
			if err := in.Install(ctx, o); err != nil {
				t.Fatal(err)
			}
			st := in.Status(ctx)
			if st.LocalCA != (c.want != nil) {
				t.Errorf("status says local_ca=%v with the certificate issued by %q", st.LocalCA, c.issuer)
			}
			summary := strings.Join(strings.Fields(strings.ReplaceAll(out.String(), "|", " ")), " ")
			for _, w := range c.want {
				if !strings.Contains(st.Warning, w) {
					t.Errorf("status's warning %q lacks %q", st.Warning, w)
				}
				if !strings.Contains(summary, w) {
					t.Errorf("the install summary lacks %q:\n%s", w, out.String())
				}
			}
			if c.want == nil && (st.Warning != "" || strings.Contains(out.String(), "Warning")) {
				t.Errorf("a box with a public certificate warns: %q\n%s", st.Warning, out.String())
			}
		})
	}
}

// status checks the room through its public URL as a browser would, and
// says when only this host reaches it.
func TestStatusChecksTheRoomThroughItsPublicURL(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	in, _, probe := newSim(t, "debian", &out)
	if err := in.Install(ctx, opts(t)); err != nil {
		t.Fatal(err)
	}
	if st := in.Status(ctx); !st.Public || st.Warning != "" {
		t.Errorf("a room that answers publicly: public=%v warning=%q", st.Public, st.Warning)
	}
	probe.public = errors.New("dial tcp 203.0.113.7:443: connection refused")
	st := in.Status(ctx)
	if st.Public || !st.Healthy {
		t.Errorf("public=%v healthy=%v, want false and true", st.Public, st.Healthy)
	}
	if want := "the room answers on this host but not at https://chat.example.com/healthz (dial tcp 203.0.113.7:443: connection refused); check the name's DNS record, the firewall"; !strings.Contains(st.Warning, want) {
		t.Errorf("warning %q, want %q", st.Warning, want)
	}
}
