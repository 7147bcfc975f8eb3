package box

import (
	"html/template"
	"net/http"

	"github.com/chatbox-dev/chatbox/internal/roomurl"
)

// hstsValue asks browsers to use HTTPS only, for two years, subdomains too.
const hstsValue = "max-age=63072000; includeSubDomains"

// Paths of the plain-HTTP listener besides /healthz and ACME challenges.
const (
	trustPath  = "/trust"
	caCertPath = "/chatbox-ca.crt"
)

// httpHandler answers the plain-HTTP listener: GET /healthz goes to health
// (the installer waits on it), /trust and /chatbox-ca.crt help a person
// trust the box's local CA, and everything else gets a 308 redirect to the
// same path on https://host, with httpsPort unless it is 443. site returns
// the box's name (host) and local CA at the time of each request: they
// change when an IP-only box's address does.
func httpHandler(site func() (string, *localCA), httpsPort int, health http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", health)
	mux.Handle("GET "+trustPath, trustPage(site, httpsPort))
	mux.HandleFunc("GET "+caCertPath, func(w http.ResponseWriter, _ *http.Request) {
		_, ca := site()
		w.Header().Set("Content-Type", "application/x-x509-ca-cert")
		w.Header().Set("Content-Disposition", `attachment; filename="chatbox-ca.crt"`)
		w.Write(ca.pem())
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		host, _ := site()
		target := roomurl.New("https", host, httpsPort)
		target.Path, target.RawPath, target.RawQuery = r.URL.Path, r.URL.RawPath, r.URL.RawQuery
		http.Redirect(w, r, target.String(), http.StatusPermanentRedirect)
	})
	return mux
}

// withHSTS sets Strict-Transport-Security on every response of next.
func withHSTS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", hstsValue)
		next.ServeHTTP(w, r)
	})
}

// trustPage explains how to trust the box's local CA in each browser. It
// is served over plain HTTP, which anyone on the way could alter, so it
// asks the reader to compare the fingerprint with the one on the box.
func trustPage(site func() (string, *localCA), httpsPort int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		name, ca := site()
		data := struct{ Name, Fingerprint, CertPath, RoomURL string }{
			name, ca.fingerprint(), caCertPath, roomurl.New("https", name, httpsPort).String(),
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		trustTemplate.Execute(w, data)
	})
}

var trustTemplate = template.Must(template.New("trust").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Trust the chat room at {{.Name}}</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; }
code { font-size: 0.9rem; word-break: break-all; background: #f3f3f3; padding: 0.1rem 0.3rem; }
h2 { font-size: 1.1rem; margin-top: 1.5rem; }
</style>
</head>
<body>
<h1>Trust the chat room at {{.Name}}</h1>
<p>This box has no certificate from a public authority (it may be on a
private network), so it uses its own certificate authority, limited to
{{.Name}}. Add it to your browser once and
<a href="{{.RoomURL}}">{{.RoomURL}}</a> opens without warnings.</p>
<p><a href="{{.CertPath}}" download="chatbox-ca.crt"><strong>Download the certificate</strong></a></p>
<p>Its SHA-256 fingerprint is<br><code>{{.Fingerprint}}</code><br>
This page comes over plain HTTP, which anyone on the way could alter:
before you trust the certificate, check that the fingerprint your browser
shows is the one the person who runs the box sees on it.</p>

<h2>Firefox (any system)</h2>
<p>Settings → Privacy &amp; Security → Certificates → View Certificates →
Authorities → Import, choose <code>chatbox-ca.crt</code>, tick “Trust this CA
to identify websites”.</p>

<h2>Chrome or Edge on Windows</h2>
<p>Open the downloaded file → Install Certificate → Current User → Place all
certificates in the following store → Trusted Root Certification Authorities →
Finish. Restart the browser.</p>

<h2>Safari, Chrome or Edge on macOS</h2>
<p>Open the downloaded file in Keychain Access (login keychain), double-click
the “chatbox local CA” certificate → Trust → When using this certificate:
Always Trust.</p>

<h2>Chrome on Linux</h2>
<p>chrome://settings/certificates → Authorities → Import, choose the file,
tick “Trust this certificate for identifying websites”.</p>

<h2>iPhone and iPad</h2>
<p>Open this page in Safari and download the certificate → Settings → Profile
Downloaded → Install. Then Settings → General → About → Certificate Trust
Settings → turn on the chatbox local CA.</p>

<h2>Android</h2>
<p>Settings → Security → More security settings → Encryption &amp; credentials
→ Install a certificate → CA certificate, choose the file.</p>
</body>
</html>
`))
