package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/chatbox-dev/chatbox/chat/datadir"
	"github.com/chatbox-dev/chatbox/chat/web"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

var passwordLine = regexp.MustCompile(`(?m)^\s+([a-z0-9]{5}(?:-[a-z0-9]{5}){3})$`)

func TestRoomCommandTalksToTheRunningService(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	bin := buildChatbox(t)
	data := t.TempDir()
	srv := startDev(t, bin, data)

	code, out, errOut := runCLI(t, "room", "info", "--data", data)
	if code != 0 || !strings.Contains(out, "Room:      public") || !strings.Contains(out, "Messages:  0") {
		t.Fatalf("room info: %d\n%s%s", code, out, errOut)
	}

	code, out, errOut = runCLI(t, "room", "password", "--data", data)
	m := passwordLine.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("room password: %d\n%s%s", code, out, errOut)
	}
	res, err := http.Get(srv.url + "/api/messages")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after room password the room answers %d to a stranger, want 401", res.StatusCode)
	}
	req, _ := http.NewRequest("GET", srv.url+"/api/messages", nil)
	req.SetBasicAuth("", m[1])
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("the printed password gets %d, want 200", res.StatusCode)
	}

	if code, _, errOut = runCLI(t, "room", "reset", "--data", data); code != 2 || !strings.Contains(errOut, "--yes") {
		t.Fatalf("reset without --yes: %d %s; want exit 2 asking for --yes", code, errOut)
	}
	code, out, errOut = runCLI(t, "room", "reset", "--yes", "--data", data)
	if code != 0 || !strings.Contains(out, "new public room") {
		t.Fatalf("room reset: %d\n%s%s", code, out, errOut)
	}
	res, _ = http.Get(srv.url + "/api/messages")
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("after reset to a public room: %d, want 200", res.StatusCode)
	}

	code, out, errOut = runCLI(t, "room", "lock", "--data", data)
	if code != 0 || !strings.Contains(out, "read-only") {
		t.Fatalf("room lock: %d\n%s%s", code, out, errOut)
	}
	post := func() int {
		res, err := http.Post(srv.url+"/api/messages", "application/json", strings.NewReader(`{"nick":"mallory","text":"flood"}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := post(); got != http.StatusForbidden {
		t.Fatalf("a post to a locked room: %d, want 403", got)
	}
	if code, out, _ = runCLI(t, "room", "info", "--data", data); !strings.Contains(out, "read-only") {
		t.Fatalf("room info of a locked room: %d\n%s", code, out)
	}
	if code, out, errOut = runCLI(t, "room", "unlock", "--data", data); code != 0 || post() != http.StatusCreated {
		t.Fatalf("room unlock: %d\n%s%s; a post after it was not stored", code, out, errOut)
	}

	// An encrypted room: it takes only envelopes, and has no key yet.
	code, out, errOut = runCLI(t, "room", "reset", "--encrypted", "--yes", "--data", data)
	if code != 0 || !strings.Contains(out, "encrypted") {
		t.Fatalf("room reset --encrypted: %d\n%s%s", code, out, errOut)
	}
	if code, out, _ = runCLI(t, "room", "info", "--data", data); !strings.Contains(out, "encrypted") {
		t.Fatalf("room info of an encrypted room: %d\n%s", code, out)
	}
	res, err = http.Get(srv.url + "/api/room")
	if err != nil {
		t.Fatal(err)
	}
	var room struct {
		Encrypted bool   `json:"encrypted"`
		RoomID    string `json:"room_id"`
		KeyCheck  string `json:"key_check"`
	}
	json.NewDecoder(res.Body).Decode(&room)
	res.Body.Close()
	if !room.Encrypted || len(room.RoomID) != 22 || room.KeyCheck != "" {
		t.Fatalf("after reset --encrypted the room is %+v", room)
	}
	if got := post(); got != http.StatusBadRequest {
		t.Fatalf("plain text in an encrypted room: %d, want 400", got)
	}

	code, out, _ = runCLI(t, "room", "destroy", "--data", data)
	if code != 0 || !strings.Contains(out, "will be destroyed at") {
		t.Fatalf("room destroy: %d %s", code, out)
	}
}

// version --assets prints the SHA-256 of every file of the page as served.
func TestVersionPrintsTheAssetsHashes(t *testing.T) {
	code, out, errOut := runCLI(t, "version", "--assets")
	if code != 0 {
		t.Fatalf("version --assets: %d %s", code, errOut)
	}
	assets, err := web.Assets()
	if err != nil {
		t.Fatal(err)
	}
	lines := regexp.MustCompile(`(?m)^([0-9a-f]{64})  (/\S*)$`).FindAllStringSubmatch(out, -1)
	if len(lines) != len(assets) || len(assets) < 10 {
		t.Fatalf("%d hash lines for %d files:\n%s", len(lines), len(assets), out)
	}
	for i, a := range assets {
		if lines[i][1] != a.SHA256() || lines[i][2] != a.Path {
			t.Errorf("line %d: %s %s, want %s %s", i, lines[i][1], lines[i][2], a.SHA256(), a.Path)
		}
	}
	if !strings.Contains(out, "  /static/js/main.js\n") || !strings.Contains(out, "  /\n") {
		t.Errorf("the page or its main module is missing:\n%s", out)
	}
	if code, out, _ := runCLI(t, "version"); code != 0 || strings.Contains(out, "/static/") {
		t.Errorf("version without --assets: %d\n%s", code, out)
	}
}

func TestRoomCommandSaysWhenTheServiceIsNotRunning(t *testing.T) {
	data := t.TempDir()
	code, _, errOut := runCLI(t, "room", "info", "--data", data)
	if code != 1 || !strings.Contains(errOut, "not running") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Fatalf("got %d %q; want exit 1 and one sentence saying the service is not running", code, errOut)
	}
	if sock := (datadir.Layout{Dir: data}).AdminSocket(); !strings.Contains(errOut, sock) || !strings.Contains(errOut, "systemctl start chatbox") {
		t.Errorf("%q does not name the socket %s and say how to start the service", errOut, sock)
	}
	code, _, errOut = runCLI(t, "room", "frobnicate", "--data", t.TempDir())
	if code != 2 {
		t.Fatalf("unknown room command: %d %q, want exit 2", code, errOut)
	}
}

func TestUsageMistakesExitTwo(t *testing.T) {
	for _, args := range [][]string{
		{"frob"},
		{"serve", "extra"},
		{"version", "x"},
		{"serve", "--bogus"},
		{"completion"},
		{"room", "reset", "--data", t.TempDir()},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, _, errOut := runCLI(t, args...)
			if code != 2 || !strings.HasPrefix(errOut, "chatbox: ") || strings.Count(errOut, "\n") != 1 {
				t.Fatalf("exit %d, stderr %q; want exit 2 and one line", code, errOut)
			}
		})
	}
	if code, out, _ := runCLI(t); code != 0 || !strings.Contains(out, "Available Commands") {
		t.Fatalf("chatbox with no arguments: exit %d, want help", code)
	}
}
