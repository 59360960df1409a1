#!/usr/bin/env bash
# Queues on `edge dev`, end to end: messages per second from sendBatch to a
# consumer that acks them (batches of 100), and the latency from a send()
# that resolved to its consumer's handler (batches of 1, one message at a
# time, p50 and p99 over SAMPLES). One worker is producer and consumer.
#
#   bench/queue_throughput.sh [MESSAGES] [SAMPLES]   (defaults: 20000, 200)
#
# The messages are sent by requests of 4,000 (40 sendBatch calls: each is a
# subrequest, and `edge dev` allows 50 per invocation).
#
# Latencies are measured with performance.now() in one isolate; the clock
# a handler sees is the time it began (as on Workers), so the figure is
# from the send's resolution to the start of the consumer's invocation.
# Needs build/edge (or $EDGE_BINARY; see README) and curl.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
messages="${1:-20000}"
samples="${2:-200}"
port=18797
need_edge
need curl

project() {  # project DIR BATCH_SIZE
  worker_project "$1" "queue-bench-$2" "[[queues.producers]]
binding = \"Q\"
queue = \"bench-$2\"

[[queues.consumers]]
queue = \"bench-$2\"
max_batch_size = $2
max_batch_timeout = 0
max_concurrency = 1" <<'JS'
const state = { received: 0, first: 0, last: 0, latencies: [] };
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/stats") return Response.json(state);
    if (url.pathname === "/start") {
      state.received = 0;
      state.first = performance.now();
      return new Response("started\n");
    }
    if (url.pathname === "/throughput") {
      // Each sendBatch is a subrequest: at most 40 of 100 per request.
      const n = Number(url.searchParams.get("n"));
      for (let sent = 0; sent < n; sent += 100) {
        const batch = [];
        for (let i = 0; i < 100 && sent + i < n; i++) batch.push({ body: { i: sent + i } });
        await env.Q.sendBatch(batch);
      }
      return new Response("sent\n");
    }
    // /one: one message, stamped when its send resolved.
    await env.Q.send({ at: 0 });
    state.sentAt = performance.now();
    return new Response("sent\n");
  },
  async queue(batch) {
    const now = performance.now();
    for (const message of batch.messages) {
      if (message.body.at !== undefined) state.latencies.push(now - state.sentAt);
      state.received++;
      message.ack();
    }
    state.last = now;
  },
};
JS
}

run_edge() {  # run_edge DIR
  "$edge" dev "$1" --port "$port" --persist-to "$1/state" --log-level warn --no-watch >/dev/null &
  pids+=($!)
  wait_http "http://127.0.0.1:$port/stats"
}

stop_edge() {
  kill "${pids[-1]}" 2>/dev/null || true
  wait "${pids[-1]}" 2>/dev/null || true
  unset 'pids[-1]'
}

json_field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }

# Throughput.
project "$work/throughput" 100
run_edge "$work/throughput"
curl -s "http://127.0.0.1:$port/start" >/dev/null
for ((sent = 0; sent < messages; sent += 4000)); do
  curl -s "http://127.0.0.1:$port/throughput?n=$((messages - sent < 4000 ? messages - sent : 4000))" >/dev/null
done
for _ in $(seq 600); do
  stats=$(curl -s "http://127.0.0.1:$port/stats")
  [ "$(echo "$stats" | json_field received)" = "$messages" ] && break
  sleep 0.1
done
echo "$stats" | awk -v n="$messages" -F'[:,}]' '{
  for (i = 1; i < NF; i++) { if ($i ~ /"first"/) first = $(i + 1); if ($i ~ /"last"/) last = $(i + 1); if ($i ~ /"received"/) got = $(i + 1) }
  printf "throughput: %d of %d messages in %.2f s: %.0f messages/s end to end (sendBatch of 100 -> batches of 100 acked)\n",
         got, n, (last - first) / 1000, got / ((last - first) / 1000) }'
stop_edge

# Latency.
project "$work/latency" 1
run_edge "$work/latency"
for i in $(seq "$samples"); do
  curl -s "http://127.0.0.1:$port/one" >/dev/null
  for _ in $(seq 200); do
    [ "$(curl -s "http://127.0.0.1:$port/stats" | json_field received)" = "$i" ] && break
    sleep 0.005
  done
done
curl -s "http://127.0.0.1:$port/stats" | sed -n 's/.*"latencies":\[\([^]]*\)\].*/\1/p' | tr ',' '\n' |
  sort -g | awk '{ v[NR] = $1 } END {
    printf "send -> handler latency over %d messages (batches of 1): p50 %.2f ms, p99 %.2f ms\n",
           NR, v[int(NR * 0.5 + 0.5)], v[int(NR * 0.99 + 0.5)] }'
