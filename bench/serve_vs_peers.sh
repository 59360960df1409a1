#!/usr/bin/env bash
# Hello world on edge and its peers, side by side in one run: `edge serve`
# (one serving thread, and two), `edge dev`, and whichever of deno, bun,
# node, nginx and workerd are found. Every server answers the same bytes
# ("Hello, world!\n", text/plain); each is measured with wrk in interleaved
# rounds, the servers on one core and wrk on the other, and the medians are
# compared.
#
#   bench/serve_vs_peers.sh [ROUNDS] [SECONDS] [CONNECTIONS]     (5 5 50)
#   SERVERS="edge-serve deno bun nginx" bench/serve_vs_peers.sh  (a subset)
#   EDGE_BEFORE=/path/to/older/edge bench/serve_vs_peers.sh
#     adds edge-serve-before: `edge serve --threads 1` of another build, in
#     the same interleaved rounds (a before/after of one change)
#   PRIORITY=rt bench/serve_vs_peers.sh
#     runs the servers and wrk under SCHED_RR (`chrt -r 50`, as root) on
#     their pinned cores, so that other work on a shared machine cannot take
#     those cores during a round: requests/s and per CPU-second come close
#     to a quiet machine's; p99s do not (the kernel keeps 5% of each second
#     of a core for ordinary tasks, a stall of up to 50 ms).
#
# Peers are looked up on PATH, then in $PEERS_DIR (default /tmp/edge-peers),
# which never belongs to the build. To fill it:
#
#   mkdir -p /tmp/edge-peers && cd /tmp/edge-peers && npm install deno bun workerd
#   mkdir nginx && cd nginx && apt-get download nginx nginx-common &&
#     for f in *.deb; do dpkg -x "$f" root; done
#
# `edge serve` runs as in production: the worker deployed through the admin
# API and routed by Host, the access log written to a file, metering and CPU
# accounting on. nginx runs one worker process with `access_log off` and
# keep-alive connections never closed by it.
#
# Columns: requests/s and p99 (medians over the rounds), requests per second
# of the server's own CPU time (user + system, from /proc, whole process
# tree), and the server's RSS after the last round.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
rounds="${1:-5}"
seconds="${2:-5}"
connections="${3:-50}"
peers_dir="${PEERS_DIR:-/tmp/edge-peers}"
servers="${SERVERS:-edge-serve edge-serve-2t edge-dev deno bun node nginx workerd}"
if [ -n "${EDGE_BEFORE:-}" ]; then
  [ -x "$EDGE_BEFORE" ] || { echo "EDGE_BEFORE: $EDGE_BEFORE is not an executable" >&2; exit 1; }
  servers="edge-serve-before $servers"
fi
need wrk "run scripts/bootstrap"
need_edge

pin_server=(); pin_client=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  pin_server=(taskset -c 1); pin_client=(taskset -c 0)
  if [ "${PRIORITY:-}" = rt ]; then
    pin_server=(chrt -r 50 "${pin_server[@]}"); pin_client=(chrt -r 50 "${pin_client[@]}")
  fi
fi

# find NAME -> the command's path, on PATH or under $peers_dir, or nothing.
find_peer() {
  local name="$1" path
  for path in "$(command -v "$name" 2>/dev/null || true)" \
    "$peers_dir/node_modules/.bin/$name" "$peers_dir/nginx/root/usr/sbin/$name"; do
    [ -n "$path" ] && [ -x "$path" ] && { echo "$path"; return; }
  done
}

body='Hello, world!'
cat > "$work/handler.js" <<EOF
export default {
  fetch() {
    return new Response("$body\\n", { headers: { "content-type": "text/plain; charset=utf-8" } });
  },
};
EOF
mkdir -p "$work/app"
cp "$work/handler.js" "$work/app/index.js"
printf 'name = "hello"\nmain = "index.js"\nroutes = ["hello.bench/*"]\n' > "$work/app/edge.toml"

declare -A port pid host
next_port=18900

# started NAME PID PORT [HOST]: records a server that answers on PORT.
started() {
  pid[$1]=$2; port[$1]=$3; host[$1]="${4:-}"
  pids+=("$2")
}

start_edge_serve() {
  local name="$1" threads="$2" binary="${3:-$edge}" dir="$work/$1"
  mkdir -p "$dir"
  head -c 32 /dev/urandom | base64 > "$dir/token"
  "${pin_server[@]}" "$binary" serve --listen 127.0.0.1:0 --admin 127.0.0.1:0 --threads "$threads" \
    --admin-token-file "$dir/token" --data-dir "$dir/data" --access-log "$dir/access.log" \
    --log-level warn > "$dir/ready" &
  local node=$!
  for _ in $(seq 100); do grep -q Ready "$dir/ready" 2>/dev/null && break; sleep 0.1; done
  local http admin
  http=$(sed -n 's/.*http port \([0-9]*\).*/\1/p' "$dir/ready")
  admin=$(sed -n 's/.*admin port \([0-9]*\).*/\1/p' "$dir/ready")
  "$binary" deploy "$work/app" --to "http://127.0.0.1:$admin" --token-file "$dir/token" >/dev/null
  started "$name" "$node" "$http" hello.bench
}

start() {
  local name="$1" p=$((next_port++)) bin
  case "$name" in
    edge-serve) start_edge_serve "$name" 1 ;;
    edge-serve-2t) start_edge_serve "$name" 2 ;;
    edge-serve-before) start_edge_serve "$name" 1 "$EDGE_BEFORE" ;;
    edge-dev)
      "${pin_server[@]}" "$edge" dev "$work/app" --port "$p" --log-level warn --no-watch \
        >/dev/null &
      started "$name" $! "$p" ;;
    deno)
      bin=$(find_peer deno); [ -n "$bin" ] || return 1
      "${pin_server[@]}" "$bin" serve --quiet --port "$p" --host 127.0.0.1 "$work/handler.js" \
        >/dev/null 2>&1 &
      started "$name" $! "$p" ;;
    bun)
      bin=$(find_peer bun); [ -n "$bin" ] || return 1
      cat > "$work/bun.js" <<EOF
import handler from "./handler.js";
Bun.serve({ port: $p, hostname: "127.0.0.1", fetch: handler.fetch });
EOF
      "${pin_server[@]}" "$bin" run "$work/bun.js" >/dev/null 2>&1 &
      started "$name" $! "$p" ;;
    node)
      bin=$(find_peer node); [ -n "$bin" ] || return 1
      "${pin_server[@]}" "$bin" -e '
        const http = require("http");
        const body = "Hello, world!\n";
        http.createServer((req, res) => {
          res.writeHead(200, { "content-type": "text/plain; charset=utf-8",
                               "content-length": Buffer.byteLength(body) });
          res.end(body);
        }).listen(Number(process.argv[1]), "127.0.0.1");' "$p" &
      started "$name" $! "$p" ;;
    nginx)
      bin=$(find_peer nginx); [ -n "$bin" ] || return 1
      mkdir -p "$work/nginx/logs"
      cat > "$work/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 600s;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  server {
    listen 127.0.0.1:$p;
    location / {
      default_type "text/plain; charset=utf-8";
      return 200 "$body\n";
    }
  }
}
EOF
      "${pin_server[@]}" "$bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" -e stderr \
        2>"$work/nginx/logs/stderr.log" &
      started "$name" $! "$p" ;;
    workerd)
      bin=$(find_peer workerd); [ -n "$bin" ] || return 1
      mkdir -p "$work/workerd"
      cp "$work/handler.js" "$work/workerd/handler.js"
      cat > "$work/workerd/config.capnp" <<EOF
using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .hello)],
  sockets = [(name = "http", address = "127.0.0.1:$p", http = (), service = "main")],
);
const hello :Workerd.Worker = (
  modules = [(name = "handler.js", esModule = embed "handler.js")],
  compatibilityDate = "2024-09-23",
);
EOF
      "${pin_server[@]}" "$bin" serve "$work/workerd/config.capnp" >/dev/null 2>&1 &
      started "$name" $! "$p" ;;
    *) echo "unknown server $name" >&2; exit 1 ;;
  esac
}

# tree_pids PID -> PID and its descendants.
tree_pids() {
  local p
  echo "$1"
  for p in $(pgrep -P "$1" 2>/dev/null || true); do tree_pids "$p"; done
}

# cpu_ticks PID -> user + system clock ticks of the process tree.
cpu_ticks() {
  local total=0 p
  for p in $(tree_pids "$1"); do
    [ -r "/proc/$p/stat" ] || continue
    # Fields 14 and 15 (utime, stime), counted after the ")" closing comm.
    total=$((total + $(sed 's/.*) //' "/proc/$p/stat" | awk '{ print $12 + $13 }')))
  done
  echo "$total"
}

rss_mb() {
  local kb=0 p
  for p in $(tree_pids "$1"); do
    [ -r "/proc/$p/status" ] || continue
    kb=$((kb + $(awk '/^VmRSS/ { print $2 }' "/proc/$p/status")))
  done
  echo $((kb / 1024))
}

ready=()
for name in $servers; do
  if ! start "$name"; then echo "# $name: not found, skipped" >&2; continue; fi
  args=(); [ -n "${host[$name]}" ] && args=(-H "Host: ${host[$name]}")
  wait_http "http://127.0.0.1:${port[$name]}/" "${args[@]}"
  got=$(curl -s "${args[@]}" "http://127.0.0.1:${port[$name]}/" || true)
  if [ "$got" != "$body" ]; then
    echo "# $name: answered '$got', not the hello world body; skipped" >&2
    continue
  fi
  ready+=("$name")
done
[ ${#ready[@]} -gt 0 ] || { echo "no server started" >&2; exit 1; }

hz=$(getconf CLK_TCK)
declare -A rps_list p99_list cpu_list
echo "wrk -t1 -c$connections -d${seconds}s, $rounds interleaved rounds, $(nproc) cores," \
  "servers ${pin_server[*]:-unpinned}, wrk ${pin_client[*]:-unpinned}"
printf '%-6s %-14s %12s %9s %9s %8s\n' round server "requests/s" "p50 ms" "p99 ms" non-2xx
for round in $(seq "$rounds"); do
  for name in "${ready[@]}"; do
    args=(); [ -n "${host[$name]}" ] && args=(-H "Host: ${host[$name]}")
    before=$(cpu_ticks "${pid[$name]}")
    read -r rps p50 p99 bad errors < <(wrk_figures "${pin_client[@]}" wrk -t1 -c"$connections" \
      -d"${seconds}s" --latency "${args[@]}" "http://127.0.0.1:${port[$name]}/")
    after=$(cpu_ticks "${pid[$name]}")
    rps_list[$name]+="$rps "
    p99_list[$name]+="$p99 "
    # requests per CPU-second of the server over this round
    cpu_list[$name]+="$(awk -v r="$rps" -v s="$seconds" -v t=$((after - before)) -v hz="$hz" \
      'BEGIN { c = t / hz; printf "%.0f", (c > 0 ? r * s / c : 0) }') "
    printf '%-6s %-14s %12s %9s %9s %8s\n' "$round" "$name" "$rps" "$p50" "$p99" \
      "$((bad + errors))"
  done
done


echo
printf '%-14s %12s %9s %14s %8s\n' server "requests/s" "p99 ms" "req/CPU-s" "RSS MB"
declare -A med med_cpu
for name in "${ready[@]}"; do
  med[$name]=$(echo "${rps_list[$name]}" | median)
  med_cpu[$name]=$(echo "${cpu_list[$name]}" | median)
  printf '%-14s %12.0f %9s %14.0f %8s\n' "$name" "${med[$name]}" \
    "$(echo "${p99_list[$name]}" | median)" "${med_cpu[$name]}" "$(rss_mb "${pid[$name]}")"
done

# ratio A B LABEL: A's median requests/s over B's, when both ran.
ratio() {
  [ -n "${med[$1]:-}" ] && [ -n "${med[$2]:-}" ] || return 0
  awk -v a="${med[$1]}" -v b="${med[$2]}" -v l="$3" 'BEGIN { printf "%-40s %.2fx\n", l, a / b }'
}
echo
fastest=""
for name in deno bun; do
  [ -n "${med[$name]:-}" ] || continue
  if [ -z "$fastest" ] || awk -v a="${med[$name]}" -v b="${med[$fastest]}" 'BEGIN { exit !(a > b) }'
  then fastest=$name; fi
done
[ -n "$fastest" ] && ratio edge-serve "$fastest" "edge serve / $fastest (the faster of deno, bun)"
ratio edge-serve nginx "edge serve / nginx"
ratio edge-dev edge-serve "edge dev / edge serve"
ratio edge-serve edge-serve-before "edge serve / the build before"
if [ -n "${med_cpu[edge-serve]:-}" ] && [ -n "${med_cpu[edge-serve-before]:-}" ]; then
  awk -v a="${med_cpu[edge-serve]}" -v b="${med_cpu[edge-serve-before]}" \
    'BEGIN { printf "%-40s %.2fx\n", "edge serve / the build before, req per CPU-s", a / b }'
fi
if [ -n "${med_cpu[edge-serve]:-}" ] && [ -n "${med_cpu[edge-serve-2t]:-}" ]; then
  awk -v a="${med_cpu[edge-serve-2t]}" -v b="${med_cpu[edge-serve]}" \
    'BEGIN { printf "%-40s %.2fx\n", "edge serve 2 threads / 1, req per CPU-s", a / b }'
fi
