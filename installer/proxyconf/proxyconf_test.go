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

// Each OS family is told its own packages, paths and reload commands: no
// Debian apache2 or sites-available on a RHEL-family host or on OpenBSD.
func TestServersForNameEachFamilysPackages(t *testing.T) {
	cases := map[string]struct{ want, not []string }{
		"debian":  {[]string{"sites-available", "a2enmod", "systemctl reload apache2"}, []string{"httpd", "rcctl"}},
		"rocky":   {[]string{"/etc/httpd/conf.d/chatbox.conf", "systemctl reload httpd", "/etc/nginx/conf.d/chatbox.conf", "httpd_can_network_connect"}, []string{"apache2", "sites-available", "a2enmod"}},
		"fedora":  {[]string{"packages httpd and mod_ssl"}, []string{"apache2"}},
		"openbsd": {[]string{"apache-httpd", "rcctl reload nginx", "rcctl reload apache2"}, []string{"systemctl", "sites-available"}},
	}
	for osID, c := range cases {
		var hints []string
		for _, s := range ServersFor(osID) {
			hints = append(hints, s.Hint)
		}
		all := strings.Join(hints, "\n")
		for _, w := range c.want {
			if !strings.Contains(all, w) {
				t.Errorf("%s: the hints lack %q:\n%s", osID, w, all)
			}
		}
		for _, n := range c.not {
			if strings.Contains(all, n) {
				t.Errorf("%s: the hints name %q, which is another family's:\n%s", osID, n, all)
			}
		}
	}
}
