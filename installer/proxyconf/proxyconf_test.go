package proxyconf

import (
	"strings"
	"testing"
)

func TestEachConfigurationHasWhatTheRoomNeeds(t *testing.T) {
	p := Params{Domain: "chat.example.com", Upstream: "127.0.0.1:8080", MaxFileSize: 10 << 20}
	if got := p.BodyLimitMiB(); got != 11 {
		t.Fatalf("the body limit for a 10 MiB file is %d MiB, want 11", got)
	}
	want := map[string][]string{
		"nginx": {
			"server_name chat.example.com;", "proxy_pass http://127.0.0.1:8080;", "proxy_http_version 1.1;",
			"proxy_set_header Upgrade $http_upgrade;", "proxy_set_header Connection $chatbox_connection;",
			"proxy_set_header Host $host;", "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
			"proxy_set_header X-Forwarded-Proto $scheme;", "client_max_body_size 11m;", "proxy_read_timeout 1h;",
		},
		"caddy": {
			"chat.example.com {", "reverse_proxy 127.0.0.1:8080",
			"max_size 11MiB", "read_timeout 1h",
		},
		"apache": {
			"ServerName chat.example.com", "ProxyPass        / http://127.0.0.1:8080/ upgrade=websocket", "RewriteRule ^/(.*) ws://127.0.0.1:8080/$1 [P,L]",
			"ProxyPreserveHost On", `RequestHeader set X-Forwarded-Proto "https"`, "LimitRequestBody 11534336", "ProxyTimeout 3600",
		},
	}
	for _, s := range Servers() {
		t.Run(s.Name+" has every directive the room needs", func(t *testing.T) {
			conf, err := s.Render(p)
			if err != nil {
				t.Fatal(err)
			}
			if len(want[s.Name]) == 0 {
				t.Fatalf("no expectations for %s", s.Name)
			}
			for _, d := range want[s.Name] {
				if !strings.Contains(string(conf), d) {
					t.Errorf("missing %q in:\n%s", d, conf)
				}
			}
		})
	}
}
