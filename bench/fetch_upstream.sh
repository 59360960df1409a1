#!/usr/bin/env bash
# fetch() throughput: a worker under `edge dev` that fetches a local upstream
# (a Node.js keep-alive HTTP server started here) for every request, under
# wrk. Prints requests/s through the worker, the same upstream hit directly
# as a baseline, and how many TCP connections the upstream accepted from edge
# (the outbound pool bound, 32 per origin by default, caps it however many
# requests are in flight).
#
#   bench/fetch_upstream.sh [SECONDS] [CONNECTIONS] [BODY_BYTES]
#
# Needs build/edge (or $EDGE_BINARY) built with the outbound client, wrk, node.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
seconds="${1:-10}"
connections="${2:-100}"
body_bytes="${3:-1024}"
edge_port=18797
upstream_port=18798

need wrk "run scripts/bootstrap"
need node
need_edge

# edge on a core of its own; the upstream and wrk on the others (with two
# cores they share core 0), so the figures measure edge.
pin_edge=(); pin_upstream=(); pin_client=()
if command -v taskset >/dev/null; then
  cores=$(nproc)
  if [ "$cores" -ge 3 ]; then
    pin_edge=(taskset -c 1); pin_upstream=(taskset -c 2); pin_client=(taskset -c 0)
  elif [ "$cores" -ge 2 ]; then
    pin_edge=(taskset -c 1); pin_upstream=(taskset -c 0); pin_client=(taskset -c 0)
  fi
fi

worker_project "$work" fetch-bench "[vars]
UPSTREAM = \"http://127.0.0.1:$upstream_port\"" <<'JS'
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const upstream = await fetch(env.UPSTREAM + url.pathname);
    return new Response(upstream.body, upstream);
  },
};
JS

# The upstream: keep-alive, a fixed body, and at /__connections the number of
# connections whose first request came without a User-Agent (edge's fetch
# sends none; curl, which asks, does).
"${pin_upstream[@]}" node -e '
  const http = require("http");
  const body = Buffer.alloc(Number(process.argv[2]), "x");
  let fromEdge = 0;
  const server = http.createServer((req, res) => {
    if (req.url === "/__connections") return res.end(String(fromEdge));
    if (!req.socket.seen) {
      req.socket.seen = true;
      if (!req.headers["user-agent"]) fromEdge++;
    }
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": body.length });
    res.end(body);
  });
  server.keepAliveTimeout = 60000;
  server.listen(Number(process.argv[1]), "127.0.0.1");
' "$upstream_port" "$body_bytes" &
pids+=($!)
"${pin_edge[@]}" "$edge" dev "$work" --port "$edge_port" --log-level warn --no-watch >/dev/null &
pids+=($!)

for port in $upstream_port $edge_port; do wait_http "http://127.0.0.1:$port/"; done
got=$(curl -s "http://127.0.0.1:$edge_port/" | wc -c)
[ "$got" -eq "$body_bytes" ] || { echo "edge answered $got bytes, expected $body_bytes" >&2; exit 1; }

connections_now() { curl -s "http://127.0.0.1:$upstream_port/__connections"; }

# run PORT -> "requests/s p50 p99 non-2xx errors" (latencies in ms)
run() {
  wrk_figures "${pin_client[@]}" wrk -t1 -c"$connections" -d"${seconds}s" --latency \
    "http://127.0.0.1:$1/"
}

echo "wrk -t1 -c$connections -d${seconds}s, body $body_bytes bytes, $(nproc) cores," \
  "${pin_edge[*]:-no pinning}"
before=$(connections_now)
read -r rps p50 p99 _ < <(run $edge_port)
after=$(connections_now)
opened=$((after - before))
printf "%-22s %12s %10s %10s %s\n" target "requests/s" "p50 ms" "p99 ms" "upstream connections"
printf "%-22s %12s %10s %10s %s\n" "edge -> fetch -> node" "$rps" "$p50" "$p99" \
  "$after in all, $opened opened during the run"
read -r rps p50 p99 _ < <(run $upstream_port)
printf "%-22s %12s %10s %10s %s\n" "node directly" "$rps" "$p50" "$p99" "$connections (wrk's own)"
