#!/usr/bin/env bash
# Adds chatbox .deb packages to a signed apt repository, making the
# repository when it does not exist yet:
#
#   REPO/chatbox-archive-keyring.gpg          the public key, for signed-by=
#   REPO/pool/main/c/chatbox/*.deb            every version ever published
#   REPO/dists/stable/main/binary-ARCH/Packages{,.gz}   for amd64 arm64 armhf
#   REPO/dists/stable/{Release,Release.gpg,InRelease}   signed with gnupg
#
# Usage: CHATBOX_APT_KEY=FINGERPRINT packaging/aptrepo.sh REPO DEB...
# CHATBOX_APT_KEY names the OpenPGP secret key (in gpg's keyring, or the
# one $GNUPGHOME points to) that signs the repository; see
# docs/RELEASING.md. Publishing REPO as it is, over HTTPS, is a release
# of the packages: a box that lists it in its apt sources (signed-by the
# keyring above) installs and upgrades chatbox with apt.
#
# Needs apt-ftparchive (Debian's apt-utils) and gpg (gnupg). A package
# that is already in the pool is left alone when it is the same file and
# refused when it is not: a published version never changes.
set -euo pipefail

die() {
	echo "aptrepo.sh: $*" >&2
	exit 1
}

[ $# -ge 2 ] || die "usage: CHATBOX_APT_KEY=FINGERPRINT aptrepo.sh REPO DEB..."
[ -n "${CHATBOX_APT_KEY:-}" ] ||
	die "set CHATBOX_APT_KEY to the OpenPGP key that signs the apt repository (docs/RELEASING.md)."
command -v apt-ftparchive >/dev/null 2>&1 ||
	die "apt-ftparchive is not installed (apt-get install apt-utils)."
command -v gpg >/dev/null 2>&1 || die "gpg is not installed (apt-get install gnupg)."
gpg --batch --list-secret-keys "$CHATBOX_APT_KEY" >/dev/null 2>&1 ||
	die "gpg has no secret key \"$CHATBOX_APT_KEY\" to sign the apt repository with."

repo=$1
shift
suite=stable
archs=(amd64 arm64 armhf)
pool=pool/main/c/chatbox

# Check every package before anything changes.
for deb in "$@"; do
	[ -f "$deb" ] || die "$deb is not a file."
	name=$(basename "$deb")
	[[ $name == chatbox_*_*.deb ]] || die "$name is not a chatbox package (chatbox_VERSION_ARCH.deb)."
	if [ -e "$repo/$pool/$name" ] && ! cmp -s "$deb" "$repo/$pool/$name"; then
		die "$name is already published with other contents; a published version never changes, so give this one a new version."
	fi
done

mkdir -p "$repo/$pool"
repo=$(cd "$repo" && pwd)
for deb in "$@"; do
	name=$(basename "$deb")
	if [ ! -e "$repo/$pool/$name" ]; then
		cp "$deb" "$repo/$pool/$name.tmp"
		mv "$repo/$pool/$name.tmp" "$repo/$pool/$name"
	fi
done

# The indexes are made beside the published ones and swapped in at the
# end, so a client never sees a Release that does not match its files.
cd "$repo"
rm -rf dists.new
for arch in "${archs[@]}"; do
	dir=dists.new/$suite/main/binary-$arch
	mkdir -p "$dir"
	apt-ftparchive --arch "$arch" packages "$pool" >"$dir/Packages"
	gzip -9n <"$dir/Packages" >"$dir/Packages.gz"
done
apt-ftparchive \
	-o APT::FTPArchive::Release::Origin=chatbox \
	-o APT::FTPArchive::Release::Label=chatbox \
	-o APT::FTPArchive::Release::Suite=$suite \
	-o APT::FTPArchive::Release::Codename=$suite \
	-o APT::FTPArchive::Release::Architectures="${archs[*]}" \
	-o APT::FTPArchive::Release::Components=main \
	-o APT::FTPArchive::Release::Description="chatbox, a private single-room web chat" \
	release "dists.new/$suite" >Release.tmp
mv Release.tmp "dists.new/$suite/Release"
gpg --batch --yes --local-user "$CHATBOX_APT_KEY" --clearsign \
	--output "dists.new/$suite/InRelease" "dists.new/$suite/Release"
gpg --batch --yes --local-user "$CHATBOX_APT_KEY" --armor --detach-sign \
	--output "dists.new/$suite/Release.gpg" "dists.new/$suite/Release"
gpg --batch --yes --export "$CHATBOX_APT_KEY" >chatbox-archive-keyring.gpg.tmp
[ -s chatbox-archive-keyring.gpg.tmp ] || die "gpg exported no public key for \"$CHATBOX_APT_KEY\"."
mv chatbox-archive-keyring.gpg.tmp chatbox-archive-keyring.gpg

rm -rf dists.old
if [ -d dists ]; then
	mv dists dists.old
fi
mv dists.new dists
rm -rf dists.old
echo "apt repository in $repo: $(find "$pool" -name "*.deb" | wc -l) packages, signed by $CHATBOX_APT_KEY"
