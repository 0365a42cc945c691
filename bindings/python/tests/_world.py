"""A little network of replicas for the tests: each replica has an engine state and a model
state, an outbox of (delta bytes, model events), and the checks that they agree."""

from __future__ import annotations

import random
from typing import Any, Callable, Dict, List, Tuple

import pluriverse as pv
from _model import Event, Model

KINDS: Dict[str, Callable[[str], Any]] = {
    "mvmap": pv.MVMap,
    "awset": pv.AWSet,
    "pncounter": pv.PNCounterMap,
    "lww": pv.LWWMap,
}
KEYS = ["k0", "k1", "k2", "k3"]


class World:
    def __init__(self, kind: str, replicas: List[str], seed: int) -> None:
        self.kind = kind
        self.rng = random.Random(seed)
        self.model = Model(kind)
        self.states: Dict[str, Any] = {}
        self.outbox: Dict[str, List[Tuple[bytes, List[Event]]]] = {}
        self.clock = 0
        for r in replicas:
            self.states[r] = KINDS[kind](r)
            self.model.replica(r)
            self.outbox[r] = []

    @property
    def replicas(self) -> List[str]:
        return list(self.states)

    def random_op(self, r: str) -> None:
        """One random write at `r`; its delta goes to the outbox as bytes."""
        rng, s, m = self.rng, self.states[r], self.model
        key = rng.choice(KEYS)
        self.clock += 1
        if self.kind == "mvmap":
            if rng.random() < 0.75:
                v = rng.randrange(100)
                d, ev = s.set(key, v), m.set(r, key, v)
            else:
                d, ev = s.remove(key), m.remove(r, key)
        elif self.kind == "awset":
            if rng.random() < 0.6:
                d, ev = s.add(key), m.add(r, key)
            else:
                d, ev = s.remove(key), m.remove(r, key)
        elif self.kind == "pncounter":
            n = rng.randrange(1, 10)
            if rng.random() < 0.6:
                d, ev = s.increment(key, n), m.count(r, key, n, 0)
            else:
                d, ev = s.decrement(key, n), m.count(r, key, 0, n)
        else:
            ts = rng.randrange(0, 20)  # small: ties and out-of-order timestamps happen
            if rng.random() < 0.75:
                v = rng.randrange(100)
                d, ev = s.set(key, v, ts), m.lww(r, key, v, ts)
            else:
                d, ev = s.remove(key, ts), m.lww(r, key, None, ts, remove=True)
        assert isinstance(d, pv.Delta)
        self.outbox[r].append((d.to_bytes(), ev))

    def deliver(self, src: str, dst: str, i: int) -> None:
        data, ev = self.outbox[src][i]
        self.states[dst].merge(pv.Delta.from_bytes(data) if self.rng.random() < 0.5 else data)
        self.model.receive(dst, ev)

    def random_delivery(self) -> None:
        """A random delta to a random replica: late, duplicated, out of order; others are
        never delivered (dropped)."""
        src, dst = self.rng.choice(self.replicas), self.rng.choice(self.replicas)
        if self.outbox[src] and src != dst:
            self.deliver(src, dst, self.rng.randrange(len(self.outbox[src])))

    def sync(self, src: str, dst: str) -> None:
        """Anti-entropy: `dst` sends its context (as bytes), `src` answers with what `dst` lacks."""
        ctx = pv.CausalContext.from_bytes(self.states[dst].context().to_bytes())
        delta = self.states[src].delta_since(ctx)
        self.states[dst].merge(delta.to_bytes())
        self.model.merge_state(src, dst)

    def heal(self) -> None:
        """Full anti-entropy: everyone ends with every event."""
        rs = self.replicas
        for a in rs:
            for b in rs:
                if a != b:
                    self.sync(a, b)
        for a in rs[1:]:
            self.sync(a, rs[0])
        for b in rs[1:]:
            self.sync(rs[0], b)

    def read(self, r: str, key: str) -> Any:
        s = self.states[r]
        if self.kind == "mvmap":
            return sorted(s.get(key))
        if self.kind == "awset":
            return key in s
        if self.kind == "pncounter":
            return s.value(key)
        return s.get(key)

    def model_read(self, r: str, key: str) -> Any:
        m = self.model
        if self.kind == "mvmap":
            return sorted(m.mv_get(r, key))
        if self.kind == "awset":
            return m.aw_contains(r, key)
        if self.kind == "pncounter":
            return m.pn_value(r, key)
        return m.lww_get(r, key)

    def check(self, r: str) -> None:
        for key in KEYS:
            assert self.read(r, key) == self.model_read(r, key), (r, key)
        assert set(self.states[r].keys().to_pylist()) == self.model.keys(r), r
        assert len(self.states[r]) == len(self.model.keys(r))

    def check_all(self) -> None:
        for r in self.replicas:
            self.check(r)
