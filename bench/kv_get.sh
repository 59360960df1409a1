#!/usr/bin/env bash
# KV get of a 1 KiB value from one worker: operations per second from one
# isolate, sequential (each get awaited before the next) and 32 in flight.
#
#   bench/kv_get.sh [GETS]
#
# Needs build/edge (or $EDGE_BINARY; see README) and curl.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
gets="${1:-20000}"
port=18799
need_edge

worker_project "$work" kv-bench '[[kv_namespaces]]
binding = "KV"
id = "bench"' <<'JS'
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const n = Number(url.searchParams.get("n"));
    const parallel = Number(url.searchParams.get("parallel") ?? 1);
    let bytes = 0;
    const started = performance.now();
    const lane = async (count) => {
      for (let i = 0; i < count; i++) {
        const value = await env.KV.get("value");
        bytes += value.length;
      }
    };
    await Promise.all(Array.from({ length: parallel }, () => lane(n / parallel)));
    const seconds = (performance.now() - started) / 1000;
    return Response.json({ ops: Math.round(n / seconds), bytes });
  },
};
JS
head -c 1024 /dev/urandom | base64 -w0 | head -c 1024 > "$work/value"
(cd "$work" && "$edge" kv put value --path value --binding KV --persist-to state)

"$edge" dev "$work" --port "$port" --persist-to "$work/state" --log-level warn --no-watch \
  >/dev/null &
pids+=($!)
wait_http "http://127.0.0.1:$port/?n=10"

curl -s "http://127.0.0.1:$port/?n=1000" >/dev/null  # warm up
for parallel in 1 32; do
  result=$(curl -s "http://127.0.0.1:$port/?n=$gets&parallel=$parallel")
  echo "KV get, 1 KiB value, $gets gets, $parallel in flight: $result"
done
