"""The record kinds (``MVMap``, ``AWSet``, ``PNCounterMap``, ``LWWMap``) and ``Delta``.

Each class is a thin handle on a native state: arguments are converted, the engine does the
work (joins, batch mutators, encoding, digests release the GIL).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, List, Optional, Tuple, TypeVar, Union

import pyarrow as pa  # type: ignore[import-untyped]

from . import _native
from ._arrow import (
    KEY_TYPES,
    VALUE_TYPES,
    ArrayCapsules,
    TypeSpec,
    length,
    to_array,
    to_array_or_repeat,
    type_name,
)
from ._context import CausalContext
from ._errors import KindError
from ._version_vector import Replica, VersionVector

if TYPE_CHECKING:
    from typing import Self

__all__ = ["Delta", "MVMap", "AWSet", "PNCounterMap", "LWWMap", "Key", "Value"]

Key = Union[str, bytes, int]
"""A key or element: ``str`` (utf8), ``bytes`` (binary) or ``int`` (int64, uint64)."""
Value = Union[str, bytes, int, float, bool]
"""A value: ``str``, ``bytes``, ``int`` (int64), ``float`` (float64) or ``bool``."""

_S = TypeVar("_S", bound="_Handle")


class _Handle:
    """What states and deltas share: bytes, Arrow, digests, contexts."""

    __slots__ = ("_inner",)

    _inner: Any

    @classmethod
    def _wrap(cls: type[_S], inner: Any) -> _S:
        obj = cls.__new__(cls)
        obj._inner = inner
        return obj

    @property
    def kind(self) -> str:
        """The record kind: ``"MVMap"``, ``"AWSet"``, ``"PNCounterMap"`` or ``"LWWMap"``."""
        return self._inner.state_type()[0]  # type: ignore[no-any-return]

    @property
    def key_type(self) -> str:
        """The key (element) type: ``"utf8"``, ``"binary"``, ``"int64"`` or ``"uint64"``."""
        return self._inner.state_type()[1]  # type: ignore[no-any-return]

    @property
    def value_type(self) -> Optional[str]:
        """The value type (``MVMap``, ``LWWMap``), or ``None`` for kinds without values."""
        return self._inner.state_type()[2]  # type: ignore[no-any-return]

    def __len__(self) -> int:
        """Number of keys (elements) held."""
        return len(self._inner)

    def entry_count(self) -> int:
        """Number of stored ``(key, event, value)`` entries (concurrent values count apart)."""
        return self._inner.entry_count()  # type: ignore[no-any-return]

    def context(self) -> CausalContext:
        """Every event seen (a copy): send it to a peer to ask for what is missing."""
        return CausalContext._wrap(self._inner.context())

    def version_vector(self) -> VersionVector:
        """The context's contiguous prefix per replica."""
        return VersionVector(self._inner.version_vector())

    def digest(self) -> bytes:
        """Order-independent 128-bit fingerprint, 16 bytes big-endian: equal states have equal
        digests, whatever replica wrote them or in what order deltas arrived."""
        return self._inner.digest()  # type: ignore[no-any-return]

    def to_bytes(self) -> bytes:
        """The Arrow IPC stream bytes (any Arrow reader opens them); equal states give
        identical bytes."""
        return self._inner.to_bytes()  # type: ignore[no-any-return]

    def to_arrow(self) -> pa.Table:
        """The entries as a ``pyarrow.Table`` (columns ``key``, ``replica``, ``counter`` and
        the kind's value columns; the schema is the one of :meth:`to_bytes`), handed over
        through the Arrow PyCapsule interface without copying."""
        return pa.RecordBatchReader.from_stream(self._inner).read_all()

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        """The Arrow PyCapsule stream interface: ``pyarrow.table(state)``, polars, DuckDB."""
        return self._inner.__arrow_c_stream__(requested_schema)


class Delta(_Handle):
    """What a mutator returns: a small state carrying only what changed (also what
    ``delta_since`` returns). Ship it (``to_bytes``) and ``merge`` it into replicas of the
    same kind, in any order, any number of times."""

    __slots__ = ()

    @classmethod
    def from_bytes(cls, data: bytes) -> Delta:
        """Decodes delta (or state) bytes; :class:`pluriverse.DecodeError` for bad bytes."""
        return cls._wrap(_native.State.from_bytes(data, "delta"))

    def merge(self, other: Union[Delta, bytes]) -> None:
        """Joins another delta of the same kind and types into this one (a delta group)."""
        _join(self, other)

    def __repr__(self) -> str:
        return f"Delta({self.kind}, entries={self.entry_count()})"


def _join(target: _Handle, x: Any) -> None:
    if isinstance(x, (bytes, bytearray, memoryview)):
        target._inner.join_bytes(x)
        return
    if not isinstance(x, _Handle):
        raise KindError(f"cannot merge a {type(x).__name__}: expected a Delta, a state or bytes")
    if not isinstance(x, Delta) and type(x) is not type(target) and not isinstance(target, Delta):
        raise KindError(f"cannot merge a {type(x).__name__} into a {type(target).__name__}")
    target._inner.join(x._inner)


class _State(_Handle):
    """A replica's handle on a state of one record kind."""

    __slots__ = ()
    _KIND: ClassVar[str]
    _HAS_VALUES: ClassVar[bool] = False

    def _init(self, replica: Replica, key_type: TypeSpec, value_type: Optional[TypeSpec]) -> None:
        k = type_name(key_type, KEY_TYPES, "key_type")
        v = type_name(value_type, VALUE_TYPES, "value_type") if self._HAS_VALUES else None
        self._inner = _native.State(self._KIND, replica, k, v)

    @classmethod
    def from_bytes(cls, data: bytes, replica: Replica) -> Self:
        """The state in ``data`` (from :meth:`to_bytes` or a state file), handled by
        ``replica``: the name the new handle writes as, which is not part of the bytes. The key
        and value types come from the bytes. :class:`pluriverse.DecodeError` for bad bytes,
        :class:`pluriverse.KindError` for bytes of another kind."""
        return cls._wrap(_native.State.from_bytes(data, replica, cls._KIND))

    @property
    def replica(self) -> Replica:
        """The replica this handle writes as."""
        return self._inner.replica()  # type: ignore[no-any-return]

    def copy(self, replica: Optional[Replica] = None) -> Self:
        """A copy of the state, written to as ``replica`` (default: the same replica; two
        handles writing as one replica must never both write)."""
        inner = self._inner.copy() if replica is None else self._inner.with_replica(replica)
        return self._wrap(inner)

    def merge(self, x: Union[Delta, Self, bytes]) -> None:
        """Joins ``x`` into this state: a :class:`Delta`, another state of the same kind (its
        whole state), or the bytes of either. Idempotent, commutative and associative; deltas
        need no causal order. Raises :class:`pluriverse.KindError` for another kind or other
        key/value types, :class:`pluriverse.DecodeError` for bad bytes; the state is then
        unchanged."""
        _join(self, x)

    def delta_since(self, context: Union[CausalContext, _Handle]) -> Delta:
        """What a replica whose context is ``context`` lacks (anti-entropy): joining the result
        there gives what joining this whole state would. A state or delta stands for its
        context."""
        if isinstance(context, _Handle):
            ctx = context._inner.context()
        elif isinstance(context, CausalContext):
            ctx = context._inner
        else:
            raise KindError(f"delta_since takes a CausalContext, not {type(context).__name__}")
        return Delta._wrap(self._inner.delta_since(ctx))

    def partition(self, parts: int) -> List[Self]:
        """Splits the state into ``parts`` states of the same kind, written to as the same
        replica, by key hash: partition ``p`` holds the keys whose 64-bit xxh3 hash ``h`` (of
        the key's bytes) has ``h * parts >> 64 == p`` (contiguous ranges of the hash space).
        Each part is a valid state carrying the context its keys need. Merging all the parts
        gives back this state, and part ``p`` of the merge of two states is the merge of their
        parts ``p``: partitions merge independently (see :mod:`pluriverse.dask`).

        >>> s = AWSet("a", key_type="int64")
        >>> _ = s.add_many(list(range(100)))
        >>> parts = s.partition(4)
        >>> sum(len(p) for p in parts)
        100
        >>> back = AWSet("a", key_type="int64")
        >>> for p in parts:
        ...     back.merge(p)
        >>> back.digest() == s.digest()
        True
        """
        if isinstance(parts, bool) or not isinstance(parts, int) or parts < 1:
            raise ValueError(f"parts must be a positive int, not {parts!r}")
        return [self._wrap(p) for p in self._inner.partition(parts)]

    def keys(self) -> pa.Array:
        """The keys held, as a ``pyarrow.Array`` of the key type (``.to_pylist()`` for a
        list)."""
        return pa.array(ArrayCapsules(self._inner.keys_capsules()))

    def __contains__(self, key: Key) -> bool:
        """Whether ``key`` is present."""
        return self._inner.contains(key)  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        types = f"key_type={self.key_type!r}"
        if self.value_type is not None:
            types += f", value_type={self.value_type!r}"
        return f"{type(self).__name__}({self.replica!r}, {types}) with {len(self)} keys"


class MVMap(_State):
    """A map of multi-value registers: concurrent ``set`` s of a key survive side by side
    until a later ``set`` or ``remove`` that has seen them.

    >>> paris, tokyo = MVMap("paris"), MVMap("tokyo")
    >>> d1 = paris.set("temperature", 21)
    >>> d2 = tokyo.set("temperature", 19)   # concurrent
    >>> paris.merge(d2); tokyo.merge(d1)
    >>> sorted(paris.get("temperature"))
    [19, 21]
    >>> paris.digest() == tokyo.digest()
    True
    """

    __slots__ = ()
    _KIND = "MVMap"
    _HAS_VALUES = True

    def __init__(self, replica: Replica, key_type: TypeSpec = "utf8", value_type: TypeSpec = "int64") -> None:
        """An empty map written to as ``replica`` (``str`` or ``bytes``). Types are names
        (``"utf8"``, ``"binary"``, ``"int64"``, ``"uint64"`` for keys; ``"utf8"``,
        ``"binary"``, ``"int64"``, ``"float64"``, ``"bool"`` for values), pyarrow types or
        Python types."""
        self._init(replica, key_type, value_type)

    def set(self, key: Key, value: Value) -> Delta:
        """Sets ``key`` to ``value``, replacing every value this replica has seen."""
        return Delta._wrap(self._inner.set(key, value))

    def remove(self, key: Key) -> Delta:
        """Removes the values of ``key`` this replica has seen (concurrent sets survive)."""
        return Delta._wrap(self._inner.remove(key))

    def get(self, key: Key) -> List[Value]:
        """The concurrent values of ``key``: one after a plain set, several after concurrent
        sets, none when absent."""
        return self._inner.get(key)  # type: ignore[no-any-return]

    def set_many(self, keys: Any, values: Any) -> Delta:
        """``set`` for each pair; ``keys`` and ``values`` are lists, numpy arrays or pyarrow
        arrays of equal length (pyarrow arrays are not copied). One delta for all."""
        k = to_array(keys, self.key_type, "keys")
        v = to_array(values, self.value_type or "", "values")
        return Delta._wrap(self._inner.set_many(k, v))

    def remove_many(self, keys: Any) -> Delta:
        """``remove`` for each key."""
        return Delta._wrap(self._inner.remove_many(to_array(keys, self.key_type, "keys")))


class AWSet(_State):
    """An add-wins set: a ``remove`` removes what its replica has seen; a concurrent ``add``
    wins.

    >>> s = AWSet("paris")
    >>> _ = s.add("x")
    >>> "x" in s, s.elements().to_pylist()
    (True, ['x'])
    """

    __slots__ = ()
    _KIND = "AWSet"

    def __init__(self, replica: Replica, key_type: TypeSpec = "utf8") -> None:
        """An empty set written to as ``replica``; ``key_type`` is the element type."""
        self._init(replica, key_type, None)

    def add(self, element: Key) -> Delta:
        """Adds ``element``."""
        return Delta._wrap(self._inner.add(element))

    def remove(self, element: Key) -> Delta:
        """Removes ``element`` as far as this replica has seen it."""
        return Delta._wrap(self._inner.remove(element))

    def elements(self) -> pa.Array:
        """The elements, as a ``pyarrow.Array`` (``.to_pylist()`` for a list)."""
        return self.keys()

    def add_many(self, elements: Any) -> Delta:
        """``add`` for each element (a list, numpy array or pyarrow array)."""
        return Delta._wrap(self._inner.add_many(to_array(elements, self.key_type, "elements")))

    def remove_many(self, elements: Any) -> Delta:
        """``remove`` for each element."""
        return Delta._wrap(self._inner.remove_many(to_array(elements, self.key_type, "elements")))


class PNCounterMap(_State):
    """A map of counters that go up and down; concurrent increments and decrements all count.

    >>> c = PNCounterMap("paris")
    >>> _ = c.increment("views", 5); _ = c.decrement("views")
    >>> c.value("views")
    4
    """

    __slots__ = ()
    _KIND = "PNCounterMap"

    def __init__(self, replica: Replica, key_type: TypeSpec = "utf8") -> None:
        """An empty map of counters written to as ``replica``."""
        self._init(replica, key_type, None)

    def increment(self, key: Key, n: int = 1) -> Delta:
        """Adds ``n`` (``0 <= n < 2**64``) to ``key``'s counter;
        :class:`pluriverse.CounterOverflowError` if a total would overflow."""
        return Delta._wrap(self._inner.increment(key, n))

    def decrement(self, key: Key, n: int = 1) -> Delta:
        """Subtracts ``n`` (``0 <= n < 2**64``) from ``key``'s counter."""
        return Delta._wrap(self._inner.decrement(key, n))

    def value(self, key: Key) -> int:
        """The counter of ``key``: increments minus decrements over all replicas (0 when
        absent)."""
        return self._inner.value_of(key)  # type: ignore[no-any-return]

    def increment_many(self, keys: Any, amounts: Any = 1) -> Delta:
        """``increment`` for each key, by the matching amount (a list or array of uint64, or
        one int for all)."""
        k = to_array(keys, self.key_type, "keys")
        n = to_array_or_repeat(amounts, length(k, "keys"), "uint64", "amounts")
        return Delta._wrap(self._inner.increment_many(k, n))

    def decrement_many(self, keys: Any, amounts: Any = 1) -> Delta:
        """``decrement`` for each key, by the matching amount."""
        k = to_array(keys, self.key_type, "keys")
        n = to_array_or_repeat(amounts, length(k, "keys"), "uint64", "amounts")
        return Delta._wrap(self._inner.decrement_many(k, n))


class LWWMap(_State):
    """A last-writer-wins map: the write with the highest ``(timestamp, replica)`` wins;
    ``remove`` writes a timestamped tombstone.

    >>> m = LWWMap("paris")
    >>> _ = m.set("k", 1, timestamp=10); _ = m.set("k", 2, timestamp=5)
    >>> m.get("k")
    1
    """

    __slots__ = ()
    _KIND = "LWWMap"
    _HAS_VALUES = True

    def __init__(self, replica: Replica, key_type: TypeSpec = "utf8", value_type: TypeSpec = "int64") -> None:
        """An empty map written to as ``replica``."""
        self._init(replica, key_type, value_type)

    def set(self, key: Key, value: Value, timestamp: int) -> Delta:
        """Writes ``value`` at ``timestamp`` (an int in ``0..2**64``)."""
        return Delta._wrap(self._inner.set_at(key, value, timestamp))

    def remove(self, key: Key, timestamp: int) -> Delta:
        """Writes a tombstone for ``key`` at ``timestamp``."""
        return Delta._wrap(self._inner.remove_at(key, timestamp))

    def get(self, key: Key, default: Any = None) -> Any:
        """The winning value of ``key``, or ``default`` when absent or removed."""
        values = self._inner.get(key)
        return values[0] if values else default

    def get_with_timestamp(self, key: Key) -> Optional[Tuple[int, Value]]:
        """``(timestamp, value)`` of the winning write of ``key``, or ``None``."""
        return self._inner.get_with_timestamp(key)  # type: ignore[no-any-return]

    def set_many(self, keys: Any, values: Any, timestamps: Any) -> Delta:
        """``set`` for each triple; ``timestamps`` is a list or array of uint64, or one int
        for all."""
        k = to_array(keys, self.key_type, "keys")
        v = to_array(values, self.value_type or "", "values")
        t = to_array_or_repeat(timestamps, length(k, "keys"), "uint64", "timestamps")
        return Delta._wrap(self._inner.set_many_at(k, v, t))

    def remove_many(self, keys: Any, timestamps: Any) -> Delta:
        """``remove`` for each key, at the matching timestamp (or one int for all)."""
        k = to_array(keys, self.key_type, "keys")
        t = to_array_or_repeat(timestamps, length(k, "keys"), "uint64", "timestamps")
        return Delta._wrap(self._inner.remove_many_at(k, t))
