"""pluriverse: replicated data merged at the speed of memory.

Delta-state CRDTs over columnar batches. Every replica writes locally and ships the small
delta each write returns; deltas may arrive late, twice or in any order, and replicas still
converge. Data enters and leaves as pyarrow and numpy arrays without copies.

Record kinds (each a map over millions of keys): :class:`MVMap` (multi-value registers),
:class:`AWSet` (add-wins set), :class:`PNCounterMap` (counters up and down) and
:class:`LWWMap` (last writer wins). Version vectors: :class:`VersionVector` for one vector,
:mod:`pluriverse.vv` for ``N x R`` matrices of them.

Replicas that live: :class:`Replica` keeps a state in a directory (snapshot + checksummed log)
across crashes and restarts, under a fresh incarnation at every open; :class:`Sync` is the
sans-IO sync protocol for one peer (bytes in, bytes out, any transport).
:data:`ReplicaName` (``str`` or ``bytes``) is the type of replica names.
"""

from __future__ import annotations

from . import vv
from ._context import CausalContext
from ._errors import (
    ConfigError,
    CorruptError,
    CounterOverflowError,
    DecodeError,
    Error,
    ForeignClaimError,
    KindError,
    NotAReplicaError,
    PoisonedError,
    ReadOnlyError,
    ReplicaClosedError,
    ReplicaError,
    ReplicaExistsError,
    ReplicaIOError,
    ReplicaLockedError,
    ShapeError,
    SyncMessageError,
    TimestampError,
    EquivocationError,
)
from ._kinds import AWSet, Delta, Key, LWWMap, MVMap, PNCounterMap, Value
from ._replica import Durability, Replica
from ._sync import Sync
from ._version_vector import Order, VersionVector
from ._version_vector import Replica as ReplicaName

__all__ = [
    "MVMap",
    "AWSet",
    "PNCounterMap",
    "LWWMap",
    "Delta",
    "CausalContext",
    "Key",
    "Value",
    "ReplicaName",
    "Replica",
    "Durability",
    "Sync",
    "Order",
    "VersionVector",
    "vv",
    "Error",
    "DecodeError",
    "KindError",
    "CounterOverflowError",
    "ShapeError",
    "TimestampError",
    "EquivocationError",
    "ReadOnlyError",
    "ReplicaError",
    "ReplicaIOError",
    "ReplicaLockedError",
    "ReplicaExistsError",
    "NotAReplicaError",
    "CorruptError",
    "ForeignClaimError",
    "PoisonedError",
    "ReplicaClosedError",
    "SyncMessageError",
    "ConfigError",
]
