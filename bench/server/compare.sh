#!/usr/bin/env bash
# Runs bench/server/load.mjs against `rewind serve` and llama.cpp's `llama-server` on the same file, one
# server at a time, each under the CPU lock for its whole run (start, load, stop).
#   bench/server/compare.sh MODEL.gguf [--lock /tmp/rewind-cpu.lock] [--llama-server PATH] [load.mjs flags...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
model="$1"; shift
lock=/tmp/rewind-cpu.lock
llama="$root/../peer/llama.cpp/build/bin/llama-server"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --lock) lock="$2"; shift 2 ;;
    --llama-server) llama="$2"; shift 2 ;;
    *) break ;;
  esac
done
ctx=256; slots=64; threads=2
[[ -d "$here/node_modules/openai" ]] || (cd "$here" && npm install --no-audit --no-fund >/dev/null)
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"

wait_ready() { for _ in $(seq 600); do curl -sf "$1/health" >/dev/null 2>&1 && return 0; sleep 0.5; done; echo "server did not start" >&2; return 1; }

run_one() { # name, port, command...
  local name="$1" port="$2"; shift 2
  flock "$lock" bash -c '
    "$@" >/tmp/bench-server-'"$name"'.log 2>&1 & pid=$!
    trap "kill $pid 2>/dev/null; wait $pid 2>/dev/null" EXIT
    for _ in $(seq 600); do curl -sf http://127.0.0.1:'"$port"'/health >/dev/null 2>&1 && break; sleep 0.5; done
    echo "'"$name"' load at start: $(cut -d" " -f1-3 /proc/loadavg)"
    node '"$here"'/load.mjs --base http://127.0.0.1:'"$port"'/v1 --model m --label '"$name"' '"${LOAD_ARGS:-}"'
  ' _ "$@"
}
export LOAD_ARGS="$*"
run_one rewind 18181 "$root/tools/rewind" serve -m "m=$model" --port 18181 --context "$ctx" --parallel "$slots" --kv-type F16 -t "$threads"
run_one llama-server 18182 "$llama" -m "$model" --port 18182 -np "$slots" -c $((ctx * slots)) -t "$threads" -a m
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
