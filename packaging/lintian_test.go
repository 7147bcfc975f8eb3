package packaging

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The unit the packages install is the unit chatbox install writes, run
// from the package's binary.
func TestThePackagedUnitRunsThePackagedBinary(t *testing.T) {
	unit := string(SystemdUnit())
	want := strings.ReplaceAll(unit[strings.Index(unit, "[Unit]"):], "/usr/local/bin/chatbox", "/usr/bin/chatbox")
	got := string(readFile(t, "chatbox-package.service"))
	if i := strings.Index(got, "[Unit]"); i < 0 || got[i:] != want {
		t.Errorf("chatbox-package.service is not packaging/chatbox.service with ExecStart=/usr/bin/chatbox; make it so:\n%s", want)
	}
	if strings.Contains(got, "/usr/local") {
		t.Error("the packaged unit names /usr/local")
	}
}

// The .deb built as release.sh builds it (a static, stripped binary,
// nfpm and packaging/nfpm.yaml) passes Debian's lintian with no error or
// warning; each override is justified in packaging/deb/lintian-overrides.
func TestTheDebPassesLintian(t *testing.T) {
	lintian := lookPath(t, "lintian", "apt-get install lintian")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	deb := buildPackage(t, ctx, "deb", "v1.2.3", t.TempDir())
	cmd := exec.CommandContext(ctx, lintian, "--no-cfg", "--fail-on", "error,warning", "--info", deb)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("lintian:\n%s", out.String())
	if err != nil {
		t.Errorf("lintian finds errors or warnings in the .deb (%v)", err)
	}
}
