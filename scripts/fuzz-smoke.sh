#!/usr/bin/env bash
# Fuzz smoke test: every cargo-fuzz target in fuzz/ for a bounded time, then every saved
# regression input. Fails on any crash, leak, timeout or OOM.
#
# cargo-fuzz needs nightly-only rustc flags (-Zsanitizer=address, sancov). This project
# pins the stable toolchain, so the build runs with RUSTC_BOOTSTRAP=1, which lets stable
# rustc accept them. Nothing else is built that way: fuzz/ is outside the workspace and
# has its own target directory.
#
#   FUZZ_SECONDS   seconds per target (default 25; 12 targets, ~5.5 min plus the build;
#                  CI uses 15: ~3 min)
#   FUZZ_TARGETS   space-separated subset (default: all)
#   FUZZ_JOBS      cargo build jobs (default 2)
#
# Inputs found here are written to fuzz/artifacts/<target>/ (git-ignored); to keep one as a
# regression, copy it to fuzz/regressions/<target>/. Inputs for bugs not fixed yet live in
# fuzz/regressions/<target>/open/ and are reported but not replayed.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR=never
SECONDS_PER_TARGET="${FUZZ_SECONDS:-25}"
export CARGO_BUILD_JOBS="${FUZZ_JOBS:-2}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz-smoke: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

TARGETS="${FUZZ_TARGETS:-$(cargo fuzz list)}"
# -O: optimised; -a: debug assertions and overflow checks on (overflow is a
# debug/release desync in this project, so the fuzzer must see it).
FLAGS=(-O -a)

echo "fuzz-smoke: building $(echo $TARGETS | wc -w) targets" >&2
cargo fuzz build "${FLAGS[@]}" >&2

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=()
for t in $TARGETS; do
    # Regressions first: each saved input once.
    regs=()
    if [ -d "regressions/$t" ]; then
        while IFS= read -r -d '' f; do regs+=("$f"); done \
            < <(find "regressions/$t" -maxdepth 1 -type f ! -name '*.md' -print0)
    fi
    if [ "${#regs[@]}" -gt 0 ]; then
        echo "fuzz-smoke: $t: replaying ${#regs[@]} regression input(s)" >&2
        if ! cargo fuzz run "${FLAGS[@]}" "$t" "${regs[@]}" -- -runs=1 >"$work/$t.reg.log" 2>&1; then
            tail -40 "$work/$t.reg.log" >&2
            failed+=("$t (regression)")
        fi
    fi
    if [ -d "regressions/$t/open" ]; then
        echo "fuzz-smoke: $t: $(find "regressions/$t/open" -type f ! -name '*.md' | wc -l) open (unfixed) input(s) not replayed" >&2
    fi
    # Fresh copy of the seed corpus: new units go there, not into the repository.
    mkdir -p "$work/corpus/$t"
    [ -d "corpus/$t" ] && cp -r "corpus/$t/." "$work/corpus/$t/"
    echo "fuzz-smoke: $t: fuzzing ${SECONDS_PER_TARGET}s" >&2
    if cargo fuzz run "${FLAGS[@]}" "$t" "$work/corpus/$t" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=20 \
        -max_len=8192 -print_final_stats=1 >"$work/$t.log" 2>&1; then
        grep -E '^stat::number_of_executed_units|^#[0-9]+ *DONE' "$work/$t.log" | tail -2 >&2 || true
    else
        tail -60 "$work/$t.log" >&2
        failed+=("$t")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz-smoke: FAILED: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz-smoke: all targets clean" >&2
