"""Error paths: clear pluriverse.Error subclasses, never a crash, and the target unchanged."""

from __future__ import annotations

import random
import threading

import numpy as np
import pyarrow as pa
import pytest

import pluriverse as pv


def filled() -> pv.MVMap:
    m = pv.MVMap("paris")
    m.set_many([f"k{i}" for i in range(100)], list(range(100)))
    m.merge(pv.MVMap("tokyo").set("k1", -1))
    return m


def test_hierarchy() -> None:
    assert issubclass(pv.DecodeError, pv.Error) and issubclass(pv.DecodeError, ValueError)
    assert issubclass(pv.KindError, pv.Error) and issubclass(pv.KindError, TypeError)
    assert issubclass(pv.CounterOverflowError, pv.Error) and issubclass(pv.CounterOverflowError, OverflowError)
    assert issubclass(pv.ShapeError, pv.Error) and issubclass(pv.ShapeError, ValueError)


@pytest.mark.parametrize("seed", range(5))
def test_bad_bytes_leave_the_state_unchanged(seed: int) -> None:
    m = filled()
    good = m.to_bytes()
    digest = m.digest()
    rng = random.Random(seed)
    bads = [b"", b"garbage", good[: len(good) // 2], good[:-1], good + b"\x00" * 8]
    for _ in range(40):
        b = bytearray(good)
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        bads.append(bytes(b))
    decode_errors = 0
    for bad in bads:
        target = pv.MVMap("lagos")
        target.merge(pv.MVMap("x").set("z", 1))
        before = target.digest()
        try:
            target.merge(bad)
        except pv.Error:
            assert target.digest() == before
            decode_errors += 1
        with pytest.raises(pv.Error):
            if bad == good:
                raise pv.Error  # a flip that changed nothing
            pv.MVMap.from_bytes(bad, "y")
            pv.Delta.from_bytes(bad)
            raise pv.Error("decoded")  # some corruptions still decode to a valid state
    assert decode_errors >= 5
    assert m.digest() == digest


def test_decode_error_messages() -> None:
    with pytest.raises(pv.DecodeError, match="Arrow IPC"):
        pv.Delta.from_bytes(b"not arrow")
    with pytest.raises(pv.DecodeError):
        pv.CausalContext.from_bytes(b"PVCX\x01")
    with pytest.raises(pv.DecodeError):
        pv.AWSet.from_bytes(b"", "a")


def test_wrong_kind() -> None:
    m, s = pv.MVMap("a"), pv.AWSet("a")
    d = s.add("x")
    before = m.digest()
    with pytest.raises(pv.KindError, match="AWSet"):
        m.merge(d)
    with pytest.raises(pv.KindError):
        m.merge(d.to_bytes())
    with pytest.raises(pv.KindError):
        m.merge(s)  # type: ignore[arg-type]
    with pytest.raises(pv.KindError):
        m.merge(pv.MVMap("b", value_type="utf8").set("k", "v"))  # other value type
    with pytest.raises(pv.KindError):
        pv.MVMap.from_bytes(s.to_bytes(), "a")
    with pytest.raises(pv.KindError):
        m.merge(42)  # type: ignore[arg-type]
    assert m.digest() == before


@pytest.mark.parametrize(
    "call",
    [
        lambda: pv.MVMap("a").set(1, 1),
        lambda: pv.MVMap("a").set("k", "v"),
        lambda: pv.MVMap("a").set("k", True),
        lambda: pv.MVMap("a", key_type="uint64").set(-1, 1),
        lambda: pv.MVMap("a", value_type="float64").set("k", "1.5"),
        lambda: pv.MVMap("a", value_type="bool").set("k", 1),
        lambda: pv.MVMap("a", key_type="binary").set("k", 1),
        lambda: pv.MVMap("a").set_many(["a", "b"], ["x", "y"]),
        lambda: pv.MVMap("a").set_many("ab", [1, 2]),
        lambda: pv.AWSet("a", key_type="int64").add("x"),
        lambda: pv.PNCounterMap("a").increment("k", "1"),
        lambda: pv.MVMap("a", key_type="float64"),
        lambda: pv.MVMap("a", value_type="decimal"),
        lambda: pv.MVMap("a", value_type=pa.list_(pa.int64())),
        lambda: pv.MVMap(3),  # type: ignore[arg-type]
    ],
)
def test_wrong_types(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(pv.KindError):
        call()


def test_length_mismatch() -> None:
    m = pv.MVMap("a")
    with pytest.raises(pv.ShapeError):
        m.set_many(["a", "b"], [1])
    lww = pv.LWWMap("a")
    with pytest.raises(pv.ShapeError):
        lww.set_many(["a", "b"], [1, 2], [1])
    assert len(m) == 0 and len(lww) == 0


def test_counter_overflow() -> None:
    c = pv.PNCounterMap("a")
    c.increment("k", 2**64 - 1)
    d = c.digest()
    with pytest.raises(pv.CounterOverflowError):
        c.increment("k", 1)
    with pytest.raises(pv.CounterOverflowError):
        c.increment_many(["k"], [5])
    with pytest.raises(OverflowError):
        c.increment("k", 2**64)
    with pytest.raises(pv.CounterOverflowError):
        c.decrement("k", -1)
    with pytest.raises(pv.CounterOverflowError):
        c.increment_many(["k"], -1)
    with pytest.raises(pv.KindError):
        c.increment_many(["k"], [-1])
    assert c.digest() == d and c.value("k") == 2**64 - 1
    # values beyond int64 come back as Python ints
    c.merge(pv.PNCounterMap("b").increment("k", 2**64 - 1))
    assert c.value("k") == 2 * (2**64 - 1)


def test_timestamps_out_of_range() -> None:
    m = pv.LWWMap("a")
    with pytest.raises(pv.TimestampError):  # a timestamp is not a counter (issue 13)
        m.set("k", 1, -1)
    with pytest.raises(pv.TimestampError):
        m.set("k", 1, 2**64)
    with pytest.raises(pv.TimestampError):
        m.remove_many(["k"], -1)
    with pytest.raises(pv.KindError):
        m.set("k", 1, "now")  # type: ignore[arg-type]
