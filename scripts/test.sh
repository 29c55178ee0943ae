#!/usr/bin/env bash
# The project's test command (README): every test in the workspace, then the determinism
# suite again in release so debug and release are both pinned to the same golden checksums.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace
cargo test --release -p venture-sim --test determinism --test worlds
# The same worlds and sessions on wasm32 (wasm32-wasip1 under node), checksums compared
# with native's at every tick.
bash scripts/wasm-determinism.sh
# The simulated-network matrices at full size (200 seeds and 16 stream cases; 100
# injected desyncs; 24 tampering cases; three 64-client bursts per profile) need release
# speed (they need the simulated network: the `simnet` feature).
cargo test --release -p venture-net --features simnet --test lockstep_simnet --test desync_simnet \
    --test tamper_simnet --test burst_join_simnet --test followers_simnet
