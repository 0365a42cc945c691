#!/usr/bin/env bash
# The whole test suite: Rust (unit, integration, doc tests, the simulator's seed sweep),
# Python (pytest over the pip-installable package) and C (gcc + valgrind).
# Sets itself up: needs the Rust toolchain, python3, gcc; installs the rest it needs
# (maturin, pytest, pyarrow, numpy into .venv; valgrind through apt-get if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== Rust: cargo test --workspace (unit, integration and doc tests)"
cargo test --workspace --locked 2>&1

echo "== Rust: tests that need optimized code (cargo test --release)"
cargo test --release --locked -p pluriverse --test churn 2>&1
cargo test --release --locked -p pluriverse-sim --test sweep 2>&1

echo "== C: libpluriverse, header check, tests under valgrind"
bash scripts/test-c.sh

echo "== Python: the pluriverse package under pytest"
bash scripts/test-python.sh

echo "== all tests passed"
