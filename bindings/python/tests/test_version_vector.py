"""pluriverse.VersionVector against a naive model (dicts, pointwise max, componentwise order)."""

from __future__ import annotations

import random

import pytest

import pluriverse
from pluriverse import VersionVector


def model_merge(a: dict, b: dict) -> dict:
    return {r: max(a.get(r, 0), b.get(r, 0)) for r in set(a) | set(b) if max(a.get(r, 0), b.get(r, 0))}


def model_compare(a: dict, b: dict) -> str:
    rs = set(a) | set(b)
    lt = any(a.get(r, 0) < b.get(r, 0) for r in rs)
    gt = any(a.get(r, 0) > b.get(r, 0) for r in rs)
    return {(False, False): "equal", (True, False): "before", (False, True): "after"}.get(
        (lt, gt), "concurrent"
    )


def random_vv(rng: random.Random) -> dict:
    names = ["a", "b", "c", "d", b"\xff\x00"]
    return {r: rng.choice([0, 1, 2, 3, 2**64 - 1]) for r in rng.sample(names, rng.randint(0, 5))}


def test_is_a_dict() -> None:
    v = VersionVector({"paris": 3})
    assert isinstance(v, dict)
    v["tokyo"] = 2
    assert v == {"paris": 3, "tokyo": 2}
    assert v.get("lagos") == 0
    assert v.get("paris") == 3
    assert repr(v) == "VersionVector({'paris': 3, 'tokyo': 2})"


def test_examples() -> None:
    a = VersionVector({"x": 2, "y": 1})
    assert a.compare({"x": 1, "y": 3}) == "concurrent"
    assert a.merge({"x": 1, "y": 3}) is None
    assert a.to_dict() == {"x": 2, "y": 3}
    assert a.compare({"x": 1, "y": 3}) == "after"
    assert VersionVector().compare({}) == "equal"
    assert VersionVector({"x": 0}).compare({}) == "equal"
    assert VersionVector({}).compare({"x": 1}) == "before"


@pytest.mark.parametrize("seed", range(20))
def test_against_model(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(50):
        a, b = random_vv(rng), random_vv(rng)
        assert VersionVector(a).compare(b) == model_compare(a, b)
        m = VersionVector(a)
        m.merge(VersionVector(b))
        assert m.to_dict() == model_merge(a, b)
        # laws: commutative, idempotent, and the join is after-or-equal both sides
        m2 = VersionVector(b)
        m2.merge(a)
        assert m2.to_dict() == m.to_dict()
        assert m.compare(a) in ("after", "equal") and m.compare(b) in ("after", "equal")


def test_bytes_replicas_and_mappings() -> None:
    from types import MappingProxyType

    v = VersionVector({b"\xff": 1})
    v.merge(MappingProxyType({b"\xff": 4, "s": 1}))
    assert v == {b"\xff": 4, "s": 1}


@pytest.mark.parametrize(
    "bad", [{"x": -1}, {"x": 2**64}, {"x": "1"}, {1: 1}, {"x": 1.5}], ids=repr
)
def test_bad_vectors(bad: dict) -> None:
    v = VersionVector({"x": 1})
    with pytest.raises(pluriverse.KindError):
        v.merge(bad)
    with pytest.raises(TypeError):  # KindError is a TypeError too
        v.compare(bad)
    assert v == {"x": 1}
