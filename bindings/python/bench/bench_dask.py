"""Partitioned merge on a Dask LocalCluster (pluriverse.dask.merge) vs the single-process call.

Not part of the test suite. Build the native module optimized first:

    PLURIVERSE_PY_RELEASE=1 bash scripts/test-python.sh
    .venv/bin/python bindings/python/bench/bench_dask.py [N] [PARTS]

Work: two replicas of an ``MVMap<int64, int64>`` with N records each (default 10,000,000):
replica A wrote keys 0..N, replica B keys N/2..3N/2 concurrently (every shared key ends with
two values). Both are on disk, file to file:

- single process: read A's and B's state files, decode A, decode and join B
  (``join_bytes``), encode, write the result (atomically); one fresh Python process.
- distributed: the same states as PARTS partition files each, ``pluriverse.dask.merge`` on a
  ``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)`` (started before the
  clock), each task doing the same read / decode / join / encode / write for its partition.

Peak memory: the peak RSS (``VmHWM``) of the single process, and of each worker process
(read with ``client.run`` after the merges), against the whole merged state's size in bytes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def peak_rss() -> int:
    """This process's peak resident set size in bytes (Linux ``VmHWM``: unlike ``ru_maxrss``,
    it is not inherited from the parent across fork and exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def single(a: str, b: str, out: str) -> None:
    """The single-process merge, file to file; prints seconds and peak RSS (bytes)."""
    import pluriverse as pv
    import pluriverse.dask as pdask

    t = time.perf_counter()
    state = pv.MVMap.from_bytes(Path(a).read_bytes(), "bench")
    state.merge(Path(b).read_bytes())
    pdask._write_atomic(out, state.to_bytes())
    dt = time.perf_counter() - t
    print(dt, peak_rss())


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def main() -> None:
    import numpy as np
    from dask.distributed import Client, LocalCluster

    import pluriverse as pv
    import pluriverse.dask as pdask

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    parts = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    root = Path(tempfile.mkdtemp(prefix="bench_dask_"))
    try:
        t = time.perf_counter()
        a, b = pv.MVMap("a", "int64", "int64"), pv.MVMap("b", "int64", "int64")
        a.set_many(np.arange(n, dtype=np.int64), np.arange(n, dtype=np.int64))
        b.set_many(np.arange(n // 2, n + n // 2, dtype=np.int64), np.arange(n, dtype=np.int64))
        (root / "a.arrow").write_bytes(a.to_bytes())
        (root / "b.arrow").write_bytes(b.to_bytes())
        pdask.write_partitioned(a, root / "a", parts)
        pdask.write_partitioned(b, root / "b", parts)
        print(f"setup: {time.perf_counter() - t:.1f} s", flush=True)
        del a, b

        def run_single() -> tuple[float, int]:
            out = subprocess.run(
                [sys.executable, __file__, "--single", str(root / "a.arrow"), str(root / "b.arrow"), str(root / "ab.arrow")],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()
            return float(out[0]), int(out[1])

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(
            cluster
        ) as client:
            client.run(lambda: __import__("pluriverse.dask"))  # imports before the clock
            idle_rss = client.run(peak_rss)
            singles, dists = [], []
            for _ in range(3):
                singles.append(run_single()[0])
                t = time.perf_counter()
                pdask.merge(client, [root / "a", root / "b"], root / "ab")
                dists.append(time.perf_counter() - t)
                print(f"single {singles[-1]:.2f} s, distributed {dists[-1]:.2f} s", flush=True)
            worker_rss = client.run(peak_rss)
        single_rss = run_single()[1]

        merged = pv.MVMap.from_bytes((root / "ab.arrow").read_bytes(), "x")
        back = pdask.read_partitioned(root / "ab", "x")
        assert back.digest() == merged.digest() and back.to_bytes() == merged.to_bytes()
        whole = (root / "ab.arrow").stat().st_size
        inputs = (root / "a.arrow").stat().st_size + (root / "b.arrow").stat().st_size
        s, d = min(singles), min(dists)
        print(f"\nN = {n:,} records per replica, {merged.entry_count():,} entries merged, {parts} partitions")
        print(f"input states {mib(inputs)}, merged state {mib(whole)}")
        print(f"single process (file to file): best {s:.2f} s, peak RSS {mib(single_rss)}")
        print(f"distributed, 2 workers:        best {d:.2f} s ({d / s:.2f}x single)")
        for addr, rss in sorted(worker_rss.items()):
            print(
                f"  worker {addr}: peak RSS {mib(rss)} ({rss / whole:.2f}x the merged state),"
                f" {mib(idle_rss[addr])} before the merges"
            )
        print("result equal to the single-process merge (digest and bytes)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--single":
        single(*sys.argv[2:5])
    else:
        main()
