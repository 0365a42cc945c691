"""Update sizes of the peers in bench.py (pycrdt = Yrs, loro) for the same update, without
the pluriverse package: replica B's map of N keys `k{i}` (i from N/2) and int values, as
the update the first replica imports. The pluriverse side of the comparison is the Rust
bench `mvmap_wire` (benches/benches/mvmap.rs) or bench.py itself.

Run: .venv/bin/python bindings/python/bench/peer_bytes.py [N]   (.venv/bin/pip install pycrdt loro)
"""

from __future__ import annotations

import sys


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    import loro
    import pycrdt

    a, b = pycrdt.Doc(), pycrdt.Doc()
    a["m"] = pycrdt.Map({f"k{i}": i for i in range(n)})
    b["m"] = pycrdt.Map({f"k{i}": i for i in range(n // 2, n // 2 + n)})
    print(f"pycrdt {pycrdt.__version__ if hasattr(pycrdt, '__version__') else ''}: {len(b.get_update(a.get_state()))} bytes")
    la, lb = loro.LoroDoc(), loro.LoroDoc()
    ma = la.get_map("m")
    for i in range(n):
        ma.insert(f"k{i}", i)
    la.commit()
    mb = lb.get_map("m")
    for i in range(n // 2, n // 2 + n):
        mb.insert(f"k{i}", i)
    lb.commit()
    print(f"loro: {len(lb.export(loro.ExportMode.Updates(la.oplog_vv)))} bytes")


if __name__ == "__main__":
    main()
