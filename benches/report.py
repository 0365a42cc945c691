#!/usr/bin/env python3
"""Prints criterion results (target/criterion/**/new/estimates.json) as a table of mean
times per bench, with each bench's ratio to a baseline of the same group.

usage: python3 benches/report.py [GROUP_PREFIX] [--baseline NAME] [--root DIR]
(DIR defaults to target/criterion)
"""
import json
import pathlib
import sys

root = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"
if "--root" in sys.argv:
    root = pathlib.Path(sys.argv[sys.argv.index("--root") + 1])
flag_values = {sys.argv[i + 1] for i, a in enumerate(sys.argv[:-1]) if a.startswith("--")}
args = [a for a in sys.argv[1:] if not a.startswith("--") and a not in flag_values]
prefix = args[0] if args else ""
baseline = None
if "--baseline" in sys.argv:
    baseline = sys.argv[sys.argv.index("--baseline") + 1]

groups = {}
for est in root.glob("**/new/estimates.json"):
    bench = json.loads((est.parent / "benchmark.json").read_text())
    group = bench["group_id"]
    if not group.startswith(prefix):
        continue
    name = bench["function_id"] or ""
    if bench.get("value_str"):
        name = f"{name}/{bench['value_str']}"
    mean = json.loads(est.read_text())["mean"]["point_estimate"]
    groups.setdefault(group, {})[name] = mean


def fmt(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


for group in sorted(groups):
    benches = groups[group]
    base = baseline if baseline in benches else None
    print(f"\n{group}")
    for name, ns in sorted(benches.items(), key=lambda kv: kv[1]):
        ratio = f"  x{benches[base] / ns:.2f} vs {base}" if base else ""
        print(f"  {name:28} {fmt(ns):>10}{ratio}")
