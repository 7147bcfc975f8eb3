#!/usr/bin/env bash
# The whole test suite: formatting, vet, staticcheck, unit tests, and the
# end-to-end suites with real parts (headless Chromium, Pebble, a debootstrap
# chroot booted with systemd-nspawn, Debian virtual machines under QEMU). Installs what those need when run as
# root on a Debian-family machine; elsewhere it tells you what is missing.
set -euo pipefail
cd "$(dirname "$0")"

need_pkgs=()
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
command -v debootstrap >/dev/null 2>&1 || need_pkgs+=(debootstrap)
command -v systemd-nspawn >/dev/null 2>&1 || need_pkgs+=(systemd-container)
command -v shellcheck >/dev/null 2>&1 || need_pkgs+=(shellcheck)
command -v dpkg-deb >/dev/null 2>&1 || need_pkgs+=(dpkg)
command -v rpm >/dev/null 2>&1 || need_pkgs+=(rpm)
command -v nginx >/dev/null 2>&1 || need_pkgs+=(nginx-light)
command -v caddy >/dev/null 2>&1 || need_pkgs+=(caddy)
command -v apt-ftparchive >/dev/null 2>&1 || need_pkgs+=(apt-utils)
command -v gpg >/dev/null 2>&1 || need_pkgs+=(gnupg)
command -v createrepo_c >/dev/null 2>&1 || need_pkgs+=(createrepo-c)
command -v dnf >/dev/null 2>&1 || need_pkgs+=(dnf)
command -v node >/dev/null 2>&1 || need_pkgs+=(nodejs)
command -v lintian >/dev/null 2>&1 || need_pkgs+=(lintian)
command -v rpmlint >/dev/null 2>&1 || need_pkgs+=(rpmlint)
# Apache's binary and modules only: the test writes its own configuration,
# and the apache2 package would start a server on port 80.
command -v apache2 >/dev/null 2>&1 || [ -x /usr/sbin/apache2 ] || need_pkgs+=(apache2-bin)
# The VM suite (internal/vmtest): QEMU, a NoCloud seed, an apt proxy.
command -v qemu-system-x86_64 >/dev/null 2>&1 || need_pkgs+=(qemu-system-x86)
command -v qemu-img >/dev/null 2>&1 || need_pkgs+=(qemu-utils)
command -v genisoimage >/dev/null 2>&1 || need_pkgs+=(genisoimage)
command -v apt-cacher-ng >/dev/null 2>&1 || need_pkgs+=(apt-cacher-ng)
command -v qemu-aarch64-static >/dev/null 2>&1 || need_pkgs+=(qemu-user-static)
command -v qemu-system-aarch64 >/dev/null 2>&1 || need_pkgs+=(qemu-system-arm)
command -v mkfs.ext4 >/dev/null 2>&1 || [ -x /usr/sbin/mkfs.ext4 ] || need_pkgs+=(e2fsprogs)
if ((${#need_pkgs[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing ${need_pkgs[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
  else
    echo "test.sh: missing ${need_pkgs[*]}; install them (as root: apt-get install ${need_pkgs[*]})" >&2
    exit 1
  fi
fi

echo "==> gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi
echo "==> go vet"
go vet ./...
echo "==> staticcheck"
go tool staticcheck ./...

echo "==> node --test (the page's modules)"
node --test chat/web/test/

echo "==> go test (with end-to-end suites; the VM suite follows on its own)"
CHATBOX_E2E=1 go test -count=1 -timeout 75m -skip '^TestVM' ./...

# The VM suite boots real machines under QEMU's software emulation, which
# is slowed to a crawl by anything else on two cores: it runs after the
# rest, one package at a time. Its log names every step with its time.
# CHATBOX_VM=all runs the whole of it (an hour or more), CHATBOX_VM=0 none.
mapfile -t vmpkgs < <(git ls-files '*_test.go' | xargs grep -l '^func TestVM' | xargs -n1 dirname | sort -u | sed 's|^|./|')
echo "==> the VM suite (${vmpkgs[*]}): Debian machines under QEMU"
vmstart=$SECONDS
CHATBOX_E2E=1 go test -count=1 -p 1 -timeout 70m -run '^TestVM' -v "${vmpkgs[@]}"
echo "the VM suite took $(((SECONDS - vmstart) / 60)) min $(((SECONDS - vmstart) % 60)) s"

echo "==> go test -race (the fast tests, under the race detector)"
go test -race -count=1 -timeout 30m ./...

# Every parser of outside input has a fuzz target; give each a bounded run
# on top of its kept corpus (which go test above already replayed).
fuzztime=${FUZZTIME:-10s}
echo "==> fuzzing every Fuzz target for $fuzztime"
mapfile -t fuzzfiles < <(git ls-files '*_test.go' | xargs grep -l '^func Fuzz')
for file in "${fuzzfiles[@]}"; do
  for name in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | cut -d' ' -f2); do
    dir=$(dirname "$file")
    echo "--- $name ($dir)"
    corpus=$(find "$dir/testdata/fuzz/$name" -type f 2>/dev/null | wc -l || true)
    if ! out=$(go test -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" "./$dir" 2>&1); then
      # Go 1.26's fuzz coordinator can report its own -fuzztime deadline
      # as a failure ("context deadline exceeded") with no failing input
      # written (Go issue 75804, fixed in Go 1.27). That, and only that,
      # gets one more run; a written input or any other failure stops here.
      if [ "$(find "$dir/testdata/fuzz/$name" -type f 2>/dev/null | wc -l || true)" = "$corpus" ] &&
        grep -qx '    context deadline exceeded' <<<"$out"; then
        echo "$name: Go's fuzz coordinator reported its own deadline with no failing input; running it again"
        if ! out=$(go test -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" "./$dir" 2>&1); then
          echo "$out"
          exit 1
        fi
      else
        echo "$out"
        exit 1
      fi
    fi
    echo "$out" | tail -1
  done
done
