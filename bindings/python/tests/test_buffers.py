"""Bytes-like input through the buffer protocol, which the module declares itself so that one
abi3 wheel serves CPython 3.9 on (``bindings/python/src/buffer.rs``): every exporter of
contiguous bytes reads as its bytes, whatever object it is and wherever its view starts; a
strided view, or a buffer of wider elements, is refused with a clear error and nothing
changes. The reference is ``bytes(...)`` of the same object, Python's own reading."""

from __future__ import annotations

import array

import numpy as np
import pytest

import pluriverse as pv


def _state() -> pv.MVMap:
    m = pv.MVMap("paris")
    for i in range(50):
        m.set(f"k{i}", i)
    return m


def test_every_contiguous_exporter_reads_as_its_bytes() -> None:
    m = _state()
    raw = m.to_bytes()
    padded = b"xyz" + raw + b"tail"
    views = {
        "bytes": raw,
        "bytearray": bytearray(raw),
        "memoryview": memoryview(raw),
        "offset slice": memoryview(padded)[3 : 3 + len(raw)],
        "numpy uint8": np.frombuffer(raw, dtype=np.uint8),
        "numpy int8": np.frombuffer(raw, dtype=np.int8),
        "array('B')": array.array("B", raw),
        "2-d view": memoryview(raw[: len(raw) // 2 * 2]).cast("B", shape=[2, len(raw) // 2]),
    }
    for name, data in views.items():
        want = bytes(data)
        if want != raw:  # the 2-d view drops an odd last byte: not a state any more
            with pytest.raises(pv.DecodeError):
                pv.MVMap.from_bytes(data, "tokyo")
            continue
        got = pv.MVMap.from_bytes(data, "tokyo")
        assert got.to_bytes() == raw, name
        assert dict(got.items()) == dict(m.items()), name


def test_the_context_and_the_delta_read_every_exporter() -> None:
    m = _state()
    ctx = m.context().to_bytes()
    for data in (bytearray(ctx), memoryview(ctx), np.frombuffer(ctx, dtype=np.uint8)):
        assert pv.CausalContext.from_bytes(data) == m.context()
    d = m.set("new", 7)
    for data in (bytearray(d.to_bytes()), memoryview(d.to_bytes())):
        assert pv.Delta.from_bytes(data).to_bytes() == d.to_bytes()


@pytest.mark.parametrize(
    "make",
    [
        lambda raw: memoryview(raw)[::2],
        lambda raw: np.frombuffer(raw, dtype=np.uint8)[::3],
        lambda raw: array.array("Q", raw[: len(raw) // 8 * 8]),
        lambda raw: np.frombuffer(raw[: len(raw) // 8 * 8], dtype=np.uint64),
        lambda raw: "not bytes",
        lambda raw: 12345,
    ],
    ids=["strided memoryview", "strided numpy", "array('Q')", "numpy uint64", "str", "int"],
)
def test_other_buffers_are_refused_and_nothing_changes(make) -> None:  # type: ignore[no-untyped-def]
    target = _state()
    raw = target.to_bytes()
    with pytest.raises((pv.Error, TypeError)) as e:
        target.merge(make(raw))
    assert "bytes" in str(e.value)
    with pytest.raises((pv.Error, TypeError)):
        pv.MVMap.from_bytes(make(raw), "tokyo")
    assert target.to_bytes() == raw


def test_an_empty_buffer_is_refused_as_bytes_not_as_a_type() -> None:
    for data in (b"", bytearray(), memoryview(b""), np.zeros(0, np.uint8)):
        with pytest.raises(pv.DecodeError):
            pv.MVMap.from_bytes(data, "tokyo")


def test_a_buffer_is_released_after_use() -> None:
    # a bytearray with an exported buffer refuses to resize: after the call it must resize
    raw = bytearray(_state().to_bytes())
    pv.MVMap.from_bytes(raw, "tokyo")
    with pytest.raises(pv.DecodeError):
        pv.MVMap.from_bytes(memoryview(raw)[:-1], "tokyo")
    raw.extend(b"x")  # BufferError here would mean a buffer was never released
    raw.clear()
