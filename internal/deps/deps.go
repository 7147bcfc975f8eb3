// Package deps pins modules the project is adopting, so that go.mod keeps
// them while the code that uses them is written. Remove an import once real
// code uses the module; remove the package when it is empty.
package deps

import (
	_ "github.com/ProtonMail/go-crypto/openpgp"
	_ "github.com/caddyserver/certmagic"
	_ "github.com/chromedp/chromedp"
	_ "github.com/coreos/go-systemd/v22/daemon"
	_ "github.com/gorilla/websocket"
	_ "github.com/libdns/cloudflare"
	_ "github.com/miekg/dns"
	_ "github.com/nxadm/tail"
	_ "go.etcd.io/bbolt"
	_ "golang.org/x/crypto/scrypt"
	_ "golang.org/x/image/webp"
	_ "golang.org/x/time/rate"
)
