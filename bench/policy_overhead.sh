#!/usr/bin/env bash
# What a route policy costs a request: requests/s and latency of the
# hello-world worker on an `edge serve` node (1 serving thread, wrk,
# keep-alive) without policies, with a rate_limit policy (keyed by IP, a
# limit no request reaches, so every request takes a token and passes), and
# with cors + validate + api_key + rate_limit together, and with a jwt
# policy alone, RS256 (RSA-2048) and ES256 (P-256) keys inline, every
# request carrying a valid bearer token. The runs alternate for ROUNDS
# rounds so machine noise hits each alike; medians are printed.
#
#   bench/policy_overhead.sh [SECONDS] [ROUNDS] [CONNECTIONS]
#
# Needs build/edge (or $EDGE_BINARY; see README), wrk, and Python's
# `cryptography` (the keys and tokens: test/e2e/jwt_helpers.py).
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
# A key pair per algorithm: the public key as a JWK in a TOML string for the
# policy, a token valid for a day for the requests.
declare -A jwt_key jwt_token
for alg in RS256 ES256; do
  read -r jwt_key[$alg] jwt_token[$alg] < <(PYTHONPATH="$root/test/e2e" python3 -c '
import json, sys, time
from jwt_helpers import Key, default_claims, toml_string
key = Key(sys.argv[1])
print(toml_string(json.dumps(key.jwk(), separators=(",", ":"))), key.token(default_claims(exp=int(time.time()) + 86400)))' "$alg")
done
declare -A policies=(
  [none]=''
  [rate_limit]='[[policies]]
rate_limit = { requests = 1000000, period_s = 1, key = "ip" }'
  [all_four]="[[policies]]
cors = { origins = [\"https://app.bench\"] }
validate = { methods = [\"GET\"], max_body_bytes = 1024 }
api_key = { header = \"x-api-key\", keys = { bench = \"$key_hash\" } }
rate_limit = { requests = 1000000, period_s = 1, key = \"api_key\" }"
  [jwt_rs256]="[[policies]]
jwt = { issuer = \"https://issuer.test\", audiences = [\"api\"], algorithms = [\"RS256\"], keys = [${jwt_key[RS256]}] }"
  [jwt_es256]="[[policies]]
jwt = { issuer = \"https://issuer.test\", audiences = [\"api\"], algorithms = [\"ES256\"], keys = [${jwt_key[ES256]}] }"
)
declare -A token_of=([none]=none [rate_limit]=none [all_four]=none [jwt_rs256]="${jwt_token[RS256]}"
                     [jwt_es256]="${jwt_token[ES256]}")
variants=(none rate_limit all_four jwt_rs256 jwt_es256)
for variant in "${variants[@]}"; do
  mkdir -p "$work/$variant"
  cp -r "$root/examples/hello-world/." "$work/$variant/"
  { echo 'routes = ["hello.bench/*"]'; cat "$root/examples/hello-world/edge.toml"; echo "${policies[$variant]}"; } \
    > "$work/$variant/edge.toml"
done

start_node 1 /dev/null
declare -A rps_of p50_of p99_of
for round in $(seq "$rounds"); do
  for variant in "${variants[@]}"; do
    "$edge" deploy "$work/$variant" --to "http://127.0.0.1:$admin_port" --token-file "$work/token" >/dev/null
    bearer="Authorization: Bearer ${token_of[$variant]}"
    curl -sf -H "Host: hello.bench" -H "x-api-key: bench-key" -H "$bearer" "http://127.0.0.1:$http_port/" >/dev/null
    read -r rps p50 p99 bad _ < <(wrk_figures wrk -t1 -c"$connections" -d"${seconds}s" --latency \
      -H "Host: hello.bench" -H "x-api-key: bench-key" -H "Origin: https://app.bench" -H "$bearer" \
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
for variant in "${variants[@]}"; do
  printf '%-12s %12s %10s %10s\n' "$variant" "$(median <<< "${rps_of[$variant]}")" \
    "$(median <<< "${p50_of[$variant]}")" "$(median <<< "${p99_of[$variant]}")"
done
