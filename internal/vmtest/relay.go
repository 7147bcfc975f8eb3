//go:build linux

package vmtest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// relayMain is what QEMU's guestfwd=...-cmd: runs for each connection the
// guest opens to a forwarded address: it joins its standard input and
// output to one TCP address on the host.
const relayMain = `package main

import (
	"io"
	"net"
	"os"
)

func main() {
	c, err := net.Dial("tcp", os.Args[1])
	if err != nil {
		os.Exit(1)
	}
	go func() {
		io.Copy(c, os.Stdin)
		c.(*net.TCPConn).CloseWrite()
	}()
	io.Copy(os.Stdout, c)
}
`

// buildRelay builds the relay into the cache, once per version of its
// source, and returns its path.
func buildRelay(ctx context.Context, cache string) (string, error) {
	sum := sha256.Sum256([]byte(relayMain))
	dir := filepath.Join(cache, fmt.Sprintf("vm-relay-%x", sum[:6]))
	bin := filepath.Join(dir, "relay")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(relayMain), 0o644); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin+".tmp", "main.go")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GO111MODULE=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the guest-forward relay: %v\n%s", err, out)
	}
	return bin, os.Rename(bin+".tmp", bin)
}
