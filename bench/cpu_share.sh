#!/usr/bin/env bash
# CPU follows memory: two CPU-bound workers, sized 128 and 256 MiB
# (`[limits] memory_mb`), on one saturated `edge serve --threads 1`, each
# driven by its own wrk with the same number of connections. Reports the
# CPU each was charged over the run (edge_worker_cpu_seconds_total on
# /metrics), its requests/s, and the ratio of the two CPU figures: the
# thread's fair queue (gateway/node/ready_queue.h) aims at 2.
#
#   bench/cpu_share.sh [SECONDS] [CONNECTIONS] [BURN_ITERATIONS]
#
# Each request runs a loop of BURN_ITERATIONS (default 200000: a few ms)
# and answers. Both workers are heavy (over heavy_cpu_us), so they run on
# the serving thread's heavy lane, whose own fair queue shares it; run with
# HEAVY_CPU_US=0 to keep them on the serving thread itself.
#
# Needs build/edge (or $EDGE_BINARY) and wrk.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
seconds="${1:-20}"
connections="${2:-8}"
iterations="${3:-200000}"
need wrk "run scripts/bootstrap"
need_edge

head -c 32 /dev/urandom | base64 > "$work/token"
# Its warnings (the workers found heavy) to a file, not among the figures.
start_node 1 /dev/null --heavy-cpu-us "${HEAVY_CPU_US:-1000}" 2> "$work/node.log"

for mb in 128 256; do
  worker_project "$work/burn$mb" "burn$mb" \
    "routes = [\"burn$mb.bench/*\"]
[limits]
memory_mb = $mb
cpu_ms = 1000" <<EOF
export default {
  fetch() {
    let x = 0;
    for (let i = 0; i < $iterations; i++) x = (x * 31 + i) % 1000003;
    return new Response(String(x));
  },
};
EOF
  "$edge" deploy "$work/burn$mb" --to "http://127.0.0.1:$admin_port" \
    --token-file "$work/token" >/dev/null
  wait_http "http://127.0.0.1:$http_port/" -H "Host: burn$mb.bench"
done

# cpu_seconds WORKER -> its edge_worker_cpu_seconds_total now.
cpu_seconds() {
  curl -sf -H "Authorization: Bearer $(cat "$work/token")" \
    "http://127.0.0.1:$admin_port/metrics" |
    awk -v w="$1" '$1 == "edge_worker_cpu_seconds_total{worker=\"" w "\"}" { print $2 }'
}

# A first round to settle both workers on their lane, then the measured one.
for round in warm measured; do
  duration=$([ "$round" = warm ] && echo 3 || echo "$seconds")
  before128=$(cpu_seconds burn128)
  before256=$(cpu_seconds burn256)
  loads=()
  for mb in 128 256; do
    wrk -t1 -c"$connections" -d"${duration}s" -H "Host: burn$mb.bench" \
      "http://127.0.0.1:$http_port/" > "$work/wrk$mb" &
    loads+=($!)
  done
  wait "${loads[@]}"
  [ "$round" = warm ] && continue
  after128=$(cpu_seconds burn128)
  after256=$(cpu_seconds burn256)
done

rps() { awk '/Requests\/sec/ { print $2 }' "$work/wrk$1"; }
printf '%-10s %10s %12s %10s\n' worker memory_mb "cpu seconds" "requests/s"
cpu128=$(awk -v a="$after128" -v b="$before128" 'BEGIN { printf "%.2f", a - b }')
cpu256=$(awk -v a="$after256" -v b="$before256" 'BEGIN { printf "%.2f", a - b }')
printf '%-10s %10s %12s %10s\n' burn128 128 "$cpu128" "$(rps 128)"
printf '%-10s %10s %12s %10s\n' burn256 256 "$cpu256" "$(rps 256)"
awk -v a="$cpu256" -v b="$cpu128" 'BEGIN { printf "ratio 256/128: %.2f\n", a / b }'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
