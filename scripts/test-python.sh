#!/usr/bin/env bash
# The Python tests. By default they run against the package as users install it: the abi3
# wheel built by `maturin build --release`, installed into a fresh virtualenv with no Rust
# toolchain on PATH (scripts/test-wheel.sh). From the source tree instead:
#
#   PLURIVERSE_PY_FROM_SOURCE=1 bash scripts/test-python.sh
#
# sets up .venv (pinned tools), builds the package from bindings/python into it with
# `maturin develop` (a debug build: debug assertions and overflow checks on;
# PLURIVERSE_PY_RELEASE=1 for optimized code) and runs the same suite. Needs python3 (>= 3.11,
# with venv and pip) and the Rust toolchain; fetches everything else from PyPI and crates.io.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${PLURIVERSE_PY_FROM_SOURCE:-0}" != 1 ]; then
    exec bash scripts/test-wheel.sh
fi

VENV=.venv
PY="$VENV/bin/python"

echo "== Python: virtualenv $VENV with pinned tools"
if [ ! -x "$PY" ]; then
    python3 -m venv "$VENV"
fi
"$PY" -m pip install --quiet --disable-pip-version-check maturin==1.16.0 -r scripts/python-test-deps.txt

# `maturin develop` builds in the workspace's target/ and installs the package in editable
# mode (`pip install ./bindings/python` works too, but packs a wheel each time). The tests run
# on a debug build: it compiles in less time than the tests would save, and keeps the core's
# debug assertions and overflow checks on. No debug info, no incremental cache: neither is
# read here. PLURIVERSE_PY_RELEASE=1 builds optimized code (for the benchmark).
if [ "${PLURIVERSE_PY_RELEASE:-0}" = 1 ]; then
    echo "== Python: build the native module (release) into $VENV"
    "$VENV/bin/maturin" develop --release --quiet -m bindings/python/Cargo.toml 2>&1
else
    echo "== Python: build the native module (debug) into $VENV"
    echo "   note: a debug build runs about 25x slower than release; for real work build the"
    echo "   optimized module: PLURIVERSE_PY_RELEASE=1 bash scripts/test-python.sh, or"
    echo "   $VENV/bin/maturin develop --release -m bindings/python/Cargo.toml"
    CARGO_PROFILE_DEV_DEBUG=0 CARGO_INCREMENTAL=0 \
        "$VENV/bin/maturin" develop --quiet -m bindings/python/Cargo.toml 2>&1
fi

echo "== Python: pytest bindings/python/tests"
"$PY" -m pytest -q -p no:cacheprovider bindings/python/tests
