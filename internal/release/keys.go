package release

import (
	"fmt"

	"aead.dev/minisign"
)

// The public keys of the project's release signing keys, in minisign's
// one-line form. docs/RELEASING.md says how a key is added (rotation) and
// retired.
const (
	// Key1 is release key 1, key ID 12CBE19EE91643B4.
	Key1 = "RWS0QxbpnuHLEsQphAvyLjXFJP0/tcTjYKqJLAYEEKhAjdAgZ7dXJlC7"
)

// TestKeyTag is the build tag of a test build: only a binary built with
// it can trust a throwaway key besides the release keys (see testKey in
// testkey.go). packaging/release.sh refuses to ship a binary built with
// it.
const TestKeyTag = "chatbox_testkey"

// TrustedKeys returns the release signing keys this binary trusts: the
// embedded release keys and, in a test build only, its test key.
func TrustedKeys() []minisign.PublicKey {
	trusted := append([]string{Key1}, testKeys()...)
	keys := make([]minisign.PublicKey, 0, len(trusted))
	for _, s := range trusted {
		var k minisign.PublicKey
		if err := k.UnmarshalText([]byte(s)); err != nil {
			panic(fmt.Sprintf("release: embedded key %q: %v", s, err))
		}
		keys = append(keys, k)
	}
	return keys
}
