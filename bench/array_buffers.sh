#!/usr/bin/env bash
# What the memory budget costs ArrayBuffers (issue 10): nanoseconds per
# `new ArrayBuffer(n)` and per `TextEncoder.encode` of 120 characters, run
# inside the runtime with `edge test`. With $BASELINE_BINARY (another build
# of edge, e.g. one before the change) the two alternate each round, so
# machine noise hits both alike.
#
#   bench/array_buffers.sh [ROUNDS]
#
# Needs build/edge (or $EDGE_BINARY; see README).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
rounds="${1:-3}"
need_edge

cat > "$work/buffers_test.js" <<'JS'
export default {
  buffers() {
    const figures = [];
    for (const size of [128, 4096, 65536]) {
      const n = size === 65536 ? 50000 : 300000;
      let sum = 0;
      const started = performance.now();
      for (let i = 0; i < n; i++) sum += new ArrayBuffer(size).byteLength;
      figures.push(`ArrayBuffer(${size}) ${(((performance.now() - started) * 1e6) / n).toFixed(0)} ns`);
    }
    const text = "hello world ".repeat(10);
    const encoder = new TextEncoder();
    const started = performance.now();
    for (let i = 0; i < 300000; i++) encoder.encode(text);
    figures.push(`TextEncoder.encode ${(((performance.now() - started) * 1e6) / 300000).toFixed(0)} ns`);
    console.log(`FIGURES ${figures.join(" | ")}`);
  },
};
JS

run() {
  (cd "$work" && "$1" test buffers_test.js 2>&1) | sed -n 's/.*FIGURES //p'
}

for round in $(seq "$rounds"); do
  echo "round $round edge:     $(run "$edge")"
  if [ -n "${BASELINE_BINARY:-}" ]; then
    echo "round $round baseline: $(run "$BASELINE_BINARY")"
  fi
done
