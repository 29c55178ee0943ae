#!/usr/bin/env bash
# Builds the browser bundle the server embeds (web/dist: the wasm module and its
# wasm-bindgen JS glue) from web/ with the pinned toolchain pieces:
#   scripts/web-bundle.sh          rebuild web/dist
#   scripts/web-bundle.sh --check  rebuild into a temporary directory and fail unless it
#                                  equals the committed web/dist byte for byte (CI)
# Installs the wasm32 target and wasm-bindgen-cli at the version web/Cargo.toml pins when
# missing. Paths are remapped so any checkout builds the same bytes; the rustc that built
# the committed bundle is recorded in web/dist/TOOLCHAIN (a different rustc may emit
# different code: rebuild and commit the bundle with the new one).
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
[[ "${1:-}" == "--check" ]] && check=1

version=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' web/Cargo.toml)
[[ -n "$version" ]] || { echo "web/Cargo.toml does not pin wasm-bindgen exactly" >&2; exit 2; }
rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown ||
  rustup target add wasm32-unknown-unknown
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $version"; then
  cargo install --quiet wasm-bindgen-cli --version "=$version"
fi

cargo_home=${CARGO_HOME:-$HOME/.cargo}
export RUSTFLAGS="--remap-path-prefix=$PWD=/venture --remap-path-prefix=$cargo_home=/cargo"
# Its own target directory: RUSTFLAGS differ from the workspace's other builds, which
# would otherwise rebuild from scratch each time one or the other runs.
target=target/web-bundle
cargo build --quiet -p venture-web --target wasm32-unknown-unknown --profile web --target-dir "$target"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
wasm-bindgen --target web --no-typescript --out-dir "$out" \
  "$target/wasm32-unknown-unknown/web/venture_web.wasm"
rustc --version > "$out/TOOLCHAIN"
echo "wasm-bindgen $version" >> "$out/TOOLCHAIN"

if ((check)); then
  if ! diff -r "$out" web/dist >/dev/null; then
    echo "web/dist differs from a rebuild of web/ (run scripts/web-bundle.sh and commit):" >&2
    diff -r "$out" web/dist | head -5 >&2 || true
    echo "built with:" >&2; cat "$out/TOOLCHAIN" >&2
    echo "committed with:" >&2; cat web/dist/TOOLCHAIN >&2 || true
    exit 1
  fi
  echo "web/dist matches a rebuild ($(gzip -9c web/dist/venture_web_bg.wasm | wc -c) bytes of wasm gzipped)"
else
  mkdir -p web/dist
  cp "$out"/* web/dist/
  echo "web/dist rebuilt: wasm $(wc -c < web/dist/venture_web_bg.wasm) bytes, $(gzip -9c web/dist/venture_web_bg.wasm | wc -c) gzipped"
fi
