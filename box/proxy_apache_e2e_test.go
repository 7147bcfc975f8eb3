package box_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Debian's Apache (package apache2) accepts the generated configuration
// (apache2 -t) and carries the room's traffic with it, as nginx and Caddy
// do: the same checks, through mod_proxy and mod_proxy_wstunnel.
func TestApacheInFrontOfTheBox(t *testing.T) {
	apache := proxyTool(t, "apache2", "apache2")
	dir := t.TempDir()
	port, httpPort := freePort(t), freePort(t)
	cfg, site := proxiedBox(t, "apache", port)
	certFile, keyFile, pool := selfSigned(t, dir)
	site = adapt(t, site,
		"<VirtualHost *:80>", fmt.Sprintf("<VirtualHost 127.0.0.1:%d>", httpPort),
		"<VirtualHost *:443>", fmt.Sprintf("<VirtualHost 127.0.0.1:%d>", port),
		"/etc/letsencrypt/live/localhost/fullchain.pem", certFile,
		"/etc/letsencrypt/live/localhost/privkey.pem", keyFile,
	)
	sitePath := filepath.Join(dir, "chatbox.conf")
	if err := os.WriteFile(sitePath, []byte(site), 0o644); err != nil {
		t.Fatal(err)
	}
	// The main configuration, as Debian's apache2.conf includes a site,
	// with the modules the configuration's header names (a2enmod proxy
	// proxy_http proxy_wstunnel headers rewrite ssl) and every file Apache
	// writes in the test's directory.
	mods := "/usr/lib/apache2/modules/"
	mainConf := fmt.Sprintf(`ServerRoot %[1]s
LoadModule mpm_event_module %[2]smod_mpm_event.so
LoadModule authz_core_module %[2]smod_authz_core.so
LoadModule alias_module %[2]smod_alias.so
LoadModule proxy_module %[2]smod_proxy.so
LoadModule proxy_http_module %[2]smod_proxy_http.so
LoadModule proxy_wstunnel_module %[2]smod_proxy_wstunnel.so
LoadModule headers_module %[2]smod_headers.so
LoadModule rewrite_module %[2]smod_rewrite.so
LoadModule socache_shmcb_module %[2]smod_socache_shmcb.so
LoadModule ssl_module %[2]smod_ssl.so
ServerName localhost
Listen 127.0.0.1:%[3]d
Listen 127.0.0.1:%[4]d
PidFile %[1]s/apache2.pid
DefaultRuntimeDir %[1]s
Mutex file:%[1]s default
ErrorLog /dev/stderr
LogLevel warn
User www-data
Group www-data
Include %[5]s
`, dir, mods, httpPort, port, sitePath)
	confPath := filepath.Join(dir, "apache2.conf")
	if err := os.WriteFile(confPath, []byte(mainConf), 0o644); err != nil {
		t.Fatal(err)
	}
	// Apache drops to www-data after reading the key and binding.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	validate(t, exec.Command(apache, "-t", "-f", confPath))
	exited := runProxy(t, "apache2", exec.Command(apache, "-X", "-f", confPath))
	throughProxy(t, "apache", cfg, port, pool, exited)
}
