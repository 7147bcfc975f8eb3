#!/bin/sh
# chatbox package: before it is removed (deb prerm, rpm %preun). On an
# upgrade ("upgrade" for dpkg, 1 for rpm) the service keeps running and the
# new package restarts it. On removal ("remove" for dpkg, 0 for rpm) the
# service is stopped and disabled, since its binary is about to go; the
# config in /etc/chatbox and the room's data in /var/lib/chatbox are kept
# (`chatbox uninstall --purge`, run before removing the package, removes
# everything). Safe to run any number of times.
set -eu

case "${1:-}" in
remove | 0) ;;
*) exit 0 ;;
esac

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	systemctl disable --now chatbox.service >/dev/null 2>&1 || true
fi
if [ -e /etc/chatbox/config.toml ]; then
	echo "chatbox: the service is stopped; the config in /etc/chatbox and the data in /var/lib/chatbox are kept."
fi
exit 0
