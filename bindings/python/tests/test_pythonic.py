"""Issue 13, "a Python API that behaves like Python" and the Python exceptions: every kind
reads like a dict (or a set), pickles and copies through its bytes, compares by content, is
shared by threads, and raises only pluriverse.Error subclasses. Expected values come from
plain dicts and sets written alongside, never from the engine."""

from __future__ import annotations

import copy
import multiprocessing
import pickle
import random
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

import pyarrow as pa
import pytest

import pluriverse as pv

# --- a naive model of one replica plus one concurrent writer ---


def mvmap_pair(seed: int) -> Tuple[pv.MVMap[str, int], Dict[str, List[int]]]:
    """An MVMap after random sets and removes at "a" and concurrent sets at "b", and what a
    reader must see (values ordered by writing replica, "a" before "b")."""
    rng = random.Random(seed)
    a, b = pv.MVMap("a"), pv.MVMap("b")
    mine: Dict[str, int] = {}
    for _ in range(300):
        k = f"k{rng.randrange(60)}"
        if rng.random() < 0.2:
            a.remove(k)
            mine.pop(k, None)
        else:
            v = rng.randrange(-1000, 1000)
            a.set(k, v)
            mine[k] = v
    theirs = {f"k{rng.randrange(60, 80)}": rng.randrange(100) for _ in range(10)}
    theirs.update({k: 5000 + i for i, k in enumerate(list(mine)[:5])})  # concurrent with a's
    for k, v in theirs.items():
        b.set(k, v)
    a.merge(b)
    model: Dict[str, List[int]] = {k: [v] for k, v in mine.items()}
    for k, v in theirs.items():
        model.setdefault(k, []).append(v)
    return a, model


@pytest.mark.parametrize("seed", range(3))
def test_mvmap_reads_like_a_dict(seed: int) -> None:
    m, model = mvmap_pair(seed)
    assert len(m) == len(model)
    assert sorted(m) == sorted(model)  # iteration: the keys
    assert dict(m.items()) == model == m.to_dict()
    assert sorted(map(tuple, m.values())) == sorted(map(tuple, model.values()))
    assert [k for k, _ in m.items()] == list(m) == m.keys().to_pylist()  # one order throughout
    for k, vs in model.items():
        assert m[k] == vs and m.get(k) == vs and m.get(k, "d") == vs and k in m
    for absent in ["nope", 5, b"k1", None, 2.5, "\ud800"]:
        assert absent not in m  # a dict says False for a key of another type
        assert m.get(absent, "d") == "d"  # type: ignore[call-overload]
        with pytest.raises(KeyError):
            m[absent]  # type: ignore[index]
    assert m.get("nope") == []  # no default: the empty list of values, as before
    assert m.keys(sorted=True).to_pylist() == sorted(model)


def test_mvmap_in_an_empty_map_is_false() -> None:
    assert (5 in pv.MVMap("p")) is False  # the reproduction
    assert ("5" in pv.MVMap("p")) is False
    assert (2**64 in pv.MVMap("p", key_type="uint64")) is False and (-1 in pv.AWSet("p", "uint64")) is False


def test_lww_pn_awset_read_like_dicts_and_sets() -> None:
    rng = random.Random(4)
    lww, lmodel = pv.LWWMap("a", value_type="float64"), {}  # type: ignore[var-annotated]
    best: Dict[str, Tuple[int, Any]] = {}
    for _ in range(400):
        k, ts = f"k{rng.randrange(50)}", rng.randrange(1000)
        value = None if rng.random() < 0.3 else rng.choice([1.5, -0.0, float("nan"), 7.25])
        if value is None:
            lww.remove(k, ts)
        else:
            lww.set(k, value, ts)
        if k not in best or ts >= best[k][0]:  # one replica: a later equal timestamp wins
            best[k] = (ts, value)
    lmodel = {k: v for k, (_, v) in best.items() if v is not None}
    got = lww.to_dict()
    assert sorted(got) == sorted(lmodel) == sorted(k for k, _ in lww.items())
    for k, v in lmodel.items():
        same = (got[k] != got[k] and v != v) or got[k] == v  # NaN reads back as NaN
        assert same and (lww[k] == v or v != v) and k in lww
    removed = [k for k, (_, v) in best.items() if v is None]
    for k in removed:
        assert lww.get(k) is None and lww.get(k, 0.0) == 0.0
        with pytest.raises(KeyError):
            lww[k]
    assert set(k for k in lww if k in lmodel) == set(lmodel)

    pn, pmodel = pv.PNCounterMap("a", key_type="int64"), {}  # type: ignore[var-annotated]
    for _ in range(300):
        k, n = rng.randrange(40), rng.randrange(100)
        if rng.random() < 0.4:
            pn.decrement(k, n)
            pmodel[k] = pmodel.get(k, 0) - n
        else:
            pn.increment(k, n)
            pmodel[k] = pmodel.get(k, 0) + n
    other = pv.PNCounterMap("b", key_type="int64")
    other.increment_many({1: 10, 2: 20})  # a mapping of key -> amount
    other.decrement_many({2: 5})
    pn.merge(other)
    pmodel[1] = pmodel.get(1, 0) + 10
    pmodel[2] = pmodel.get(2, 0) + 15
    assert pn.to_dict() == pmodel == dict(pn.items())
    assert sorted(pn.values()) == sorted(pmodel.values())
    assert all(pn[k] == v for k, v in pmodel.items())
    assert pn.get(999) is None and pn.get(999, 0) == 0 and pn.value(999) == 0
    with pytest.raises(KeyError):
        pn[999]

    s, smodel = pv.AWSet("a", key_type="binary"), set()  # type: ignore[var-annotated]
    for _ in range(200):
        e = bytes([rng.randrange(30)])
        if rng.random() < 0.3:
            s.remove(e)
            smodel.discard(e)
        else:
            s.add(e)
            smodel.add(e)
    assert set(s) == smodel and len(s) == len(smodel)
    assert all(e in s for e in smodel) and "x" not in s and b"\xff" not in s


def test_values_view_round_trips_through_pandas() -> None:
    pd = pytest.importorskip("pandas")
    m, model = mvmap_pair(7)
    df = m.to_arrow(view="values").to_pandas()
    assert list(df.columns) == ["key", "value"] and len(df) == len(model)
    assert {k: list(v) for k, v in zip(df["key"], df["value"])} == model
    lww = pv.LWWMap("a")
    lww.set_many(["x", "y", "z"], [1, 2, 3], 5)
    lww.remove("y", 6)
    assert dict(zip(*lww.to_arrow(view="values").to_pandas().to_dict("list").values())) == {"x": 1, "z": 3}
    pn = pv.PNCounterMap("a")
    pn.increment("k", 5)
    pn.merge(pv.PNCounterMap("b").decrement("k", 7))
    frame = pd.DataFrame(pn.to_arrow(view="values").to_pandas())
    assert frame.to_dict("records") == [{"key": "k", "value": -2}]  # the total, not per replica
    assert str(frame["value"].dtype) == "int64"
    s = pv.AWSet("a", "int64")
    s.add_many([3, 1, 2])
    assert sorted(s.to_arrow(view="values").to_pandas()["key"]) == [1, 2, 3]
    with pytest.raises(ValueError):
        s.to_arrow(view="rows")  # type: ignore[arg-type]


def test_pn_total_outside_int64_is_a_clear_error_in_the_view() -> None:
    pn = pv.PNCounterMap("a")
    pn.increment("k", 2**64 - 1)
    with pytest.raises(pv.CounterOverflowError, match="int64"):
        pn.to_arrow(view="values")
    assert pn.value("k") == 2**64 - 1  # the exact read stays


def test_requested_schema_is_honoured_or_refused() -> None:
    m = pv.MVMap("a")
    m.set("k", 1)
    own = m.to_arrow().schema
    assert pa.table(m, schema=own).num_rows == 1  # its own schema: accepted
    with pytest.raises(pv.KindError, match="requested_schema"):
        m.__arrow_c_stream__(pa.schema([("key", pa.utf8())]).__arrow_c_schema__())


def test_set_many_takes_iterables_and_a_mapping() -> None:
    m = pv.MVMap("a")
    m.set_many((f"k{i}" for i in range(5)), (i * i for i in range(5)))  # generators
    m.set_many({"x": 1, "y": 2})  # a mapping: key -> value
    assert m.to_dict() == {**{f"k{i}": [i * i] for i in range(5)}, "x": [1], "y": [2]}
    before = m.digest()
    with pytest.raises(pv.KindError, match="dict"):
        m.set_many({"x": 1, "y": 2}, [5, 6])  # a dict as the key list: refused, not its keys
    with pytest.raises(pv.KindError):
        m.set_many([1, 2])  # type: ignore[arg-type]  # not a mapping
    s = pv.AWSet("a", "int64")
    s.add_many(i for i in range(10) if i % 2)
    assert sorted(s) == [1, 3, 5, 7, 9] and m.digest() == before


# --- pickle, copies, equality, hashing ---


def every_kind() -> List[Any]:
    m, _ = mvmap_pair(1)
    s = pv.AWSet("a")
    s.add_many(["x", "y"])
    c = pv.PNCounterMap(b"\xffbin")
    c.increment("k", 2**64 - 1)
    lww = pv.LWWMap("a", value_type="bool")
    lww.set("k", True, 3)
    lww.remove("j", 9)
    return [m, s, c, lww]


def test_pickle_and_deepcopy_go_through_the_bytes() -> None:
    for state in every_kind():
        for clone in (pickle.loads(pickle.dumps(state)), copy.deepcopy(state), copy.copy(state)):
            assert type(clone) is type(state) and clone == state and clone is not state
            assert clone.to_bytes() == state.to_bytes() and clone.replica == state.replica
        d = state.delta_since(pv.CausalContext())
        d2 = pickle.loads(pickle.dumps(d))
        assert isinstance(d2, pv.Delta) and d2 == d and d2.to_bytes() == d.to_bytes()
        assert copy.deepcopy(d) == d
        ctx = state.context()
        assert pickle.loads(pickle.dumps(ctx)) == ctx and copy.deepcopy(ctx) == ctx
        vv = state.version_vector()
        assert pickle.loads(pickle.dumps(vv)) == vv and type(pickle.loads(pickle.dumps(vv))) is pv.VersionVector


def test_pickled_read_only_view_stays_read_only(tmp_path: Path) -> None:
    with pv.Replica.create(tmp_path / "r", "r", kind="mvmap") as r:
        r.set("k", 1)
        view = r.state
    back = pickle.loads(pickle.dumps(view))
    assert back == view
    with pytest.raises(pv.ReadOnlyError):
        back.set("k", 2)


def test_equality_is_by_content_and_states_are_unhashable() -> None:
    m, _ = mvmap_pair(2)
    assert m == m.copy() and m == m.copy(replica="other") and not (m != m.copy())
    other = m.copy()
    other.set("k0", 123456)
    assert m != other and m != m.to_bytes() and m != pv.AWSet("a")
    assert pv.MVMap("a") == pv.MVMap("b")  # two empty maps of one type
    assert pv.MVMap("a") != pv.MVMap("a", value_type="utf8")  # the types are content
    for x in every_kind() + [m.set("z", 1)]:
        with pytest.raises(TypeError):
            hash(x)  # mutable: merges change them
    a, b = m.context(), m.copy().context()
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1  # contexts are immutable
    assert hash(pv.CausalContext()) != hash(a)


def _merge_in_child(a: pv.MVMap[str, int], b: pv.MVMap[str, int]) -> pv.MVMap[str, int]:
    a.merge(b)
    return a


def test_states_cross_a_process_boundary() -> None:
    a, _ = mvmap_pair(3)
    b = pv.MVMap("c")
    b.set_many([f"k{i}" for i in range(100)], range(100))
    with multiprocessing.get_context("spawn").Pool(1) as pool:  # what joblib and Dask do
        merged = pool.apply(_merge_in_child, (a, b))
    expected = a.copy()
    expected.merge(b)
    assert merged == expected and merged.replica == "a"


# --- exceptions: only pluriverse.Error ---


def test_lone_surrogates_are_kind_errors() -> None:
    m = pv.MVMap("a", value_type="utf8")
    for call in (
        lambda: m.set("\udc80", "v"),
        lambda: m.set("k", "\ud800"),
        lambda: pv.MVMap("\ud800"),
        lambda: m.set_many(["\ud800"], ["v"]),
        lambda: pv.MVMap("a").copy(replica="\udfff"),
    ):
        with pytest.raises(pv.KindError):
            call()
    assert len(m) == 0


def test_membership_of_non_dots_in_a_context_is_false() -> None:
    m = pv.MVMap("p")
    m.set("k", 1)
    c = m.context()
    assert ("p", 1) in c and ("p", 2) not in c and (b"p", 1) in c
    for x in [("p", -1), ("p", 2**64), "p", ("p",), ("p", 1, 2), (1, 1), ("p", "1"), ("p", True), ("\ud800", 1), None]:
        assert x not in c


def test_bytes_like_inputs_everywhere() -> None:
    m, _ = mvmap_pair(5)
    raw = m.to_bytes()
    for data in (raw, bytearray(raw), memoryview(raw)):
        assert pv.MVMap.from_bytes(data, "z") == m
        assert pv.Delta.from_bytes(data).to_bytes() == raw
        t = pv.MVMap("t")
        t.merge(data)
        assert t == m
        assert pv.CausalContext.from_bytes(type(data)(m.context().to_bytes()) if not isinstance(data, memoryview) else memoryview(m.context().to_bytes())) == m.context()
    with pytest.raises(pv.KindError):
        pv.MVMap.from_bytes("text", "z")  # type: ignore[arg-type]


def test_equivocation_is_its_own_error() -> None:
    honest, forged = pv.MVMap("a"), pv.MVMap("a")  # two handles issuing the same dots
    honest.set("k", 1)
    forged.set("k", 2)
    target = honest.copy(replica="t")
    before = target.digest()
    with pytest.raises(pv.EquivocationError, match="two different contents"):
        target.merge(forged.to_bytes())
    assert target.digest() == before and issubclass(pv.EquivocationError, pv.Error)


# --- threads: concurrent reads, writes that wait ---


def test_threads_read_while_a_merge_runs() -> None:
    """Readers on one state never raise while other threads merge into it; each read sees
    the state before or after a merge, never half of one; concurrent writes all land."""
    m = pv.MVMap("a", "int64", "int64")
    n, writers = 100_000, 3
    deltas = []
    for w in range(writers):
        s = pv.MVMap(f"w{w}", "int64", "int64")
        deltas.append(s.set_many(pa.array(range(w * n, (w + 1) * n), pa.int64()), pa.array(range(n), pa.int64())))
    allowed = {i * n for i in range(writers + 1)}
    errors: List[BaseException] = []
    seen: Set[int] = set()
    done = threading.Event()

    def write(d: pv.Delta) -> None:
        try:
            for _ in range(2):
                m.merge(d)
        except BaseException as e:  # pragma: no cover - the failure being tested
            errors.append(e)

    def read() -> None:
        try:
            while not done.is_set():
                size = len(m)
                seen.add(size)
                assert size in allowed, size
                assert (0 in m) in (True, False) and isinstance(m.get(1), list)
                assert len(m.digest()) == 16
        except BaseException as e:  # pragma: no cover
            errors.append(e)

    readers = [threading.Thread(target=read) for _ in range(2)]
    ws = [threading.Thread(target=write, args=(d,)) for d in deltas]
    for t in readers + ws:
        t.start()
    for t in ws:
        t.join()
    done.set()
    for t in readers:
        t.join()
    assert not errors, errors[:3]
    assert len(m) == writers * n
    assert all(m.get(w * n + 7) == [7] for w in range(writers))


def test_threads_share_a_replica_and_a_sync_peer(tmp_path: Path) -> None:
    r = pv.Replica.create(tmp_path / "r", "r", kind="awset", key="int64")
    link = pv.Sync(r, max_message=4096)
    errors: List[BaseException] = []

    def write(base: int) -> None:
        try:
            for i in range(200):
                link.push(r.add(base + i))
                _ = (base + i) in r and len(r) >= 0
        except BaseException as e:  # pragma: no cover
            errors.append(e)

    ts = [threading.Thread(target=write, args=(b * 1000,)) for b in range(3)]
    for t in ts:
        t.start()
    while any(t.is_alive() for t in ts):
        link.poll_transmit(0.0, r)
    for t in ts:
        t.join()
    r.close()
    assert not errors, errors[:3]


# --- type hints ---

TYPED_USAGE = '''
from typing import List, Optional

from typing_extensions import assert_type  # typing.assert_type is 3.11+; the suite runs on 3.9 too
import pluriverse as pv

m = pv.MVMap("paris")
assert_type(m, pv.MVMap[str, int])
assert_type(m.get("k"), List[int])
assert_type(m.get("k", None), Optional[List[int]])
assert_type(m["k"], List[int])
for k in m:
    assert_type(k, str)
assert_type(m.items(), List[tuple[str, List[int]]])
b = pv.MVMap("p", bytes, float)
assert_type(b.values(), List[List[float]])
lww = pv.LWWMap("p", int, str)
assert_type(lww.get(1), Optional[str])
assert_type(lww[1], str)
assert_type(lww.to_dict(), dict[int, str])
c = pv.PNCounterMap("p")
assert_type(c.value("k"), int)
assert_type(c.get("k"), Optional[int])
s = pv.AWSet("p", int)
assert_type(list(s), List[int])
named: pv.MVMap[int, bool] = pv.MVMap("p", "int64", "bool")
assert_type(named.get(1), List[bool])
'''


def test_mypy_strict_sees_real_types(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    src = tmp_path / "typed_usage.py"
    src.write_text(textwrap.dedent(TYPED_USAGE))
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--python-version", f"{sys.version_info[0]}.{sys.version_info[1]}", str(src)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
