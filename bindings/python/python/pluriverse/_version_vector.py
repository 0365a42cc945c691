"""``VersionVector``: a dict of replica name -> counter with the join and the causal order."""

from __future__ import annotations

from typing import Literal, Mapping, Union

from . import _native

Replica = Union[str, bytes]
Order = Literal["equal", "before", "after", "concurrent"]

__all__ = ["VersionVector", "Order", "Replica"]


def _as_dict(other: Mapping[Replica, int]) -> dict[Replica, int]:
    return other if isinstance(other, dict) else dict(other)


class VersionVector(dict):  # type: ignore[type-arg]
    """A version vector: for each replica (``str`` or ``bytes``), the highest counter seen,
    all lower ones included. Missing replicas count as 0.

    It is a plain ``dict`` (``VersionVector({"paris": 3})``, ``vv["tokyo"] = 2``) with the
    join and the order of ``pluriverse::VersionVector``::

        >>> a = VersionVector({"x": 2, "y": 1})
        >>> a.compare({"x": 1, "y": 3})
        'concurrent'
        >>> a.merge({"x": 1, "y": 3})
        >>> a.to_dict()
        {'x': 2, 'y': 3}
    """

    def merge(self, other: Mapping[Replica, int]) -> None:
        """Joins ``other`` into this vector in place (pointwise maximum); returns ``None``."""
        joined = _native.vv_merge(self, _as_dict(other))
        self.clear()
        self.update(joined)

    def compare(self, other: Mapping[Replica, int]) -> Order:
        """How this vector relates to ``other``: ``"equal"``, ``"before"`` (it has seen less),
        ``"after"`` (it has seen more) or ``"concurrent"`` (each has seen something the other
        has not)."""
        return _native.vv_compare(self, _as_dict(other))  # type: ignore[return-value]

    def to_dict(self) -> dict[Replica, int]:
        """A plain ``dict`` copy, without zero counters."""
        return {r: c for r, c in self.items() if c}

    def get(self, replica: Replica, default: int = 0) -> int:  # type: ignore[override]
        """The counter of ``replica``: 0 (or ``default``) when absent."""
        return int(super().get(replica, default))

    def __repr__(self) -> str:
        return f"VersionVector({dict.__repr__(self)})"
