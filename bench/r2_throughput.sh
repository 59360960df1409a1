#!/usr/bin/env bash
# R2 put and get through a worker on `edge dev`, beside dd on the same disk:
# MB/s of a streamed upload (`curl -T` into `env.B.put(key, request.body)`,
# durable when it answers) and of a streamed download (`env.B.get(key)`'s
# body as the response), the median of ROUNDS rounds; and dd writing the
# same size with conv=fsync, then reading it back.
#
#   bench/r2_throughput.sh [--fleet] [MIB] [ROUNDS]     (defaults: 256 MiB, 3 rounds)
#
# --fleet: the same worker on a PoP (`edge serve --sync-from`) of an
# `edge origin` on the same machine, so every put and get goes through the
# PoP to the origin's store (docs/edge-sync.md, "Buckets in a fleet").
#
# The state folder is in $TMPDIR (the disk that is measured). The reads,
# edge's and dd's, come from the page cache when the file was just written,
# as on a node that serves what it stored recently.
# Needs build/edge (or $EDGE_BINARY; see README), curl and dd.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
fleet=0
if [ "${1:-}" = "--fleet" ]; then
  fleet=1
  shift
fi
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

if [ "$fleet" = 1 ]; then
  # An origin and one PoP on loopback; the worker deployed at the origin.
  origin_port=18799
  "$edge" keygen --out "$work/origin.key" >/dev/null
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$work/secrets.key"
  echo "bench-admin-token-0123456789abcdef" > "$work/origin-token"
  echo "bench-sync-token-0123456789abcdef" > "$work/sync-token"
  "$edge" origin --listen "127.0.0.1:$origin_port" --data-dir "$work/origin" \
    --token-file "$work/origin-token" --signing-key "$work/origin.key" \
    --secrets-key "$work/secrets.key" --sync-token-file "$work/sync-token" \
    --log-level warn > "$work/origin-ready" &
  pids+=($!)
  for _ in $(seq 100); do grep -q Ready "$work/origin-ready" 2>/dev/null && break; sleep 0.1; done
  # A node's default CPU limit (50 ms) is too little to pump hundreds of
  # MiB through the worker's streams.
  # (Top-level keys go before the first table.)
  sed -i '/^main = /a routes = ["r2bench.test/*"]' "$work/project/edge.toml"
  printf '[limits]\ncpu_ms = 300000\n' >> "$work/project/edge.toml"
  "$edge" deploy "$work/project" --to "http://127.0.0.1:$origin_port" \
    --token-file "$work/origin-token" >/dev/null
  echo "bench-pop-token-0123456789abcdef" > "$work/pop-token"
  "$edge" serve --listen "127.0.0.1:$port" --admin 127.0.0.1:0 --threads 1 \
    --admin-token-file "$work/pop-token" --data-dir "$work/pop" --log-level warn \
    --max-body-mb "$((mib * 2))" --sync-from "http://127.0.0.1:$origin_port" \
    --sync-key "$work/origin.key.pub" --sync-token-file "$work/sync-token" \
    --secrets-key "$work/secrets.key" --pop-id bench-pop >/dev/null &
  pids+=($!)
  host=(-H "Host: r2bench.test")
else
  "$edge" dev "$work/project" --port "$port" --persist-to "$work/state" --log-level warn \
    --no-watch --max-body-size "$((mib * 2))" >/dev/null &
  pids+=($!)
  host=()
fi
# Up once the worker answers (an absent key is its 404).
for _ in $(seq 300); do
  [ "$(curl -s "${host[@]}" "http://127.0.0.1:$port/absent")" = "not found" ] && break
  sleep 0.1
done

# seconds -> MB/s (1 MB = 10^6 bytes, as dd prints)
rate() { awk -v bytes="$((mib << 20))" -v s="$1" 'BEGIN { printf "%.0f", bytes / s / 1e6 }'; }

puts=() gets=() dd_writes=() dd_reads=()
for round in $(seq "$rounds"); do
  put_s=$(curl -s -o /dev/null -w '%{time_total}' "${host[@]}" -T "$work/payload" \
    "http://127.0.0.1:$port/object-$round")
  get_s=$(curl -s -o "$work/got" -w '%{time_total}' "${host[@]}" "http://127.0.0.1:$port/object-$round")
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
where=$([ "$fleet" = 1 ] && echo "through a PoP to an origin, " || true)
echo "median of $rounds, $mib MiB, ${where}R2 put $(echo "${puts[@]}" | median) MB/s, R2 get $(echo "${gets[@]}" | median) MB/s; dd write (fsync) $(echo "${dd_writes[@]}" | median) MB/s, dd read $(echo "${dd_reads[@]}" | median) MB/s"
