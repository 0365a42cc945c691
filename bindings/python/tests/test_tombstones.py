"""``LWWMap.collect_tombstones`` (issue 13: "LWW remove tombstones are never collected"),
against a naive model: every write each replica has received, read as the write with the
largest ``(timestamp, replica, event)``. Collection must never change a read, must drop
every entry of a key whose winner is a tombstone at or below the floor once every replica
has seen it, and must drop nothing while a replica may still send a concurrent write."""

from __future__ import annotations

import random
from typing import Dict, List, Optional, Set, Tuple

import pytest

import pluriverse as pv

# a write: (timestamp, replica, event, key, value or None for a remove)
Write = Tuple[int, str, int, str, Optional[int]]


class Model:
    """What one replica has received, as a plain set of writes."""

    def __init__(self) -> None:
        self.writes: Set[Write] = set()

    def read(self, key: str) -> Optional[int]:
        mine = [w for w in self.writes if w[3] == key]
        if not mine:
            return None
        return max(mine, key=lambda w: (w[0], w[1], w[2]))[4]

    def keys(self) -> Set[str]:
        return {w[3] for w in self.writes}


def everyone(states: Dict[str, pv.LWWMap]) -> Dict[str, Dict[str, int]]:
    return {r: s.version_vector() for r, s in states.items()}


def test_removes_of_absent_keys_are_collected_once_everyone_saw_them() -> None:
    """The issue's case: removes of keys nobody wrote leave only tombstones, which go once
    every replica has them and the floor passes them; the bytes shrink."""
    n = 2000
    a, b = pv.LWWMap("a", "int64", "int64"), pv.LWWMap("b", "int64", "int64")
    d = a.remove_many(list(range(n)), list(range(1, n + 1)))  # timestamps 1..n
    live = b.set(-1, 5, 10)
    a.merge(live)
    assert a.entry_count() == n + 1
    # b has not received the removes: its vector lacks them, so nothing is stable yet
    assert a.collect_tombstones(everyone({"a": a, "b": b}), n) == 0
    # a replica never heard from (an empty vector) makes nothing stable either
    b.merge(d)
    assert a.collect_tombstones({**everyone({"a": a, "b": b}), "c": {}}, n) == 0
    assert a.entry_count() == n + 1
    size = len(a.to_bytes())
    floor = n // 2
    assert a.collect_tombstones(everyone({"a": a, "b": b}), floor) == floor  # ts 1..floor
    assert a.entry_count() == n + 1 - floor
    assert a.collect_tombstones(everyone({"a": a, "b": b}), 2**64 - 1) == n - floor
    # format 3 compresses the 2001 rows (about 11 KB); one row and the context stay (1.7 KB)
    assert a.entry_count() == 1 and a.get(-1) == 5 and len(a.to_bytes()) < size / 4
    # a copy of a dropped remove arriving again is discarded; b collects the same
    a.merge(d)
    assert a.entry_count() == 1
    assert b.collect_tombstones(everyone({"a": a, "b": b}), 2**64 - 1) == n
    assert a == b


def test_a_concurrent_write_below_a_tombstone_still_loses() -> None:
    a, b = pv.LWWMap("a", "utf8", "int64"), pv.LWWMap("b", "utf8", "int64")
    late = b.set("k", 1, 10)  # concurrent with a's remove, not delivered yet
    rm = a.remove("k", 20)
    b.merge(rm)
    heard = everyone({"a": a, "b": b})  # b's vector holds its write, which a lacks
    assert a.collect_tombstones(heard, 100) == 0, "a write concurrent with the tombstone is on its way"
    a.merge(late)
    assert a.get("k") is None
    assert a.collect_tombstones(heard, 19) == 0, "the floor is below the tombstone"
    assert a.collect_tombstones(heard, 20) == 2, "the tombstone and the write it beats"
    a.merge(late)  # arriving again: discarded, still removed
    assert a.get("k") is None and a.entry_count() == 0


def test_other_kinds_and_views_refuse() -> None:
    with pytest.raises(AttributeError):
        pv.MVMap("a").collect_tombstones({}, 0)  # type: ignore[attr-defined]
    m = pv.LWWMap("a")
    with pytest.raises(pv.TimestampError):
        m.collect_tombstones({"a": {}}, -1)
    with pytest.raises(pv.KindError):
        m.collect_tombstones({"a": 3}, 0)  # type: ignore[dict-item]


@pytest.mark.parametrize("seed", range(6))
def test_collection_against_the_model(seed: int) -> None:
    rng = random.Random(seed)
    names = ["a", "b", "c"]
    states = {r: pv.LWWMap(r, "utf8", "int64") for r in names}
    models = {r: Model() for r in names}
    events = {r: 0 for r in names}
    outbox: List[Tuple[pv.Delta, Set[Write]]] = []
    keys = [f"k{i}" for i in range(12)]
    floor_done = 0

    def write(r: str, ts: int) -> None:
        k = keys[rng.randrange(len(keys))]
        s = states[r]
        before = s.entry_count(), s.version_vector().get(r, 0)
        if rng.random() < 0.4:
            d, v = s.remove(k, ts), None
        else:
            v = rng.randrange(1000)
            d = s.set(k, v, ts)
        issued = s.version_vector().get(r, 0)
        if issued == before[1]:  # a local write that loses to what r holds changes nothing
            assert d.entry_count() == 0 and s.entry_count() == before[0]
            return
        events[r] = issued
        w: Write = (ts, r, issued, k, v)
        models[r].writes.add(w)
        outbox.append((d, {w}))

    def exchange_all() -> None:
        for x in names:
            for y in names:
                if x != y:
                    states[y].merge(states[x].delta_since(states[y]))
        union: Set[Write] = set().union(*(m.writes for m in models.values()))
        for r in names:
            models[r].writes = set(union)

    for phase in range(3):
        for _ in range(60):
            r = names[rng.randrange(3)]
            # after a collection, replicas keep the promise: no timestamp at or below the floor
            write(r, floor_done + 1 + rng.randrange(40))
            if outbox and rng.random() < 0.5:  # deliver one delta somewhere, any order
                d, ws = outbox.pop(rng.randrange(len(outbox)))
                t = names[rng.randrange(3)]
                states[t].merge(d)
                models[t].writes |= ws
        floor = floor_done + 1 + 40  # above every timestamp written so far, and the promise
        # partial knowledge (deltas still in flight): what a replica drops is safe, so reads
        # never change, and a replica that lacks a write some replica has drops nothing
        for r in names:
            reads = {k: states[r].get(k) for k in keys}
            heard = everyone(states)
            behind = any(vv.get(w, 0) > states[r].version_vector().get(w, 0) for vv in heard.values() for w in vv)
            dropped = states[r].collect_tombstones(heard, floor)
            assert {k: states[r].get(k) for k in keys} == reads
            assert not (behind and dropped), "nothing is dropped before the horizon is here"
        exchange_all()
        for r in names:
            assert {k: states[r].get(k) for k in keys} == {k: models[r].read(k) for k in keys}
            states[r].collect_tombstones(everyone(states), floor)
            model_live = {k for k in models[r].keys() if models[r].read(k) is not None}
            raw_keys = set(states[r].to_arrow().column("key").to_pylist())
            assert raw_keys <= model_live, "every key whose winner is a tombstone is gone"
            assert {k: states[r].get(k) for k in keys} == {k: models[r].read(k) for k in keys}
            assert states[r].collect_tombstones(everyone(states), floor) == 0, "all collected"
        assert states["a"] == states["b"] == states["c"]
        floor_done = floor
        outbox.clear()  # delivered by the exchange
