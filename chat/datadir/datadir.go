// Package datadir names what a box keeps in its data directory. It is the
// one owner of those names: the room, the appliance (box) and the
// installer all find a file through a Layout, never by a literal.
package datadir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Layout is a data directory: /var/lib/chatbox on a Linux box,
// /var/chatbox on OpenBSD, ./chatbox-data for serve --dev.
type Layout struct {
	// Dir is the directory itself.
	Dir string
}

// The names inside a data directory.
const (
	messagesFile = "messages.db"
	filesDir     = "files"
	adminSocket  = "admin.sock"
	certMagicDir = "certmagic"
	localCADir   = "localca"
	// pushDir holds the box's Web Push identity, kept across resets and
	// in backups; pushSubs is the store of the browsers' subscriptions.
	pushDir   = "push"
	vapidFile = "vapid.json"
	pushSubs  = "push-subscriptions.db"
	// wipedPrefix starts the name of an uploads folder a destroy moved
	// aside to delete.
	wipedPrefix = "files.wiped-"
	// freshPrefix starts the name of the empty store a destroy writes
	// before it takes the place of messages.db.
	freshPrefix = "messages.db.fresh-"
)

// Messages is the room's store: messages, the room's record, sessions.
func (l Layout) Messages() string { return filepath.Join(l.Dir, messagesFile) }

// Files is the folder of uploads; elem names one inside it.
func (l Layout) Files(elem ...string) string {
	return filepath.Join(append([]string{l.Dir, filesDir}, elem...)...)
}

// WipedFilesPattern matches the uploads folders a destroy moved aside
// (filepath.Glob syntax); WipedFilesPrefix is the start of their names.
func (l Layout) WipedFilesPattern() string { return filepath.Join(l.Dir, wipedPrefix+"*") }

// WipedFilesPrefix is the name prefix for os.MkdirTemp(l.Dir, prefix).
func (Layout) WipedFilesPrefix() string { return wipedPrefix }

// FreshMessagesPattern matches the empty stores a destroy writes before
// one takes the place of messages.db (filepath.Glob syntax); one left
// behind was interrupted. FreshMessagesPrefix is the start of their names.
func (l Layout) FreshMessagesPattern() string { return filepath.Join(l.Dir, freshPrefix+"*") }

// FreshMessagesPrefix is the name prefix for os.CreateTemp(l.Dir, prefix).
func (Layout) FreshMessagesPrefix() string { return freshPrefix }

// AdminSocket is the Unix socket on which the running room takes orders
// from `chatbox room`.
func (l Layout) AdminSocket() string { return filepath.Join(l.Dir, adminSocket) }

// CertMagic is certmagic's storage: ACME account, certificates, locks.
func (l Layout) CertMagic() string { return filepath.Join(l.Dir, certMagicDir) }

// LocalCA is the box's own certificate authority, used when no public
// certificate can be had.
func (l Layout) LocalCA() string { return filepath.Join(l.Dir, localCADir) }

// Push is the folder of the box's Web Push identity; a backup holds it.
func (l Layout) Push() string { return filepath.Join(l.Dir, pushDir) }

// VAPIDKey is the box's VAPID key pair (RFC 8292), made at its first
// start and kept (0600) through restarts, updates and room resets: a new
// key would silently end every browser's subscription.
func (l Layout) VAPIDKey() string { return filepath.Join(l.Dir, pushDir, vapidFile) }

// PushSubscriptions is the store of the browsers' Web Push
// subscriptions. A backup leaves it out: a page sends its subscription
// again each time it opens.
func (l Layout) PushSubscriptions() string { return filepath.Join(l.Dir, pushSubs) }

// Check refuses a data directory that others could tamper with: one that
// users other than its owner can write, or one holding (at its top, or
// among the uploads) a symbolic link or a file others can write. A box
// never makes these itself; finding one means someone else was there.
// A directory that does not exist yet passes.
func (l Layout) Check() error {
	info, err := os.Lstat(l.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check the data directory: %w", err)
	}
	if err := checkEntry(l.Dir, info); err != nil {
		return err
	}
	for _, dir := range []string{l.Dir, l.Files(), l.Files(".incoming")} {
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("check the data directory: %w", err)
		}
		for _, e := range entries {
			path := filepath.Join(dir, e.Name())
			info, err := os.Lstat(path)
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed meanwhile
			}
			if err != nil {
				return fmt.Errorf("check the data directory: %w", err)
			}
			if err := checkEntry(path, info); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkEntry refuses a symbolic link, and anything users other than its
// owner can write (a socket excepted: its mode is set when it is made).
func checkEntry(path string, info fs.FileInfo) error {
	switch {
	case info.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%s in the data directory is a symbolic link; chatbox does not follow links out of its data, so remove it (or point the config at the real directory)", path)
	case info.Mode()&fs.ModeSocket != 0:
		return nil
	case info.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("%s can be written by users other than its owner (mode %v); run chmod go-w on it before starting chatbox", path, info.Mode().Perm())
	}
	return nil
}
