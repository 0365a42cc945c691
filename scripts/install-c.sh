#!/usr/bin/env bash
# Installs the C library into a prefix: builds libpluriverse (release) and copies
#   PREFIX/include/pluriverse.h
#   PREFIX/lib/libpluriverse.so, PREFIX/lib/libpluriverse.a
#   PREFIX/lib/pkgconfig/pluriverse.pc
# so that, with PKG_CONFIG_PATH=PREFIX/lib/pkgconfig (not needed for /usr/local or /usr):
#   gcc prog.c $(pkg-config --cflags --libs pluriverse)              shared
#   gcc prog.c $(pkg-config --cflags pluriverse) \
#       -Wl,-Bstatic $(pkg-config --libs-only-l pluriverse) -Wl,-Bdynamic \
#       $(pkg-config --static --libs-only-l pluriverse | sed 's/-lpluriverse//')   static
#
#   bash scripts/install-c.sh PREFIX     (e.g. /usr/local, $HOME/.local, /tmp/pv)
#
# PLURIVERSE_C_PROFILE=dev installs the unoptimized library instead; the default is release.
# PLURIVERSE_C_CARGO_ARGS: more arguments for its `cargo build` (scripts/test-c.sh passes
# scripts/one-build.sh's, so that the build it installs is the one it tested). Needs the Rust
# toolchain; writes nothing outside PREFIX.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "install-c.sh: error: $*" >&2; exit 1; }
[ $# = 1 ] || { echo "usage: bash scripts/install-c.sh PREFIX" >&2; exit 2; }
prefix=$1
case "$prefix" in
/*) ;;
*) prefix="$(pwd)/$prefix" ;;
esac
command -v cargo >/dev/null || fail "cargo is not installed (install Rust: https://rustup.rs)"

case "${PLURIVERSE_C_PROFILE:-release}" in
release) profile=(--release) ;;
dev) profile=() ;;
*) fail "PLURIVERSE_C_PROFILE must be release or dev" ;;
esac
json=$(mktemp)
trap 'rm -f "$json"' EXIT
# shellcheck disable=SC2086 # word splitting of PLURIVERSE_C_CARGO_ARGS is meant
cargo build "${profile[@]}" --locked -p pluriverse-c ${PLURIVERSE_C_CARGO_ARGS:-} --message-format=json-render-diagnostics >"$json"
static_lib=$(grep '"reason":"compiler-artifact"' "$json" | grep -o '"[^"]*/libpluriverse\.a"' | tr -d '"' | tail -n 1)
[ -n "$static_lib" ] && [ -f "$static_lib" ] || fail "cannot find libpluriverse.a in cargo's output"
lib_dir=$(dirname "$static_lib")
[ -f "$lib_dir/libpluriverse.so" ] || fail "cannot find libpluriverse.so next to libpluriverse.a"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)

mkdir -p "$prefix/include" "$prefix/lib/pkgconfig"
install -m 644 bindings/c/include/pluriverse.h "$prefix/include/pluriverse.h"
install -m 755 "$lib_dir/libpluriverse.so" "$prefix/lib/libpluriverse.so"
install -m 644 "$static_lib" "$prefix/lib/libpluriverse.a"
cat >"$prefix/lib/pkgconfig/pluriverse.pc" <<PC
prefix=$prefix
exec_prefix=\${prefix}
libdir=\${exec_prefix}/lib
includedir=\${prefix}/include

Name: pluriverse
Description: Delta-state CRDTs over columnar batches (the C face of pluriverse)
Version: $version
Libs: -L\${libdir} -lpluriverse
Libs.private: -lpthread -ldl -lm
Cflags: -I\${includedir}
PC
echo "installed pluriverse $version into $prefix (pkg-config: PKG_CONFIG_PATH=$prefix/lib/pkgconfig)"
