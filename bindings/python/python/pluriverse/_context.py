"""``CausalContext``: every event a state has seen, for anti-entropy (``delta_since``)."""

from __future__ import annotations

from typing import Any, Tuple, Union

from . import _native
from ._errors import KindError
from ._version_vector import Replica, VersionVector

__all__ = ["CausalContext"]


class CausalContext:
    """The set of events (dots: ``(replica, counter)`` pairs) a state has seen, kept as a
    version vector plus the events beyond it.

    A replica sends its context to a peer; the peer answers with
    ``state.delta_since(context)``, exactly what the replica lacks. Contexts travel as
    bytes: :meth:`to_bytes` / :meth:`from_bytes`.
    """

    __slots__ = ("_inner",)

    def __init__(self) -> None:
        """The empty context (nothing seen)."""
        self._inner = _native.CausalContext()

    @classmethod
    def _wrap(cls, inner: Any) -> CausalContext:
        c = cls.__new__(cls)
        c._inner = inner
        return c

    def __reduce__(self) -> Tuple[Any, ...]:
        """Pickles as the canonical bytes."""
        return (CausalContext.from_bytes, (self.to_bytes(),))

    def __copy__(self) -> CausalContext:
        return self  # immutable

    def __deepcopy__(self, memo: Any) -> CausalContext:
        return self

    def to_bytes(self) -> bytes:
        """The context's canonical bytes (equal contexts give equal bytes)."""
        return self._inner.to_bytes()

    @classmethod
    def from_bytes(cls, data: Union[bytes, bytearray, memoryview]) -> CausalContext:
        """Decodes :meth:`to_bytes`; raises :class:`pluriverse.DecodeError` for anything else."""
        return cls._wrap(_native.CausalContext.from_bytes(data))

    def version_vector(self) -> VersionVector:
        """For each replica, the highest counter up to which every event has been seen."""
        return VersionVector(self._inner.version_vector())

    def __contains__(self, dot: object) -> bool:
        """Whether the event ``(replica, counter)`` has been seen; ``False`` for anything
        that is not such a pair (a counter outside ``0..2**64``, a name that is neither
        ``str`` nor ``bytes``), as for a ``set``."""
        if not isinstance(dot, tuple) or len(dot) != 2:
            return False
        replica, counter = dot
        if not isinstance(replica, (str, bytes)) or isinstance(counter, bool) or not isinstance(counter, int):
            return False
        if not 0 <= counter < 2**64:
            return False
        try:
            return self._inner.contains(replica, counter)  # type: ignore[no-any-return]
        except KindError:  # a str with a lone surrogate: no replica has that name
            return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CausalContext) and self._inner == other._inner

    def __hash__(self) -> int:
        """Contexts are immutable, so hashable: by their canonical bytes."""
        return hash(self.to_bytes())

    def __repr__(self) -> str:
        return f"CausalContext({self.version_vector().to_dict()!r})"
