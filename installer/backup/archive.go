// Package backup is the archive of a box that `chatbox backup` writes and
// `chatbox restore` reads: a gzip-compressed tar holding a consistent copy
// of the room's store, the uploaded files, the certificate storage and
// the config file, with a manifest of every entry's size and SHA-256 as
// its last entry. Everything streams: memory does not grow with the size
// of the files.
package backup

import (
	"path"
	"strings"
	"time"
)

// Format is the version of the archive this package writes; Verify
// refuses any other.
const Format = 1

// Names inside the archive. The data directory's entries keep their
// names relative to it (datadir.Layout names them) under dataPrefix.
const (
	manifestName = "manifest.json"
	dataPrefix   = "data/"
	storeName    = dataPrefix + "messages.db"
	configName   = "config/config.toml"
	// maxManifest bounds the manifest Verify reads into memory: about
	// 100 bytes an entry, so room for hundreds of thousands of files.
	maxManifest = 64 << 20
)

// dataDirs are the folders of the data directory a backup holds, besides
// the store; files.incoming (uploads still arriving) is left out. push
// holds the box's VAPID key: restored with another key, a box could send
// no push to any browser subscribed before. (The subscriptions themselves
// are left out: each page sends its own again when it opens.)
var dataDirs = []string{"files", "certmagic", "localca", pushDir}

// pushDir is the folder of the Web Push key; its files are the service's
// alone (0600), like the store.
const pushDir = "push"

// Manifest is the archive's table of contents, its last entry.
type Manifest struct {
	// Format is the archive's format version (Format when written).
	Format int `json:"format"`
	// Version is the version of the chatbox that wrote it.
	Version string `json:"chatbox_version"`
	// Created is when the copy of the store was taken.
	Created time.Time `json:"created"`
	// Entries lists every other entry of the archive, in order.
	Entries []Entry `json:"entries"`
}

// Entry is one file in the archive.
type Entry struct {
	// Path is the entry's name in the archive.
	Path string `json:"path"`
	// Size is its length in bytes.
	Size int64 `json:"size"`
	// SHA256 is the hex SHA-256 of its content.
	SHA256 string `json:"sha256"`
}

// Size is the total of the entries' sizes.
func (m Manifest) Size() int64 {
	var n int64
	for _, e := range m.Entries {
		n += e.Size
	}
	return n
}

// checkName says what is wrong with name as the name of an entry other
// than the manifest, or "" when it is one a backup holds.
func checkName(name string) string {
	switch {
	case name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, `\`):
		return "holds an entry with an absolute or odd path, " + quote(name)
	case path.Clean(name) != name || name == ".." || strings.HasPrefix(name, "../") || strings.Contains(name, "/../"):
		return "holds an entry whose path " + quote(name) + " is not clean or leaves its folder"
	case name == storeName || name == configName:
		return ""
	}
	if rest, ok := strings.CutPrefix(name, dataPrefix); ok {
		top, below, _ := strings.Cut(rest, "/")
		for _, d := range dataDirs {
			if top == d && below != "" && !(d == "files" && (below == ".incoming" || strings.HasPrefix(below, ".incoming/"))) {
				return ""
			}
		}
	}
	return "holds " + quote(name) + ", which is not part of a chatbox backup"
}

func quote(s string) string {
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}
