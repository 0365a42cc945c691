#!/usr/bin/env bash
# The Python package as a user installs it: builds the abi3 wheel (`maturin build --release`),
# installs it into a fresh virtualenv whose PATH holds no Rust toolchain, and runs the pytest
# suite there against the installed package (not the source tree).
#
#   bash scripts/test-wheel.sh            build, install, test
#   WHEEL=path.whl bash scripts/test-wheel.sh   test a wheel built elsewhere
#
# Then the same wheel and suite under CPython 3.9, the oldest version the wheel is for
# (scripts/python39.sh unpacks it from Debian's archive; PLURIVERSE_PY39=path/to/python3.9
# uses another, PLURIVERSE_SKIP_PY39=1 skips it with a message).
#
# The wheel is left in target/wheels/. Needs python3 (>= 3.11, with venv and pip) and, to
# build, the Rust toolchain; fetches maturin, virtualenv and the test dependencies from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

fail() { echo "test-wheel.sh: error: $*" >&2; exit 1; }
command -v python3 >/dev/null || fail "python3 is not installed"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    fail "python3 is $(python3 -V 2>&1): the suite's pinned tools need 3.11 or later (the wheel itself serves 3.9+; README: Python)"

wheel=${WHEEL:-}
BUILD_VENV=.venv
[ -x "$BUILD_VENV/bin/python" ] || python3 -m venv "$BUILD_VENV"
"$BUILD_VENV/bin/python" -m pip install --quiet --disable-pip-version-check maturin==1.16.0 virtualenv==21.15.11
if [ -z "$wheel" ]; then
    command -v cargo >/dev/null || fail "cargo is not installed: the wheel cannot be built here (install Rust: https://rustup.rs, or pass WHEEL=path.whl)"
    echo "== wheel: maturin build --release (abi3, manylinux tag where the toolchain allows)"
    rm -f target/wheels/pluriverse-*.whl
    start=$(date +%s)
    "$BUILD_VENV/bin/maturin" build --release --quiet -m bindings/python/Cargo.toml \
        --out target/wheels 2>&1
    echo "   built in $(( $(date +%s) - start )) s"
    wheel=$(ls target/wheels/pluriverse-*.whl | head -n 1)
fi
[ -f "$wheel" ] || fail "no wheel at '$wheel'"
name=$(basename "$wheel")
echo "== wheel: $name"
case "$name" in
*-cp39-abi3-*) ;;
*) fail "$name is not an abi3 wheel for CPython 3.9+" ;;
esac
case "$name" in
*manylinux*|*musllinux*) ;;
*) echo "   note: no manylinux tag (the toolchain's glibc symbols did not fit a policy); the wheel installs on this machine" ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# PATH without any directory that holds cargo, rustc or rustup
clean_path=""
IFS=: read -r -a dirs <<<"$PATH"
for d in "${dirs[@]}"; do
    [ -n "$d" ] || continue
    if [ -e "$d/cargo" ] || [ -e "$d/rustc" ] || [ -e "$d/rustup" ]; then continue; fi
    clean_path="${clean_path:+$clean_path:}$d"
done
norust=(env -u CARGO_HOME -u RUSTUP_HOME -u CARGO_TARGET_DIR -u RUSTFLAGS PATH="$clean_path")
if "${norust[@]}" bash -c 'command -v cargo || command -v rustc' >/dev/null; then
    fail "could not hide the Rust toolchain from PATH"
fi

echo "== wheel: a fresh virtualenv without Rust on PATH"
"${norust[@]}" python3 -m venv "$work/venv"
PY="$work/venv/bin/python"
"${norust[@]}" "$PY" -m pip install --quiet --disable-pip-version-check "$wheel" -r scripts/python-test-deps.txt
# the package imported is the installed one, not the source tree
cd "$work"
installed=$("${norust[@]}" "$PY" -c 'import pluriverse, pluriverse._native as n; print(n.__file__)')
case "$installed" in
"$work/venv/"*) echo "   pluriverse imports from $installed" ;;
*) fail "pluriverse imports from $installed, not the virtualenv" ;;
esac
cd "$root"

echo "== wheel: pytest bindings/python/tests against the installed wheel ($("$PY" -V))"
"${norust[@]}" "$PY" -m pytest -q -p no:cacheprovider bindings/python/tests

if [ -n "${PLURIVERSE_SKIP_PY39:-}" ]; then
    echo "== wheel: CPython 3.9 SKIPPED (PLURIVERSE_SKIP_PY39 is set)"
    exit 0
fi
echo "== wheel: the same wheel and suite under CPython 3.9 (the oldest the wheel is for)"
py39=${PLURIVERSE_PY39:-}
if [ -z "$py39" ]; then
    py39=$(bash scripts/python39.sh) ||
        fail "no CPython 3.9 (scripts/python39.sh said why above); PLURIVERSE_PY39=path/to/python3.9 uses another, PLURIVERSE_SKIP_PY39=1 skips this part"
fi
# The interpreter from Debian's archive finds its OpenSSL and libffi beside it.
py39_libs=$(dirname "$(dirname "$py39")")/lib/x86_64-linux-gnu
norust39=("${norust[@]}" LD_LIBRARY_PATH="$py39_libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
"${norust39[@]}" "$BUILD_VENV/bin/virtualenv" --quiet -p "$py39" "$work/venv39" >/dev/null
PY39="$work/venv39/bin/python"
"${norust39[@]}" "$PY39" -m pip install --quiet --disable-pip-version-check "$wheel" -r scripts/python39-test-deps.txt
echo "   $("${norust39[@]}" "$PY39" -V), pluriverse from $("${norust39[@]}" "$PY39" -c 'import pluriverse._native as n; print(n.__file__)')"
(cd "$work" && "${norust39[@]}" "$PY39" -c 'import pluriverse' ) || fail "the wheel does not import under CPython 3.9"
"${norust39[@]}" "$PY39" -m pytest -q -p no:cacheprovider bindings/python/tests
