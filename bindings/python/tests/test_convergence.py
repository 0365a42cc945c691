"""Replicas converge from Python: random writes, deltas shuffled, duplicated and dropped,
then anti-entropy through delta_since; every read checked against the naive model."""

from __future__ import annotations

import pytest

from _world import KEYS, KINDS, World


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_lossy_network_then_anti_entropy(kind: str, seed: int) -> None:
    w = World(kind, ["paris", "tokyo", "lagos", "lima"], seed)
    for step in range(250):
        if w.rng.random() < 0.4:
            w.random_op(w.rng.choice(w.replicas))
        else:
            w.random_delivery()
        if step % 25 == 0:
            w.check_all()
    w.check_all()
    w.heal()
    w.check_all()
    first = w.states["paris"]
    for r in w.replicas[1:]:
        s = w.states[r]
        assert s.digest() == first.digest()
        assert s.to_bytes() == first.to_bytes()
        assert s.version_vector() == first.version_vector()
        assert s.context() == first.context()
    # every write survived that no later write or remove overwrote: each engine reads what
    # the model computes from every event ever issued (an extra model replica that has seen
    # them all, independent of which deliveries the run made)
    w.model.seen["*every-event*"] = set(w.model.events)
    for r in w.replicas:
        for key in KEYS:
            assert w.read(r, key) == w.model_read("*every-event*", key), (r, key)
        assert set(w.states[r].keys().to_pylist()) == w.model.keys("*every-event*"), r


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_whole_state_merges(kind: str) -> None:
    """Merging whole states (as objects and as bytes) is the same as exchanging every delta."""
    w = World(kind, ["a", "b", "c"], 99)
    for _ in range(120):
        w.random_op(w.rng.choice(w.replicas))
        w.random_delivery()
    w.states["a"].merge(w.states["b"])
    w.model.merge_state("b", "a")
    w.states["a"].merge(w.states["c"].to_bytes())
    w.model.merge_state("c", "a")
    w.check("a")
    # a state re-opened from bytes under another replica name holds the same state
    back = type(w.states["a"]).from_bytes(w.states["a"].to_bytes(), "z")
    assert back.digest() == w.states["a"].digest() and back.replica == "z"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_delta_before_its_causal_past(kind: str) -> None:
    """A delta delivered before the deltas it follows is neither lost nor misapplied."""
    w = World(kind, ["a", "b"], 7)
    for _ in range(30):
        w.random_op("a")
    for i in reversed(range(len(w.outbox["a"]))):
        w.deliver("a", "b", i)
        w.check("b")
    w.check_all()
    assert w.states["a"].digest() == w.states["b"].digest()
