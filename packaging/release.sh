#!/usr/bin/env bash
# Builds a chatbox release into dist/ (or $DIST):
#
#   chatbox-linux-amd64  chatbox-linux-arm64    static binaries, one per host
#   chatbox-linux-armv6  chatbox-linux-armv7    (armv6: every Raspberry Pi)
#   chatbox-openbsd-amd64  chatbox-openbsd-arm64
#   chatbox_VERSION_{amd64,arm64,armhf}.deb     Debian, Ubuntu, Raspberry Pi OS
#   chatbox-VERSION-1.{x86_64,aarch64}.rpm      CentOS Stream, RHEL, Fedora
#   install.sh                                  the one-line installer
#   ASSETS                                      SHA-256 of every file of the room's page,
#                                               for the release notes (`chatbox version --assets`)
#   SHA256SUMS                                  of all of the above
#   manifest.json manifest.json.minisig         the signed manifest `chatbox update` reads
#   apt/                                        the signed apt repository, with this release's debs
#
# Usage: VERSION=v1.2.3 CHATBOX_SIGNING_KEY=/path/to/release.key \
#        CHATBOX_APT_KEY=FINGERPRINT packaging/release.sh
# The manifest is signed with the minisign secret key at
# $CHATBOX_SIGNING_KEY (see docs/RELEASING.md; the password of an encrypted
# key in $CHATBOX_SIGNING_KEY_PASSWORD); ENDORSE=FILE adds a key rotation's
# endorsements to it. The apt repository is signed with the OpenPGP key
# $CHATBOX_APT_KEY from gpg's keyring ($GNUPGHOME); APT_REPO=DIR adds the
# debs to a copy of the published repository instead of a new one in
# dist/apt (packaging/aptrepo.sh).
# VERSION defaults to `git describe` of a v* tag. Needs only Go and the
# module cache: nothing is downloaded once the modules are there.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

die() {
	echo "release.sh: $*" >&2
	exit 1
}

version=${VERSION:-}
if [ -z "$version" ]; then
	version=$(git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null) ||
		die "set VERSION (like v1.2.3): there is no v* tag to describe this commit."
fi
[[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] ||
	die "VERSION must look like v1.2.3 or v1.2.3-rc.1, not \"$version\"."
pkgversion=${version#v}
[ -n "${CHATBOX_SIGNING_KEY:-}" ] ||
	die "set CHATBOX_SIGNING_KEY to the release's minisign secret key file: the manifest must be signed (docs/RELEASING.md)."
[ -n "${CHATBOX_APT_KEY:-}" ] ||
	die "set CHATBOX_APT_KEY to the OpenPGP key that signs the apt repository (docs/RELEASING.md)."

# A test build trusts a throwaway release key (internal/release/testkey.go);
# a release never does. GOFLAGS (from the environment or go env -w) is the
# way the tag would slip into every build below.
case " $(go env GOFLAGS) " in
*chatbox_testkey*) die "GOFLAGS ($(go env GOFLAGS)) asks for the chatbox_testkey tag: a release must trust the embedded keys alone." ;;
esac

dist=${DIST:-$root/dist}
mkdir -p "$dist"
dist=$(cd "$dist" && pwd)
# Only what an earlier run of this script made; anything else is left alone.
rm -f "$dist"/chatbox-* "$dist"/chatbox_*.deb "$dist"/install.sh "$dist"/SHA256SUMS "$dist"/manifest.json "$dist"/manifest.json.minisig

# Package file times come from the commit, so a rebuild is byte-identical.
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH

ldflags="-s -w -X github.com/chatbox-dev/chatbox/internal/buildinfo.Version=$version"

# name GOOS GOARCH GOARM
targets=(
	"linux-amd64 linux amd64 -"
	"linux-arm64 linux arm64 -"
	"linux-armv6 linux arm 6"
	"linux-armv7 linux arm 7"
	"openbsd-amd64 openbsd amd64 -"
	"openbsd-arm64 openbsd arm64 -"
)
for target in "${targets[@]}"; do
	read -r name goos goarch goarm <<<"$target"
	echo "==> chatbox-$name"
	env CGO_ENABLED=0 GOOS="$goos" GOARCH="$goarch" GOARM="${goarm/#-/}" \
		go build -trimpath -ldflags "$ldflags" -o "$dist/chatbox-$name" ./cmd/chatbox
	# And the binary's own build record, whatever brought the tag in.
	if go version -m "$dist/chatbox-$name" | grep -q chatbox_testkey; then
		rm -f "$dist/chatbox-$name"
		die "chatbox-$name was built with the chatbox_testkey tag: a release must trust the embedded keys alone."
	fi
done

# The packages are made by nfpm, pinned as a tool in go.mod.
nfpm=$(mktemp -d)
trap 'rm -rf "$nfpm"' EXIT
go build -o "$nfpm/nfpm" github.com/goreleaser/nfpm/v2/cmd/nfpm

# packager, nfpm's arch, binary, file name. The armhf deb carries the
# ARMv6 binary: Raspberry Pi OS's armhf is ARMv6, and it runs on ARMv7 too.
packages=(
	"deb amd64 linux-amd64 chatbox_${pkgversion}_amd64.deb"
	"deb arm64 linux-arm64 chatbox_${pkgversion}_arm64.deb"
	"deb arm6 linux-armv6 chatbox_${pkgversion}_armhf.deb"
	"rpm amd64 linux-amd64 chatbox-${pkgversion}-1.x86_64.rpm"
	"rpm arm64 linux-arm64 chatbox-${pkgversion}-1.aarch64.rpm"
)
for pkg in "${packages[@]}"; do
	read -r packager arch binary file <<<"$pkg"
	echo "==> $file"
	CHATBOX_VERSION=$version CHATBOX_ARCH=$arch CHATBOX_BINARY="$dist/chatbox-$binary" \
		"$nfpm/nfpm" package --config packaging/nfpm.yaml --packager "$packager" \
		--target "$dist/$file" >/dev/null
done

cp packaging/install.sh "$dist/install.sh"

# The page's files, as a built binary serves them (every binary embeds the
# same ones): the release notes carry this list, so that anyone can check
# the page a box serves against the released one.
echo "==> ASSETS"
"$dist/chatbox-$(go env GOOS)-$(go env GOARCH)" version --assets | tail -n +2 >"$dist/ASSETS"

echo "==> SHA256SUMS"
(
	cd "$dist"
	files=(chatbox-* chatbox_*.deb install.sh ASSETS)
	sha256sum "${files[@]}" >SHA256SUMS.tmp
	mv SHA256SUMS.tmp SHA256SUMS
)
echo "==> manifest.json"
endorse=()
if [ -n "${ENDORSE:-}" ]; then
	endorse=(-endorse "$ENDORSE")
fi
go run ./packaging/sign -version "$version" -dir "$dist" "${endorse[@]}"
echo "==> apt repository"
packaging/aptrepo.sh "${APT_REPO:-$dist/apt}" "$dist"/chatbox_*.deb
echo "release $version is in $dist"
