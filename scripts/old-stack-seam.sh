#!/usr/bin/env bash
# The old stack's per-packet cost (session -> laminar -> secure layer, commit ac3599f),
# for the README's seam row beside `cargo bench --bench carriers -- seam`: checks out
# ac3599f in a temporary worktree, adds benches/old-stack/seam.rs there as venture-net's
# bench `seam_old` (with the loop it shares with carriers, benches/common/seam_loop.rs),
# runs it, and removes the worktree (nothing is committed there).
#
#   OLD_STACK_DIR   where the worktree goes (default /tmp/venture-old-stack)
#   CARGO_TARGET_DIR is honoured (sharing this tree's target/ saves building dependencies)
set -euo pipefail
cd "$(dirname "$0")/.."
here="$(pwd)"
dir="${OLD_STACK_DIR:-/tmp/venture-old-stack}"
git worktree add --detach "$dir" ac3599f >&2
trap 'git -C "$here" worktree remove --force "$dir"' EXIT
mkdir -p "$dir/net/benches"
cp benches/old-stack/seam.rs "$dir/net/benches/seam_old.rs"
cp benches/common/seam_loop.rs "$dir/net/benches/seam_loop.rs"
printf '\n[[bench]]\nname = "seam_old"\nharness = false\n' >>"$dir/net/Cargo.toml"
cd "$dir"
cargo bench -p venture-net --bench seam_old
