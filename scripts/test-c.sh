#!/usr/bin/env bash
# The C face: checks that the committed header equals the one cbindgen generates, builds
# libpluriverse (release), compiles the C tests, the example, the README snippets and the case-corpus
# runner with gcc, and runs each plainly and under valgrind (no errors, no leaks).
#
#   bash scripts/test-c.sh           run everything; non-zero exit on any failure
#   bash scripts/test-c.sh --bless   first write the generated header over the committed one
#
# PLURIVERSE_C_PROFILE=dev tests an unoptimized library instead (debug assertions and
# overflow checks on). The default is release: the library as users link it.
#
# Sets itself up: needs the Rust toolchain and gcc; installs valgrind and pkg-config with apt-get when they are
# missing and that is possible.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bless=0
case "${1:-}" in
--bless) bless=1 ;;
"") ;;
*) echo "usage: bash scripts/test-c.sh [--bless]" >&2; exit 2 ;;
esac

fail() { echo "test-c.sh: error: $*" >&2; exit 1; }

command -v cargo >/dev/null || fail "cargo is not installed (install Rust: https://rustup.rs)"
command -v gcc >/dev/null || fail "gcc is not installed (apt-get install gcc)"
# shellcheck source=need.sh
. scripts/need.sh
need valgrind valgrind
need pkg-config pkgconf

case "${PLURIVERSE_C_PROFILE:-release}" in
release) profile=(--release) ;;
dev) profile=() ;;
*) fail "PLURIVERSE_C_PROFILE must be release or dev" ;;
esac
# The header: tests/header.rs compares include/pluriverse.h with what cbindgen generates
# (scripts/test.sh has run it in `cargo test --workspace` and sets PLURIVERSE_C_HEADER_CHECKED).
if [ "$bless" = 1 ]; then
    echo "== C: blessing bindings/c/include/pluriverse.h (cargo test -p pluriverse-c --test header)"
    PLURIVERSE_BLESS_HEADER=1 cargo test --locked -p pluriverse-c --test header
elif [ "${PLURIVERSE_C_HEADER_CHECKED:-}" != 1 ]; then
    echo "== C: the committed header equals the generated one (cargo test -p pluriverse-c --test header)"
    cargo test --locked -p pluriverse-c --test header
fi

# shellcheck source=one-build.sh
. scripts/one-build.sh
echo "== C: cargo build ${profile[*]} --locked -p pluriverse-c ${one_build[*]}"
json=$(mktemp)
work=$(mktemp -d)
trap 'rm -rf "$json" "$work"' EXIT
cargo build "${profile[@]}" --locked -p pluriverse-c "${one_build[@]}" --message-format=json-render-diagnostics >"$json"
static_lib=$(grep '"reason":"compiler-artifact"' "$json" | grep -o '"[^"]*/libpluriverse\.a"' | tr -d '"' | tail -n 1)
[ -n "$static_lib" ] && [ -f "$static_lib" ] || fail "cannot find libpluriverse.a"
lib_dir=$(dirname "$static_lib")
[ -f "$lib_dir/libpluriverse.so" ] || fail "cannot find libpluriverse.so next to libpluriverse.a"

cflags=(-std=c11 -Wall -Wextra -Werror -pedantic -O1 -g -I bindings/c/include)
libs=(-lpthread -ldl -lm)

echo "== C: the header compiles on its own (C99, C11, C++)"
printf '#include "pluriverse.h"\nint main(void) { return pv_version() == 0; }\n' >"$work/header.c"
gcc -std=c99 -Wall -Wextra -Werror -pedantic -I bindings/c/include -c "$work/header.c" -o "$work/h99.o"
gcc -std=c11 -Wall -Wextra -Werror -pedantic -I bindings/c/include -c "$work/header.c" -o "$work/h11.o"
if command -v g++ >/dev/null; then
    g++ -x c++ -std=c++11 -Wall -Wextra -Werror -pedantic -I bindings/c/include -c "$work/header.c" -o "$work/hxx.o"
fi

# The README snippet: the first ```c block after the marker line.
sed -n '/<!-- snippet: compiled by scripts\/test-c.sh -->/,$p' bindings/c/README.md |
    sed -n '/^```c$/,/^```$/p' | sed '1d' | sed '/^```$/,$d' >"$work/readme_snippet.c"
[ -s "$work/readme_snippet.c" ] || fail "no snippet found in bindings/c/README.md"
# and the top-level README's "From C" program
sed -n '/<!-- snippet: compiled and run by scripts\/test-c.sh -->/,$p' README.md |
    sed -n '/^```c$/,/^```$/p' | sed '1d' | sed '/^```$/,$d' >"$work/top_readme.c"
[ -s "$work/top_readme.c" ] || fail "no C snippet found in README.md"
# and its replicas-syncing program
sed -n '/<!-- snippet: replicas, compiled and run by scripts\/test-c.sh -->/,$p' README.md |
    sed -n '/^```c$/,/^```$/p' | sed '1d' | sed '/^```$/,$d' >"$work/top_readme_replicas.c"
[ -s "$work/top_readme_replicas.c" ] || fail "no replicas C snippet found in README.md"

programs=()
build() { # name source...
    local name=$1
    shift
    gcc "${cflags[@]}" "$@" "$static_lib" "${libs[@]}" -o "$work/$name"
    programs+=("$name")
}
echo "== C: compiling the tests, the example, the README snippet and the corpus runner"
for t in bindings/c/tests/test_*.c; do
    build "$(basename "$t" .c)" "$t"
done
build example_merge bindings/c/examples/merge.c
build readme_snippet "$work/readme_snippet.c"
build top_readme "$work/top_readme.c"
build top_readme_replicas "$work/top_readme_replicas.c"
build corpus bindings/c/tests/corpus.c
# the shared library links and runs too
gcc "${cflags[@]}" bindings/c/examples/merge.c -L "$lib_dir" -Wl,-rpath,"$lib_dir" -lpluriverse "${libs[@]}" -o "$work/example_merge_shared"

args_for() {
    case "$1" in
    corpus) echo "$root/testdata" ;;
    test_decode_corpus) echo "$root/fuzz/seeds/decode" ;;
    top_readme_replicas) echo "$(mktemp -d -p "$work") $(mktemp -d -p "$work")" ;;
    *) echo "" ;;
    esac
}

echo "== C: running"
for p in "${programs[@]}" example_merge_shared; do
    # shellcheck disable=SC2046
    "$work/$p" $(args_for "$p") >"$work/$p.out" 2>&1 || { cat "$work/$p.out"; fail "$p failed"; }
    tail -n 1 "$work/$p.out"
done

echo "== C: installed into a prefix (scripts/install-c.sh), built with pkg-config"
prefix="$work/prefix"
PLURIVERSE_C_CARGO_ARGS="${one_build[*]}" bash scripts/install-c.sh "$prefix" >"$work/install.out" 2>&1 || { cat "$work/install.out"; fail "install-c.sh failed"; }
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
# shellcheck disable=SC2046
gcc -std=c11 -Wall -Wextra -Werror bindings/c/examples/merge.c $(pkg-config --cflags --libs pluriverse) \
    -o "$work/pc_shared" || fail "gcc \$(pkg-config --cflags --libs pluriverse) failed"
LD_LIBRARY_PATH="$prefix/lib" "$work/pc_shared" >"$work/pc_shared.out" 2>&1 || { cat "$work/pc_shared.out"; fail "the pkg-config (shared) build failed to run"; }
LD_LIBRARY_PATH="$prefix/lib" ldd "$work/pc_shared" | grep "$prefix/lib/libpluriverse.so" >/dev/null \
    || fail "the pkg-config build does not link the installed libpluriverse.so"
# shellcheck disable=SC2046
gcc -std=c11 -Wall -Wextra -Werror bindings/c/examples/merge.c $(pkg-config --cflags pluriverse) \
    -L "$prefix/lib" -Wl,-Bstatic -lpluriverse -Wl,-Bdynamic \
    $(pkg-config --static --libs-only-l pluriverse | sed 's/-lpluriverse//') -o "$work/pc_static" \
    || fail "the static pkg-config build failed"
if ldd "$work/pc_static" | grep libpluriverse >/dev/null; then fail "the static build links libpluriverse.so"; fi
"$work/pc_static" >"$work/pc_static.out" 2>&1 || { cat "$work/pc_static.out"; fail "the pkg-config (static) build failed to run"; }
cmp -s "$work/pc_shared.out" "$work/example_merge.out" || fail "the pkg-config build printed other output than the in-tree build"
cmp -s "$work/pc_static.out" "$work/example_merge.out" || fail "the static pkg-config build printed other output than the in-tree build"
echo "pkg-config: shared and static builds against $prefix run and print what the in-tree build prints"
unset PKG_CONFIG_PATH

echo "== C: running under valgrind (no errors, no definite or indirect leaks)"
vg=(valgrind -q --leak-check=full --show-leak-kinds=definite,indirect
    --errors-for-leak-kinds=definite,indirect --error-exitcode=1)
for p in "${programs[@]}"; do
    # shellcheck disable=SC2046
    "${vg[@]}" "$work/$p" $(args_for "$p") >"$work/$p.vg" 2>&1 || { cat "$work/$p.vg"; fail "$p failed under valgrind"; }
    echo "$p: valgrind clean"
done
echo "== C: all passed"
