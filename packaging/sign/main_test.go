package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"aead.dev/minisign"
	"github.com/chatbox-dev/chatbox/internal/release"
)

// The tool signs a manifest that release.Verify accepts with the key's
// public half, never prints the secret key, and carries an endorsement
// made by the old key so that a binary trusting only the old key accepts
// a release signed by the new one.
func TestSignAndRotate(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"chatbox-linux-amd64": "amd", "chatbox-linux-armv6": "arm", "install.sh": "sh",
		"chatbox-0.1.0-1.x86_64.rpm": "rpm", "chatbox_0.1.0_amd64.deb": "deb"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	keys := t.TempDir()
	var out bytes.Buffer
	for _, k := range []string{"old", "new"} {
		if err := run([]string{"-generate", filepath.Join(keys, k)}, &out); err != nil {
			t.Fatal(err)
		}
	}
	oldPub, err := minisign.PublicKeyFromFile(filepath.Join(keys, "old.pub"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("CHATBOX_SIGNING_KEY", filepath.Join(keys, "old.key"))
	var endorsement bytes.Buffer
	if err := run([]string{"-endorse-key", filepath.Join(keys, "new.pub")}, &endorsement); err != nil {
		t.Fatal(err)
	}
	endorseFile := filepath.Join(keys, "endorse.json")
	if err := os.WriteFile(endorseFile, endorsement.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CHATBOX_SIGNING_KEY", filepath.Join(keys, "new.key"))
	out.Reset()
	if err := run([]string{"-version", "v1.2.3", "-dir", dir, "-endorse", endorseFile}, &out); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"old.key", "new.key"} {
		secret, _ := os.ReadFile(filepath.Join(keys, k))
		line := strings.Split(strings.TrimSpace(string(secret)), "\n")[1]
		if strings.Contains(out.String()+endorsement.String(), line) {
			t.Fatalf("the tool printed the secret key %s", k)
		}
	}
	data, _ := os.ReadFile(filepath.Join(dir, release.ManifestName))
	sig, _ := os.ReadFile(filepath.Join(dir, release.SignatureName))
	m, err := release.Verify(data, sig, []minisign.PublicKey{oldPub})
	if err != nil {
		t.Fatalf("a binary trusting the old key refused the release signed by the endorsed new key: %v", err)
	}
	got, _ := json.Marshal(m.Files)
	if m.Version != "v1.2.3" || len(m.Files) != 2 || m.Files[1].Arch != "armv6" || m.Files[0].Size != 3 {
		t.Errorf("manifest files %s, version %s", got, m.Version)
	}
	if _, err := release.Verify(data, sig, []minisign.PublicKey{}); err == nil {
		t.Error("a binary trusting no key accepted the release")
	}
}

func TestSignWithoutAKeyFails(t *testing.T) {
	t.Setenv("CHATBOX_SIGNING_KEY", "")
	err := run([]string{"-version", "v1.2.3", "-dir", t.TempDir()}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "set CHATBOX_SIGNING_KEY") {
		t.Fatalf("got %v", err)
	}
}
