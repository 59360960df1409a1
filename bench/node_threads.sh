#!/usr/bin/env bash
# Requests/s of one deployed worker on an `edge serve` node with 1 and with
# 2 serving threads (wrk, keep-alive, Host-routed). With 2 threads both
# threads hold an isolate of the worker and the kernel spreads connections
# over their SO_REUSEPORT listeners.
#
#   bench/node_threads.sh [SECONDS] [CONNECTIONS]
#
# Needs build/edge (see README) and wrk. On a 2-core machine wrk shares the
# cores with the node when it runs 2 threads: the figure for 2 threads is
# then what 2 cores give to node and load generator together.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-10}"
connections="${2:-64}"
command -v wrk >/dev/null || { echo "wrk is missing: run scripts/bootstrap" >&2; exit 1; }

work="$(mktemp -d)"
trap 'kill $node_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
head -c 32 /dev/urandom | base64 > "$work/token"
mkdir -p "$work/app"
cp -r "$root/examples/hello-world/." "$work/app/"
# A top-level key must come before the first table: routes go first.
{ echo 'routes = ["hello.bench/*"]'; cat "$root/examples/hello-world/edge.toml"; } \
  > "$work/app/edge.toml"

# start THREADS -> sets node_pid, http_port, admin_port
start() {
  rm -rf "$work/data"
  "$root/build/edge" serve --listen 127.0.0.1:0 --admin 127.0.0.1:0 --threads "$1" \
    --admin-token-file "$work/token" --data-dir "$work/data" --access-log /dev/null \
    --log-level warn > "$work/ready" &
  node_pid=$!
  for _ in $(seq 100); do grep -q Ready "$work/ready" 2>/dev/null && break; sleep 0.1; done
  http_port=$(sed -n 's/.*http port \([0-9]*\).*/\1/p' "$work/ready")
  admin_port=$(sed -n 's/.*admin port \([0-9]*\).*/\1/p' "$work/ready")
  "$root/build/edge" deploy "$work/app" --to "http://127.0.0.1:$admin_port" \
    --token-file "$work/token" >/dev/null
}

run() {
  wrk -t2 -c"$connections" -d"${seconds}s" --latency -H "Host: hello.bench" \
    "http://127.0.0.1:$http_port/" |
    awk '
      function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
                       if (v ~ /s$/) return v * 1000; return v }
      /Requests\/sec/ { rps = $2 } /Non-2xx/ { bad = $NF }
      /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
      END { printf "%.0f %.3f %.3f %d\n", rps, p50, p99, bad }'
}

printf '%-8s %12s %10s %10s %8s\n' threads "requests/s" "p50 ms" "p99 ms" "non-2xx"
for threads in 1 2; do
  start "$threads"
  curl -sf -H "Host: hello.bench" "http://127.0.0.1:$http_port/" >/dev/null
  read -r rps p50 p99 bad < <(run)
  printf '%-8s %12s %10s %10s %8s\n' "$threads" "$rps" "$p50" "$p99" "$bad"
  kill "$node_pid"; wait "$node_pid" 2>/dev/null || true
done
