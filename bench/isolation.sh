#!/usr/bin/env bash
# Noisy neighbours on one `edge serve` node, one class of attack at a time:
# the latency of a plain tenant C alone, then while a hostile tenant H of
# that class is hammered on the same node. Prints, per class, C's p50/p99
# beside H, the p99 ratio to C alone, and what H's requests got.
#
#   bench/isolation.sh [SECONDS] [CONNECTIONS] [HOG_CONNECTIONS]
#   CLASSES="cpu heap" bench/isolation.sh ...   (a subset; default: all)
#   PIN=0 bench/isolation.sh ...                (no taskset pinning)
#   ROUNDS=3 bench/isolation.sh ...             (rounds; medians reported)
#   THREADS=2 bench/isolation.sh ...            (serving threads)
#   EDGE_SERVE_FLAGS="--heavy-cpu-us 0" bench/isolation.sh ...  (more flags for edge serve)
#
# Classes (H's worker; what H's requests get):
#   cpu       spins until its CPU limit (cpu_ms 50)                     500
#   heap      allocates until its heap limit (memory_mb 32)             500
#   buffers   allocates ArrayBuffers until its memory limit (32 MiB)    500
#   inflate   decompresses a gzip bomb (64 MiB of zeros) to the end     500
#   pbkdf2    PBKDF2 at the 100,000-iteration cap, cpu_ms 1000          200
#   rsa       RSA generateKey at the 4,096-bit cap, cpu_ms 30000        200
#             (seconds of CPU each, off the serving threads)
#   timers    leaves 1,000 setInterval(fn, 1) armed, then answers       200
#   waituntil ctx.waitUntil(a promise that never settles), then answers 200
#   kv        500 KV reads at once (C reads one key per request)        200
#   fetch     50 fetches at once to an upstream C also fetches from     200
#             (an `edge dev` worker that answers after 20 ms)
#
# C is measured with `wrk -t1 -cCONNECTIONS -dSECONDS --latency` (default 8
# connections, 10 s) on the path its class uses (/, /kv or /fetch), alone
# and then beside H; H gets its own wrk with HOG_CONNECTIONS (default 2).
# Needs build/edge (or $EDGE_BINARY; see README), wrk and curl.
#
# Each round measures, for each class in turn, C alone and then C beside
# the class; with ROUNDS above 1 the table gives, per class, the median over
# the rounds of C's p50, p99 and p99 ratio (each ratio against the alone
# figure measured just before it), since single p99s of 1-5 ms move a lot
# between runs.
#
# Reading the figures: each serving thread runs its isolates one request at a
# time, so a C request that lands on a thread busy with an H request waits
# for it. The node gets one core (the other runs the load generators), so by
# default it runs one serving thread: with two threads on one core, C's
# request can also wait for the kernel to switch from the thread running H
# (a time slice of several ms), which measures the scheduler rather than
# the node. THREADS=2 shows that case.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
seconds="${1:-10}"
connections="${2:-8}"
hog_connections="${3:-2}"
classes="${CLASSES:-cpu heap buffers inflate pbkdf2 rsa timers waituntil kv fetch}"
http_port=18807
admin_port=18808
upstream_port=18809
threads="${THREADS:-1}"
rounds="${ROUNDS:-1}"

need wrk "run scripts/bootstrap"
need curl
need_edge

# The node on cores of its own (core 1, or 1..N-1), every wrk and the
# upstream on core 0, so the figures measure how the node shares its CPU
# between tenants, not how it shares it with the load generators.
pin_server=(); pin_client=()
if [ "${PIN:-1}" != 0 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  server_cores=1
  [ "$(nproc)" -gt 2 ] && server_cores="1-$(($(nproc) - 1))"
  pin_server=(taskset -c "$server_cores"); pin_client=(taskset -c 0)
fi

upstream="http://127.0.0.1:$upstream_port"
kv_toml() {  # kv_toml ID: a KV binding to the namespace ID
  printf '[[kv_namespaces]]\nbinding = "KV"\nid = "%s"\n' "$1"
}

# The hostile worker of each class: its edge.toml lines and its code.
hog_toml() {
  case "$1" in
    cpu) echo $'[limits]\ncpu_ms = 50' ;;
    heap | buffers | inflate) echo $'[limits]\nmemory_mb = 32\ncpu_ms = 10000' ;;
    rsa) echo $'[limits]\ncpu_ms = 30000' ;;
    # 100,000 iterations take about 30-60 ms of CPU, around the 50 ms default.
    pbkdf2) echo $'[limits]\ncpu_ms = 1000' ;;
    kv) kv_toml h-data ;;
    *) echo "" ;;
  esac
}
hog_js() {
  case "$1" in
    cpu) echo 'export default { fetch() { while (true) {} } };' ;;
    heap) echo 'export default { fetch() {
        const hoard = [];
        while (true) hoard.push(new Array(100000).fill(hoard.length + 0.5));
      } };' ;;
    buffers) echo 'export default { fetch() {
        const hoard = [];
        while (true) hoard.push(new Uint8Array(1 << 20).fill(1));
      } };' ;;
    inflate) echo 'export default { async fetch() {
        // 64 MiB of zeros, gzipped (about 64 KiB), made once per isolate.
        if (!globalThis.bomb) {
          const zeros = new Uint8Array(1 << 20);
          const stream = new ReadableStream({
            i: 0,
            pull(c) { if (this.i++ < 64) c.enqueue(zeros); else c.close(); } });
          globalThis.bomb = await new Response(
            stream.pipeThrough(new CompressionStream("gzip"))).arrayBuffer();
        }
        const out = new Response(globalThis.bomb).body
          .pipeThrough(new DecompressionStream("gzip"));
        return new Response(await new Response(out).arrayBuffer());
      } };' ;;
    pbkdf2) echo 'export default { async fetch() {
        const key = await crypto.subtle.importKey("raw", new Uint8Array(16), "PBKDF2",
                                                  false, ["deriveBits"]);
        const bits = await crypto.subtle.deriveBits(
          { name: "PBKDF2", hash: "SHA-256", salt: new Uint8Array(16), iterations: 100000 },
          key, 256);
        return new Response(String(new Uint8Array(bits)[0]));
      } };' ;;
    rsa) echo 'export default { async fetch() {
        await crypto.subtle.generateKey(
          { name: "RSA-PSS", modulusLength: 4096, publicExponent: new Uint8Array([1, 0, 1]),
            hash: "SHA-256" }, false, ["sign", "verify"]);
        return new Response("generated");
      } };' ;;
    timers) echo 'export default { fetch() {
        for (let i = 0; i < 1000; i++) setInterval(() => {}, 1);
        return new Response("armed");
      } };' ;;
    waituntil) echo 'export default { fetch(request, env, ctx) {
        ctx.waitUntil(new Promise(() => {}));
        return new Response("pinned");
      } };' ;;
    kv) echo 'export default { async fetch(request, env) {
        const reads = [];
        for (let i = 0; i < 500; i++) reads.push(env.KV.get("k" + (i % 50)));
        await Promise.all(reads);
        return new Response("read");
      } };' ;;
    fetch) echo "export default { async fetch() {
        const calls = [];
        for (let i = 0; i < 50; i++) calls.push(fetch('$upstream/').then((r) => r.text()));
        await Promise.all(calls);
        return new Response('fetched');
      } };" ;;
    *) echo "unknown class: $1" >&2; exit 2 ;;
  esac
}
hog_expected() {
  case "$1" in cpu | heap | buffers | inflate) echo 500 ;; *) echo 200 ;; esac
}
c_path() {
  case "$1" in kv) echo /kv ;; fetch) echo /fetch ;; *) echo / ;; esac
}

head -c 32 /dev/urandom | base64 > "$work/token"
worker() {  # worker NAME TOML JS: a project folder routed to NAME.bench
  worker_project "$work/$1" "$1" "routes = [\"$1.bench/*\"]"$'\n'"$2" <<< "$3"
}
worker c "$(kv_toml c-data)" "export default { async fetch(request, env) {
    const path = new URL(request.url).pathname;
    if (path === '/kv') return new Response(await env.KV.get('c') ?? 'missing');
    if (path === '/fetch') return new Response(await (await fetch('$upstream/')).text());
    return new Response('Hello, world!\n');
  } };"
for class in $classes; do
  worker "h-$class" "$(hog_toml "$class")" "$(hog_js "$class")"
done
# The upstream of the fetch class: answers after 20 ms, like a remote API.
worker_project "$work/upstream" upstream "" <<'EOF'
export default { async fetch() {
  await new Promise((resolve) => setTimeout(resolve, 20));
  return new Response("upstream");
} };
EOF

"${pin_client[@]}" "$edge" dev "$work/upstream" --port "$upstream_port" >/dev/null 2>&1 &
pids+=($!)
"${pin_server[@]}" "$edge" serve --listen "127.0.0.1:$http_port" --admin "127.0.0.1:$admin_port" \
  --admin-token-file "$work/token" --data-dir "$work/data" --threads "$threads" \
  --allow-fetch-to 127.0.0.0/8 --access-log /dev/null --log-level warn ${EDGE_SERVE_FLAGS:-} \
  >/dev/null \
  2>"$work/edge.log" &
edge_pid=$!
pids+=("$edge_pid")
wait_http "http://127.0.0.1:$admin_port/status" -H "Authorization: Bearer $(cat "$work/token")"
wait_http "$upstream/"
admin() { curl -sf -H "Authorization: Bearer $(cat "$work/token")" "$@"; }
# Each tenant is an account of its own, owning its hostname and deploying
# with its own token, as on a shared node.
for name in c $(for class in $classes; do echo "h-$class"; done); do
  "$edge" account create "$name" --hosts "$name.bench" --token-out "$work/$name.token" \
    --to "http://127.0.0.1:$admin_port" --token-file "$work/token" >/dev/null
  "$edge" deploy "$work/$name" --to "http://127.0.0.1:$admin_port" \
    --token-file "$work/$name.token" >/dev/null
done
admin -X PUT --data-binary "c's value" "http://127.0.0.1:$admin_port/kv/c/c-data/c" >/dev/null
if [[ " $classes " == *" kv "* ]]; then
  for i in $(seq 0 49); do
    admin -X PUT --data-binary "value $i" "http://127.0.0.1:$admin_port/kv/h-kv/h-data/k$i" \
      >/dev/null
  done
fi

url="http://127.0.0.1:$http_port"
status_of() {  # status_of HOST PATH -> the HTTP status
  curl -s -o /dev/null -w '%{http_code}' -H "Host: $1" "$url$2"
}
for path in / /kv /fetch; do
  [ "$(status_of c.bench "$path")" = 200 ] || { echo "C answers $path with an error" >&2; exit 1; }
done

measure() {  # measure PATH -> "requests/s p50 p99 non2xx errors" for C (ms)
  wrk_figures "${pin_client[@]}" wrk -t1 -c"$connections" -d"${seconds}s" --latency \
    -H "Host: c.bench" "$url$1"
}
hog_summary() {  # hog_summary FILE -> "requests non2xx"
  awk '/requests in/ { n = $1 } /Non-2xx/ { bad = $NF } END { printf "%d %d\n", n, bad }' "$1"
}

echo "edge serve --threads $threads, $(nproc) cores, ${pin_server[*]:-no pinning}" \
  "(wrk, upstream: ${pin_client[*]:-no pinning}); $rounds round(s)"
echo "C: wrk -t1 -c$connections -d${seconds}s --latency; H: wrk -t1 -c$hog_connections"
paths=$(for class in $classes; do c_path "$class"; done | sort -u)
for class in $classes; do
  expected=$(hog_expected "$class")
  got=$(status_of "h-$class.bench" /)
  [ "$got" = "$expected" ] ||
    { echo "H ($class) answered $got, expected $expected" >&2; tail -5 "$work/edge.log" >&2; exit 1; }
done

# Per round, for each class: C alone on the class's path, then C beside the
# class, so that each ratio compares two measurements seconds apart (the
# machine's own noise drifts over minutes). Figures are collected as lists
# ("a b c ") per key and summarised after the rounds.
declare -A alone_p50 alone_p99 c_p50 c_p99 c_ratio c_bad h_requests h_bad
for round in $(seq "$rounds"); do
  declare -A alone_now=()
  for class in $classes; do
    path=$(c_path "$class")
    read -r _ p50 p99 _ _ < <(measure "$path")
    alone_now[$path]=$p99
    alone_p50[$path]+="$p50 "; alone_p99[$path]+="$p99 "
    printf "round %d: C alone on %-7s p50 %8.3f ms  p99 %8.3f ms\n" "$round" "$path" "$p50" "$p99"
    "${pin_client[@]}" wrk -t1 -c"$hog_connections" -d"$((seconds + 2))s" \
      -H "Host: h-$class.bench" "$url/" > "$work/wrk-$class" &
    hog_pid=$!
    pids+=("$hog_pid")
    sleep 1
    read -r _ p50 p99 non2xx _ < <(measure "$path")
    wait "$hog_pid"
    kill -0 "$edge_pid" 2>/dev/null ||
      { echo "edge serve died during the $class run:" >&2; tail -20 "$work/edge.log" >&2; exit 1; }
    read -r requests bad < <(hog_summary "$work/wrk-$class")
    ratio=$(awk -v a="${alone_now[$path]}" -v l="$p99" 'BEGIN { printf "%.2f", l / a }')
    c_p50[$class]+="$p50 "; c_p99[$class]+="$p99 "; c_ratio[$class]+="$ratio "
    c_bad[$class]=$((${c_bad[$class]:-0} + non2xx))
    h_requests[$class]=$((${h_requests[$class]:-0} + requests))
    h_bad[$class]=$((${h_bad[$class]:-0} + bad))
    printf "round %d: beside %-9s p50 %8.3f ms  p99 %8.3f ms  (%sx)\n" "$round" "$class" "$p50" \
      "$p99" "$ratio"
    sleep 1  # let what H left behind (timers, waitUntil work) run out before the next class
  done
done

echo
for path in $paths; do
  printf "C alone on %-7s p50 %8.3f ms  p99 %8.3f ms  (medians)\n" "$path" \
    "$(echo "${alone_p50[$path]}" | median)" "$(echo "${alone_p99[$path]}" | median)"
done
printf "\n%-10s %-7s %10s %10s %10s %9s %10s %s\n" class "C path" "p50 ms" "p99 ms" \
  "p99 ratio" "C non2xx" "H requests" "H answered"
for class in $classes; do
  if [ "$(hog_expected "$class")" = 500 ]; then answered="${h_bad[$class]} of them 5xx"; else
    answered="$((h_requests[$class] - h_bad[$class])) of them 2xx"; fi
  printf "%-10s %-7s %10.3f %10.3f %9.1fx %9d %10d %s\n" "$class" "$(c_path "$class")" \
    "$(echo "${c_p50[$class]}" | median)" "$(echo "${c_p99[$class]}" | median)" \
    "$(echo "${c_ratio[$class]}" | median)" "${c_bad[$class]}" "${h_requests[$class]}" \
    "$answered"
done
[ "$(status_of c.bench /)" = 200 ] || { echo "C no longer answers" >&2; exit 1; }
echo "kills by limit: cpu $(admin "http://127.0.0.1:$admin_port/metrics" |
  awk '$1 == "edge_limit_kills_total{kind=\"cpu\"}" { print $2 }'), memory $(
  admin "http://127.0.0.1:$admin_port/metrics" |
  awk '$1 == "edge_limit_kills_total{kind=\"memory\"}" { print $2 }')"
