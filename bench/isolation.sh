#!/usr/bin/env bash
# Noisy neighbours on one `edge serve` node: the latency of a plain worker C
# alone, then while two other tenants are hammered on the same node, A with
# requests that spin until their CPU limit (cpu_ms = 50) and B with requests
# that allocate until their heap limit (memory_mb = 32). Prints C's p50/p99
# in both runs and their ratio, and what A and B got (all 500s, each stopped
# by its own limit).
#
#   bench/isolation.sh [SECONDS] [CONNECTIONS] [HOG_CONNECTIONS]
#   PIN=0 bench/isolation.sh ...   (no taskset pinning)
#
# C is measured with `wrk -t1 -cCONNECTIONS -dSECONDS --latency` (default 8
# connections, 10 s); A and B each get their own wrk with HOG_CONNECTIONS
# (default 2). Needs build/edge (or $EDGE_BINARY; see README), wrk and curl.
#
# Reading the figures: each serving thread runs its isolates one request at a
# time, so a C request that lands on a thread busy with an A or B request
# waits for it (up to A's 50 ms of CPU, B's allocation and B's fresh isolate).
# Connections are spread over the threads by the kernel (SO_REUSEPORT), so
# which threads the hogs share with C's connections varies from run to run:
# run it a few times.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
seconds="${1:-10}"
connections="${2:-8}"
hog_connections="${3:-2}"
http_port=18807
admin_port=18808
threads=2

need wrk "run scripts/bootstrap"
need curl
need_edge

# The node on cores of its own (core 1, or 1..N-1), every wrk on core 0, so
# the figures measure how the node shares its CPU between tenants, not how
# it shares it with the load generators.
# PIN=0 turns this off.
pin_server=(); pin_client=()
if [ "${PIN:-1}" != 0 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  server_cores=1
  [ "$(nproc)" -gt 2 ] && server_cores="1-$(($(nproc) - 1))"
  pin_server=(taskset -c "$server_cores"); pin_client=(taskset -c 0)
fi

hog_pids=()

head -c 32 /dev/urandom | base64 > "$work/token"
# worker NAME LIMITS JS: a project folder routed to NAME.bench
worker() {
  worker_project "$work/$1" "$1" "routes = [\"$1.bench/*\"]"$'\n'"$2" <<< "$3"
}
worker a $'[limits]\ncpu_ms = 50' \
  'export default { fetch() { while (true) {} } };'
worker b $'[limits]\nmemory_mb = 32\ncpu_ms = 10000' \
  'export default { fetch() {
     const hoard = [];
     while (true) hoard.push(new Array(100000).fill(hoard.length + 0.5));
   } };'
worker c '' 'export default { fetch() { return new Response("Hello, world!\n"); } };'

"${pin_server[@]}" "$edge" serve --listen "127.0.0.1:$http_port" --admin "127.0.0.1:$admin_port" \
  --admin-token-file "$work/token" --data-dir "$work/data" --threads "$threads" \
  --access-log /dev/null --log-level warn >/dev/null 2>"$work/edge.log" &
edge_pid=$!
pids+=("$edge_pid")
wait_http "http://127.0.0.1:$admin_port/status" -H "Authorization: Bearer $(cat "$work/token")"
for name in a b c; do
  "$edge" deploy "$work/$name" --to "http://127.0.0.1:$admin_port" --token-file "$work/token" \
    >/dev/null
done

url="http://127.0.0.1:$http_port/"
check() {  # check HOST EXPECTED_STATUS EXPECTED_TEXT
  local body status
  body=$(curl -s -w '\n%{http_code}' -H "Host: $1" "$url")
  status=${body##*$'\n'}
  [ "$status" = "$2" ] && [[ "$body" == *"$3"* ]] ||
    { echo "$1 answered $status: $body (expected $2, \"$3\")" >&2; exit 1; }
}
check c.bench 200 "Hello, world!"
check a.bench 500 "CPU time limit of 50 ms"
check b.bench 500 "memory limit of 32 MiB"

# measure -> "requests/s p50 p99 non2xx errors" for C (latencies in ms)
measure() {
  wrk_figures "${pin_client[@]}" wrk -t1 -c"$connections" -d"${seconds}s" --latency \
    -H "Host: c.bench" "$url"
}

# hog HOST FILE: wrk against HOST for the whole loaded run, its report in FILE
hog() {
  "${pin_client[@]}" wrk -t1 -c"$hog_connections" -d"$((seconds + 2))s" -H "Host: $1" "$url" \
    > "$2" &
  hog_pids+=($!)
  pids+=($!)
}
# hog_summary FILE -> "requests non2xx"
hog_summary() {
  awk '/requests in/ { n = $1 } /Non-2xx/ { bad = $NF } END { printf "%d %d\n", n, bad }' "$1"
}

metric() {  # metric NAME{LABELS} -> value
  curl -s -H "Authorization: Bearer $(cat "$work/token")" "http://127.0.0.1:$admin_port/metrics" |
    awk -v name="$1" '$1 == name { print $2 }'
}

echo "edge serve --threads $threads, $(nproc) cores, ${pin_server[*]:-no pinning} (wrk: ${pin_client[*]:-no pinning})"
echo "C: wrk -t1 -c$connections -d${seconds}s --latency; A, B: wrk -t1 -c$hog_connections each"
read -r alone_rps alone_p50 alone_p99 alone_non2xx alone_errors < <(measure)

hog a.bench "$work/wrk-a"
hog b.bench "$work/wrk-b"
sleep 1
read -r loaded_rps loaded_p50 loaded_p99 loaded_non2xx loaded_errors < <(measure)
for pid in "${hog_pids[@]}"; do wait "$pid"; done
pids=("$edge_pid")  # the hogs are done: only the node is left to stop at exit
kill -0 "$edge_pid" 2>/dev/null ||
  { echo "edge serve died during the run:" >&2; tail -20 "$work/edge.log" >&2; exit 1; }
check c.bench 200 "Hello, world!"

printf "%-22s %12s %10s %10s %8s %8s\n" "C (hello)" "requests/s" "p50 ms" "p99 ms" "non-2xx" "errors"
printf "%-22s %12s %10s %10s %8s %8s\n" alone "$alone_rps" "$alone_p50" "$alone_p99" \
  "$alone_non2xx" "$alone_errors"
printf "%-22s %12s %10s %10s %8s %8s\n" "beside A and B" "$loaded_rps" "$loaded_p50" \
  "$loaded_p99" "$loaded_non2xx" "$loaded_errors"
awk -v a50="$alone_p50" -v a99="$alone_p99" -v l50="$loaded_p50" -v l99="$loaded_p99" \
  'BEGIN { printf "latency ratio (beside / alone): p50 %.1fx, p99 %.1fx\n", l50 / a50, l99 / a99 }'
read -r a_requests a_bad < <(hog_summary "$work/wrk-a")
read -r b_requests b_bad < <(hog_summary "$work/wrk-b")
echo "A (spins, cpu_ms 50):     $a_requests requests, $a_bad answered 5xx;" \
  "CPU limit kills: $(metric 'edge_limit_kills_total{kind="cpu"}')"
echo "B (allocates, 32 MiB):    $b_requests requests, $b_bad answered 5xx;" \
  "memory limit kills: $(metric 'edge_limit_kills_total{kind="memory"}')"
