#!/usr/bin/env bash
# The version-vector benches in two builds, run in ONE invocation, interleaved group by group:
#
#   base   — the plain baseline x86-64 build (SSE2; the kernels pick AVX2/AVX-512 at run time)
#   native — RUSTFLAGS="-C target-cpu=native", in its own target dir (target/native)
#
# and prints, per bench, the mean time of each build and the ratio base/native time
# (> 1: the native build is faster), plus each kernel's speed-up over the naive loop of the
# baseline build. Groups alternate which build runs first, so drift in the machine's load
# falls on both.
#
# usage: benches/vv_native.sh [SIZES] [FILTER]
#   SIZES   PLURIVERSE_BENCH_SIZES of benches/vv.rs (default l1,4k: the in-cache sizes)
#   FILTER  a regex on group names, e.g. 'vv_merge|vv_compare' (default: every group)
# environment: VV_NATIVE_FULL=1 keeps criterion's full measurement times (default: quick).
set -euo pipefail
cd "$(dirname "$0")/.."

sizes=${1:-l1,4k}
filter=${2:-.}
out=target/vv_native
export PLURIVERSE_BENCH_SIZES=$sizes
if [ -z "${VV_NATIVE_FULL:-}" ]; then export PLURIVERSE_BENCH_QUICK=1; fi

# The bench executable of one build: cargo prints it as a JSON artifact message.
bench_exe() {
    python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "vv" and m.get("executable"):
        print(m["executable"])
'
}

echo "building the baseline bench" >&2
base=$(cargo bench -p pluriverse-benches --bench vv --no-run --message-format=json | bench_exe)
echo "building the native bench (target/native)" >&2
native=$(RUSTFLAGS="-C target-cpu=native" CARGO_TARGET_DIR=target/native \
    cargo bench -p pluriverse-benches --bench vv --no-run --message-format=json | bench_exe)
[ -x "$base" ] && [ -x "$native" ] || { echo "no bench executable" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out"
{
    grep -m1 'model name' /proc/cpuinfo
    grep -o 'avx512[a-z_0-9]*' /proc/cpuinfo | sort -u | tr '\n' ' '
    echo
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out/machine.txt"

groups=$("$base" --bench --list 2>/dev/null | sed -n 's/^\(vv_[a-z_]*\/[^/]*\)\/.*: benchmark$/\1/p' |
    awk '!seen[$0]++' | grep -E "$filter" || true)
[ -n "$groups" ] || { echo "no group matches '$filter'" >&2; exit 1; }

i=0
for g in $groups; do
    if [ $((i % 2)) -eq 0 ]; then order="base native"; else order="native base"; fi
    for build in $order; do
        exe=$base
        [ "$build" = native ] && exe=$native
        echo "== $g ($build)" >&2
        CRITERION_HOME="$out/$build" "$exe" --bench "^$g/" >/dev/null
    done
    i=$((i + 1))
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/machine.txt"

python3 - "$out" <<'EOF'
import json, pathlib, sys

out = pathlib.Path(sys.argv[1])

def load(build):
    res = {}
    for est in (out / build).glob("**/new/estimates.json"):
        b = json.loads((est.parent / "benchmark.json").read_text())
        name = b["function_id"] or ""
        if b.get("value_str"):
            name = f"{name}/{b['value_str']}"
        res.setdefault(b["group_id"], {})[name] = json.loads(est.read_text())["mean"]["point_estimate"]
    return res

base, native = load("base"), load("native")

def fmt(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"

ratios = []
for g in sorted(base):
    print(f"\n{g}   (base/native: >1 = native faster; xN = naive loop of base / this)")
    naive = base[g].get("naive_loop")
    for name, t in sorted(base[g].items(), key=lambda kv: kv[1]):
        n = native.get(g, {}).get(name)
        r = f"{t / n:6.2f}" if n else "     -"
        sp = f"x{naive / t:5.2f}" if naive else ""
        print(f"  {name:22} base {fmt(t):>10}  native {fmt(n) if n else '-':>10}  base/native {r}  {sp}")
        if n and name == "dispatch_rayon":
            ratios.append(t / n)
if ratios:
    from math import exp, log
    gm = exp(sum(map(log, ratios)) / len(ratios))
    print(f"\ndispatch_rayon base/native time: geometric mean {gm:.3f} over {len(ratios)} groups,"
          f" min {min(ratios):.3f}, max {max(ratios):.3f}")
EOF
