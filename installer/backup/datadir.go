package backup

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/chatbox-dev/chatbox/config"
)

var (
	tableLine   = regexp.MustCompile(`^\s*\[\s*([A-Za-z0-9_.-]+)\s*\]\s*(#.*)?$`)
	dataDirLine = regexp.MustCompile(`^\s*data_dir\s*=`)
)

// pointConfigAt makes the backup's config file at path name dataDir as
// server.data_dir, the folder this box's service reads (and its unit lets
// it write), and returns the folder the backup's config named when it was
// another, or "". Every other line of the file is kept as it is.
func pointConfigAt(path, dataDir string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read the backup's config: %w", err)
	}
	cfg, err := config.Parse(data)
	if err != nil {
		return "", fmt.Errorf("the backup's config does not load here (%w); nothing was changed", err)
	}
	old := cfg.Server.DataDir
	if filepath.Clean(old) == filepath.Clean(dataDir) {
		return "", nil
	}
	edited := withDataDir(string(data), dataDir, old)
	if cfg, err := config.Parse([]byte(edited)); err != nil || filepath.Clean(cfg.Server.DataDir) != filepath.Clean(dataDir) {
		return "", fmt.Errorf("the backup's config keeps the data in %s and could not be pointed at %s; nothing was changed", old, dataDir)
	}
	if err := os.WriteFile(path, []byte(edited), fileMode); err != nil {
		return "", fmt.Errorf("point the backup's config at %s: %w", dataDir, err)
	}
	return old, nil
}

// withDataDir returns the TOML text with server.data_dir set to dir: the
// key's line replaced, or added under [server], or a [server] table added.
func withDataDir(text, dir, old string) string {
	line := "data_dir = " + strconv.Quote(dir) + " # set by chatbox restore; the backup's was " + strconv.Quote(old)
	lines := strings.Split(text, "\n")
	table, header := "", -1
	for i, l := range lines {
		if m := tableLine.FindStringSubmatch(l); m != nil {
			table = m[1]
			if table == "server" {
				header = i
			}
			continue
		}
		if table == "server" && dataDirLine.MatchString(l) {
			lines[i] = line
			return strings.Join(lines, "\n")
		}
	}
	if header >= 0 {
		lines = append(lines[:header+1], append([]string{line}, lines[header+1:]...)...)
		return strings.Join(lines, "\n")
	}
	if !strings.HasSuffix(text, "\n") && text != "" {
		text += "\n"
	}
	return text + "\n[server]\n" + line + "\n"
}
