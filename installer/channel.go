package installer

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"debug/elf"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/chatbox-dev/chatbox/config"
	"github.com/chatbox-dev/chatbox/internal/buildinfo"
	"github.com/chatbox-dev/chatbox/internal/release"
)

// versionCheckTimeout bounds `NEW version`, run on a downloaded binary
// before it replaces the installed one.
const versionCheckTimeout = 5 * time.Second

// UpdateCheck is what the release channel offers against this binary.
type UpdateCheck struct {
	// Current is the running binary's version.
	Current string
	// Available is the channel's version (the newest, or the pinned one).
	Available string
	// Newer reports whether Available is newer than Current.
	Newer bool
}

// CheckUpdate reads and verifies the channel's manifest and compares its
// version with the running binary's. It changes nothing.
func (in *Installer) CheckUpdate(ctx context.Context, o UpdateOptions) (UpdateCheck, error) {
	c, err := in.channelClient(o)
	if err != nil {
		return UpdateCheck{}, err
	}
	m, _, err := fetchManifest(ctx, c, o.Version)
	if err != nil {
		return UpdateCheck{}, err
	}
	cur := currentVersion(o)
	return UpdateCheck{Current: cur, Available: m.Version, Newer: release.Compare(m.Version, cur) > 0}, nil
}

// channelUpdate fetches the release o asks for, verifies it and leaves
// it, renamed into place beside the installed binary, ready to swap. It
// returns the verified file, or "" when the binary is already that
// release. On a refusal nothing is left on the host.
func (in *Installer) channelUpdate(ctx context.Context, o UpdateOptions) (string, error) {
	c, err := in.channelClient(o)
	if err != nil {
		return "", err
	}
	paths := in.Platform.Paths()
	if !in.Host.Exists(paths.Binary) && !in.DryRun {
		return "", fmt.Errorf("%s is missing: chatbox is not installed here; run chatbox install first", paths.Binary)
	}
	m, base, err := fetchManifest(ctx, c, o.Version)
	if err != nil {
		return "", err
	}
	cur := currentVersion(o)
	switch cmp := release.Compare(m.Version, cur); {
	case cmp == 0:
		fmt.Fprintf(in.Out, "chatbox %s is the channel's %s; nothing to update.\n", cur, releaseName(o))
		return "", nil
	case cmp < 0 && o.Version == "":
		return "", fmt.Errorf("the channel's newest release %s is older than this chatbox %s; a downgrade needs --version %s", m.Version, cur, m.Version)
	}
	goos, arch := release.Target()
	f, err := m.Find(goos, arch)
	if err != nil {
		return "", err
	}
	if in.DryRun {
		fmt.Fprintf(in.Out, "download: %s (%d bytes, SHA-256 %s), then replace %s with it\n", base.ResolveReference(&url.URL{Path: f.URL}), f.Size, f.SHA256, paths.Binary)
		return "", nil
	}
	fmt.Fprintf(in.Out, "Downloading chatbox %s for %s/%s (%d bytes)...\n", m.Version, goos, arch, f.Size)
	dir := filepath.Dir(in.Host.Path(paths.Binary))
	tmp, err := os.CreateTemp(dir, ".chatbox-download-*")
	if err != nil {
		return "", fmt.Errorf("make room for the download beside %s: %w", paths.Binary, err)
	}
	keep := false
	defer func() {
		if !keep {
			os.Remove(tmp.Name())
		}
	}()
	err = c.Download(ctx, base, f, tmp)
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write the download: %w", cerr)
	}
	if err != nil {
		return "", err
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return "", fmt.Errorf("make the download executable: %w", err)
	}
	if err := checkELF(tmp.Name(), "the download", runtime.GOARCH); err != nil {
		return "", err
	}
	if err := checkVersion(ctx, tmp.Name(), "the download", m.Version); err != nil {
		return "", err
	}
	ready := filepath.Join(dir, ".chatbox-"+m.Version)
	if err := os.Rename(tmp.Name(), ready); err != nil {
		return "", fmt.Errorf("put the verified download in place: %w", err)
	}
	keep = true
	fmt.Fprintf(in.Out, "chatbox %s is verified: signed manifest, size, SHA-256, %s ELF, and it runs.\n", m.Version, runtime.GOARCH)
	return ready, nil
}

func releaseName(o UpdateOptions) string {
	if o.Version != "" {
		return "release " + o.Version
	}
	return "newest release"
}

func fetchManifest(ctx context.Context, c *release.Client, version string) (*release.Manifest, *url.URL, error) {
	if version != "" {
		return c.Version(ctx, version)
	}
	return c.Latest(ctx)
}

func currentVersion(o UpdateOptions) string {
	if o.Current != "" {
		return o.Current
	}
	return buildinfo.Version
}

// channelClient is o.Channel with what it leaves empty taken from the
// host's config: the channel's URL and a test channel's root.
func (in *Installer) channelClient(o UpdateOptions) (*release.Client, error) {
	c := o.Channel
	if c.URL != "" && c.HTTP != nil {
		return &c, nil
	}
	cfg, err := in.readConfig()
	if err != nil {
		// The channel and its root come from the config: one that does not
		// parse must not send the box to the default channel instead.
		return nil, fmt.Errorf("read the update channel from the config: %w", err)
	}
	if c.URL == "" {
		c.URL = cfg.Update.URL
		if c.URL == "" {
			c.URL = config.DefaultUpdateURL
		}
	}
	if c.HTTP == nil && cfg.Update.CARoot != "" {
		pem, err := in.Host.ReadFile(cfg.Update.CARoot)
		if err != nil {
			return nil, fmt.Errorf("update.ca_root: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("update.ca_root: %s has no PEM certificate", cfg.Update.CARoot)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		c.HTTP = release.NewHTTPClient(tr)
	}
	return &c, nil
}

// elfMachines are the ELF machines of the GOARCHes chatbox runs on.
var elfMachines = map[string]elf.Machine{
	"amd64":   elf.EM_X86_64,
	"arm64":   elf.EM_AARCH64,
	"arm":     elf.EM_ARM,
	"386":     elf.EM_386,
	"riscv64": elf.EM_RISCV,
	"ppc64le": elf.EM_PPC64,
	"s390x":   elf.EM_S390,
}

// checkELF refuses a file that is not an executable ELF for goarch; what
// names the file in the error.
func checkELF(path, what, goarch string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s is not an ELF executable", what)
	}
	defer f.Close()
	want, ok := elfMachines[goarch]
	if !ok {
		return fmt.Errorf("%s cannot be checked: chatbox knows no ELF machine for %s", what, goarch)
	}
	if f.Machine != want {
		return fmt.Errorf("%s is an ELF for %v, not for this %s machine (%v)", what, f.Machine, goarch, want)
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("%s is an ELF %v, not an executable", what, f.Type)
	}
	return nil
}

// checkVersion runs `path version` and refuses a binary that does not say
// it is chatbox version (any version when version is "") within
// versionCheckTimeout; what names the file in the error.
func checkVersion(ctx context.Context, path, what, version string) error {
	ctx, cancel := context.WithTimeout(ctx, versionCheckTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "version")
	cmd.WaitDelay = time.Second
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return fmt.Errorf("%s's `version` did not answer within %v", what, versionCheckTimeout)
	}
	if err != nil {
		return fmt.Errorf("%s's `version` failed: %v", what, err)
	}
	want := "chatbox " + version + " "
	if version == "" {
		want = "chatbox "
	}
	if !bytes.HasPrefix(out, []byte(want)) {
		if version == "" {
			return fmt.Errorf("%s says it is %q, not chatbox", what, firstLine(out))
		}
		return fmt.Errorf("%s says it is %q, not chatbox %s", what, firstLine(out), version)
	}
	return nil
}

// checkBinary refuses a file given to `update --self` that is not a
// chatbox binary for this machine, by the same checks as a download.
func checkBinary(ctx context.Context, path string) error {
	if err := checkELF(path, path, runtime.GOARCH); err != nil {
		return err
	}
	return checkVersion(ctx, path, path, "")
}

func firstLine(b []byte) string {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	if len(line) > 80 {
		line = line[:80]
	}
	return string(line)
}
