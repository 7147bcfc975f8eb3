#!/usr/bin/env bash
# Builds chatbox and the load generator and measures the room on this
# machine, everything on loopback: binary size, time to ready, POST
# acknowledgement latency, then for each client count a fresh server with
# idle, loaded and reconnect-storm phases. Results go to stdout; the
# servers' logs go to the work folder, which is printed (and removed at the
# end unless KEEP=1).
#
#   bench/run.sh                      # 1,000, 5,000 and 10,000 clients
#   CLIENTS="1000" DURATION=10s bench/run.sh
#
# Knobs (environment): CLIENTS, RATE (msg/s room-wide), DURATION, NICKS
# (distinct nicknames; 0 = one per client), ACK_RATE, PORT, GOFLAGS for
# the build, SERVER_ENV (e.g. "GOMEMLIMIT=300MiB") for the server, and
# KEEP=1 to keep the work folder (binaries, data, server logs).
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${CLIENTS:-"1000 5000 10000"}
RATE=${RATE:-10}
DURATION=${DURATION:-30s}
NICKS=${NICKS:-0}
ACK_RATE=${ACK_RATE:-100}
PORT=${PORT:-18080}
SERVER_ENV=${SERVER_ENV:-}

# Each WebSocket costs a descriptor on both sides.
ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d "${TMPDIR:-/tmp}/chatbox-bench.XXXXXX")
echo "work folder: $work"

# The room-wide write budget protects a real room's history from a flood;
# the benchmark's posts are the load being measured, not a flood.
cat >"$work/bench.toml" <<'TOML'
[limits]
room_posts_per_minute = 100000000
TOML

server_pid=
start_server() { # $1: name of the data folder
  rm -rf "${work:?}/$1"
  env $SERVER_ENV "$work/chatbox" serve --dev --config "$work/bench.toml" --listen "127.0.0.1:$PORT" --data "$work/$1" 2>"$work/$1.log" &
  server_pid=$!
}
stop_server() {
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}
cleanup() {
  if [ -n "$server_pid" ]; then stop_server; fi
  if [ -z "${KEEP:-}" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

go build -o "$work/chatbox" ./cmd/chatbox
go build -trimpath -ldflags='-s -w' -o "$work/chatbox-stripped" ./cmd/chatbox
go build -o "$work/loadgen" ./bench/loadgen

echo "== machine"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "cpus: $(nproc)  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
free -h | sed -n 2p
echo "open files: $(ulimit -n)  go: $(go env GOVERSION)"
echo "load: $(uptime | sed 's/.*load average/load average/')"

echo "== binary"
echo "chatbox: $(stat -c %s "$work/chatbox") bytes; with -trimpath -ldflags='-s -w': $(stat -c %s "$work/chatbox-stripped") bytes"

echo "== ready"
"$work/loadgen" ready -bin "$work/chatbox" -runs 10 -listen "127.0.0.1:$((PORT + 10))"


echo "== acks"
start_server acks
"$work/loadgen" acks -url "http://127.0.0.1:$PORT" -pid "$server_pid" -rate "$ACK_RATE" -duration 20s
stop_server

for n in $CLIENTS; do
  echo "== room, $n clients"
  echo "load: $(uptime | sed 's/.*load average/load average/')"
  start_server "room-$n"
  "$work/loadgen" room -url "http://127.0.0.1:$PORT" -pid "$server_pid" \
    -clients "$n" -nicks "$NICKS" -rate "$RATE" -duration "$DURATION"
  stop_server
done
