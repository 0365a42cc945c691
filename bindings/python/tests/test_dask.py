"""Partitioning by key hash, and partitioned merges on a Dask LocalCluster (pluriverse.dask):
equal to the single-machine merge, through a worker killed mid-merge and a corrupt input."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator, List

import pytest

import pluriverse as pv
import pluriverse.dask as pdask

README = Path(__file__).resolve().parents[1] / "README.md"


# --- partitioning (no cluster) ---


def _small_states() -> List[Any]:
    m = pv.MVMap("a", key_type="utf8", value_type="int64")
    m.set_many([f"k{i}" for i in range(300)], list(range(300)))
    m.remove_many([f"k{i}" for i in range(0, 300, 7)])
    s = pv.AWSet("a", key_type="int64")
    s.add_many(list(range(200)))
    s.remove_many(list(range(0, 200, 3)))
    c = pv.PNCounterMap("a", key_type="binary")
    c.increment_many([b"x%d" % i for i in range(150)], [5] * 150)
    c.decrement_many([b"x%d" % i for i in range(0, 150, 2)], [2] * 75)
    w = pv.LWWMap("a", key_type="uint64", value_type="utf8")
    w.set_many(list(range(120)), ["v"] * 120, list(range(120)))
    w.remove_many(list(range(0, 120, 5)), 1000)
    return [m, s, c, w]


@pytest.mark.parametrize("parts", [1, 2, 5, 16])
def test_partitions_join_back_to_the_state(parts: int) -> None:
    for state in _small_states():
        split = state.partition(parts)
        assert len(split) == parts
        assert all(type(p) is type(state) and p.replica == "a" for p in split)
        assert sum(len(p) for p in split) == len(state)
        # under another name: a handle writing as "a" holding part 0 does not know all "a"
        # issued, and refuses the parts claiming more (ForeignClaimError)
        back = type(state).from_bytes(split[0].to_bytes(), "rebuild")
        for p in split[1:]:
            back.merge(p)

        assert back.digest() == state.digest()
        assert back.to_bytes() == state.to_bytes()


def test_partition_p_of_a_merge_is_the_merge_of_the_parts_p() -> None:
    a, b = pv.MVMap("a"), pv.MVMap("b")
    a.set_many([f"k{i}" for i in range(400)], list(range(400)))
    b.set_many([f"k{i}" for i in range(200, 600)], list(range(400)))
    b.merge(a.delta_since(b))
    b.remove_many([f"k{i}" for i in range(0, 600, 11)])
    joined = a.copy()
    joined.merge(b)
    for pa_, pb_, pj in zip(a.partition(6), b.partition(6), joined.partition(6)):
        w = pa_.copy(replica="w")  # a part does not know all "a" issued: merge under another name
        w.merge(pb_)
        assert w.to_bytes() == pj.to_bytes()


def test_partition_rejects_no_parts() -> None:
    with pytest.raises(ValueError):
        pv.AWSet("a").partition(0)


def test_partitioned_files_round_trip(tmp_path: Path) -> None:
    for i, state in enumerate(_small_states()):
        d = tmp_path / str(i)
        paths = pdask.write_partitioned(state, d, parts=4)
        assert [os.path.basename(p) for p in paths] == [f"part-0000{p}.arrow" for p in range(4)]
        assert sorted(os.listdir(d)) == [os.path.basename(p) for p in paths]  # no temp files
        back = pdask.read_partitioned(d, "z")
        assert type(back) is type(state) and back.replica == "z"
        assert back.to_bytes() == state.to_bytes()
    with pytest.raises(pv.KindError):
        pdask.read_partitioned(tmp_path / "0", "z", kind=pv.AWSet)
    os.remove(tmp_path / "0" / "part-00001.arrow")
    with pytest.raises(pdask.PartitionError, match="part-00001.arrow"):
        pdask.read_partitioned(tmp_path / "0", "z")


def test_import_without_dask() -> None:
    code = (
        "import sys; sys.modules['dask'] = None; sys.modules['distributed'] = None\n"
        "import pluriverse, pluriverse.dask\n"
        "s = pluriverse.AWSet('a'); s.add('x'); assert len(s.partition(3)) == 3\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- on a LocalCluster ---


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as c:
        yield c


def _replicas(n: int) -> Any:
    """Two replicas of an MVMap<int64, int64> with n records each: half the keys shared and
    written concurrently, plus removals each has seen of the other."""
    import numpy as np

    a, b = pv.MVMap("a", "int64", "int64"), pv.MVMap("b", "int64", "int64")
    a.set_many(np.arange(n, dtype=np.int64), np.arange(n, dtype=np.int64))
    b.set_many(np.arange(n // 2, n + n // 2, dtype=np.int64), np.arange(n, dtype=np.int64) * 3)
    b.merge(a.delta_since(b.context()))
    b.remove_many(np.arange(0, n, 97, dtype=np.int64))
    a.remove_many(np.arange(n, n + n // 2, 89, dtype=np.int64))  # not seen by a: no-ops
    return a, b


def _temps(d: Path) -> List[str]:
    return [n for n in os.listdir(d) if not re.fullmatch(r"part-\d{5}\.arrow", n)]


def test_distributed_merge_equals_the_single_machine_merge(client: Any, tmp_path: Path) -> None:
    a, b = _replicas(500_000)  # 1,000,000 records in all
    assert a.entry_count() + b.entry_count() >= 1_000_000 - 10_000
    parts = 8
    pdask.write_partitioned(a, tmp_path / "a", parts)
    pdask.write_partitioned(b, tmp_path / "b", parts)
    out = pdask.merge(client, [tmp_path / "a", tmp_path / "b"], tmp_path / "ab")
    assert len(out) == parts and _temps(tmp_path / "ab") == []

    single = a.copy()
    single.merge(b)
    for path, expected in zip(out, single.partition(parts)):  # part for part, bytes equal
        assert pdask.read_part(Path(path).read_bytes())[1] == expected.to_bytes()
    back = pdask.read_partitioned(tmp_path / "ab", "a")
    assert back.digest() == single.digest()
    assert back.to_bytes() == single.to_bytes()


def test_distributed_digest_and_diff(client: Any, tmp_path: Path) -> None:
    a, b = _replicas(20_000)
    parts = 8
    pdask.write_partitioned(a, tmp_path / "a", parts)
    pdask.write_partitioned(b, tmp_path / "b", parts)
    pdask.merge(client, [tmp_path / "a", tmp_path / "b"], tmp_path / "ab")
    single = a.copy()
    single.merge(b)
    expected_digests = [p.digest() for p in single.partition(parts)]
    assert pdask.partition_digests(client, tmp_path / "ab") == expected_digests
    assert pdask.digest(client, tmp_path / "ab") == pdask.combine_digests(expected_digests)
    assert pdask.diff(client, tmp_path / "ab", tmp_path / "ab") == []
    changed = [p for p, (x, y) in enumerate(zip(a.partition(parts), single.partition(parts))) if x.digest() != y.digest()]
    assert changed and pdask.diff(client, tmp_path / "a", tmp_path / "ab") == changed


def test_merge_of_three_replicas_and_progress(client: Any, tmp_path: Path, capsys: Any) -> None:
    states = []
    for r in range(3):
        s = pv.PNCounterMap(f"r{r}")
        s.increment_many([f"k{i}" for i in range(r, 3000, 2)], [r + 1] * len(range(r, 3000, 2)))
        states.append(s)
        pdask.write_partitioned(s, tmp_path / f"r{r}", parts=5)
    pdask.merge(client, [tmp_path / f"r{r}" for r in range(3)], tmp_path / "out", progress=True)
    single = states[0].copy()
    single.merge(states[1])
    single.merge(states[2])
    assert pdask.read_partitioned(tmp_path / "out", "x").to_bytes() == single.to_bytes()
    assert pdask.read_partitioned(tmp_path / "out", "x").value("k2") == 1 + 3


def test_a_worker_killed_mid_merge_changes_nothing(client: Any, tmp_path: Path) -> None:
    a, b = _replicas(20_000)
    pdask.write_partitioned(a, tmp_path / "a", 6)
    pdask.write_partitioned(b, tmp_path / "b", 6)
    marker = str(tmp_path / "crashed")

    def arm(marker: str) -> None:  # on the workers: the first write, once, dies half-way
        import os

        import pluriverse.dask as m

        real = m._write_atomic

        def crash_once(path: str, data: bytes) -> None:
            try:
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return real(path, data)
            with open(m._temp_prefix(path) + "dead", "wb") as f:
                f.write(data[: len(data) // 2])
                f.flush()
                os.fsync(f.fileno())
            os._exit(1)

        m._real_write_atomic = real  # type: ignore[attr-defined]
        m._write_atomic = crash_once

    def disarm() -> None:  # the restarted worker is a fresh process: nothing to undo there
        import pluriverse.dask as m

        m._write_atomic = getattr(m, "_real_write_atomic", m._write_atomic)

    client.run(arm, marker)
    try:
        out = pdask.merge(client, [tmp_path / "a", tmp_path / "b"], tmp_path / "ab")
    finally:
        client.wait_for_workers(2)
        client.run(disarm)
    assert os.path.exists(marker)  # a worker did die mid-write
    assert _temps(tmp_path / "ab") == []
    single = a.copy()
    single.merge(b)
    for path, expected in zip(out, single.partition(6)):
        assert pdask.read_part(Path(path).read_bytes())[1] == expected.to_bytes()


@pytest.mark.parametrize("bad", ["a", "b"])
def test_a_corrupt_partition_fails_the_merge_by_name(client: Any, tmp_path: Path, bad: str) -> None:
    a, b = _replicas(10_000)
    pdask.write_partitioned(a, tmp_path / "a", 4)
    pdask.write_partitioned(b, tmp_path / "b", 4)
    victim = tmp_path / bad / "part-00002.arrow"
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2] + b"\xff" * 64)
    with pytest.raises(pdask.PartitionError, match=r"part-00002\.arrow") as err:
        pdask.merge(client, [tmp_path / "a", tmp_path / "b"], tmp_path / "ab")
    assert err.value.partition == 2 and err.value.path == str(victim)
    assert isinstance(err.value, pv.Error)
    out = tmp_path / "ab"
    assert _temps(out) == []
    single = a.copy()
    single.merge(b)
    expected = single.partition(4)
    assert not (out / "part-00002.arrow").exists()
    for p in (0, 1, 3):  # whole merged partitions
        assert pdask.read_part((out / f"part-{p:05d}.arrow").read_bytes())[1] == expected[p].to_bytes()


def test_mismatched_partitions_are_refused(client: Any, tmp_path: Path) -> None:
    s = pv.AWSet("a")
    s.add_many(["x", "y", "z"])
    pdask.write_partitioned(s, tmp_path / "a", 3)
    pdask.write_partitioned(s, tmp_path / "b", 4)
    with pytest.raises(pdask.PartitionError, match="3 partitions but .* has 4"):
        pdask.merge(client, [tmp_path / "a", tmp_path / "b"], tmp_path / "out")
    with pytest.raises(pdask.PartitionError, match="cannot list .*nothing"):
        pdask.merge(client, [tmp_path / "a", tmp_path / "nothing"], tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(pdask.PartitionError, match="no partition files"):
        pdask.merge(client, [tmp_path / "a", tmp_path / "empty"], tmp_path / "out")
    with pytest.raises(ValueError):
        pdask.merge(client, [tmp_path / "a"], tmp_path / "out")
    pdask.write_partitioned(s, tmp_path / "wide", 4)
    with pytest.raises(pdask.PartitionError, match="part-00003.arrow"):
        pdask.merge(client, [tmp_path / "a", tmp_path / "a"], tmp_path / "wide")


def test_readme_example_runs(client: Any, tmp_path: Path, monkeypatch: Any) -> None:
    text = README.read_text()
    section = text[text.index("## Beyond one machine") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code, "no python example in the README's 'Beyond one machine' section"
    monkeypatch.chdir(tmp_path)
    exec(compile(code.group(1), str(README), "exec"), {"__name__": "readme"})


# --- issue 13: part files say which partition they are; writes keep modes, follow links ---


def test_swapped_part_files_are_refused(tmp_path: Path) -> None:
    a, b = _replicas(2000)
    pdask.write_partitioned(a, tmp_path / "a", parts=4)
    d = tmp_path / "a"
    p1, p2 = (d / "part-00001.arrow").read_bytes(), (d / "part-00002.arrow").read_bytes()
    (d / "part-00001.arrow").write_bytes(p2)  # copied into each other's slots
    (d / "part-00002.arrow").write_bytes(p1)
    with pytest.raises(pdask.PartitionError, match=r"part-00001\.arrow holds partition 2 of 4") as err:
        pdask.read_partitioned(d, "z")
    assert err.value.partition == 1
    # a part of a state partitioned another way, in the right slot number
    pdask.write_partitioned(b, tmp_path / "b8", parts=8)
    (d / "part-00001.arrow").write_bytes(p1)
    (d / "part-00002.arrow").write_bytes((tmp_path / "b8" / "part-00002.arrow").read_bytes())
    with pytest.raises(pdask.PartitionError, match="partition 2 of 8, not 2 of 4"):
        pdask.read_partitioned(d, "z")
    (d / "part-00002.arrow").write_bytes(a.partition(4)[2].to_bytes())  # bare state bytes
    with pytest.raises(pdask.PartitionError, match="no PLVPART1 header"):
        pdask.read_partitioned(d, "z")
    (d / "part-00002.arrow").write_bytes(p2[:-10])  # cut short
    with pytest.raises(pdask.PartitionError, match="cut short"):
        pdask.read_partitioned(d, "z")
    (d / "part-00002.arrow").write_bytes(p2)
    assert pdask.read_partitioned(d, "z").to_bytes() == a.to_bytes()


def test_hash_ranges_tile_the_hash_space() -> None:
    for n in (1, 3, 7, 16, 1000):
        ranges = [pdask.hash_range(p, n) for p in range(n)]
        assert ranges[0][0] == 0 and ranges[-1][1] == 2**64
        for p, (lo, hi) in enumerate(ranges):
            assert (lo * n) >> 64 == p and ((hi - 1) * n) >> 64 == p  # both ends inside
            assert lo == 0 or ((lo - 1) * n) >> 64 == p - 1  # and nothing below is
            assert p == n - 1 or hi == ranges[p + 1][0]


def test_rewrites_keep_the_mode_and_follow_symlinks(tmp_path: Path) -> None:
    a, b = _replicas(500)
    out = tmp_path / "out"
    pdask.write_partitioned(a, out, parts=2)
    os.chmod(out / "part-00000.arrow", 0o600)
    real = tmp_path / "elsewhere.arrow"
    real.write_bytes(b"old")
    os.chmod(real, 0o640)
    os.remove(out / "part-00001.arrow")
    os.symlink(real, out / "part-00001.arrow")
    pdask.write_partitioned(b, out, parts=2)
    assert (os.stat(out / "part-00000.arrow").st_mode & 0o777) == 0o600
    assert os.path.islink(out / "part-00001.arrow")  # the link stays, its target is replaced
    assert (os.stat(real).st_mode & 0o777) == 0o640
    assert pdask.read_part(real.read_bytes())[1] == b.partition(2)[1].to_bytes()
    assert not [n for n in os.listdir(tmp_path) if ".tmp-" in n]
    assert pdask.read_partitioned(out, "z").to_bytes() == b.to_bytes()


def test_merge_into_a_file_is_a_partition_error(client: Any, tmp_path: Path) -> None:
    a, b = _replicas(300)
    pdask.write_partitioned(a, tmp_path / "a", parts=2)
    pdask.write_partitioned(b, tmp_path / "b", parts=2)
    (tmp_path / "taken").write_bytes(b"a file where the output directory goes")
    with pytest.raises(pdask.PartitionError, match="output directory"):
        pdask.merge(client, [tmp_path / "a", tmp_path / "b"], tmp_path / "taken")
    assert (tmp_path / "taken").read_bytes().startswith(b"a file")


def test_merge_refuses_a_swapped_part_on_the_cluster(client: Any, tmp_path: Path) -> None:
    a, b = _replicas(2000)
    pdask.write_partitioned(a, tmp_path / "a", parts=4)
    pdask.write_partitioned(b, tmp_path / "b", parts=4)
    d = tmp_path / "b"
    p0, p3 = (d / "part-00000.arrow").read_bytes(), (d / "part-00003.arrow").read_bytes()
    (d / "part-00000.arrow").write_bytes(p3)
    (d / "part-00003.arrow").write_bytes(p0)
    with pytest.raises(pdask.PartitionError, match=r"holds partition 3 of 4, not 0 of 4"):
        pdask.merge(client, [tmp_path / "a", d], tmp_path / "m")
