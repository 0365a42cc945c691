"""The exceptions of pluriverse: one base class, and one subclass per kind of problem.

Every subclass also derives from the built-in exception it resembles, so ``except ValueError``
and ``except TypeError`` keep working. An operation that raises leaves its target unchanged.
"""

from __future__ import annotations

import builtins

__all__ = ["Error", "DecodeError", "KindError", "CounterOverflowError", "ShapeError"]


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
