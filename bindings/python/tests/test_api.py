"""The public API: constructors and types, single and batch mutators over lists, numpy and
pyarrow, reads, Arrow out, bytes, contexts."""

from __future__ import annotations

import pathlib

import numpy as np
import pyarrow as pa
import pytest

import pluriverse as pv

KEYS = {
    "utf8": (["a", "b", "c"], pa.utf8()),
    "binary": ([b"a", b"\x00", b"\xff"], pa.binary()),
    "int64": ([-(2**63), 0, 2**63 - 1], pa.int64()),
    "uint64": ([0, 7, 2**64 - 1], pa.uint64()),
}
VALUES = {
    "utf8": (["x", "", "ü"], pa.utf8()),
    "binary": ([b"", b"\x00\x01", b"z"], pa.binary()),
    "int64": ([-1, 0, 2**63 - 1], pa.int64()),
    "float64": ([1.5, -0.0, float("inf")], pa.float64()),
    "bool": ([True, False, True], pa.bool_()),
}


def test_defaults() -> None:
    m = pv.MVMap("paris")
    assert (m.kind, m.key_type, m.value_type, m.replica) == ("MVMap", "utf8", "int64", "paris")
    assert pv.AWSet(b"\xffbytes-replica").replica == b"\xffbytes-replica"
    assert pv.PNCounterMap("a").value_type is None
    assert repr(pv.LWWMap("a")) == "LWWMap('a', key_type='utf8', value_type='int64') with 0 keys"


@pytest.mark.parametrize("spec", ["utf8", "UTF8", "string", str, pa.string(), pa.utf8()])
def test_type_specs(spec) -> None:  # type: ignore[no-untyped-def]
    assert pv.MVMap("a", key_type=spec, value_type=spec).value_type == "utf8"


@pytest.mark.parametrize("kt", sorted(KEYS))
@pytest.mark.parametrize("vt", sorted(VALUES))
def test_mvmap_types(kt: str, vt: str) -> None:
    keys, ktype = KEYS[kt]
    values, vtype = VALUES[vt]
    single, batch = pv.MVMap("a", key_type=kt, value_type=vt), pv.MVMap("a", key_type=kt, value_type=vt)
    for k, v in zip(keys, values):
        single.set(k, v)
    batch.set_many(pa.array(keys, ktype), pa.array(values, vtype))
    for k, v in zip(keys, values):
        assert single.get(k) == [v] == batch.get(k) and k in single
    assert sorted(single.keys().to_pylist()) == sorted(keys)
    t = single.to_arrow()
    assert t.schema.field("key").type == ktype and t.schema.field("value").type == vtype
    assert t.num_rows == 3
    # lists go through pyarrow.array()
    from_lists = pv.MVMap("a", key_type=kt, value_type=vt)
    from_lists.set_many(keys, values)
    assert from_lists.digest() == batch.digest()
    back = pv.MVMap.from_bytes(single.to_bytes(), "b")
    assert (back.key_type, back.value_type, back.digest()) == (kt, vt, single.digest())


def test_lww_types_and_timestamps() -> None:
    m = pv.LWWMap("a", key_type="int64", value_type="float64")
    d = m.set(1, 2.5, 10)
    assert len(d) == 1 and m.get(1) == 2.5 and m.get_with_timestamp(1) == (10, 2.5)
    lost = m.set(1, 9.0, 5)  # loses to the value held: an empty delta
    assert len(lost) == 0 and lost.entry_count() == 0 and m.get(1) == 2.5
    m.remove(1, 11)
    assert m.get(1) is None and m.get(1, "gone") == "gone" and m.get_with_timestamp(1) is None
    assert 1 not in m and len(m) == 0
    m.set_many(np.arange(5), np.linspace(0, 1, 5), np.full(5, 20, dtype=np.uint64))
    m.remove_many([0, 1], 30)
    assert sorted(m.keys().to_pylist()) == [2, 3, 4]
    m.set_many([7], [1.0], 40)
    assert m.get(7) == 1.0


def test_batch_inputs_numpy_and_pyarrow() -> None:
    n = 10_000
    keys_np = np.arange(n, dtype=np.int64)
    a = pv.PNCounterMap("a", key_type="int64")
    a.increment_many(keys_np, np.full(n, 3, dtype=np.uint64))
    a.decrement_many(pa.array(keys_np), 1)
    a.increment_many(pa.chunked_array([keys_np[:10], keys_np[10:20]]))
    assert a.value(0) == 3 and a.value(n - 1) == 2 and len(a) == n
    s = pv.AWSet("a", key_type=pa.uint64())
    s.add_many(np.arange(100, dtype=np.uint64))
    s.remove_many(pa.array(range(50), pa.uint64()))
    assert sorted(s.elements().to_pylist()) == list(range(50, 100))
    m = pv.MVMap("a")
    m.set_many(pa.array(["a", "b"], pa.large_string()), np.array([1, 2]))  # cast to utf8
    m.remove_many(("a",))
    assert m.keys().to_pylist() == ["b"] and m.get("b") == [2]


def test_awset_and_counter_reads() -> None:
    s = pv.AWSet("a", key_type=bytes)
    s.add(b"x")
    assert b"x" in s and b"y" not in s
    s.remove(b"x")
    assert b"x" not in s and len(s) == 0
    c = pv.PNCounterMap("a")
    c.increment("k")
    c.decrement("k", 5)
    assert c.value("k") == -4 and c.value("absent") == 0
    assert c.keys().to_pylist() == ["k"]


def test_arrow_pycapsule_interface() -> None:
    m = pv.MVMap("paris")
    m.set_many([f"k{i}" for i in range(1000)], list(range(1000)))
    t1 = pa.table(m)  # __arrow_c_stream__
    t2 = m.to_arrow()
    assert t1.equals(t2) and t1.num_rows == 1000
    assert t1.column_names == ["key", "replica", "counter", "value"]
    assert t1.schema.metadata[b"pluriverse.kind"] == b"MVMap"
    # the bytes are an Arrow IPC stream that pyarrow opens as it is
    assert pa.ipc.open_stream(m.to_bytes()).read_all().equals(t2)
    reader = pa.RecordBatchReader.from_stream(m.set("x", 1))  # a Delta too
    assert reader.read_all().num_rows == 1


def test_replica_is_not_part_of_the_state() -> None:
    a, b = pv.MVMap("a"), pv.MVMap("b")
    d = a.set("k", 1)
    b.merge(d)
    assert a.to_bytes() == b.to_bytes() and a.digest() == b.digest()
    c = pv.MVMap.from_bytes(a.to_bytes(), "c")
    assert c.replica == "c"
    c.set("k", 2)
    assert c.get("k") == [2]
    cp = a.copy("z")
    assert cp.replica == "z" and cp.digest() == a.digest()
    cp.set("k", 5)
    assert a.get("k") == [1]  # a copy, not a view


def test_context_and_version_vector() -> None:
    a = pv.MVMap("paris")
    a.set("x", 1)
    a.set("y", 2)
    ctx = a.context()
    assert isinstance(ctx, pv.CausalContext)
    assert ctx.version_vector() == {"paris": 2} == a.version_vector()
    assert isinstance(a.version_vector(), pv.VersionVector)
    assert ("paris", 2) in ctx and ("paris", 3) not in ctx and ("tokyo", 1) not in ctx
    back = pv.CausalContext.from_bytes(ctx.to_bytes())
    assert back == ctx and back.to_bytes() == ctx.to_bytes()
    assert pv.CausalContext() != ctx and pv.CausalContext().version_vector() == {}
    b = pv.MVMap("tokyo")
    assert len(a.delta_since(b.context())) == 2
    assert len(a.delta_since(a)) == 0  # a state stands for its context
    with pytest.raises(pv.KindError):
        a.delta_since({"paris": 1})  # type: ignore[arg-type]


def test_delta_api() -> None:
    m = pv.MVMap("a")
    d = m.set_many(["x", "y"], [1, 2])
    assert isinstance(d, pv.Delta) and (d.kind, d.key_type, d.value_type) == ("MVMap", "utf8", "int64")
    assert len(d) == 2 and d.entry_count() == 2 and len(d.digest()) == 16
    d2 = pv.Delta.from_bytes(d.to_bytes())
    assert d2.digest() == d.digest() and d2.to_arrow().num_rows == 2
    group = pv.Delta.from_bytes(d.to_bytes())
    group.merge(m.set("z", 3))
    other = pv.MVMap("b")
    other.merge(group)
    assert other.digest() == m.digest()
    assert "Delta(MVMap" in repr(d)


def test_digest_is_big_endian_u128() -> None:
    d = pv.MVMap("a").digest()
    assert isinstance(d, bytes) and len(d) == 16
    assert pv.MVMap("b").digest() == d  # empty states agree
    # the bytes are the u128 most significant first, so their hex is the corpus's
    # expect-digest line (testdata/lww.case, lww-larger-timestamp-wins)
    a, b = pv.LWWMap("a", value_type="utf8"), pv.LWWMap("b", value_type="utf8")
    a.set("color", "red", 10)
    a.merge(b.set("color", "blue", 20))
    got = a.digest()
    case = (pathlib.Path(__file__).resolve().parents[3] / "testdata" / "lww.case").read_text()
    case = case[case.index("case lww-larger-timestamp-wins\n") :]
    expect = next(line.split()[2] for line in case.splitlines() if line.startswith("expect-digest a "))
    assert got.hex() == expect
    assert f"{int.from_bytes(got, 'big'):032x}" == got.hex()


def test_kind_names_come_from_the_engine() -> None:
    """The kind classes are the engine's kinds (``_native.KIND_NAMES``, from core), each named
    as its state bytes name it (the Arrow schema's ``pluriverse.kind``, read by pyarrow)."""
    from pluriverse import _native

    classes = (pv.MVMap, pv.AWSet, pv.PNCounterMap, pv.LWWMap)
    assert sorted(_native.KIND_NAMES) == sorted(c.__name__ for c in classes)
    for cls in classes:
        s = cls("a")
        meta = pa.ipc.open_stream(s.to_bytes()).schema.metadata
        assert meta[b"pluriverse.kind"].decode() == cls.__name__ == s.kind
        assert (s.value_type is not None) == (cls.__name__ in _native.KINDS_WITH_VALUES)


def test_a_decoded_delta_has_no_writer() -> None:
    """``Delta.from_bytes`` opens the bytes read-only: no writer name is made up, the native
    mutators refuse, and merging (a delta group) still works."""
    m = pv.AWSet("a")
    d = pv.Delta.from_bytes(m.add("x").to_bytes())
    assert d._inner.replica() == "" and not d._inner.is_read_only()  # no writer; not a view
    before = d.to_bytes()
    with pytest.raises(pv.ReadOnlyError, match="no writer"):
        d._inner.add("y")
    with pytest.raises(pv.ReadOnlyError, match="no writer"):
        d._inner.add_many(pa.array(["y"]))
    assert d.to_bytes() == before
    d.merge(m.add("y"))
    other = pv.AWSet("b")
    other.merge(d)
    assert sorted(other.elements().to_pylist()) == ["x", "y"] and other.digest() == m.digest()
