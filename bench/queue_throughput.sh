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
# a handler sees is the time it began (as on Workers). Each message carries
# its number, so each latency pairs a message's own send with its own
# consumer invocation: from the send() call to the start of the consumer's
# invocation, and from the send's resolution (when the producer resumed)
# to it. The consumer often starts before the producer has resumed (the
# engine is woken by the commit, on the same loop as the promise's
# resolution): those count as 0 ms after the resolution, and how many there
# were is printed.
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
const state = { received: 0, first: 0, last: 0, called: [], resolved: [], started: [] };
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/stats") {
      const fromCall = [];
      const fromResolution = [];
      let early = 0;
      for (let i = 0; i < state.started.length; i++) {
        if (state.started[i] === undefined || state.resolved[i] === undefined) continue;
        fromCall.push(state.started[i] - state.called[i]);
        const after = state.started[i] - state.resolved[i];
        if (after < 0) early++;
        fromResolution.push(Math.max(0, after));
      }
      return Response.json({ received: state.received, first: state.first, last: state.last,
                             fromCall, fromResolution, early });
    }
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
    // /one?i=N: message N, its send's call and resolution stamped.
    const i = Number(url.searchParams.get("i"));
    state.called[i] = performance.now();
    await env.Q.send({ at: i });
    state.resolved[i] = performance.now();
    return new Response("sent\n");
  },
  async queue(batch) {
    const now = performance.now();
    for (const message of batch.messages) {
      if (message.body.at !== undefined) state.started[message.body.at] = now;
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
  curl -s "http://127.0.0.1:$port/one?i=$i" >/dev/null
  for _ in $(seq 200); do
    [ "$(curl -s "http://127.0.0.1:$port/stats" | json_field received)" = "$i" ] && break
    sleep 0.005
  done
done
stats=$(curl -s "http://127.0.0.1:$port/stats")
percentiles() {  # percentiles FIELD WHAT
  echo "$stats" | sed -n "s/.*\"$1\":\[\([^]]*\)\].*/\1/p" | tr ',' '\n' | sort -g | awk -v what="$2" '{ v[NR] = $1 } END {
    printf "%s over %d messages (batches of 1): p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
           what, NR, v[int(NR * 0.5 + 0.5)], v[int(NR * 0.99 + 0.5)], v[NR] }'
}
percentiles fromCall "send() call -> consumer start"
percentiles fromResolution "resolved send() -> consumer start"
echo "consumer started before its producer resumed: $(echo "$stats" | json_field early) of $samples"
