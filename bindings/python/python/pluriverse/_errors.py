"""The exceptions of pluriverse: one base class, and one subclass per kind of problem.

Every subclass also derives from the built-in exception it resembles, so ``except ValueError``
and ``except TypeError`` keep working. An operation that raises leaves its target unchanged.
"""

from __future__ import annotations

import builtins

__all__ = [
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


class Error(Exception):
    """Base class of every error pluriverse raises."""


class DecodeError(Error, ValueError):
    """Bytes could not be decoded into a state, delta or causal context (truncated, corrupt,
    hostile, or the wrong Arrow schema). The target is unchanged."""


class KindError(Error, TypeError):
    """An argument has the wrong kind or type: a delta or state of another record kind or of
    other key/value types, a key or value of the wrong Python type, an unknown type name."""


class CounterOverflowError(Error, builtins.OverflowError):
    """A counter would overflow: a replica's event counter (the replica must rejoin under a
    new name), a PN-counter total, or an amount outside 0..2**64."""


class ShapeError(Error, ValueError):
    """Arrays of the wrong shape or layout: columns of different lengths, a matrix that is not
    (N, R) or not C-contiguous, a read-only output."""


class TimestampError(Error, ValueError):
    """An ``LWWMap`` timestamp outside ``0..2**64`` (timestamps are unsigned 64-bit)."""


class EquivocationError(Error, ValueError):
    """A join met one event (dot) bound to two different contents, another key or value on
    each side: a replica equivocated, or the input is forged. Nothing was joined."""


class ReadOnlyError(Error, TypeError):
    """A write to a read-only view: :attr:`pluriverse.Replica.state` is a snapshot that
    carries the replica's incarnation, so writing to it would issue that incarnation's events
    a second time. Write through the :class:`pluriverse.Replica`, or take a writable copy
    under a new name with ``view.copy(replica="other")``."""


class ReplicaError(Error):
    """Base class of the errors of a replica directory (:class:`pluriverse.Replica`). Those
    that name a directory have it as ``path``."""


class ReplicaIOError(ReplicaError, OSError):
    """A file operation on the replica directory failed (``errno`` and ``filename`` as for
    any ``OSError``; ``path`` too). A failed write poisons the handle (:class:`PoisonedError`
    afterwards): reopen the directory to continue."""


class ReplicaLockedError(ReplicaError):
    """The directory is open in another process or another handle: a replica directory has
    one writer at a time."""


class ReplicaExistsError(ReplicaError, FileExistsError):
    """``Replica.create`` found a replica already in the directory (use ``Replica.open``)."""


class NotAReplicaError(ReplicaError):
    """The directory holds no replica (no ``replica.json``), or one of another format."""


class CorruptError(ReplicaError):
    """A file of the replica directory is damaged: a record in the middle of a log fails its
    checksum, or a snapshot does not decode. ``file`` names the file and ``offset`` the byte
    offset of the damaged record (0 for a snapshot); nothing is skipped silently. (A torn
    *tail* of the newest log, left by a crash in the middle of a write, is not an error: it
    is cut on open.)"""

    file: object
    offset: int


class ForeignClaimError(ReplicaError, ValueError):
    """An input claims events of the joining replica beyond what it has issued (a state's
    ``merge``: of the handle's replica; ``Replica.apply``: of its current incarnation): a
    forgery, a copy of this replica writing as it, or this state is a rollback. Nothing was
    joined."""


class PoisonedError(ReplicaError):
    """An earlier write to the log failed after the state in memory had changed; the handle
    refuses everything until the directory is reopened (which replays what the log holds)."""


class ReplicaClosedError(ReplicaError, ValueError):
    """The replica handle was closed (``close()`` or the end of a ``with`` block)."""


class SyncMessageError(DecodeError):
    """A sync message that cannot be decoded, or one over ``max_message``: the peer is broken
    or hostile. It is dropped; nothing else changes."""


class ConfigError(Error, ValueError):
    """A configuration that cannot work: a ``max_message`` too small for the state type, an
    unknown durability."""
