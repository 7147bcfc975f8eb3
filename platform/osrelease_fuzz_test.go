package platform

import (
	"strings"
	"testing"
	"unicode"
)

// FuzzParseOSRelease feeds arbitrary os-release text to the parser: it
// must not panic, and what it returns is printed to people and used in
// file paths and decisions, so it must hold no control characters.
func FuzzParseOSRelease(f *testing.F) {
	f.Add([]byte("ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"))
	f.Add([]byte("ID='openbsd'\n# comment\nVERSION_ID=7.6"))
	f.Add([]byte("ID=\"rocky\\n\"\nPRETTY_NAME=\"a\\x00b\""))
	f.Add([]byte("=\n==\nID\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := ParseOSRelease(data)
		for _, field := range []string{r.ID, r.VersionID, r.PrettyName, r.String()} {
			if strings.IndexFunc(field, unicode.IsControl) >= 0 {
				t.Fatalf("parsed field %q holds a control character", field)
			}
		}
		if strings.ContainsAny(r.ID, " /") {
			t.Fatalf("ID %q holds a space or a slash", r.ID)
		}
	})
}
