#!/usr/bin/env bash
# The Python tests: sets up .venv (pinned tools), builds the `pluriverse` package from
# bindings/python into it, and runs its pytest suite. Needs only python3 (>= 3.9, with venv
# and pip) and the Rust toolchain; fetches everything else from PyPI and crates.io.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
PY="$VENV/bin/python"

echo "== Python: virtualenv $VENV with pinned tools"
if [ ! -x "$PY" ]; then
    python3 -m venv "$VENV"
fi
"$PY" -m pip install --quiet --disable-pip-version-check \
    maturin==1.16.0 pytest==9.0.3 pyarrow==26.0.0 numpy==2.4.6

echo "== Python: build the native module into $VENV (maturin develop)"
# `maturin develop` builds in the workspace's target/ (warm after cargo test) and installs the
# package in editable mode; `pip install ./bindings/python` works too but builds in a fresh
# wheel each time.
"$VENV/bin/maturin" develop --release --quiet -m bindings/python/Cargo.toml 2>&1

echo "== Python: pytest bindings/python/tests"
"$PY" -m pytest -q -p no:cacheprovider bindings/python/tests
