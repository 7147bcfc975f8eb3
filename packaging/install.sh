#!/bin/sh
# Installs chatbox from a release on Linux or OpenBSD:
#
#   curl -fsSL https://github.com/chatbox-dev/chatbox/releases/latest/download/install.sh | sh -s -- --domain chat.example.com
#
# It picks the release binary for this machine (uname), downloads it and the
# release's SHA256SUMS, checks the one against the other, and runs
# `chatbox install` with this script's arguments; that puts the binary in
# /usr/local/bin (keeping the one it replaces as chatbox.prev) and sets up
# the room. With --dry-run nothing is installed: the plan is printed.
#
# CHATBOX_RELEASE_URL  where the release's files are
#                      (default: the latest release on GitHub)
# TMPDIR               where the download is kept until it has installed
#                      itself (default: /tmp); it must allow running programs
set -eu

release_url=${CHATBOX_RELEASE_URL:-https://github.com/chatbox-dev/chatbox/releases/latest/download}
release_url=${release_url%/}

die() {
	echo "install.sh: $*" >&2
	exit 1
}

say() {
	echo "install.sh: $*" >&2
}

# asset names the release binary for this machine.
asset() {
	os=$(uname -s)
	machine=$(uname -m)
	case "$os" in
	Linux)
		case "$machine" in
		x86_64 | amd64) echo chatbox-linux-amd64 ;;
		aarch64 | arm64) echo chatbox-linux-arm64 ;;
		armv7* | armv8l) echo chatbox-linux-armv7 ;;
		armv6*) echo chatbox-linux-armv6 ;;
		*) die "there is no chatbox release for $machine Linux machines, only for x86_64, aarch64, armv7l and armv6l." ;;
		esac
		;;
	OpenBSD)
		case "$machine" in
		amd64) echo chatbox-openbsd-amd64 ;;
		arm64) echo chatbox-openbsd-arm64 ;;
		*) die "there is no chatbox release for $machine OpenBSD machines, only for amd64 and arm64." ;;
		esac
		;;
	*) die "there is no chatbox release for $os; chatbox runs on Linux and OpenBSD." ;;
	esac
}

# fetch URL FILE downloads URL into FILE.
fetch() {
	if command -v curl >/dev/null 2>&1; then
		curl -fsSL -o "$2" "$1" || die "could not download $1."
	elif command -v wget >/dev/null 2>&1; then
		wget -q -O "$2" "$1" || die "could not download $1."
	elif [ "$(uname -s)" = OpenBSD ]; then
		ftp -V -o "$2" "$1" >/dev/null || die "could not download $1."
	else
		die "found neither curl nor wget to download chatbox with; install one of them."
	fi
}

# checksum FILE prints FILE's SHA-256 in hex.
checksum() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | cut -d' ' -f1
	elif [ "$(uname -s)" = OpenBSD ]; then
		sha256 -q "$1"
	elif command -v shasum >/dev/null 2>&1; then
		shasum -a 256 "$1" | cut -d' ' -f1
	else
		die "found no sha256sum to check the download with; install coreutils."
	fi
}

# run_install runs the downloaded chatbox's install, as root.
run_install() {
	if [ -n "$as_root" ]; then
		"$as_root" "$tmp/chatbox" install "$@"
	else
		"$tmp/chatbox" install "$@"
	fi
}

# main is called on the script's last line, so a download cut short runs
# nothing.
main() {
	dry_run=
	for arg in "$@"; do
		case "$arg" in
		--dry-run | --dry-run=true) dry_run=yes ;;
		esac
	done

	# Only `chatbox install` needs root; run it through sudo or doas if need be.
	as_root=
	if [ -z "$dry_run" ] && [ "$(id -u)" != 0 ]; then
		if command -v sudo >/dev/null 2>&1; then
			as_root=sudo
		elif command -v doas >/dev/null 2>&1; then
			as_root=doas
		else
			die "chatbox install needs root: run this as root (there is no sudo or doas here)."
		fi
		say "not running as root, so chatbox install runs through $as_root."
	fi

	case "$release_url" in
	https://* | http://127.0.0.1[:/]* | http://localhost[:/]* | http://\[::1\][:/]*) ;;
	http://*) say "warning: $release_url is not HTTPS; the checksums guard only against a broken download." ;;
	*) die "CHATBOX_RELEASE_URL must be an http or https URL, not \"$release_url\"." ;;
	esac

	name=$(asset) || exit 1
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/chatbox-install.XXXXXX") || die "could not make a temporary directory in ${TMPDIR:-/tmp}."
	trap 'rm -rf "$tmp"' EXIT
	trap 'exit 130' INT TERM

	say "downloading $name from $release_url"
	fetch "$release_url/$name" "$tmp/$name"
	fetch "$release_url/SHA256SUMS" "$tmp/SHA256SUMS"

	want=$(awk -v f="$name" '$2 == f || $2 == "*" f { print $1; exit }' "$tmp/SHA256SUMS")
	[ -n "$want" ] || die "the release's SHA256SUMS has no line for $name."
	got=$(checksum "$tmp/$name")
	[ "$got" = "$want" ] || die "the SHA-256 of $name does not match the release's SHA256SUMS, so the download is broken or was tampered with; nothing was installed."
	say "checksum of $name verified"

	mv "$tmp/$name" "$tmp/chatbox"
	chmod 0755 "$tmp/chatbox"
	"$tmp/chatbox" version >/dev/null 2>&1 ||
		die "the downloaded chatbox does not run from $tmp (mounted noexec?); set TMPDIR to a directory that allows running programs."

	# chatbox install asks before it changes anything. Piped into sh, this
	# script's standard input is the script itself: ask on the terminal.
	if [ -t 0 ]; then
		run_install "$@"
	elif (exec </dev/tty) 2>/dev/null; then
		run_install "$@" </dev/tty
	else
		run_install "$@" </dev/null
	fi
}

main "$@"
