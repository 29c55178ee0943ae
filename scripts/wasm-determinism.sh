#!/usr/bin/env bash
# Determinism across architectures: the golden worlds and scripted/fighting sessions of
# replay/src/bin/arch_trace.rs, built natively (x86_64) and for wasm32-wasip1 (run under
# node's WASI), must give the same checksum at every tick. A mismatch names the case and
# the first tick, then `venture-replay diff` names the differing fields of the two worlds
# there. Also prints the wasm-to-native step time ratio (a figure, not a check).
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1
command -v node >/dev/null || { echo "node is needed to run wasm32-wasip1 (apt install nodejs)" >&2; exit 2; }
out=target/arch
mkdir -p "$out"
cargo build --quiet --release -p venture-replay --bin arch_trace
cargo build --quiet --release -p venture-replay --bin arch_trace --target wasm32-wasip1
native=target/release/arch_trace
wasm=target/wasm32-wasip1/release/arch_trace.wasm
# WASM_FAULT="CASE TICK" alters the wasm32 side's world there (to see a mismatch reported).
wasi() { VENTURE_ARCH_FAULT="${WASM_FAULT:-}" node --no-warnings scripts/wasi-run.mjs "$wasm" "$@"; }

"$native" > "$out/native.txt" 2> "$out/native.err"
wasi > "$out/wasm32.txt" 2> "$out/wasm32.err"
lines=$(wc -l < "$out/native.txt")
if ! cmp -s "$out/native.txt" "$out/wasm32.txt"; then
  line=$(cmp "$out/native.txt" "$out/wasm32.txt" 2>&1 | sed -n 's/.* line \([0-9]*\).*/\1/p' || true)
  first=$([[ -n "$line" ]] && sed -n "${line}p" "$out/native.txt" || true)
  if [[ -z "$first" ]]; then
    echo "wasm32 trace is shorter or longer than native's ($lines lines native, $(wc -l < "$out/wasm32.txt") on wasm32)" >&2
    exit 1
  fi
  read -r case tick sum <<<"$first"
  other=$(sed -n "${line}p" "$out/wasm32.txt" | cut -d' ' -f3)
  echo "DETERMINISM MISMATCH: case $case, first at tick $tick: native checksum $sum, wasm32 ${other:-missing}" >&2
  "$native" --dump "$case" "$tick" > "$out/native-$case-$tick.json"
  wasi --dump "$case" "$tick" > "$out/wasm32-$case-$tick.json"
  cargo build --quiet --release --bin venture-replay
  target/release/venture-replay diff "$out/native-$case-$tick.json" "$out/wasm32-$case-$tick.json" >&2 || true
  exit 1
fi
ns() { sed -n 's/^# step_ns \([0-9]*\) ticks.*/\1/p' "$1"; }
n=$(ns "$out/native.err"); w=$(ns "$out/wasm32.err")
awk -v n="$n" -v w="$w" -v l="$lines" 'BEGIN { printf "wasm32 equals native at all %d ticks; step+checksum: native %.2f us/tick, wasm32 (node) %.2f us/tick, ratio %.2f\n", l, n/l/1000, w/l/1000, w/n }'
