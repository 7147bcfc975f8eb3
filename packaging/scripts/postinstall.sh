#!/bin/sh
# chatbox package: after it is installed or upgraded (deb postinst, rpm
# %post). The package brings only the binary and the unit; `chatbox install`
# writes the config and starts the room, so this script never starts
# anything new. After an upgrade it restarts a box that is already running,
# so the new binary serves. Safe to run any number of times.
set -eu

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	systemctl daemon-reload >/dev/null 2>&1 || true
	# try-restart leaves a stopped (or never installed) service alone.
	systemctl try-restart chatbox.service >/dev/null 2>&1 || true
fi

if [ ! -e /etc/chatbox/config.toml ]; then
	echo "chatbox: set up the room with: chatbox install --domain chat.example.com (or --ip ADDRESS)"
fi
exit 0
