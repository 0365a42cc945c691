"""pluriverse: replicated data merged at the speed of memory.

Delta-state CRDTs over columnar batches. Every replica writes locally and ships the small
delta each write returns; deltas may arrive late, twice or in any order, and replicas still
converge. Data enters and leaves as pyarrow and numpy arrays without copies.

Record kinds (each a map over millions of keys): :class:`MVMap` (multi-value registers),
:class:`AWSet` (add-wins set), :class:`PNCounterMap` (counters up and down) and
:class:`LWWMap` (last writer wins). Version vectors: :class:`VersionVector` for one vector,
:mod:`pluriverse.vv` for ``N x R`` matrices of them.
"""

from __future__ import annotations

from . import vv
from ._context import CausalContext
from ._errors import CounterOverflowError, DecodeError, Error, KindError, ShapeError
from ._kinds import AWSet, Delta, Key, LWWMap, MVMap, PNCounterMap, Value
from ._version_vector import Order, Replica, VersionVector

__all__ = [
    "MVMap",
    "AWSet",
    "PNCounterMap",
    "LWWMap",
    "Delta",
    "CausalContext",
    "Key",
    "Value",
    "Replica",
    "Order",
    "VersionVector",
    "vv",
    "Error",
    "DecodeError",
    "KindError",
    "CounterOverflowError",
    "ShapeError",
]
