"""A naive model of the four record kinds, written from the CRDT semantics (docs/DESIGN.md), for
checking the engine from Python. It shares no code and no output with the engine.

A replica's model state is the set of events it has seen. A write is an event; its delta
carries that event. Joining whole states or `delta_since` results unites event sets. Each
event names the earlier events it overwrites (`covers`: the live writes of the key its
replica had seen), so reads need no causal delivery:

- MVMap: the values of the live `set` events of a key (not covered by any seen event); of
  one replica's live sets of a key only its latest shows (its earlier ones are in its causal
  past, so that replica had overwritten them).
- AWSet: present while some `add` event of the element is live.
- PNCounterMap: per replica, the running totals of its latest event for the key; summed.
- LWWMap: the seen write with the largest (timestamp, replica name, sequence); a local write
  that would lose to the local winner is no event at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, List, Optional, Set, Tuple

EventId = Tuple[str, int]  # (replica, sequence number at that replica)


@dataclass(frozen=True)
class Event:
    id: EventId
    op: str  # set | remove | add | count | lset | lremove
    key: Any
    value: Any = None
    covers: FrozenSet[EventId] = frozenset()
    inc: int = 0  # count: the replica's running totals for the key
    dec: int = 0
    ts: int = 0


@dataclass
class Model:
    """All events ever created (by id) and, per replica, the ids it has seen."""

    kind: str
    events: Dict[EventId, Event] = field(default_factory=dict)
    seen: Dict[str, Set[EventId]] = field(default_factory=dict)
    seq: Dict[str, int] = field(default_factory=dict)

    def replica(self, r: str) -> None:
        self.seen.setdefault(r, set())
        self.seq.setdefault(r, 0)

    # --- reads over a set of seen events ---

    def _live(self, ids: Set[EventId], key: Any, ops: Tuple[str, ...]) -> List[Event]:
        covered: Set[EventId] = set()
        for i in ids:
            covered |= self.events[i].covers
        return [
            self.events[i]
            for i in ids
            if self.events[i].key == key and self.events[i].op in ops and i not in covered
        ]

    def mv_get(self, r: str, key: Any) -> List[Any]:
        latest: Dict[str, Event] = {}
        for e in self._live(self.seen[r], key, ("set",)):
            if e.id[0] not in latest or latest[e.id[0]].id[1] < e.id[1]:
                latest[e.id[0]] = e
        return [e.value for e in latest.values()]

    def aw_contains(self, r: str, key: Any) -> bool:
        return bool(self._live(self.seen[r], key, ("add",)))

    def pn_cells(self, r: str, key: Any) -> Dict[str, Event]:
        cells: Dict[str, Event] = {}
        for i in self.seen[r]:
            e = self.events[i]
            if e.op == "count" and e.key == key and (e.id[0] not in cells or cells[e.id[0]].id[1] < e.id[1]):
                cells[e.id[0]] = e
        return cells

    def pn_value(self, r: str, key: Any) -> int:
        return sum(e.inc - e.dec for e in self.pn_cells(r, key).values())

    def _lww_winner(self, r: str, key: Any) -> Optional[Event]:
        ws = [self.events[i] for i in self.seen[r] if self.events[i].key == key and self.events[i].op in ("lset", "lremove")]
        return max(ws, key=_lww_order, default=None)

    def lww_get(self, r: str, key: Any) -> Optional[Any]:
        w = self._lww_winner(r, key)
        return w.value if w is not None and w.op == "lset" else None

    def keys(self, r: str) -> Set[Any]:
        ks = {self.events[i].key for i in self.seen[r]}
        if self.kind == "mvmap":
            return {k for k in ks if self.mv_get(r, k)}
        if self.kind == "awset":
            return {k for k in ks if self.aw_contains(r, k)}
        if self.kind == "pncounter":
            return {k for k in ks if self.pn_cells(r, k)}
        return {k for k in ks if self.lww_get(r, k) is not None}

    # --- writes: each returns the events of its delta ---

    def _new(self, r: str, op: str, key: Any, **kw: Any) -> Event:
        self.seq[r] += 1
        e = Event(id=(r, self.seq[r]), op=op, key=key, **kw)
        self.events[e.id] = e
        self.seen[r].add(e.id)
        return e

    def _covers(self, r: str, key: Any, ops: Tuple[str, ...]) -> FrozenSet[EventId]:
        return frozenset(e.id for e in self._live(self.seen[r], key, ops))

    def set(self, r: str, key: Any, value: Any) -> List[Event]:
        return [self._new(r, "set", key, value=value, covers=self._covers(r, key, ("set",)))]

    def remove(self, r: str, key: Any) -> List[Event]:
        ops = ("set",) if self.kind == "mvmap" else ("add",)
        return [self._new(r, "remove", key, covers=self._covers(r, key, ops))]

    def add(self, r: str, key: Any) -> List[Event]:
        return [self._new(r, "add", key, covers=self._covers(r, key, ("add",)))]

    def count(self, r: str, key: Any, inc: int, dec: int) -> List[Event]:
        mine = self.pn_cells(r, key).get(r)
        i, d = (mine.inc, mine.dec) if mine else (0, 0)
        return [self._new(r, "count", key, inc=i + inc, dec=d + dec)]

    def lww(self, r: str, key: Any, value: Any, ts: int, remove: bool = False) -> List[Event]:
        w = self._lww_winner(r, key)
        probe = Event(id=(r, self.seq[r] + 1), op="lset", key=key, ts=ts)
        if w is not None and _lww_order(w) > _lww_order(probe):
            return []  # would lose locally: no event, an empty delta
        return [self._new(r, "lremove" if remove else "lset", key, value=None if remove else value, ts=ts)]

    # --- delivery ---

    def receive(self, r: str, events: List[Event]) -> None:
        self.seen[r] |= {e.id for e in events}

    def merge_state(self, src: str, dst: str) -> None:
        self.seen[dst] |= self.seen[src]


def _lww_order(e: Event) -> Tuple[int, bytes, int]:
    return (e.ts, e.id[0].encode(), e.id[1])
