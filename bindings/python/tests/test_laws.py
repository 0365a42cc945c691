"""Lattice laws of the join, seen from Python: commutative, associative, idempotent, for
whole states and for deltas, every kind; the joined reads match the naive model's union."""

from __future__ import annotations

import itertools
from typing import Any, List

import pytest

import pluriverse as pv
from _world import KEYS, KINDS, World


def same(a: Any, b: Any) -> None:
    assert a.digest() == b.digest()
    assert a.to_bytes() == b.to_bytes()


def joined(*parts: Any) -> Any:
    """A fresh state of the parts' kind joined with each part in order."""
    s = type(parts[0])("j") if not isinstance(parts[0], pv.Delta) else None
    if s is None:
        raise TypeError
    for p in parts:
        s.merge(p)
    return s


def partial_states(kind: str, seed: int) -> World:
    """Three replicas that have seen different, overlapping parts of the history."""
    w = World(kind, ["a", "b", "c"], seed)
    for _ in range(60):
        w.random_op(w.rng.choice(w.replicas))
        if w.rng.random() < 0.5:
            w.random_delivery()
    return w


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_state_laws(kind: str, seed: int) -> None:
    w = partial_states(kind, seed)
    a, b, c = (w.states[r] for r in "abc")
    # idempotent
    aa = a.copy()
    aa.merge(a.copy())
    same(aa, a)
    aa.merge(a)  # the same object
    same(aa, a)
    # commutative
    ab, ba = a.copy(), b.copy()
    ab.merge(b)
    ba.merge(a)
    same(ab, ba)
    # associative
    ab_c = ab.copy()
    ab_c.merge(c)
    bc = b.copy()
    bc.merge(c)
    a_bc = a.copy()
    a_bc.merge(bc)
    same(ab_c, a_bc)
    # every order of the three gives one state, and it reads as the model's union
    results = []
    for order in itertools.permutations([a, b, c]):
        results.append(joined(*order))
    for r in results[1:]:
        same(r, results[0])
    for r in "abc":
        w.model.merge_state(r, "a")
    for key in KEYS:
        s = results[0]
        got = {"mvmap": lambda: sorted(s.get(key)), "awset": lambda: key in s,
               "pncounter": lambda: s.value(key), "lww": lambda: s.get(key)}[kind]()
        assert got == w.model_read("a", key)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_delta_laws(kind: str) -> None:
    """Deltas join with each other (delta groups) by the same laws, and any order or
    duplication of deltas gives the writer's state."""
    w = partial_states(kind, 11)
    deltas: List[pv.Delta] = [pv.Delta.from_bytes(d) for d, _ in w.outbox["a"]]
    assert deltas
    rng = w.rng
    x, y, z = (rng.choice(deltas) for _ in range(3))
    xy = pv.Delta.from_bytes(x.to_bytes())
    xy.merge(y)
    yx = pv.Delta.from_bytes(y.to_bytes())
    yx.merge(x)
    same(xy, yx)
    xy_z = pv.Delta.from_bytes(xy.to_bytes())
    xy_z.merge(z)
    yz = pv.Delta.from_bytes(y.to_bytes())
    yz.merge(z)
    x_yz = pv.Delta.from_bytes(x.to_bytes())
    x_yz.merge(yz)
    same(xy_z, x_yz)
    # all of a's own deltas, shuffled and duplicated, rebuild what a wrote itself (under
    # another name: a fresh handle writing as "a" refuses a's events, ForeignClaimError)
    own = type(w.states["a"])("rebuilt")
    for d, _ in w.outbox["a"]:
        own.merge(d)
    for _ in range(3):
        s = type(w.states["a"])("other")
        order = deltas * 2
        rng.shuffle(order)
        for d in order:
            s.merge(d)
        same(s, own)
