#!/usr/bin/env bash
# The whole test suite: every Rust test (unit, integration, doc tests) of the workspace.
# Sets itself up: needs only the Rust toolchain; cargo fetches the crates.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== Rust: cargo test --workspace (unit, integration and doc tests)"
cargo test --workspace --locked 2>&1

echo "== Rust: long-running tests that need optimized code (cargo test --release)"
cargo test --release --locked -p pluriverse --test churn 2>&1
