"""The checks every merge makes on untrusted input (issue 13, "a forged context wipes a
replica" and "a dot bound to two contents"): a state's merge refuses an input claiming
events of its own replica beyond what it issued (``ForeignClaimError``) and one binding an
event to two contents (``EquivocationError``), by every path (a ``Delta``, a whole state,
bytes, ``bytearray``, ``memoryview``), and leaves the state byte-identical. The reference
is a plain dict of what each replica wrote (the reads a user expects), never the engine's
own output."""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, List, Tuple

import pytest

import pluriverse as pv

# kind -> (new handle, write number i of key k, read of key k as the reference shapes it)
Kind = Tuple[Callable[[str], Any], Callable[[Any, str, int], pv.Delta], Callable[[Any, str], Any]]

KINDS: Dict[str, Kind] = {
    "mvmap": (lambda r: pv.MVMap(r), lambda s, k, i: s.set(k, i), lambda s, k: s.get(k, [])),
    "awset": (lambda r: pv.AWSet(r), lambda s, k, i: s.add(k), lambda s, k: k in s),
    "pncounter": (lambda r: pv.PNCounterMap(r), lambda s, k, i: s.increment(k, i), lambda s, k: s.get(k)),
    "lww": (lambda r: pv.LWWMap(r), lambda s, k, i: s.set(k, i, 100 + i), lambda s, k: s.get(k)),
}


def paths(x: Any) -> List[Any]:
    """The ways one input can be handed to ``merge``."""
    raw = x.to_bytes()
    return [x, raw, bytearray(raw), memoryview(raw)]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_forged_claim_on_our_own_events_is_refused(kind: str) -> None:
    new, write, read = KINDS[kind]
    victim = new("v")
    for i in range(3):
        write(victim, f"k{i}", i + 1)  # v has issued events 1..3
    forger = victim.copy()  # a second handle writing as "v": its next events are v:4, v:5
    forged_delta = write(forger, "evil", 7)  # claims v:4
    forged_state = forger.copy(replica="x")  # the forger's whole state, claiming v:4
    before = victim.to_bytes()
    for bad in paths(forged_delta) + paths(forged_state):
        with pytest.raises(pv.ForeignClaimError, match="forgery") as e:
            victim.merge(bad)
        assert "issued only 3" in str(e.value) and isinstance(e.value, ValueError)
        assert victim.to_bytes() == before, "a refused merge leaves the state unchanged"
    # the claim is only refused by the replica it names: a bystander takes it
    bystander = new("b")
    bystander.merge(victim)
    bystander.merge(forged_delta)
    assert read(bystander, "evil") == read(forger, "evil")
    # the victim still writes, and its next write (v:4) is not hidden by the forged claim
    d = write(victim, "after", 9)
    peer = new("p")
    peer.merge(d)
    assert read(peer, "after") == read(victim, "after") and read(victim, "after") not in ([], False, 0, None)


def test_a_remove_with_no_rows_claiming_unissued_events_cannot_hide_our_writes() -> None:
    """Issue 13's wipe: a delta with no rows whose context claims the victim's future
    events. Refused, so the victim's next write survives everywhere."""
    victim = pv.MVMap("v", "utf8", "int64")
    victim.set("a", 1)
    forger = victim.copy()
    forger.set("b", 2)  # v:2 ...
    wipe = forger.remove("b")  # ... and a delta with no rows claiming it
    assert wipe.entry_count() == 0
    before = victim.to_bytes()
    with pytest.raises(pv.ForeignClaimError):
        victim.merge(wipe.to_bytes())
    assert victim.to_bytes() == before
    d = victim.set("c", 3)  # v:2, the event the wipe claimed
    honest = pv.MVMap("h", "utf8", "int64")
    honest.merge(wipe)  # a bystander that took the wipe first ...
    honest.merge(d)
    # ... has it hide the victim's write: what the refusal protects the victim from
    assert "c" not in honest
    fresh = pv.MVMap("f", "utf8", "int64")
    fresh.merge(victim)
    assert fresh.get("c") == [3] and fresh.get("a") == [1]


def test_a_rollback_cannot_merge_what_it_issued_later() -> None:
    m = pv.MVMap("r")
    m.set("a", 1)
    old = m.copy()  # a restored backup of r
    m.set("b", 2)
    before = old.to_bytes()
    with pytest.raises(pv.ForeignClaimError, match="rollback"):
        old.merge(m)
    assert old.to_bytes() == before
    # under a new name the backup rejoins
    renamed = old.copy(replica="r2")
    renamed.merge(m)
    assert renamed.get("b") == [2]


def test_honest_exchanges_pass_the_checks() -> None:
    """What honest replicas send (each other's deltas, ``delta_since`` answers carrying our
    own events back, whole states) is never refused."""
    a, b = pv.MVMap("a"), pv.MVMap("b")
    expected: Dict[str, List[int]] = {}
    for i in range(20):
        w, o = (a, b) if i % 2 else (b, a)
        o.merge(w.set(f"k{i % 5}", i))
        expected[f"k{i % 5}"] = [i]
    a.merge(b.delta_since(a))  # b's answer holds a's own events, as many as a issued
    b.merge(a)
    a.merge(b)
    assert a == b and {k: a.get(k) for k in expected} == expected
    # a delta group of one writer's deltas is a delta, not a replica: it takes them all
    group = a.set("g", 1)
    group.merge(a.set("g", 2))
    group.merge(a.set("h", 3).to_bytes())
    c = pv.MVMap("c")
    c.merge(a)
    c.merge(group)
    assert c.get("g") == [2] and c.get("h") == [3]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_an_equivocating_pair_raises(kind: str) -> None:
    new, write, _ = KINDS[kind]
    x, y = new("e"), new("e")  # two handles issuing the same event e:1 ...
    dx = write(x, "k", 1)
    dy = write(y, "j", 2)  # ... bound to another key (and value)
    target = new("t")
    target.merge(dx)
    before = target.to_bytes()
    for bad in paths(dy) + paths(y):
        with pytest.raises(pv.EquivocationError, match="two different contents"):
            target.merge(bad)
        assert target.to_bytes() == before
    # a delta group refuses it too (only the own-event check is off for a delta)
    group = pv.Delta.from_bytes(dx.to_bytes())
    with pytest.raises(pv.EquivocationError):
        group.merge(dy)
    assert group.to_bytes() == dx.to_bytes()


def test_dask_merges_refuse_equivocation(tmp_path: Any) -> None:
    """The partition-by-partition merge decodes and joins in the native code with the same
    checks: an equivocating input is a ``PartitionError`` naming the file, and no output
    partition is written from it."""
    distributed = pytest.importorskip("dask.distributed")
    import pluriverse.dask as pd

    x, y = pv.MVMap("e"), pv.MVMap("e")
    x.set("k", 1)
    y.set("k", 2)
    pd.write_partitioned(x, tmp_path / "x", 1)
    pd.write_partitioned(y, tmp_path / "y", 1)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None) as client:
        with pytest.raises(pd.PartitionError, match=r"part-00000\.arrow: .*two different contents"):
            pd.merge(client, [tmp_path / "x", tmp_path / "y"], tmp_path / "out")
    assert not os.path.exists(pd.partition_file(tmp_path / "out", 0))
