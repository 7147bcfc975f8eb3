// Package proxyconf writes the reverse-proxy configuration that puts a
// chatbox in proxy mode behind nginx, Caddy or Apache: one template per
// server, each passing WebSocket upgrades, the forwarded headers the room
// believes from a trusted proxy, an upload limit a little above the
// room's, and timeouts a WebSocket outlives.
package proxyconf

import (
	"bytes"
	"fmt"
	"text/template"
)

// Params are what a proxy configuration needs to know about the room.
type Params struct {
	// Domain is the room's public name, e.g. chat.example.com.
	Domain string
	// Upstream is chatbox's server.listen, e.g. 127.0.0.1:8080.
	Upstream string
	// MaxFileSize is room.max_file_size in bytes.
	MaxFileSize int64
}

// margin is what an upload's body may hold beyond the file itself: the
// multipart headers and the nickname field.
const margin = 1 << 20

// BodyLimitMiB is the request body limit, in MiB, the proxy enforces:
// the room's file size plus a margin, rounded up.
func (p Params) BodyLimitMiB() int64 { return (p.MaxFileSize + margin + 1<<20 - 1) >> 20 }

// BodyLimitBytes is BodyLimitMiB in bytes.
func (p Params) BodyLimitBytes() int64 { return p.BodyLimitMiB() << 20 }

// Server is one reverse proxy chatbox has a configuration for.
type Server struct {
	Name string // nginx, caddy, apache
	// File is the name the configuration is written under in the
	// documentation folder.
	File string
	// Hint says where the file goes on the proxy's host.
	Hint string
	tmpl *template.Template
}

// Render returns the server's configuration for p.
func (s Server) Render(p Params) ([]byte, error) {
	var b bytes.Buffer
	if err := s.tmpl.Execute(&b, p); err != nil {
		return nil, fmt.Errorf("render the %s configuration: %w", s.Name, err)
	}
	return b.Bytes(), nil
}

// ServersFor are the proxies chatbox writes configurations for, in the
// order they are printed, with the hints of the OS family of osID (an
// os-release ID): where its packages of nginx, Caddy and Apache read their
// configuration, and how they are reloaded.
func ServersFor(osID string) []Server {
	servers := Servers()
	switch osID {
	case "debian", "ubuntu", "raspbian":
		return servers
	case "openbsd":
		servers[0].Hint = "the http block of /etc/nginx/nginx.conf (package nginx), then nginx -t && rcctl reload nginx"
		servers[1].Hint = "a site block in /etc/caddy/Caddyfile (package caddy), then rcctl reload caddy"
		servers[2].Hint = "/etc/apache2/httpd2.conf (package apache-httpd; load mod_proxy, mod_proxy_http, mod_proxy_wstunnel, mod_headers, mod_rewrite and mod_ssl there), then apachectl2 configtest && rcctl reload apache2"
	default: // the RHEL family
		selinux := "; SELinux lets the web server reach chatbox once: setsebool -P httpd_can_network_connect 1"
		servers[0].Hint = "/etc/nginx/conf.d/chatbox.conf (package nginx), then nginx -t && systemctl reload nginx" + selinux
		servers[1].Hint = "a site block in /etc/caddy/Caddyfile (package caddy), then systemctl reload caddy" + selinux
		servers[2].Hint = "/etc/httpd/conf.d/chatbox.conf (packages httpd and mod_ssl), then apachectl configtest && systemctl reload httpd" + selinux
	}
	return servers
}

// Servers are the proxies chatbox writes configurations for, in the
// order they are printed, with Debian's hints.
func Servers() []Server {
	return []Server{
		{Name: "nginx", File: "nginx.conf", Hint: "/etc/nginx/sites-available/chatbox (link it into sites-enabled), then nginx -t && systemctl reload nginx", tmpl: nginxTmpl},
		{Name: "caddy", File: "Caddyfile", Hint: "a site block in /etc/caddy/Caddyfile, then systemctl reload caddy", tmpl: caddyTmpl},
		{Name: "apache", File: "apache.conf", Hint: "/etc/apache2/sites-available/chatbox.conf, then a2enmod proxy proxy_http proxy_wstunnel headers rewrite ssl && a2ensite chatbox && systemctl reload apache2", tmpl: apacheTmpl},
	}
}

var nginxTmpl = template.Must(template.New("nginx").Parse(`# chatbox behind nginx: the room at https://{{.Domain}}/ served by chatbox on {{.Upstream}}.
# The certificate lines assume certbot; point them at yours.
map $http_upgrade $chatbox_connection {
    default upgrade;
    ''      close;
}

server {
    listen 80;
    listen [::]:80;
    server_name {{.Domain}};
    return 301 https://$host$request_uri;
}

server {
    # "listen ... http2" rather than "http2 on": the directive only exists
    # from nginx 1.25.1, and Debian 12 ships 1.22.
    listen 443 ssl http2;
    listen [::]:443 ssl http2;
    server_name {{.Domain}};
    ssl_certificate     /etc/letsencrypt/live/{{.Domain}}/fullchain.pem;
    ssl_certificate_key /etc/letsencrypt/live/{{.Domain}}/privkey.pem;

    # room.max_file_size plus room for the form around the file.
    client_max_body_size {{.BodyLimitMiB}}m;

    location / {
        proxy_pass http://{{.Upstream}};
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $chatbox_connection;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Host $host;
        # A WebSocket stays open for hours; the room pings it well within this.
        proxy_read_timeout 1h;
        proxy_send_timeout 1h;
        # Uploads go to chatbox as they arrive.
        proxy_request_buffering off;
        proxy_buffering off;
    }
}
`))

var caddyTmpl = template.Must(template.New("caddy").Parse(`# chatbox behind Caddy: the room at https://{{.Domain}}/ served by chatbox on {{.Upstream}}.
# Caddy gets the certificate and redirects HTTP to HTTPS itself, passes
# WebSocket upgrades, and sets X-Forwarded-For, X-Forwarded-Proto and
# X-Forwarded-Host on its own.
{{.Domain}} {
	request_body {
		# room.max_file_size plus room for the form around the file; MiB,
		# as Caddy reads MB as a million bytes.
		max_size {{.BodyLimitMiB}}MiB
	}
	reverse_proxy {{.Upstream}} {
		flush_interval -1
		# A WebSocket stays open as long as both ends keep it: Caddy puts no
		# limit on a stream unless told to (stream_timeout, Caddy 2.7+).
		# The room pings it well within these.
		transport http {
			read_timeout 1h
			write_timeout 1h
		}
	}
}
`))

var apacheTmpl = template.Must(template.New("apache").Parse(`# chatbox behind Apache: the room at https://{{.Domain}}/ served by chatbox on {{.Upstream}}.
# Needs: a2enmod proxy proxy_http proxy_wstunnel headers rewrite ssl
# The certificate lines assume certbot; point them at yours.
<VirtualHost *:80>
    ServerName {{.Domain}}
    Redirect permanent / https://{{.Domain}}/
</VirtualHost>

<VirtualHost *:443>
    ServerName {{.Domain}}
    SSLEngine on
    SSLCertificateFile    /etc/letsencrypt/live/{{.Domain}}/fullchain.pem
    SSLCertificateKeyFile /etc/letsencrypt/live/{{.Domain}}/privkey.pem

    # room.max_file_size plus room for the form around the file, in bytes.
    LimitRequestBody {{.BodyLimitBytes}}

    ProxyPreserveHost On
    ProxyRequests Off
    # A WebSocket stays open for hours; the room pings it well within this.
    ProxyTimeout 3600
    # Apache sets X-Forwarded-For and X-Forwarded-Host; add the scheme.
    RequestHeader set X-Forwarded-Proto "https"

    RewriteEngine On
    RewriteCond %{HTTP:Upgrade} =websocket [NC]
    RewriteRule ^/(.*) ws://{{.Upstream}}/$1 [P,L]
    ProxyPass        / http://{{.Upstream}}/ upgrade=websocket timeout=3600
    ProxyPassReverse / http://{{.Upstream}}/
</VirtualHost>
`))
