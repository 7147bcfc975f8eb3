//go:build chatbox_testkey

package release

// testKey is a throwaway public key, in minisign's one-line form, that a
// test build trusts besides the release keys, so that an end-to-end test
// can sign releases for it. It is set only at build time:
//
//	go build -tags chatbox_testkey \
//	  -ldflags "-X github.com/chatbox-dev/chatbox/internal/release.testKey=RW..."
//
// Without the chatbox_testkey tag this file is not compiled, the variable
// does not exist, and the linker's -X finds nothing to set: a normal build
// trusts the embedded keys alone whatever its flags say.
var testKey string

// testKeys returns the test key when the build set one.
func testKeys() []string {
	if testKey == "" {
		return nil
	}
	return []string{testKey}
}
