#!/usr/bin/env bash
# Builds chatbox, the floor (bench/floor) and the load generator and
# measures the room on this machine, everything on loopback: binary size,
# time to ready, POST acknowledgement latency, then for each client count
# the floor and then chatbox, each a fresh server under the same generator
# (chatbox also gets the reconnect storm). It ends with the two side by
# side and chatbox's ratio to the floor for each client count. Results go
# to stdout; the servers' logs go to the work folder, which is printed
# (and removed at the end unless KEEP=1).
#
#   bench/run.sh                      # 1,000, 5,000 and 10,000 clients
#   CLIENTS="1000" DURATION=10s bench/run.sh
#   CLIENTS=10000 REPEAT=3 ROOM_ONLY=1 DURATION=20s bench/run.sh
#   CLIENTS=10000 PUSH_SUBS=10000 PUSH_RATE=500 ROOM_ONLY=1 DURATION=30s bench/run.sh
#
# Knobs (environment): CLIENTS, RATE (msg/s room-wide), DURATION, NICKS
# (distinct nicknames; 0 = one per client), ACK_RATE, PORT, GOFLAGS for
# the build, SERVER_ENV (e.g. "GOMEMLIMIT=300MiB") for both servers,
# SERVER_WRAP and GEN_WRAP, commands that start the servers and the
# generator (e.g. SERVER_WRAP="taskset -c 0" GEN_WRAP="taskset -c 1"),
# REPEAT (floor and chatbox pairs per client count), ROOM_ONLY=1 to skip
# the binary, ready and acks steps, and KEEP=1 to keep the work folder
# (binaries, data, server logs, summaries).
#
# PUSH_SUBS=N gives chatbox's runs N Web Push subscriptions (every
# message) at a stand-in push service the generator runs, and posts a
# message to everyone as the load phase starts: the room's figures are
# then taken while those pushes go out, and the generator reports their
# rate and how long each subscription waited for its push. PUSH_RATE sets
# push.per_second for it (the config's default otherwise); choose
# DURATION so that N / PUSH_RATE seconds of pushes fall in the load phase.
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${CLIENTS:-"1000 5000 10000"}
RATE=${RATE:-10}
DURATION=${DURATION:-30s}
NICKS=${NICKS:-0}
ACK_RATE=${ACK_RATE:-100}
PORT=${PORT:-18080}
SERVER_ENV=${SERVER_ENV:-}
SERVER_WRAP=${SERVER_WRAP:-}
GEN_WRAP=${GEN_WRAP:-}
REPEAT=${REPEAT:-1}
PUSH_SUBS=${PUSH_SUBS:-0}
PUSH_RATE=${PUSH_RATE:-}

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
if [ -n "$PUSH_RATE" ]; then
  printf '[push]\nper_second = %s\n' "$PUSH_RATE" >>"$work/bench.toml"
fi

server_pid=
# serve --dev pushes to the generator's stand-in push service, on
# loopback, trusting its certificate alone.
push_env=
push_flags=()
if [ "$PUSH_SUBS" -gt 0 ]; then
  push_env="SSL_CERT_FILE=$work/push-cert.pem"
  push_flags=(-push-subs "$PUSH_SUBS" -push-certs "$work")
fi

start_server() { # $1: name of the data folder
  rm -rf "${work:?}/$1"
  env $SERVER_ENV $push_env $SERVER_WRAP "$work/chatbox" serve --dev --config "$work/bench.toml" --listen "127.0.0.1:$PORT" --data "$work/$1" 2>"$work/$1.log" &
  server_pid=$!
}
start_floor() { # $1: name of the log
  env $SERVER_ENV $SERVER_WRAP "$work/floor" -listen "127.0.0.1:$PORT" 2>"$work/$1.log" &
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
go build -o "$work/floor" ./bench/floor
if [ "$PUSH_SUBS" -gt 0 ]; then "$work/loadgen" pushcert "$work"; fi

echo "== machine"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "cpus: $(nproc)  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
free -h | sed -n 2p
echo "open files: $(ulimit -n)  go: $(go env GOVERSION)"
echo "load: $(uptime | sed 's/.*load average/load average/')"
if [ -n "$SERVER_ENV$SERVER_WRAP$GEN_WRAP" ]; then
  echo "server: ${SERVER_ENV:-(default env)} ${SERVER_WRAP:-(no wrapper)}; generator: ${GEN_WRAP:-(no wrapper)}"
fi

if [ -z "${ROOM_ONLY:-}" ]; then
echo "== binary"
echo "chatbox: $(stat -c %s "$work/chatbox") bytes; with -trimpath -ldflags='-s -w': $(stat -c %s "$work/chatbox-stripped") bytes"

echo "== ready"
"$work/loadgen" ready -bin "$work/chatbox" -runs 10 -listen "127.0.0.1:$((PORT + 10))"


echo "== acks"
start_server acks
"$work/loadgen" acks -url "http://127.0.0.1:$PORT" -pid "$server_pid" -rate "$ACK_RATE" -duration 20s
stop_server
fi

summaries=()
for n in $CLIENTS; do
  for i in $(seq "$REPEAT"); do
    echo "== floor, $n clients (run $i of $REPEAT)"
    echo "load: $(uptime | sed 's/.*load average/load average/')"
    start_floor "floor-$n-$i"
    $GEN_WRAP "$work/loadgen" room -url "http://127.0.0.1:$PORT" -pid "$server_pid" \
      -clients "$n" -nicks "$NICKS" -rate "$RATE" -duration "$DURATION" -missed 0 \
      -label floor -summary "$work/floor-$n-$i.json"
    stop_server

    echo "== room, $n clients (run $i of $REPEAT)"
    echo "load: $(uptime | sed 's/.*load average/load average/')"
    start_server "room-$n-$i"
    $GEN_WRAP "$work/loadgen" room -url "http://127.0.0.1:$PORT" -pid "$server_pid" \
      -clients "$n" -nicks "$NICKS" -rate "$RATE" -duration "$DURATION" \
      -label chatbox -summary "$work/room-$n-$i.json" "${push_flags[@]}"
    stop_server
    summaries+=("$work/floor-$n-$i.json" "$work/room-$n-$i.json")
  done
done

echo "== chatbox against the floor (ratio: chatbox / floor; same generator, same machine)"
echo "load: $(uptime | sed 's/.*load average/load average/')"
"$work/loadgen" compare "${summaries[@]}"
