#!/usr/bin/env bash
# The whole test suite: Rust (unit, integration, doc tests, the simulator's seed sweep),
# C (gcc + valgrind, and an install into a prefix used through pkg-config) and Python (the
# abi3 wheel installed into a fresh virtualenv without Rust on PATH, under pytest).
# Sets itself up: needs the Rust toolchain, python3 (3.11+), gcc, pkg-config; installs the rest
# it needs (maturin into .venv, the test dependencies into the wheel's virtualenv; valgrind
# through apt-get if missing, and a font file for the PNG plot test).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=need.sh
. scripts/need.sh
need_font # `simulate --plot run.png` (bindings/cli/tests/plot.rs) draws text with a font file

echo "== Rust: cargo test --workspace (unit, integration and doc tests)"
cargo test --workspace --locked 2>&1

# shellcheck source=one-build.sh
. scripts/one-build.sh # the release builds below share one compile of arrow, core and replica
echo "== Rust: tests that need optimized code (cargo test --release)"
cargo test --release --locked -p pluriverse -p pluriverse-sim "${one_build[@]}" \
    --test churn --test join_large --test sweep 2>&1

echo "== C: libpluriverse, tests under valgrind (the header was checked by cargo test above)"
PLURIVERSE_C_HEADER_CHECKED=1 bash scripts/test-c.sh

echo "== Python: the pluriverse wheel under pytest (PLURIVERSE_PY_FROM_SOURCE=1: from source)"
bash scripts/test-python.sh

echo "== all tests passed"
