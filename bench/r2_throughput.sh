#!/usr/bin/env bash
# R2 put and get through a worker on `edge dev`, beside dd on the same disk:
# MB/s of a streamed upload (`curl -T` into `env.B.put(key, request.body)`,
# durable when it answers) and of a streamed download (`env.B.get(key)`'s
# body as the response), the median of ROUNDS rounds; and dd writing the
# same size with conv=fsync, then reading it back.
#
#   bench/r2_throughput.sh [MIB] [ROUNDS]     (defaults: 256 MiB, 3 rounds)
#
# The state folder is in $TMPDIR (the disk that is measured). The reads,
# edge's and dd's, come from the page cache when the file was just written,
# as on a node that serves what it stored recently.
# Needs build/edge (or $EDGE_BINARY; see README), curl and dd.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
mib="${1:-256}"
rounds="${2:-3}"
port=18798
need_edge
need curl
need dd

worker_project "$work/project" r2-bench '[[r2_buckets]]
binding = "B"
bucket_name = "bench"' <<'JS'
export default {
  async fetch(request, env) {
    const key = new URL(request.url).pathname.slice(1);
    if (request.method === "PUT") {
      const object = await env.B.put(key, request.body);
      return new Response(`${object.size}\n`, { status: 201 });
    }
    const object = await env.B.get(key);
    if (object === null) return new Response("not found\n", { status: 404 });
    return new Response(object.body, { headers: { "content-length": `${object.size}` } });
  },
};
JS
head -c "$((mib << 20))" /dev/urandom > "$work/payload"

"$edge" dev "$work/project" --port "$port" --persist-to "$work/state" --log-level warn \
  --no-watch --max-body-size "$((mib * 2))" >/dev/null &
pids+=($!)
# Up once it answers at all (an absent key is a 404).
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$port/absent" && break
  sleep 0.1
done

# seconds -> MB/s (1 MB = 10^6 bytes, as dd prints)
rate() { awk -v bytes="$((mib << 20))" -v s="$1" 'BEGIN { printf "%.0f", bytes / s / 1e6 }'; }

puts=() gets=() dd_writes=() dd_reads=()
for round in $(seq "$rounds"); do
  put_s=$(curl -s -o /dev/null -w '%{time_total}' -T "$work/payload" \
    "http://127.0.0.1:$port/object-$round")
  get_s=$(curl -s -o "$work/got" -w '%{time_total}' "http://127.0.0.1:$port/object-$round")
  cmp -s "$work/payload" "$work/got" || { echo "round $round: the object read back differs" >&2; exit 1; }
  rm -f "$work/got"
  start=$(date +%s.%N)
  dd if="$work/payload" of="$work/dd-$round" bs=1M conv=fsync status=none
  dd_w=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
  start=$(date +%s.%N)
  dd if="$work/dd-$round" of=/dev/null bs=1M status=none
  dd_r=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
  rm -f "$work/dd-$round"
  puts+=("$(rate "$put_s")") gets+=("$(rate "$get_s")")
  dd_writes+=("$(rate "$dd_w")") dd_reads+=("$(rate "$dd_r")")
  echo "round $round: put ${puts[-1]} MB/s, get ${gets[-1]} MB/s; dd write ${dd_writes[-1]} MB/s, dd read ${dd_reads[-1]} MB/s"
done
echo "median of $rounds, $mib MiB: R2 put $(echo "${puts[@]}" | median) MB/s, R2 get $(echo "${gets[@]}" | median) MB/s; dd write (fsync) $(echo "${dd_writes[@]}" | median) MB/s, dd read $(echo "${dd_reads[@]}" | median) MB/s"
