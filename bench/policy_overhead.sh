#!/usr/bin/env bash
# What a route policy costs a request: requests/s and latency of the
# hello-world worker on an `edge serve` node (1 serving thread, wrk,
# keep-alive) without policies, with a rate_limit policy (keyed by IP, a
# limit no request reaches, so every request takes a token and passes), and
# with cors + validate + api_key + rate_limit together. The runs alternate
# for ROUNDS rounds so machine noise hits each alike; medians are printed.
#
#   bench/policy_overhead.sh [SECONDS] [ROUNDS] [CONNECTIONS]
#
# Needs build/edge (or $EDGE_BINARY; see README) and wrk.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
seconds="${1:-5}"
rounds="${2:-3}"
connections="${3:-32}"
need wrk "run scripts/bootstrap"
need_edge

head -c 32 /dev/urandom | base64 > "$work/token"
key_hash=$(printf %s bench-key | sha256sum | cut -d' ' -f1)
declare -A policies=(
  [none]=''
  [rate_limit]='[[policies]]
rate_limit = { requests = 1000000, period_s = 1, key = "ip" }'
  [all_four]="[[policies]]
cors = { origins = [\"https://app.bench\"] }
validate = { methods = [\"GET\"], max_body_bytes = 1024 }
api_key = { header = \"x-api-key\", keys = { bench = \"$key_hash\" } }
rate_limit = { requests = 1000000, period_s = 1, key = \"api_key\" }"
)
for variant in none rate_limit all_four; do
  mkdir -p "$work/$variant"
  cp -r "$root/examples/hello-world/." "$work/$variant/"
  { echo 'routes = ["hello.bench/*"]'; cat "$root/examples/hello-world/edge.toml"; echo "${policies[$variant]}"; } \
    > "$work/$variant/edge.toml"
done

start_node 1 /dev/null
declare -A rps_of p50_of p99_of
for round in $(seq "$rounds"); do
  for variant in none rate_limit all_four; do
    "$edge" deploy "$work/$variant" --to "http://127.0.0.1:$admin_port" --token-file "$work/token" >/dev/null
    curl -sf -H "Host: hello.bench" -H "x-api-key: bench-key" "http://127.0.0.1:$http_port/" >/dev/null
    read -r rps p50 p99 bad _ < <(wrk_figures wrk -t1 -c"$connections" -d"${seconds}s" --latency \
      -H "Host: hello.bench" -H "x-api-key: bench-key" -H "Origin: https://app.bench" \
      "http://127.0.0.1:$http_port/")
    [ "$bad" = 0 ] || echo "round $round $variant: $bad non-2xx answers" >&2
    rps_of[$variant]+="$rps "
    p50_of[$variant]+="$p50 "
    p99_of[$variant]+="$p99 "
    echo "round $round $variant: $rps requests/s, p50 $p50 ms, p99 $p99 ms" >&2
  done
done
kill "$node_pid"; wait "$node_pid" 2>/dev/null || true
pids=()

printf '%-12s %12s %10s %10s\n' policies "requests/s" "p50 ms" "p99 ms"
for variant in none rate_limit all_four; do
  printf '%-12s %12s %10s %10s\n' "$variant" "$(median <<< "${rps_of[$variant]}")" \
    "$(median <<< "${p50_of[$variant]}")" "$(median <<< "${p99_of[$variant]}")"
done
