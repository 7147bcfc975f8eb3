package httpapi

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// docs/API.md documents every route of the table: each API route has a
// "### `METHOD PATH`" heading (query included where the route has one).
func TestDocsDescribeEveryRoute(t *testing.T) {
	raw, err := os.ReadFile("../../docs/API.md")
	if err != nil {
		t.Fatal(err)
	}
	headings := regexp.MustCompile("(?m)^### .*$").FindAllString(string(raw), -1)
	doc := strings.Join(headings, "\n")
	tr := newTestRoom(t, nil)
	routes := tr.web.Routes()
	if len(routes) < 10 {
		t.Fatalf("the route table has %d routes; the test reads the wrong table", len(routes))
	}
	for _, rt := range routes {
		if !rt.API {
			continue
		}
		want := rt.Method + " " + rt.Path
		if rt.Query != "" {
			want += "?" + regexp.MustCompile(`=[A-Z_]+`).ReplaceAllString(rt.Query, "=")
		}
		// A heading may name the parameters' values (?after=ID&limit=N).
		found := false
		for _, h := range headings {
			plain := regexp.MustCompile(`=[A-Z_]+`).ReplaceAllString(h, "=")
			found = found || strings.Contains(plain, "`"+want+"`")
		}
		if !found {
			t.Errorf("docs/API.md has no heading for %s; its headings are:\n%s", want, doc)
		}
	}
}

// The core of the room knows nothing of its transports or of the config
// file: it imports neither net/http nor config (nor the WebSocket library).
func TestTheCoreImportsNoTransportAndNoConfig(t *testing.T) {
	out, err := exec.CommandContext(context.Background(), "go", "list", "-json", "github.com/chatbox-dev/chatbox/chat").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkg struct{ Imports []string }
	if err := json.Unmarshal(out, &pkg); err != nil {
		t.Fatal(err)
	}
	if len(pkg.Imports) == 0 {
		t.Fatal("go list reported no imports for the core; the test reads the wrong package")
	}
	for _, imp := range pkg.Imports {
		switch imp {
		case "net/http", "github.com/chatbox-dev/chatbox/config", "github.com/gorilla/websocket":
			t.Errorf("the room's core imports %s", imp)
		}
	}
}
