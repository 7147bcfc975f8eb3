package box

import (
	"log/slog"
	"testing"

	"github.com/chatbox-dev/chatbox/chat/datadir"
	"github.com/chatbox-dev/chatbox/chat/push"
	"github.com/chatbox-dev/chatbox/config"
)

// TestTheVAPIDKeyOutlivesRestartsAndResets: a new key would silently
// end every browser's subscription, so the box makes one at its first
// start and keeps it through a restart and a room reset.
func TestTheVAPIDKeyOutlivesRestartsAndResets(t *testing.T) {
	cfg := config.Default()
	cfg.Server.DataDir = t.TempDir()
	cfg.Server.Domain = "chat.example.com"
	log := slog.New(slog.DiscardHandler)
	l := datadir.Layout{Dir: cfg.Server.DataDir}

	room, _, err := openRoom(t.Context(), cfg, log, serving{secure: true})
	if err != nil {
		t.Fatal(err)
	}
	first, err := push.ReadKey(l)
	if err != nil {
		t.Fatalf("no key after the first start: %v", err)
	}
	if _, err := room.Reset(false); err != nil {
		t.Fatal(err)
	}
	room.Close()
	room, _, err = openRoom(t.Context(), cfg, log, serving{secure: true})
	if err != nil {
		t.Fatal(err)
	}
	defer room.Close()
	again, err := push.ReadKey(l)
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Error("the VAPID key changed across a reset and a restart")
	}
}

func TestPushOptionsNameTheBox(t *testing.T) {
	for _, tc := range []struct {
		name                string
		domain, ip, contact string
		publicURL           string
		title, subject      string
	}{
		{"a domain", "chat.example.com", "", "", "", "chat.example.com", "https://chat.example.com"},
		{"an IPv6 address", "", "2001:db8::1", "", "", "2001:db8::1", "https://[2001:db8::1]"},
		{"a proxied box", "", "", "", "https://chat.example.org/", "chat.example.org", "https://chat.example.org"},
		{"a contact", "chat.example.com", "", "owner@example.com", "", "chat.example.com", "owner@example.com"},
		{"serve --dev", "", "", "", "", "chatbox", "https://localhost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Server.Domain, cfg.Server.IP, cfg.Push.Contact = tc.domain, tc.ip, tc.contact
			o := PushOptions(cfg, tc.publicURL)
			if o.Title != tc.title || o.Subject != tc.subject {
				t.Errorf("title %q subject %q, want %q %q", o.Title, o.Subject, tc.title, tc.subject)
			}
		})
	}
}
