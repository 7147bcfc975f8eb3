package httpapi

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/chatbox-dev/chatbox/chat/web"
)

// The page stays small: its HTML, scripts and styles together are under a
// budget, so a phone on a slow link opens the room quickly. The files are
// served as they are (not compressed); the budget was 128 KiB until the
// page grew to 167 KB with encrypted rooms (crypto.js and vault.js, 21 KB,
// which every page loads), the in-page destroy dialog and the push hints.
// Serving them compressed would cut what a phone downloads by about 3/4.
func TestThePageStaysSmall(t *testing.T) {
	const budget = 192 << 10
	total, scripts := 0, 0
	err := fs.WalkDir(web.Files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !strings.HasSuffix(path, ".html") && !strings.HasSuffix(path, ".js") && !strings.HasSuffix(path, ".css") {
			return nil
		}
		b, err := fs.ReadFile(web.Files, path)
		if err != nil {
			return err
		}
		total += len(b)
		if strings.HasSuffix(path, ".js") {
			scripts++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the page is %d bytes in HTML, CSS and %d modules (budget %d)", total, scripts, budget)
	if total > budget {
		t.Errorf("the page is %d bytes, over its budget of %d", total, budget)
	}
}
