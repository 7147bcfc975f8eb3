#!/usr/bin/env bash
# Profiles chatbox under the room load of bench/run.sh: a bench build
# (-tags benchprof) serves pprof on loopback, and once the clients are in
# and the posts have begun this takes a CPU profile, a block and a mutex
# profile, and a runtime trace, while GODEBUG=gctrace=1 logs every
# collection. Everything lands in the work folder, which is printed and
# kept.
#
#   CLIENTS=10000 bench/profile.sh
#   go tool pprof -top WORK/chatbox WORK/cpu.pprof
#   go tool trace WORK/trace.out
#
# Knobs (environment): CLIENTS, RATE, DURATION (of the load; the profiles
# take PROFILE_SECONDS of it), PORT, SERVER_ENV.
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${CLIENTS:-10000}
RATE=${RATE:-10}
DURATION=${DURATION:-30s}
PROFILE_SECONDS=${PROFILE_SECONDS:-10}
PORT=${PORT:-18080}
PPROF=127.0.0.1:$((PORT + 20))
SERVER_ENV=${SERVER_ENV:-}

ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d "${TMPDIR:-/tmp}/chatbox-profile.XXXXXX")
echo "work folder: $work"
cat >"$work/bench.toml" <<'TOML'
[limits]
room_posts_per_minute = 100000000
TOML

go build -tags benchprof -o "$work/chatbox" ./cmd/chatbox
go build -o "$work/loadgen" ./bench/loadgen
echo "cpus: $(nproc)  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "load: $(uptime | sed 's/.*load average/load average/')"

env GODEBUG=gctrace=1 CHATBOX_PPROF="$PPROF" $SERVER_ENV "$work/chatbox" serve --dev \
  --config "$work/bench.toml" --listen "127.0.0.1:$PORT" --data "$work/data" 2>"$work/server.log" &
server_pid=$!
trap 'kill -TERM $server_pid 2>/dev/null || true; wait $server_pid 2>/dev/null || true' EXIT

"$work/loadgen" room -url "http://127.0.0.1:$PORT" -pid "$server_pid" -clients "$CLIENTS" \
  -rate "$RATE" -duration "$DURATION" -missed 0 | tee "$work/loadgen.out" &
gen_pid=$!

# The load begins after the second idle measurement.
until grep -q "^idle, $CLIENTS clients" "$work/loadgen.out" 2>/dev/null; do
  kill -0 "$gen_pid" 2>/dev/null || { echo "the generator ended early" >&2; exit 1; }
  sleep 0.5
done
sleep 2
grep -c '^gc ' "$work/server.log" >"$work/gc-before-load" || true
curl -s -o "$work/cpu.pprof" "http://$PPROF/debug/pprof/profile?seconds=$PROFILE_SECONDS"
curl -s -o "$work/block.pprof" "http://$PPROF/debug/pprof/block"
curl -s -o "$work/mutex.pprof" "http://$PPROF/debug/pprof/mutex"
curl -s -o "$work/allocs.pprof" "http://$PPROF/debug/pprof/allocs"
curl -s -o "$work/trace.out" "http://$PPROF/debug/pprof/trace?seconds=2"
wait "$gen_pid"
echo "gc during the run: $(grep -c '^gc ' "$work/server.log") collections (gctrace in $work/server.log)"
echo "profiles in $work: cpu.pprof block.pprof mutex.pprof allocs.pprof trace.out"
