"""pluriverse from Python against the same calls in Rust, and against the CRDT libraries a
Python user would pick (pycrdt = Yrs, loro). Not part of the test suite.

Setup (once): the release build of the package and the peers, into the repository's .venv:

    PLURIVERSE_PY_RELEASE=1 bash scripts/test-python.sh     # or maturin develop --release
    .venv/bin/pip install pycrdt loro

Run: .venv/bin/python bindings/python/bench/bench.py [N]   (default N = 1_000_000)

Work measured (best of 3 unless noted):
- set_many: one batch write of N records (utf8 keys, int64 values) into an empty MVMap;
  set_many_u64 the same with uint64 keys (spread: i times an odd constant).
- merge: two replicas each wrote N keys, half of them shared (written concurrently); the
  first imports the second: from bytes (decode + join, what a receiving replica does) and
  from the state object (join only).
The Rust side runs the same calls through pluriverse-any (what the native module calls), in
the example binary bindings/python/examples/bench_rust.rs.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import numpy as np
import pyarrow as pa

import pluriverse as pv

ROOT = Path(__file__).resolve().parents[3]


def best(repeat: int, setup: Callable[[], Any], run: Callable[[Any], Any]) -> float:
    times = []
    for _ in range(repeat):
        x = setup()
        t = time.perf_counter()
        run(x)
        times.append(time.perf_counter() - t)
    return min(times)


def columns(start: int, n: int) -> tuple[pa.Array, pa.Array]:
    keys = pa.array([f"k{i}" for i in range(start, start + n)], pa.utf8())
    values = pa.array(np.arange(start, start + n, dtype=np.int64))
    return keys, values


def bench_pluriverse(n: int, repeat: int) -> Dict[str, float]:
    ka, va = columns(0, n)
    kb, vb = columns(n // 2, n)
    out: Dict[str, float] = {}
    out["set_many"] = best(repeat, lambda: pv.MVMap("a"), lambda a: a.set_many(ka, va))
    ku = pa.array(np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))
    vu = pa.array(np.arange(n, dtype=np.int64))
    out["set_many_u64"] = best(repeat, lambda: pv.MVMap("a", key_type="uint64", value_type="int64"),
                               lambda a: a.set_many(ku, vu))
    a = pv.MVMap("a")
    a.set_many(ka, va)
    b = pv.MVMap("b")
    b.set_many(kb, vb)
    b_bytes = b.to_bytes()
    out["merge_bytes"] = best(repeat, lambda: a.copy(), lambda x: x.merge(b_bytes))
    out["merge_state"] = best(repeat, lambda: a.copy(), lambda x: x.merge(b))
    out["to_bytes"] = best(repeat, lambda: None, lambda _: b.to_bytes())
    merged = a.copy()
    merged.merge(b_bytes)
    assert len(merged) == n + n // 2
    out["bytes_mb"] = len(b_bytes) / 1e6
    return out


def bench_rust(n: int, repeat: int) -> Dict[str, float]:
    cmd = ["cargo", "run", "--quiet", "--release", "-p", "pluriverse-python", "--example", "bench_rust", "--", str(n), str(repeat)]
    res = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(res.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def bench_pycrdt(n: int) -> Optional[Dict[str, float]]:
    try:
        import pycrdt
    except ImportError:
        return None
    a, b = pycrdt.Doc(), pycrdt.Doc()
    t = time.perf_counter()
    a["m"] = pycrdt.Map({f"k{i}": i for i in range(n)})
    build = time.perf_counter() - t
    b["m"] = pycrdt.Map({f"k{i}": i for i in range(n // 2, n // 2 + n)})
    update = b.get_update(a.get_state())
    t = time.perf_counter()
    a.apply_update(update)
    merge = time.perf_counter() - t
    assert len(a["m"]) == n + n // 2
    return {"build": build, "merge_bytes": merge, "bytes_mb": len(update) / 1e6}


def bench_loro(n: int) -> Optional[Dict[str, float]]:
    try:
        import loro
    except ImportError:
        return None
    a, b = loro.LoroDoc(), loro.LoroDoc()  # random peer ids: two replicas
    t = time.perf_counter()
    ma = a.get_map("m")
    for i in range(n):
        ma.insert(f"k{i}", i)
    a.commit()
    build = time.perf_counter() - t
    mb = b.get_map("m")
    for i in range(n // 2, n // 2 + n):
        mb.insert(f"k{i}", i)
    b.commit()
    update = b.export(loro.ExportMode.Updates(a.oplog_vv))
    t = time.perf_counter()
    a.import_(update)
    merge = time.perf_counter() - t
    assert len(a.get_map("m")) == n + n // 2
    return {"build": build, "merge_bytes": merge, "bytes_mb": len(update) / 1e6}


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    repeat = 3
    print(f"# N = {n:,}; {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    py = bench_pluriverse(n, repeat)
    rs = bench_rust(n, repeat)
    print("\n## pluriverse from Python vs the same calls in Rust (best of 3)\n")
    print("| work | Python | Rust | Python / Rust |")
    print("|---|---|---|---|")
    for k, label in [("set_many", f"set_many, {n:,} records"), ("set_many_u64", "set_many, uint64 keys, int64 values"), ("merge_bytes", "merge from bytes (decode + join)"),
                     ("merge_state", "merge a state object (join)"), ("to_bytes", "to_bytes")]:
        print(f"| {label} | {py[k] * 1e3:.1f} ms | {rs[k] * 1e3:.1f} ms | {py[k] / rs[k]:.2f} |")
    print(f"\nupdate size: {py['bytes_mb']:.1f} MB")
    peers = {"pycrdt (Yrs)": bench_pycrdt(n), "loro": bench_loro(n)}
    print("\n## Merging two replicas' maps (half the keys shared, written concurrently): the import side\n")
    print("| library | import the other replica's update | pluriverse is faster by | update size | building one map |")
    print("|---|---|---|---|---|")
    print(f"| pluriverse | {py['merge_bytes'] * 1e3:.1f} ms | | {py['bytes_mb']:.1f} MB | {py['set_many'] * 1e3:.0f} ms (set_many) |")
    for name, r in peers.items():
        if r is None:
            print(f"| {name} | not installed | | | |")
        else:
            print(f"| {name} | {r['merge_bytes']:.2f} s | {r['merge_bytes'] / py['merge_bytes']:.0f}x | {r['bytes_mb']:.1f} MB | {r['build']:.2f} s |")


if __name__ == "__main__":
    main()
