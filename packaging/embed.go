// Package packaging holds the files that put chatbox on a host as a
// service: the hardened systemd unit and the OpenBSD rc.d script. The
// installer writes them from here, so the binary carries them.
package packaging

import (
	_ "embed"
	"slices"
)

//go:embed chatbox.service
var systemdUnit []byte

//go:embed chatbox.rc
var openBSDRC []byte

// SystemdUnit returns /etc/systemd/system/chatbox.service.
func SystemdUnit() []byte { return slices.Clone(systemdUnit) }

// OpenBSDRC returns /etc/rc.d/chatbox.
func OpenBSDRC() []byte { return slices.Clone(openBSDRC) }
