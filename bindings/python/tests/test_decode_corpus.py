"""The fuzzers' decode corpus (``fuzz/seeds/decode``: valid states, deltas and contexts of
every kind and type, plus what libFuzzer kept) through the Python byte entry points: each
call returns a value or raises a ``pluriverse.Error``, never crashes the interpreter, and a
refused merge leaves the state's digest unchanged."""

import pathlib

import pytest

import pluriverse as pv

SEEDS = pathlib.Path(__file__).resolve().parents[3] / "fuzz" / "seeds" / "decode"
FILES = sorted(p for p in SEEDS.iterdir() if p.is_file()) if SEEDS.is_dir() else []
KINDS = [pv.MVMap, pv.AWSet, pv.PNCounterMap, pv.LWWMap]


def test_the_corpus_is_there() -> None:
    assert len(FILES) >= 20


def _inputs(data: bytes) -> list[bytes]:
    return [data] + [data[:cut] for cut in range(0, len(data), len(data) // 3 + 1)]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_decoders_answer_or_raise_a_pluriverse_error(path: pathlib.Path) -> None:
    for data in _inputs(path.read_bytes()):
        for kind in KINDS:
            try:
                kind.from_bytes(data, "py")
            except pv.Error:
                pass
            target = kind("target")
            before = target.digest()
            try:
                target.merge(data)
            except pv.Error:
                assert target.digest() == before
        try:
            pv.Delta.from_bytes(data)
        except pv.Error:
            pass
        try:
            pv.CausalContext.from_bytes(data)
        except pv.Error:
            pass
