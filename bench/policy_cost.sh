#!/usr/bin/env bash
# bench/policy_cost.sh [ROUNDS]: microseconds per JWT verify (RS256, ES256,
# EdDSA, HS256) and per JSON Schema validation of a 4 KB body, the work the
# gateway's policies add to a request before any isolate is entered. Runs
# build/edge_policy_cost (bench/policy_cost.cc) pinned to one core when there
# are two or more, then `openssl speed` for the same signatures (OpenSSL's
# own cost, in CPU time). Figures: docs/performance.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tool="${EDGE_POLICY_COST:-$root/build/edge_policy_cost}"
[ -x "$tool" ] || { echo "$tool is missing: build it first" >&2; exit 1; }
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "openssl: $(openssl version)"
pin=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then pin=(taskset -c 1); fi
"${pin[@]}" "$tool" "$@"
echo "openssl speed (verify, CPU time):"
"${pin[@]}" openssl speed -seconds 1 rsa2048 ecdsap256 ed25519 2>/dev/null |
  awk '/^rsa 2048/ { printf "  RSA-2048 verify   %6.1f us\n", 1e6 / $NF }
       /nistp256/  { printf "  P-256 verify      %6.1f us\n", 1e6 / $NF }
       /Ed25519/   { printf "  Ed25519 verify    %6.1f us\n", 1e6 / $NF }'
