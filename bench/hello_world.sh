#!/usr/bin/env bash
# Hello-world requests/s and latency: `edge dev examples/hello-world` against
# a Node.js `http` server answering the same bytes, in interleaved rounds on
# the same machine, with wrk. Prints each round and the ratio of medians.
#
#   bench/hello_world.sh [ROUNDS] [SECONDS] [CONNECTIONS]
#   EDGE_BASELINE=/path/to/older/edge bench/hello_world.sh 5 5
#
# With EDGE_BASELINE, the other server is that edge binary (say, the build
# before a change) serving the same project, instead of Node.js: the ratio
# then says how the change moved hello world.
#
# Needs build/edge (or $EDGE_BINARY; see README), wrk and node.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
rounds="${1:-3}"
seconds="${2:-10}"
connections="${3:-50}"
edge_port=18787
node_port=18788

need wrk "run scripts/bootstrap"
need_edge
baseline="${EDGE_BASELINE:-}"
if [ -n "$baseline" ]; then
  [ -x "$baseline" ] || { echo "EDGE_BASELINE=$baseline is not an executable" >&2; exit 1; }
  other=base
else
  need node
  other=node
fi

# On a machine with two or more cores, each server gets a core of its own and
# wrk another, so the figures measure the servers, not the scheduler.
pin_server=(); pin_client=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  pin_server=(taskset -c 1); pin_client=(taskset -c 0)
fi

"${pin_server[@]}" "$edge" dev "$root/examples/hello-world" --port "$edge_port" \
  --log-level warn --no-watch >/dev/null &
pids+=($!)
if [ -n "$baseline" ]; then
  "${pin_server[@]}" "$baseline" dev "$root/examples/hello-world" --port "$node_port" \
    --log-level warn --no-watch >/dev/null &
else
"${pin_server[@]}" node -e '
  const http = require("http");
  http.createServer((req, res) => {
    const name = new URL(req.url, "http://x").searchParams.get("name") ?? "world";
    const body = `Hello, ${name}!\n`;
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8",
                         "content-length": Buffer.byteLength(body) });
    res.end(body);
  }).listen(Number(process.argv[1]), "127.0.0.1");
' "$node_port" &
fi
pids+=($!)

for port in $edge_port $node_port; do wait_http "http://127.0.0.1:$port/"; done
[ "$(curl -s "http://127.0.0.1:$edge_port/")" = "$(curl -s "http://127.0.0.1:$node_port/")" ] ||
  { echo "the two servers do not answer the same body" >&2; exit 1; }

# run NAME PORT -> prints "requests/s p50 p99 non-2xx errors" (latencies in ms)
run() {
  wrk_figures "${pin_client[@]}" wrk -t1 -c"$connections" -d"${seconds}s" --latency \
    "http://127.0.0.1:$2/"
}

echo "wrk -t1 -c$connections -d${seconds}s, $rounds interleaved rounds, $(nproc) cores," \
  "${pin_server[*]:-no pinning}"
printf "%-6s %-5s %12s %10s %10s\n" round server "requests/s" "p50 ms" "p99 ms"
edge_rps=(); node_rps=()
for round in $(seq "$rounds"); do
  read -r rps p50 p99 _ < <(run edge $edge_port)
  edge_rps+=("$rps"); printf "%-6s %-5s %12s %10s %10s\n" "$round" edge "$rps" "$p50" "$p99"
  read -r rps p50 p99 _ < <(run "$other" $node_port)
  node_rps+=("$rps"); printf "%-6s %-5s %12s %10s %10s\n" "$round" "$other" "$rps" "$p50" "$p99"
done
edge_median=$(echo "${edge_rps[*]}" | median)
node_median=$(echo "${node_rps[*]}" | median)
awk -v e="$edge_median" -v n="$node_median" -v other="$other" \
  'BEGIN { printf "median requests/s: edge %d, %s %d, ratio %.3fx\n", e, other, n, e / n }'
