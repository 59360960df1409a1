#!/usr/bin/env bash
# bench/isolate_startup.sh [N]: time from Isolate::New to a small worker
# ready (runtime + its modules evaluated), p50/p99 over N isolates each way:
# from the startup snapshot, and by running the runtime's JavaScript
# (runtime/snapshot.h), into a spare isolate, and for a generated 1 MB bundle
# with and without its code cache. Runs build/edge_isolate_startup (bench/isolate_startup.cc)
# pinned to one core when there are two or more. EDGE_BENCH_NODE_MODULES=1:
# the small worker imports node:buffer, node:events and node:util under
# nodejs_compat. WAYS=word,word: only the ways whose names contain a word.
# Figures: docs/performance.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tool="${EDGE_ISOLATE_STARTUP:-$root/build/edge_isolate_startup}"
[ -x "$tool" ] || { echo "$tool is missing: build it first" >&2; exit 1; }
count="${1:-500}"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  taskset -c 1 "$tool" "$count"
else
  "$tool" "$count"
fi
