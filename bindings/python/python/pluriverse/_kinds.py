"""The record kinds (``MVMap``, ``AWSet``, ``PNCounterMap``, ``LWWMap``) and ``Delta``.

Each class is a thin handle on a native state: arguments are converted, the engine does the
work (joins, batch mutators, encoding, digests release the GIL).
"""

from __future__ import annotations

from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Dict,
    Generic,
    Iterator,
    List,
    Literal,
    Mapping,
    Optional,
    Tuple,
    Type,
    TypeVar,
    Union,
    overload,
)

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from . import _native
from ._arrow import (
    KEY_TYPES,
    VALUE_TYPES,
    ArrayCapsules,
    TypeSpec,
    length,
    split_mapping,
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
K = TypeVar("K")
"""The Python type of a kind's keys (elements): ``str``, ``bytes`` or ``int``."""
V = TypeVar("V")
"""The Python type of a map's values: ``str``, ``bytes``, ``int``, ``float`` or ``bool``."""
_D = TypeVar("_D")
_MISSING: Any = object()

View = Literal["raw", "values"]
"""What :meth:`MVMap.to_arrow` returns: ``"raw"`` (the CRDT entries) or ``"values"`` (one row
per key with the value a reader sees)."""


class _Stream:
    """An object with ``__arrow_c_stream__`` over a native stream function."""

    __slots__ = ("_f",)

    def __init__(self, f: Any) -> None:
        self._f = f

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self._f(requested_schema)


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

    def to_arrow(self, view: View = "raw") -> pa.Table:
        """The state as a ``pyarrow.Table``, handed over through the Arrow PyCapsule
        interface without copying (``.to_pandas()``, ``polars.from_arrow``, DuckDB read it).

        ``view="raw"`` (the default): the CRDT entries, the schema of :meth:`to_bytes`:
        columns ``key``, ``replica`` (a dictionary of replica names as binary), ``counter``
        (the event), and the kind's own columns (``value``; an ``LWWMap``'s ``timestamp``
        and its tombstones as null values; a ``PNCounterMap``'s per-replica ``increments``
        and ``decrements``). One key has several rows (one per concurrent value, per
        replica).

        ``view="values"``: what a reader sees, one row per key, in the order of
        :meth:`keys`: ``key`` and ``value``, where ``value`` is the list of concurrent values
        (``MVMap``, in the order ``get`` returns them), the winning value (``LWWMap``;
        removed keys have no row) or the total (``PNCounterMap``, ``int64``:
        :class:`pluriverse.CounterOverflowError` if one does not fit); an ``AWSet`` has only
        ``key`` (its elements).

        >>> m = MVMap("a"); _ = m.set("x", 1); m.merge(MVMap("b").set("x", 2))
        >>> m.to_arrow(view="values").to_pylist()
        [{'key': 'x', 'value': [1, 2]}]
        """
        if view == "raw":
            return pa.RecordBatchReader.from_stream(self._inner).read_all()
        if view == "values":
            return pa.RecordBatchReader.from_stream(_Stream(self._inner.values_stream)).read_all()
        raise ValueError(f"view must be 'raw' or 'values', not {view!r}")

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        """The Arrow PyCapsule stream interface (the raw entries): ``pyarrow.table(state)``,
        polars, DuckDB. A ``requested_schema`` other than the state's own raises
        :class:`pluriverse.KindError` (nothing is cast)."""
        return self._inner.__arrow_c_stream__(requested_schema)

    def __eq__(self, other: object) -> bool:
        """Equal content: the same class, kind, types, entries and context (the bytes of
        :meth:`to_bytes` are equal). The replica a handle writes as is not content:
        ``m == m.copy(replica="other")``."""
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, _Handle)
        return self._inner.same_content(other._inner)  # type: ignore[no-any-return]

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None  # type: ignore[assignment]  # mutable: merges change the content


class Delta(_Handle):
    """What a mutator returns: a small state carrying only what changed (also what
    ``delta_since`` returns). Ship it (``to_bytes``) and ``merge`` it into replicas of the
    same kind, in any order, any number of times."""

    __slots__ = ()

    @classmethod
    def from_bytes(cls, data: Union[bytes, bytearray, memoryview]) -> Delta:
        """Decodes delta (or state) bytes (``bytes``, ``bytearray``, ``memoryview``);
        :class:`pluriverse.DecodeError` for bad bytes."""
        return cls._wrap(_native.State.from_bytes(data, None))  # no writer: a delta only joins

    def merge(self, other: Union[Delta, bytes, bytearray, memoryview]) -> None:
        """Joins another delta of the same kind and types into this one (a delta group)."""
        _join(self, other)

    def __reduce__(self) -> Tuple[Any, ...]:
        """Pickles as the canonical bytes (multiprocessing, joblib, ``client.submit``)."""
        return (_restore_delta, (self.to_bytes(),))

    def __copy__(self) -> Delta:
        return Delta._wrap(self._inner.copy())

    def __deepcopy__(self, memo: Any) -> Delta:
        return Delta._wrap(self._inner.copy())

    def __repr__(self) -> str:
        return f"Delta({self.kind}, entries={self.entry_count()})"


_KINDS: "Dict[str, Type[_State[Any]]]" = {}
"""The record kind classes by kind name (filled as they are defined, checked complete at the end
of this module)."""


def _restore_delta(data: bytes) -> Delta:
    """Unpickles a :class:`Delta`."""
    return Delta.from_bytes(data)


def _restore_state(cls: Type[_S], data: bytes, replica: Replica, read_only: bool) -> _S:
    """Unpickles a state: the same content, written to as the same replica (as ``copy()``),
    read-only if the pickled handle was."""
    return cls._wrap(_native.State.from_bytes(data, replica, cls._KIND, read_only))  # type: ignore[attr-defined]


def _join(target: _Handle, x: Any) -> None:
    """Joins ``x`` into ``target``. Every merge refuses one event bound to two contents
    (:class:`EquivocationError`); a state's merge also refuses an input claiming events of
    the state's own replica beyond what it issued (:class:`ForeignClaimError`: a forgery, a
    second handle writing as the same replica, or the state is a rollback). A :class:`Delta`
    merging the deltas of its own writer into a group claims such events by design, so a
    delta target skips that check; the state it is merged into checks it."""
    checked = not isinstance(target, Delta)
    if isinstance(x, (bytes, bytearray, memoryview)):
        target._inner.join_bytes(x, checked)
        return
    if not isinstance(x, _Handle):
        raise KindError(f"cannot merge a {type(x).__name__}: expected a Delta, a state or bytes")
    if not isinstance(x, Delta) and type(x) is not type(target) and not isinstance(target, Delta):
        raise KindError(f"cannot merge a {type(x).__name__} into a {type(target).__name__}")
    target._inner.join(x._inner, checked)


class _State(_Handle, Generic[K]):
    """A replica's handle on a state of one record kind.

    Threads may share a handle: reads (``get``, ``in``, ``len``, ``digest``, ``to_bytes``,
    ...) run side by side, and a write or merge waits for the reads in progress while the
    reads that come after it wait for it, so a reader never sees a merge half done. Long
    calls (merges, batch mutators, encoding, digests) release the GIL while they wait and
    while they run."""

    __slots__ = ()
    _KIND: ClassVar[str]
    _HAS_VALUES: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A record kind's class here is named as the engine names the kind
        (``_native.KIND_NAMES``, from the core crate); its ``_KIND`` and ``_HAS_VALUES`` come
        from there. A subclass made elsewhere keeps its base's kind."""
        super().__init_subclass__(**kwargs)
        if cls.__module__ != __name__:
            return
        if cls.__name__ not in _native.KIND_NAMES:
            raise TypeError(f"{cls.__name__} is not a record kind of the engine: {_native.KIND_NAMES}")
        cls._KIND = cls.__name__
        cls._HAS_VALUES = cls.__name__ in _native.KINDS_WITH_VALUES
        _KINDS[cls.__name__] = cls

    def _init(self, replica: Replica, key_type: TypeSpec, value_type: Optional[TypeSpec]) -> None:
        k = type_name(key_type, KEY_TYPES, "key_type")
        v = type_name(value_type, VALUE_TYPES, "value_type") if self._HAS_VALUES else None
        self._inner = _native.State(self._KIND, replica, k, v)

    @classmethod
    def from_bytes(cls, data: Union[bytes, bytearray, memoryview], replica: Replica) -> Self:
        """The state in ``data`` (from :meth:`to_bytes` or a state file), handled by
        ``replica``: the name the new handle writes as, which is not part of the bytes. The key
        and value types come from the bytes. :class:`pluriverse.DecodeError` for bad bytes,
        :class:`pluriverse.KindError` for bytes of another kind."""
        return cls._wrap(_native.State.from_bytes(data, replica, cls._KIND))

    def __reduce__(self) -> Tuple[Any, ...]:
        """Pickles as the canonical bytes and the replica name (multiprocessing, joblib,
        Dask's ``client.submit``): the copy writes as the same replica, as :meth:`copy`
        does, so at most one of them may write."""
        return (_restore_state, (type(self), self.to_bytes(), self.replica, self._inner.is_read_only()))

    def __copy__(self) -> Self:
        return self.copy()

    def __deepcopy__(self, memo: Any) -> Self:
        return self.copy()

    @property
    def replica(self) -> Replica:
        """The replica this handle writes as."""
        return self._inner.replica()  # type: ignore[no-any-return]

    def copy(self, replica: Optional[Replica] = None) -> Self:
        """A copy of the state, written to as ``replica`` (default: the same replica; two
        handles writing as one replica must never both write). Cheap: the copy shares the
        state's rows, and whichever side changes a shared part first copies that part."""
        inner = self._inner.copy() if replica is None else self._inner.with_replica(replica)
        return self._wrap(inner)

    def merge(self, x: Union[Delta, Self, bytes, bytearray, memoryview]) -> None:
        """Joins ``x`` into this state: a :class:`Delta`, another state of the same kind (its
        whole state), or the bytes of either. Idempotent, commutative and associative; deltas
        need no causal order. Raises :class:`pluriverse.KindError` for another kind or other
        key/value types, :class:`pluriverse.DecodeError` for bad bytes,
        :class:`pluriverse.EquivocationError` for an input binding one event to other contents
        than this state does, :class:`pluriverse.ForeignClaimError` for one claiming events of
        this handle's replica beyond what it issued (a forgery, another handle writing as the
        same replica, or this state is a rollback); the state is then unchanged."""
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
        parts ``p``: partitions merge independently (see :mod:`pluriverse.dask`). The parts
        are written to as this replica, but a part does not know every event its replica
        issued: join parts into a handle of another name (as :mod:`pluriverse.dask` does), a
        handle of this replica's name refuses a part claiming more of its events than it
        holds (:class:`pluriverse.ForeignClaimError`), and never write to a part.

        >>> s = AWSet("a", key_type="int64")
        >>> _ = s.add_many(list(range(100)))
        >>> parts = s.partition(4)
        >>> sum(len(p) for p in parts)
        100
        >>> back = AWSet("rebuild", key_type="int64")
        >>> for p in parts:
        ...     back.merge(p)
        >>> back.digest() == s.digest()
        True
        """
        if isinstance(parts, bool) or not isinstance(parts, int) or parts < 1:
            raise ValueError(f"parts must be a positive int, not {parts!r}")
        return [self._wrap(p) for p in self._inner.partition(parts)]

    def keys(self, sorted: bool = False) -> pa.Array:
        """The keys held, as a ``pyarrow.Array`` of the key type (``.to_pylist()`` for a
        list), in the state's own order: by the hash of the key, stable for a given state
        but neither insertion nor sorted order; ``sorted=True`` sorts them (bytes order for
        ``utf8`` and ``binary``)."""
        keys = pa.array(ArrayCapsules(self._inner.keys_capsules()))
        if sorted:
            keys = keys.take(pc.array_sort_indices(keys))
        return keys

    def __iter__(self) -> Iterator[K]:
        """The keys (elements) as Python objects, in the order of :meth:`keys` (a snapshot
        taken when iteration starts)."""
        return iter(self.keys().to_pylist())

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is present; ``False`` for a key that cannot be one (another
        type, an int out of range, a ``str`` with a lone surrogate), as for a ``dict``."""
        try:
            return self._inner.contains(key)  # type: ignore[no-any-return]
        except KindError:
            return False

    def __repr__(self) -> str:
        types = f"key_type={self.key_type!r}"
        if self.value_type is not None:
            types += f", value_type={self.value_type!r}"
        return f"{type(self).__name__}({self.replica!r}, {types}) with {len(self)} keys"


class MVMap(_State[K], Generic[K, V]):
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

    @overload
    def __init__(
        self: MVMap[str, int], replica: Replica, key_type: Literal["utf8"] = ..., value_type: Literal["int64"] = ...
    ) -> None: ...
    @overload
    def __init__(self: MVMap[K, V], replica: Replica, key_type: Type[K], value_type: Type[V]) -> None: ...
    @overload
    def __init__(self: MVMap[K, int], replica: Replica, key_type: Type[K]) -> None: ...
    @overload
    def __init__(self: MVMap[Any, Any], replica: Replica, key_type: TypeSpec = ..., value_type: TypeSpec = ...) -> None: ...
    def __init__(self, replica: Replica, key_type: TypeSpec = "utf8", value_type: TypeSpec = "int64") -> None:
        """An empty map written to as ``replica`` (``str`` or ``bytes``). Types are names
        (``"utf8"``, ``"binary"``, ``"int64"``, ``"uint64"`` for keys; ``"utf8"``,
        ``"binary"``, ``"int64"``, ``"float64"``, ``"bool"`` for values), pyarrow types or
        Python types. For type checkers the map is ``MVMap[K, V]``: Python types give them
        (``MVMap("a", bytes, float)`` is an ``MVMap[bytes, float]``), the default is an
        ``MVMap[str, int]``; with names, annotate (``m: MVMap[int, str] = ...``)."""
        self._init(replica, key_type, value_type)

    def set(self, key: K, value: V) -> Delta:
        """Sets ``key`` to ``value``, replacing every value this replica has seen."""
        return Delta._wrap(self._inner.set(key, value))

    def remove(self, key: Key) -> Delta:
        """Removes the values of ``key`` this replica has seen (concurrent sets survive)."""
        return Delta._wrap(self._inner.remove(key))

    @overload
    def get(self, key: K) -> List[V]: ...
    @overload
    def get(self, key: object, default: _D) -> Union[List[V], _D]: ...
    def get(self, key: Any, default: Any = _MISSING) -> Any:
        """The concurrent values of ``key``: one after a plain set, several after concurrent
        sets (ordered by the name of the replica that wrote each). When ``key`` is absent
        (or cannot be a key), ``default`` if given, else ``[]``."""
        if default is _MISSING:
            return self._inner.get(key)
        try:
            values = self._inner.get(key)
        except KindError:
            return default
        return values if values else default

    def __getitem__(self, key: K) -> List[V]:
        """The concurrent values of ``key``; ``KeyError`` when absent."""
        values = self.get(key, None)
        if not values:
            raise KeyError(key)
        return values

    def items(self) -> List[Tuple[K, List[V]]]:
        """``(key, values)`` for every key, in the order of :meth:`keys` (one native read:
        :meth:`to_arrow` with ``view="values"``)."""
        return list(self.to_dict().items())

    def values(self) -> List[List[V]]:
        """The values of every key, in the order of :meth:`keys`."""
        return self.to_arrow(view="values").column("value").to_pylist()  # type: ignore[no-any-return]

    def to_dict(self) -> Dict[K, List[V]]:
        """The map as a ``dict`` of key -> list of concurrent values."""
        t = self.to_arrow(view="values")
        return dict(zip(t.column("key").to_pylist(), t.column("value").to_pylist()))

    def set_many(self, keys: Any, values: Any = _MISSING) -> Delta:
        """``set`` for each pair; ``keys`` and ``values`` are lists, numpy arrays, pyarrow
        arrays (not copied) or other iterables (generators) of equal length; or
        ``set_many(mapping)`` with a ``dict`` of key -> value. One delta for all."""
        if values is _MISSING:
            keys, values = split_mapping(keys, "set_many(mapping)")
        k = to_array(keys, self.key_type, "keys")
        v = to_array(values, self.value_type or "", "values")
        return Delta._wrap(self._inner.set_many(k, v))

    def remove_many(self, keys: Any) -> Delta:
        """``remove`` for each key."""
        return Delta._wrap(self._inner.remove_many(to_array(keys, self.key_type, "keys")))


class AWSet(_State[K]):
    """An add-wins set: a ``remove`` removes what its replica has seen; a concurrent ``add``
    wins.

    >>> s = AWSet("paris")
    >>> _ = s.add("x")
    >>> "x" in s, s.elements().to_pylist()
    (True, ['x'])
    """

    __slots__ = ()

    @overload
    def __init__(self: AWSet[str], replica: Replica, key_type: Literal["utf8"] = ...) -> None: ...
    @overload
    def __init__(self: AWSet[K], replica: Replica, key_type: Type[K]) -> None: ...
    @overload
    def __init__(self: AWSet[Any], replica: Replica, key_type: TypeSpec = ...) -> None: ...
    def __init__(self, replica: Replica, key_type: TypeSpec = "utf8") -> None:
        """An empty set written to as ``replica``; ``key_type`` is the element type (for type
        checkers ``AWSet[K]``, as for :class:`MVMap`). A set: ``in``, ``len``, iteration;
        no ``[]``."""
        self._init(replica, key_type, None)

    def add(self, element: K) -> Delta:
        """Adds ``element``."""
        return Delta._wrap(self._inner.add(element))

    def remove(self, element: K) -> Delta:
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


class PNCounterMap(_State[K]):
    """A map of counters that go up and down; concurrent increments and decrements all count.

    >>> c = PNCounterMap("paris")
    >>> _ = c.increment("views", 5); _ = c.decrement("views")
    >>> c.value("views")
    4
    """

    __slots__ = ()

    @overload
    def __init__(self: PNCounterMap[str], replica: Replica, key_type: Literal["utf8"] = ...) -> None: ...
    @overload
    def __init__(self: PNCounterMap[K], replica: Replica, key_type: Type[K]) -> None: ...
    @overload
    def __init__(self: PNCounterMap[Any], replica: Replica, key_type: TypeSpec = ...) -> None: ...
    def __init__(self, replica: Replica, key_type: TypeSpec = "utf8") -> None:
        """An empty map of counters written to as ``replica`` (``PNCounterMap[K]`` for type
        checkers, as for :class:`MVMap`)."""
        self._init(replica, key_type, None)

    def increment(self, key: K, n: int = 1) -> Delta:
        """Adds ``n`` (``0 <= n < 2**64``) to ``key``'s counter;
        :class:`pluriverse.CounterOverflowError` if a total would overflow."""
        return Delta._wrap(self._inner.increment(key, n))

    def decrement(self, key: K, n: int = 1) -> Delta:
        """Subtracts ``n`` (``0 <= n < 2**64``) from ``key``'s counter."""
        return Delta._wrap(self._inner.decrement(key, n))

    def value(self, key: K) -> int:
        """The counter of ``key``: increments minus decrements over all replicas (0 when
        absent)."""
        return self._inner.value_of(key)  # type: ignore[no-any-return]

    @overload
    def get(self, key: object) -> Optional[int]: ...
    @overload
    def get(self, key: object, default: _D) -> Union[int, _D]: ...
    def get(self, key: Any, default: Any = None) -> Any:
        """The counter of ``key``, or ``default`` when the key is absent (as for a ``dict``;
        :meth:`value` reads 0 instead)."""
        return self._inner.value_of(key) if key in self else default

    def __getitem__(self, key: K) -> int:
        """The counter of ``key``; ``KeyError`` when absent."""
        if key not in self:
            raise KeyError(key)
        return self._inner.value_of(key)  # type: ignore[no-any-return]

    def items(self) -> List[Tuple[K, int]]:
        """``(key, total)`` for every key, in the order of :meth:`keys`."""
        return list(self.to_dict().items())

    def values(self) -> List[int]:
        """The total of every key, in the order of :meth:`keys`."""
        return self.to_arrow(view="values").column("value").to_pylist()  # type: ignore[no-any-return]

    def to_dict(self) -> Dict[K, int]:
        """The counters as a ``dict`` of key -> total."""
        t = self.to_arrow(view="values")
        return dict(zip(t.column("key").to_pylist(), t.column("value").to_pylist()))

    def increment_many(self, keys: Any, amounts: Any = _MISSING) -> Delta:
        """``increment`` for each key, by the matching amount (a list or array of uint64, or
        one int for all; default 1); or ``increment_many(mapping)`` with a ``dict`` of key ->
        amount."""
        if amounts is _MISSING:
            keys, amounts = split_mapping(keys, "increment_many") if isinstance(keys, Mapping) else (keys, 1)
        k = to_array(keys, self.key_type, "keys")
        n = to_array_or_repeat(amounts, length(k, "keys"), "uint64", "amounts")
        return Delta._wrap(self._inner.increment_many(k, n))

    def decrement_many(self, keys: Any, amounts: Any = _MISSING) -> Delta:
        """``decrement`` for each key, by the matching amount (or a mapping, as
        :meth:`increment_many`)."""
        if amounts is _MISSING:
            keys, amounts = split_mapping(keys, "decrement_many") if isinstance(keys, Mapping) else (keys, 1)
        k = to_array(keys, self.key_type, "keys")
        n = to_array_or_repeat(amounts, length(k, "keys"), "uint64", "amounts")
        return Delta._wrap(self._inner.decrement_many(k, n))


class LWWMap(_State[K], Generic[K, V]):
    """A last-writer-wins map: the write with the highest ``(timestamp, replica)`` wins;
    ``remove`` writes a timestamped tombstone.

    >>> m = LWWMap("paris")
    >>> _ = m.set("k", 1, timestamp=10); _ = m.set("k", 2, timestamp=5)
    >>> m.get("k")
    1
    """

    __slots__ = ()

    @overload
    def __init__(
        self: LWWMap[str, int], replica: Replica, key_type: Literal["utf8"] = ..., value_type: Literal["int64"] = ...
    ) -> None: ...
    @overload
    def __init__(self: LWWMap[K, V], replica: Replica, key_type: Type[K], value_type: Type[V]) -> None: ...
    @overload
    def __init__(self: LWWMap[K, int], replica: Replica, key_type: Type[K]) -> None: ...
    @overload
    def __init__(self: LWWMap[Any, Any], replica: Replica, key_type: TypeSpec = ..., value_type: TypeSpec = ...) -> None: ...
    def __init__(self, replica: Replica, key_type: TypeSpec = "utf8", value_type: TypeSpec = "int64") -> None:
        """An empty map written to as ``replica`` (``LWWMap[K, V]`` for type checkers, as
        for :class:`MVMap`)."""
        self._init(replica, key_type, value_type)

    def set(self, key: K, value: V, timestamp: int) -> Delta:
        """Writes ``value`` at ``timestamp`` (an int in ``0..2**64``;
        :class:`pluriverse.TimestampError` outside)."""
        return Delta._wrap(self._inner.set_at(key, value, timestamp))

    def remove(self, key: K, timestamp: int) -> Delta:
        """Writes a tombstone for ``key`` at ``timestamp``."""
        return Delta._wrap(self._inner.remove_at(key, timestamp))

    @overload
    def get(self, key: object) -> Optional[V]: ...
    @overload
    def get(self, key: object, default: _D) -> Union[V, _D]: ...
    def get(self, key: Any, default: Any = None) -> Any:
        """The winning value of ``key``, or ``default`` when absent or removed (or when
        ``key`` cannot be a key)."""
        try:
            values = self._inner.get(key)
        except KindError:
            return default
        return values[0] if values else default

    def __getitem__(self, key: K) -> V:
        """The winning value of ``key``; ``KeyError`` when absent or removed."""
        values = self._inner.get(key) if key in self else []
        if not values:
            raise KeyError(key)
        return values[0]  # type: ignore[no-any-return]

    def items(self) -> List[Tuple[K, V]]:
        """``(key, value)`` for every key not removed, in the order of :meth:`keys`."""
        return list(self.to_dict().items())

    def values(self) -> List[V]:
        """The winning value of every key not removed, in the order of :meth:`keys`."""
        return self.to_arrow(view="values").column("value").to_pylist()  # type: ignore[no-any-return]

    def to_dict(self) -> Dict[K, V]:
        """The map as a ``dict`` of key -> winning value (removed keys left out)."""
        t = self.to_arrow(view="values")
        return dict(zip(t.column("key").to_pylist(), t.column("value").to_pylist()))

    def get_with_timestamp(self, key: K) -> Optional[Tuple[int, V]]:
        """``(timestamp, value)`` of the winning write of ``key``, or ``None``."""
        return self._inner.get_with_timestamp(key)  # type: ignore[no-any-return]

    def collect_tombstones(self, heard: Mapping[Replica, Mapping[Replica, int]], timestamp_floor: int) -> int:
        """Drops the tombstones no replica can need any more, with the writes each beats;
        returns how many entries were dropped (reads do not change). A remove leaves a
        tombstone, even for a key never seen, because a concurrent write with a lower
        timestamp may still arrive and must lose; a tombstone goes only when

        - every replica has seen it: ``heard`` maps *every* replica that has written or may
          still write to the version vector last heard from it (for example the
          ``version_vector()`` of the state it last sent; an older one only collects less,
          a replica left out may make this drop a tombstone it still needs);
        - this state has seen everything any of them had (else nothing is dropped);
        - its timestamp is at or below ``timestamp_floor``, below which the caller promises
          no replica will write any more (with clock timestamps: the smallest clock last
          heard from the replicas, less the skew allowed).

        The dropped entries' events stay in the context, so a copy arriving later is
        discarded as a removed entry is. :class:`pluriverse.TimestampError` for a floor
        outside ``0..2**64``."""
        pairs = [(r, dict(v) if isinstance(v, Mapping) else v) for r, v in heard.items()]
        return self._inner.collect_tombstones(pairs, timestamp_floor)  # type: ignore[no-any-return]

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


if set(_KINDS) != set(_native.KIND_NAMES):  # a kind the engine has and this module lacks
    raise ImportError(f"pluriverse._kinds defines {sorted(_KINDS)}, the engine has {_native.KIND_NAMES}")
