// Command sign writes a release's signed manifest. packaging/release.sh
// runs it after the binaries are built:
//
//	CHATBOX_SIGNING_KEY=/media/offline/chatbox-release.key \
//	  go run ./packaging/sign -version v1.2.3 -dir dist
//
// It lists dir's chatbox-OS-ARCH binaries with their sizes and SHA-256 in
// dir/manifest.json, and signs that with the minisign secret key at the
// path in CHATBOX_SIGNING_KEY (decrypted with CHATBOX_SIGNING_KEY_PASSWORD
// when it is encrypted) into dir/manifest.json.minisig. -endorse FILE adds
// the endorsements in FILE (made with -endorse-key) to the manifest: the
// way a new key is introduced. The secret key is never printed.
//
// Other modes:
//
//	sign -generate PREFIX          write PREFIX.key (secret) and PREFIX.pub
//	sign -endorse-key NEW.pub      print an endorsement of NEW.pub, signed by
//	                               the key in CHATBOX_SIGNING_KEY
package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"aead.dev/minisign"
	"github.com/chatbox-dev/chatbox/internal/atomicfile"
	"github.com/chatbox-dev/chatbox/internal/release"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "sign: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("sign", flag.ContinueOnError)
	version := fs.String("version", "", "the release's version, like v1.2.3")
	dir := fs.String("dir", "dist", "the directory with the release's binaries")
	endorse := fs.String("endorse", "", "a JSON file of endorsements to carry in the manifest")
	generate := fs.String("generate", "", "write a new key pair to `PREFIX`.key and PREFIX.pub")
	endorseKey := fs.String("endorse-key", "", "print an endorsement of the public key in `FILE`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *generate != "":
		return generateKey(*generate, stdout)
	case *endorseKey != "":
		return endorseOne(*endorseKey, stdout)
	}
	if !release.ValidVersion(*version) {
		return fmt.Errorf("-version %q is not a release version like v1.2.3", *version)
	}
	key, err := secretKey()
	if err != nil {
		return err
	}
	m := release.Manifest{Version: *version, Date: releaseDate()}
	if *endorse != "" {
		data, err := os.ReadFile(*endorse)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(data, &m.Keys); err != nil {
			return fmt.Errorf("%s: %w", *endorse, err)
		}
	}
	if m.Files, err = files(*dir); err != nil {
		return err
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if err := writeFile(filepath.Join(*dir, release.ManifestName), data); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(*dir, release.SignatureName), release.Sign(data, key)); err != nil {
		return err
	}
	var pub minisign.PublicKey
	if p, ok := key.Public().(minisign.PublicKey); ok {
		pub = p
	}
	fmt.Fprintf(stdout, "manifest of %s (%d files) signed by key %X\n", *version, len(m.Files), pub.ID())
	return nil
}

// releaseDate is SOURCE_DATE_EPOCH when set, so a rebuild is identical.
func releaseDate() time.Time {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.Unix(n, 0).UTC()
		}
	}
	return time.Now().UTC().Truncate(time.Second)
}

// files lists dir's chatbox-OS-ARCH binaries.
func files(dir string) ([]release.File, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []release.File
	for _, e := range entries {
		// A binary's name is chatbox-OS-ARCH, with no extension: the
		// packages beside it (chatbox-VERSION-1.x86_64.rpm) are no binary.
		goos, arch, ok := strings.Cut(strings.TrimPrefix(e.Name(), "chatbox-"), "-")
		if !strings.HasPrefix(e.Name(), "chatbox-") || !ok || strings.ContainsAny(arch, ".-") || !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(data)
		out = append(out, release.File{OS: goos, Arch: arch, URL: e.Name(), Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s has no chatbox-OS-ARCH binaries", dir)
	}
	slices.SortFunc(out, func(a, b release.File) int { return strings.Compare(a.URL, b.URL) })
	return out, nil
}

// secretKey reads the key at CHATBOX_SIGNING_KEY.
func secretKey() (minisign.PrivateKey, error) {
	path := os.Getenv("CHATBOX_SIGNING_KEY")
	if path == "" {
		return minisign.PrivateKey{}, errors.New("set CHATBOX_SIGNING_KEY to the path of the release's minisign secret key")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return minisign.PrivateKey{}, fmt.Errorf("read the signing key: %w", err)
	}
	var key minisign.PrivateKey
	if minisign.IsEncrypted(data) {
		key, err = minisign.DecryptKey(os.Getenv("CHATBOX_SIGNING_KEY_PASSWORD"), data)
	} else {
		err = key.UnmarshalText(data)
	}
	if err != nil {
		// The key's bytes are never part of the message.
		return minisign.PrivateKey{}, errors.New("the signing key in CHATBOX_SIGNING_KEY cannot be read as a minisign secret key (wrong file or password)")
	}
	return key, nil
}

func generateKey(prefix string, stdout io.Writer) error {
	pub, priv, err := minisign.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	var secret []byte
	if pw := os.Getenv("CHATBOX_SIGNING_KEY_PASSWORD"); pw != "" {
		secret, err = minisign.EncryptKey(pw, priv)
	} else {
		secret, err = priv.MarshalText()
	}
	if err != nil {
		return err
	}
	f, err := os.OpenFile(prefix+".key", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(secret); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	text, _ := pub.MarshalText()
	if err := writeFile(prefix+".pub", append(text, '\n')); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "key %X: secret in %s.key, public %s\n", pub.ID(), prefix, pub.String())
	return nil
}

func endorseOne(pubFile string, stdout io.Writer) error {
	newKey, err := minisign.PublicKeyFromFile(pubFile)
	if err != nil {
		return fmt.Errorf("read the new public key: %w", err)
	}
	key, err := secretKey()
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent([]release.Endorsement{release.Endorse(newKey, key)}, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", data)
	return err
}

func writeFile(path string, data []byte) error {
	return atomicfile.Write(path, data, 0o644)
}
