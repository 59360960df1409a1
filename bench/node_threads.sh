#!/usr/bin/env bash
# Requests/s of one deployed worker on an `edge serve` node with 1 and with
# 2 serving threads (wrk, keep-alive, Host-routed). With 2 threads both
# threads hold an isolate of the worker and the kernel spreads connections
# over their SO_REUSEPORT listeners.
#
#   bench/node_threads.sh [SECONDS] [CONNECTIONS]
#   ACCESS_LOG=file bench/node_threads.sh ...   (the access log to a file,
#                                               not /dev/null)
#
# Needs build/edge (or $EDGE_BINARY; see README) and wrk. On a 2-core
# machine wrk shares the cores with the node when it runs 2 threads: the
# figure for 2 threads is then what 2 cores give to node and load generator
# together.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
seconds="${1:-10}"
connections="${2:-64}"
need wrk "run scripts/bootstrap"
need_edge

access_log=/dev/null
[ "${ACCESS_LOG:-}" = file ] && access_log="$work/access.log"

head -c 32 /dev/urandom | base64 > "$work/token"
mkdir -p "$work/app"
cp -r "$root/examples/hello-world/." "$work/app/"
# A top-level key must come before the first table: routes go first.
{ echo 'routes = ["hello.bench/*"]'; cat "$root/examples/hello-world/edge.toml"; } \
  > "$work/app/edge.toml"

# start THREADS -> sets node_pid, http_port, admin_port
start() {
  start_node "$1" "$access_log"
  "$edge" deploy "$work/app" --to "http://127.0.0.1:$admin_port" \
    --token-file "$work/token" >/dev/null
}

run() {
  wrk_figures wrk -t2 -c"$connections" -d"${seconds}s" --latency -H "Host: hello.bench" \
    "http://127.0.0.1:$http_port/"
}

printf '%-8s %12s %10s %10s %8s\n' threads "requests/s" "p50 ms" "p99 ms" "non-2xx"
for threads in 1 2; do
  start "$threads"
  curl -sf -H "Host: hello.bench" "http://127.0.0.1:$http_port/" >/dev/null
  read -r rps p50 p99 bad _ < <(run)
  printf '%-8s %12s %10s %10s %8s\n' "$threads" "$rps" "$p50" "$p99" "$bad"
  kill "$node_pid"; wait "$node_pid" 2>/dev/null || true
  pids=()
done
