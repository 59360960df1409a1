# shellcheck shell=bash
# Shared by the bench/*.sh scripts, which source it after `set -euo pipefail`:
#
#   root, edge       the repository, and the edge binary ($EDGE_BINARY, else
#                    build/edge)
#   work             a temporary folder, removed at exit
#   pids             add each background process (pids+=($!)): killed at exit
#   need CMD [HINT], need_edge, wait_http, wrk_figures, median, worker_project,
#   start_node:
#                    below
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
edge="${EDGE_BINARY:-$root/build/edge}"
work="$(mktemp -d)"
pids=()

bench_cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap bench_cleanup EXIT

# need CMD [HINT]: exits with "CMD is missing[: HINT]" unless CMD is on PATH.
need() {
  command -v "$1" >/dev/null || { echo "$1 is missing${2:+: $2}" >&2; exit 1; }
}

need_edge() {
  [ -x "$edge" ] || { echo "$edge is missing: build it first" >&2; exit 1; }
}

# wait_http URL [CURL ARGS...]: waits until URL answers 2xx, 10 s at the most
# (what follows finds out if it never did).
wait_http() {
  local url="$1"
  shift
  for _ in $(seq 100); do
    curl -sf -o /dev/null "$@" "$url" && break
    sleep 0.1
  done
}

# wrk_figures COMMAND... -> "requests/s p50 p99 non-2xx socket-errors", with
# the latencies in ms, from COMMAND: a `wrk ... --latency`, maybe behind a
# taskset.
wrk_figures() {
  "$@" |
    awk '
      function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
                       if (v ~ /s$/) return v * 1000; return v }
      /Requests\/sec/ { rps = $2 }
      /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
      /Non-2xx/ { non2xx = $NF }
      /Socket errors/ { gsub(/,/, ""); errors = $4 + $6 + $8 + $10 }
      END { printf "%.0f %.3f %.3f %d %d\n", rps, p50, p99, non2xx, errors }'
}

# worker_project DIR NAME TOML < JS: a worker project folder: edge.toml with
# `name = "NAME"`, `main = "index.js"` and then TOML; index.js from stdin.
worker_project() {
  mkdir -p "$1"
  printf 'name = "%s"\nmain = "index.js"\n%s\n' "$2" "$3" > "$1/edge.toml"
  cat > "$1/index.js"
}

# start_node THREADS ACCESS_LOG [OPTIONS...]: `edge serve` on loopback ports
# with a fresh data folder under $work and the token in $work/token, and any
# more `edge serve` OPTIONS; sets node_pid, http_port and admin_port (pids
# holds only this node).
start_node() {
  rm -rf "$work/data"
  "$edge" serve --listen 127.0.0.1:0 --admin 127.0.0.1:0 --threads "$1" \
    --admin-token-file "$work/token" --data-dir "$work/data" --access-log "$2" \
    --log-level warn "${@:3}" > "$work/ready" &
  node_pid=$!
  pids=("$node_pid")
  for _ in $(seq 100); do grep -q Ready "$work/ready" 2>/dev/null && break; sleep 0.1; done
  http_port=$(sed -n 's/.*http port \([0-9]*\).*/\1/p' "$work/ready")
  admin_port=$(sed -n 's/.*admin port \([0-9]*\).*/\1/p' "$work/ready")
}

# median < "v1 v2 ..." -> the median of the numbers on stdin (spaces or lines).
median() {
  tr ' ' '\n' | grep -v '^$' | sort -g |
    awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
