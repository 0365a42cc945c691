#!/usr/bin/env python3
"""Time from the heal to equal digests, 5 nodes at 20% loss: median and worst over seeds.

Runs `pluriverse cluster --nodes 5 --loss 0.2 ... --json` once per seed (real node
processes, the UDP fault proxy, kills, restores from old copies and partitions during the
write phase), takes each report's `convergence.after_heal_seconds` (from the moment every
node is up and every proxy unblocked to the first poll where every node's `/status` shows
one digest; polled every 50 ms) and prints the table for benches/README.md with the
machine's CPU and ISA. Every run must PASS: a failed run is reported and fails the script.

    cargo build --release -p pluriverse-cli
    python3 benches/cluster_heal.py --bin target/release/pluriverse --seeds 1-8
"""

import argparse
import json
import statistics
import subprocess
import sys


def seeds(spec):
    lo, _, hi = spec.partition("-")
    return range(int(lo), int(hi or lo) + 1)


def lscpu():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        return "lscpu unavailable"
    info = dict(
        (k.strip(), v.strip())
        for k, _, v in (line.partition(":") for line in out.splitlines())
    )
    flags = set(info.get("Flags", "").split())
    isa = [f for f in ("avx2", "avx512f", "neon", "asimd") if f in flags]
    return "{} ({}), {} CPUs, ISA {}".format(
        info.get("Model name", "?"),
        info.get("Architecture", "?"),
        info.get("CPU(s)", "?"),
        "+".join(isa) or "baseline",
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="target/release/pluriverse")
    ap.add_argument("--seeds", default="1-8", help="a seed or a range, e.g. 1-8")
    ap.add_argument("--duration", default="3")
    ap.add_argument("--kills", default="3")
    ap.add_argument("--partitions", default="1")
    args = ap.parse_args()
    heal, failed = [], []
    for s in seeds(args.seeds):
        cmd = [
            args.bin, "cluster", "--nodes", "5", "--loss", "0.2", "--seed", str(s),
            "--duration", args.duration, "--kills", args.kills,
            "--partitions", args.partitions, "--timeout", "60", "--json",
        ]
        p = subprocess.run(cmd, capture_output=True, text=True)
        r = json.loads(p.stdout.splitlines()[0])
        if r["verdict"] != "PASS":
            failed.append((s, r.get("error"), r["check"]["failures"][:3]))
            continue
        t = r["convergence"]["after_heal_seconds"]
        heal.append(t)
        print(f"seed {s}: equal digests {t:.2f} s after the heal "
              f"({r['faults']['kills']} kills, {r['faults']['restores_from_copy']} restores "
              f"from a copy, {r['writes']['acknowledged']} writes)", file=sys.stderr)
    print(f"machine: {lscpu()}")
    if heal:
        print(f"5 nodes, 20% loss, {len(heal)} seeds ({args.seeds}): heal to equal digests "
              f"median {statistics.median(heal):.2f} s, worst {max(heal):.2f} s, "
              f"best {min(heal):.2f} s")
    for f in failed:
        print(f"seed {f[0]} FAILED: {f[1]} {f[2]}")
    sys.exit(1 if failed or not heal else 0)


if __name__ == "__main__":
    main()
