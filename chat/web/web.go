// Package web holds the room's page: HTML, ES modules, styles and icons,
// embedded in the binary and served as they are (no build step).
package web

import "embed"

// Files are the page's files: index.html, favicon.ico, the service
// worker sw.js and static/.
//
//go:embed index.html favicon.ico sw.js static
var Files embed.FS
