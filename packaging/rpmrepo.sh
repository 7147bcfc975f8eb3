#!/usr/bin/env bash
# Adds chatbox .rpm packages to a signed dnf repository, making the
# repository when it does not exist yet:
#
#   REPO/RPM-GPG-KEY-chatbox            the public key, for gpgkey=
#   REPO/chatbox-VERSION-1.ARCH.rpm     every version ever published, each signed
#   REPO/repodata/repomd.xml{,.asc}     the index (createrepo_c), signed
#
# Usage: CHATBOX_RPM_KEY=FINGERPRINT packaging/rpmrepo.sh REPO RPM...
# CHATBOX_RPM_KEY names the OpenPGP secret key (in gpg's keyring, or the
# one $GNUPGHOME points to) that signs the packages and the index; see
# docs/RELEASING.md. Publishing REPO as it is, over HTTPS, is a release of
# the packages: a box whose /etc/yum.repos.d/chatbox.repo names it (with
# gpgcheck=1 and repo_gpgcheck=1) installs and upgrades chatbox with dnf.
#
# Needs createrepo_c (createrepo-c), rpmsign (rpm) and gpg (gnupg). A
# package that is already published is left alone when its payload is the
# same and refused when it is not: a published version never changes.
set -euo pipefail

die() {
	echo "rpmrepo.sh: $*" >&2
	exit 1
}

[ $# -ge 2 ] || die "usage: CHATBOX_RPM_KEY=FINGERPRINT rpmrepo.sh REPO RPM..."
[ -n "${CHATBOX_RPM_KEY:-}" ] ||
	die "set CHATBOX_RPM_KEY to the OpenPGP key that signs the dnf repository (docs/RELEASING.md)."
for tool in createrepo_c:createrepo-c rpmsign:rpm rpm:rpm gpg:gnupg; do
	command -v "${tool%%:*}" >/dev/null 2>&1 || die "${tool%%:*} is not installed (apt-get install ${tool#*:}, or dnf install ${tool#*:})."
done
gpg --batch --list-secret-keys "$CHATBOX_RPM_KEY" >/dev/null 2>&1 ||
	die "gpg has no secret key \"$CHATBOX_RPM_KEY\" to sign the dnf repository with."

repo=$1
shift

payload() { rpm -qp --nosignature --qf '%{PAYLOADDIGEST}' "$1"; }

# Check every package before anything changes.
for rpm in "$@"; do
	[ -f "$rpm" ] || die "$rpm is not a file."
	name=$(basename "$rpm")
	[[ $name == chatbox-*-*.*.rpm ]] || die "$name is not a chatbox package (chatbox-VERSION-1.ARCH.rpm)."
	if [ -e "$repo/$name" ] && [ "$(payload "$rpm")" != "$(payload "$repo/$name")" ]; then
		die "$name is already published with other contents; a published version never changes, so give this one a new version."
	fi
done

mkdir -p "$repo"
repo=$(cd "$repo" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for rpm in "$@"; do
	name=$(basename "$rpm")
	[ -e "$repo/$name" ] && continue
	cp "$rpm" "$work/$name"
	rpmsign --define "__gpg $(command -v gpg)" --define "_gpg_name $CHATBOX_RPM_KEY" \
		--define "_gpg_path ${GNUPGHOME:-$HOME/.gnupg}" --addsign "$work/$name" >/dev/null 2>&1 ||
		die "rpmsign could not sign $name with \"$CHATBOX_RPM_KEY\"."
	cp "$work/$name" "$repo/$name.tmp"
	mv "$repo/$name.tmp" "$repo/$name"
done

createrepo_c --quiet --update "$repo"
gpg --batch --yes --armor --local-user "$CHATBOX_RPM_KEY" --detach-sign \
	--output "$work/repomd.xml.asc" "$repo/repodata/repomd.xml"
mv "$work/repomd.xml.asc" "$repo/repodata/repomd.xml.asc"
gpg --batch --armor --export "$CHATBOX_RPM_KEY" >"$work/key"
mv "$work/key" "$repo/RPM-GPG-KEY-chatbox"
echo "rpmrepo.sh: $repo has $(find "$repo" -maxdepth 1 -name 'chatbox-*.rpm' | wc -l) packages, signed by $CHATBOX_RPM_KEY."
