"""``Replica``: a replica that lives in a directory, across crashes and restarts, under an
identity it never reuses.

The directory holds a snapshot and an append-only, checksummed log (``replica.json``,
``LOCK``, ``snapshot-<seq>.arrow``, ``log-<seq>``; see the Rust crate ``pluriverse-replica``).
Every write goes to the log before it returns its delta; opening replays the log, cuts a
torn tail and refuses a damaged middle record. Each open writes under a fresh incarnation
(``name#<16 hex digits>``), so an event (dot) is never issued twice, even after an old copy
of the directory is restored.
"""

from __future__ import annotations

import os
import pathlib
from typing import TYPE_CHECKING, Any, Literal, Optional, Tuple, Type, Union

from . import _native
from ._arrow import KEY_TYPES, VALUE_TYPES, TypeSpec, length, to_array, to_array_or_repeat, type_name
from ._errors import KindError
from ._kinds import _KINDS, AWSet, Delta, Key, LWWMap, MVMap, PNCounterMap, Value, _Handle, _State
from ._version_vector import Replica as ReplicaName

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["Replica", "Durability", "KindSpec"]

Durability = Literal["group", "synced", "buffered"]
"""``"group"`` (the default: a write is durable against power loss once :meth:`Replica.sync`
returns; one ``fdatasync`` acknowledges a batch), ``"synced"`` (``fdatasync`` before every
write returns) or ``"buffered"`` (handed to the OS: survives a kill of the process, not a
power loss)."""

KindSpec = Union[str, Type[_State]]
"""A record kind: a name (``"mvmap"``, ``"awset"``, ``"pncounter"``, ``"lww"``, or the class
names) or the class (:class:`MVMap`, ...)."""

_HAS_VALUES = set(_native.KINDS_WITH_VALUES)


def _a(kind: str) -> str:
    """``kind`` with its article, for messages: "an MVMap", "a PNCounterMap"."""
    return ("an " if kind[0] in "AELMR" else "a ") + kind


def kind_name(kind: Any) -> str:
    """The class name of a record kind given as a name or a class."""
    if isinstance(kind, type) and issubclass(kind, _State) and kind in _KINDS.values():
        return kind._KIND
    name = _native.kind_name(kind) if isinstance(kind, str) else None
    if name is not None:
        return name
    raise KindError(f"unknown kind {kind!r}: expected mvmap, awset, pncounter or lww (or the class)")


def state_type(kind: Any, key: TypeSpec, value: Optional[TypeSpec]) -> Tuple[str, str, Optional[str]]:
    """``(kind, key type, value type or None)`` from what users pass; ``value`` defaults to
    ``"int64"`` for the kinds with values and must be ``None`` for the others."""
    k = kind_name(kind)
    key_name = type_name(key, KEY_TYPES, "key type")
    if k in _HAS_VALUES:
        value_name: Optional[str] = type_name("int64" if value is None else value, VALUE_TYPES, "value type")
    elif value is not None:
        raise KindError(f"{_a(k)} has no values: value must be None, not {value!r}")
    else:
        value_name = None
    return k, key_name, value_name


def _path(p: Union[str, os.PathLike]) -> str:  # type: ignore[type-arg]
    return os.fspath(p)


class Replica:
    """A durable replica: a directory holding the state of one record kind, written by one
    handle at a time, under a fresh incarnation at every open.

    Writes mirror the kind's mutators (``set``, ``remove``, ``add``, ``increment``,
    ``decrement``, the ``*_many`` batch forms; for an ``LWWMap`` ``set`` and ``remove`` take
    a ``timestamp``) and raise :class:`pluriverse.KindError` on a replica of another kind.
    Each is in the log before it returns its :class:`Delta`, which is what to ship to peers
    (``delta.to_bytes()``, or :meth:`pluriverse.Sync.push`). Deltas received from peers go in
    with :meth:`apply`. Reads (``get``, ``in``, ``len``, ``value``, ``digest``) read the state
    in place; :attr:`state` is a read-only snapshot as the kind's class.

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with Replica.create(root / "paris", "paris", kind="mvmap") as paris:
    ...     d = paris.set("temperature", 21)
    ...     paris.sync()                       # durable against power loss from here
    ...     first = paris.writer
    >>> with Replica.open(root / "paris") as paris:
    ...     paris.get("temperature"), paris.writer != first, paris.writer.startswith("paris#")
    ([21], True, True)

    Errors are :class:`pluriverse.ReplicaError` subclasses: :class:`ReplicaLockedError` (the
    directory is open elsewhere), :class:`CorruptError` (``file`` and ``offset`` of a damaged
    record), :class:`ReplicaExistsError`, :class:`NotAReplicaError`,
    :class:`ReplicaIOError` (an ``OSError``), :class:`ForeignClaimError`,
    :class:`PoisonedError`, :class:`ReplicaClosedError`.
    """

    __slots__ = ("_inner", "_kind", "_view", "__weakref__")

    _inner: Any
    _kind: str
    _view: Optional[_State]

    def __init__(self) -> None:
        raise TypeError("use Replica.create(path, name, ...) or Replica.open(path)")

    @classmethod
    def _wrap(cls, inner: Any) -> Replica:
        obj = cls.__new__(cls)
        obj._inner = inner
        obj._kind = inner.state_type()[0]
        obj._view = None
        return obj

    @classmethod
    def create(
        cls,
        path: Union[str, os.PathLike],  # type: ignore[type-arg]
        name: ReplicaName,
        kind: KindSpec = "mvmap",
        key: TypeSpec = "utf8",
        value: Optional[TypeSpec] = None,
        durability: Durability = "group",
        fold_bytes: Optional[int] = None,
    ) -> Replica:
        """Creates a replica named ``name`` (``str`` or ``bytes``) of ``kind`` in the directory
        ``path`` (created if missing; it must not hold a replica already) and opens it.

        ``key`` is the key (element) type and ``value`` the value type (``MVMap`` and
        ``LWWMap``; default ``"int64"``), as for the kind classes. ``durability``: see
        :data:`Durability`. ``fold_bytes``: the log folds into a new snapshot past this many
        bytes (default 64 MiB).

        Raises :class:`ReplicaExistsError` if ``path`` holds a replica,
        :class:`ReplicaLockedError`, :class:`ReplicaIOError`; :class:`KindError` for an
        unknown kind or type."""
        k, key_name, value_name = state_type(kind, key, value)
        return cls._wrap(_native.Replica.create(_path(path), name, k, key_name, value_name, durability, fold_bytes))

    @classmethod
    def open(
        cls,
        path: Union[str, os.PathLike],  # type: ignore[type-arg]
        durability: Durability = "group",
        fold_bytes: Optional[int] = None,
    ) -> Replica:
        """Opens the replica in ``path``: the newest snapshot joined with the logs after it,
        under a fresh incarnation (:attr:`writer`). A torn tail of the newest log (a write cut
        by a crash) is cut off.

        Raises :class:`ReplicaLockedError` when another handle or process has it open,
        :class:`CorruptError` naming the file and offset of a damaged record,
        :class:`NotAReplicaError`, :class:`ReplicaIOError`."""
        return cls._wrap(_native.Replica.open(_path(path), durability, fold_bytes))

    # --- identity ---

    @property
    def name(self) -> ReplicaName:
        """The replica's name (what ``create`` was given)."""
        return self._inner.name()  # type: ignore[no-any-return]

    @property
    def writer(self) -> ReplicaName:
        """The incarnation this handle writes as, ``name#<16 hex digits>``: fresh at every
        open, so an event is never issued twice whatever happened to the directory."""
        return self._inner.writer()  # type: ignore[no-any-return]

    @property
    def path(self) -> pathlib.Path:
        """The directory."""
        return pathlib.Path(self._inner.path())

    @property
    def kind(self) -> str:
        """The record kind: ``"MVMap"``, ``"AWSet"``, ``"PNCounterMap"`` or ``"LWWMap"``."""
        return self._kind

    @property
    def key_type(self) -> str:
        """The key (element) type name."""
        return self._inner.state_type()[1]  # type: ignore[no-any-return]

    @property
    def value_type(self) -> Optional[str]:
        """The value type name, or ``None`` for kinds without values."""
        return self._inner.state_type()[2]  # type: ignore[no-any-return]

    @property
    def durability(self) -> Durability:
        """What a write that returned survives: ``"group"``, ``"synced"`` or ``"buffered"``."""
        return self._inner.durability()  # type: ignore[no-any-return]

    @property
    def issued(self) -> int:
        """The highest event counter the current incarnation has issued (0 before its first
        write)."""
        return self._inner.issued()  # type: ignore[no-any-return]

    @property
    def log_bytes(self) -> int:
        """Bytes in the current log (it folds into a snapshot past ``fold_bytes``)."""
        return self._inner.log_bytes()  # type: ignore[no-any-return]

    @property
    def closed(self) -> bool:
        """Whether the handle is closed."""
        return self._inner.is_closed()  # type: ignore[no-any-return]

    # --- reads ---

    @property
    def state(self) -> Any:
        """The state as the kind's class (:class:`MVMap`, ...): a **read-only snapshot**, as of
        this call. It is a copy (O(state), the GIL released), taken again only after a write
        or an :meth:`apply`; later writes do not show in a snapshot already taken. Its
        mutators and ``merge`` raise :class:`pluriverse.ReadOnlyError` (it carries this
        handle's incarnation, which only the replica may write as);
        ``view.copy(replica="other")`` gives a writable copy under another name. For single
        reads, :meth:`get`, ``in``, ``len``, :meth:`value` and :meth:`digest` read the state
        in place and copy nothing."""
        if self._view is None:
            self._view = _KINDS[self._kind]._wrap(self._inner.state())
        return self._view

    def digest(self) -> bytes:
        """The state's 128-bit digest (16 bytes): equal states, equal digests."""
        return self._inner.digest()  # type: ignore[no-any-return]

    def to_bytes(self) -> bytes:
        """The state's bytes in the state format (what a snapshot file holds)."""
        return self._inner.to_bytes()  # type: ignore[no-any-return]

    def __len__(self) -> int:
        """Number of keys (elements)."""
        return len(self._inner)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` (an element, for an ``AWSet``) is present; ``False`` for a key
        that cannot be one (another type, out of range), as for a ``dict``."""
        try:
            return self._inner.contains(key)  # type: ignore[no-any-return]
        except KindError:
            return False

    def get(self, key: Key, default: Any = None) -> Any:
        """``MVMap``: the list of concurrent values of ``key`` (empty when absent).
        ``LWWMap``: the winning value, or ``default``. Other kinds: :class:`KindError`."""
        if self._kind == "LWWMap":
            values = self._inner.get(key)
            return values[0] if values else default
        self._need("get", "MVMap", "LWWMap")
        return self._inner.get(key)

    def get_with_timestamp(self, key: Key) -> Optional[Tuple[int, Value]]:
        """``LWWMap``: ``(timestamp, value)`` of the winning write of ``key``, or ``None``."""
        self._need("get_with_timestamp", "LWWMap")
        return self._inner.get_with_timestamp(key)  # type: ignore[no-any-return]

    def value(self, key: Key) -> int:
        """``PNCounterMap``: the counter of ``key`` (0 when absent)."""
        self._need("value", "PNCounterMap")
        return self._inner.value_of(key)  # type: ignore[no-any-return]

    def elements(self) -> Any:
        """``AWSet``: the elements, as a ``pyarrow.Array`` (a snapshot: see :attr:`state`)."""
        self._need("elements", "AWSet")
        return self.state.elements()

    def keys(self) -> Any:
        """The keys (elements) held, as a ``pyarrow.Array`` (a snapshot: see :attr:`state`)."""
        return self.state.keys()

    # --- writes (each is in the log before it returns its delta) ---

    def _need(self, method: str, *kinds: str) -> None:
        if self._kind not in kinds:
            raise KindError(f"Replica.{method} is for {' and '.join(kinds)}; this replica is {_a(self._kind)}")

    def _wrote(self, native_delta: Any) -> Delta:
        self._view = None
        return Delta._wrap(native_delta)

    def set(self, key: Key, value: Value, timestamp: Optional[int] = None) -> Delta:
        """``MVMap``: sets ``key`` to ``value``. ``LWWMap``: writes ``value`` at ``timestamp``
        (required)."""
        if self._kind == "LWWMap":
            if timestamp is None:
                raise KindError("Replica.set on an LWWMap needs a timestamp")
            return self._wrote(self._inner.set_at(key, value, timestamp))
        self._need("set", "MVMap", "LWWMap")
        if timestamp is not None:
            raise KindError("Replica.set takes a timestamp only on an LWWMap; this replica is an MVMap")
        return self._wrote(self._inner.set(key, value))

    def remove(self, key: Key, timestamp: Optional[int] = None) -> Delta:
        """``MVMap``, ``AWSet``: removes what this replica has seen of ``key``. ``LWWMap``:
        writes a tombstone at ``timestamp`` (required)."""
        if self._kind == "LWWMap":
            if timestamp is None:
                raise KindError("Replica.remove on an LWWMap needs a timestamp")
            return self._wrote(self._inner.remove_at(key, timestamp))
        self._need("remove", "MVMap", "AWSet")
        if timestamp is not None:
            raise KindError(f"Replica.remove takes a timestamp only on an LWWMap; this replica is {_a(self._kind)}")
        return self._wrote(self._inner.remove(key))

    def add(self, element: Key) -> Delta:
        """``AWSet``: adds ``element``."""
        self._need("add", "AWSet")
        return self._wrote(self._inner.add(element))

    def increment(self, key: Key, n: int = 1) -> Delta:
        """``PNCounterMap``: adds ``n`` (``0 <= n < 2**64``) to ``key``'s counter."""
        self._need("increment", "PNCounterMap")
        return self._wrote(self._inner.increment(key, n))

    def decrement(self, key: Key, n: int = 1) -> Delta:
        """``PNCounterMap``: subtracts ``n`` from ``key``'s counter."""
        self._need("decrement", "PNCounterMap")
        return self._wrote(self._inner.decrement(key, n))

    def set_many(self, keys: Any, values: Any, timestamps: Any = None) -> Delta:
        """``set`` for each pair (``LWWMap``: each triple; ``timestamps`` is a list or array
        of uint64, or one int for all), as one write and one delta. Lists, numpy arrays or
        pyarrow arrays (pyarrow crosses without a copy)."""
        self._need("set_many", "MVMap", "LWWMap")
        k = to_array(keys, self.key_type, "keys")
        v = to_array(values, self.value_type or "", "values")
        if self._kind == "LWWMap":
            if timestamps is None:
                raise KindError("Replica.set_many on an LWWMap needs timestamps")
            t = to_array_or_repeat(timestamps, length(k, "keys"), "uint64", "timestamps")
            return self._wrote(self._inner.set_many_at(k, v, t))
        if timestamps is not None:
            raise KindError("Replica.set_many takes timestamps only on an LWWMap; this replica is an MVMap")
        return self._wrote(self._inner.set_many(k, v))

    def remove_many(self, keys: Any, timestamps: Any = None) -> Delta:
        """``remove`` for each key (``LWWMap``: at the matching timestamp, or one for all)."""
        k = to_array(keys, self.key_type, "keys")
        if self._kind == "LWWMap":
            if timestamps is None:
                raise KindError("Replica.remove_many on an LWWMap needs timestamps")
            t = to_array_or_repeat(timestamps, length(k, "keys"), "uint64", "timestamps")
            return self._wrote(self._inner.remove_many_at(k, t))
        self._need("remove_many", "MVMap", "AWSet")
        if timestamps is not None:
            raise KindError(f"Replica.remove_many takes timestamps only on an LWWMap; this replica is {_a(self._kind)}")
        return self._wrote(self._inner.remove_many(k))

    def add_many(self, elements: Any) -> Delta:
        """``AWSet``: ``add`` for each element."""
        self._need("add_many", "AWSet")
        return self._wrote(self._inner.add_many(to_array(elements, self.key_type, "elements")))

    def increment_many(self, keys: Any, amounts: Any = 1) -> Delta:
        """``PNCounterMap``: ``increment`` for each key by the matching amount (or one int)."""
        self._need("increment_many", "PNCounterMap")
        k = to_array(keys, self.key_type, "keys")
        n = to_array_or_repeat(amounts, length(k, "keys"), "uint64", "amounts")
        return self._wrote(self._inner.increment_many(k, n))

    def decrement_many(self, keys: Any, amounts: Any = 1) -> Delta:
        """``PNCounterMap``: ``decrement`` for each key by the matching amount (or one int)."""
        self._need("decrement_many", "PNCounterMap")
        k = to_array(keys, self.key_type, "keys")
        n = to_array_or_repeat(amounts, length(k, "keys"), "uint64", "amounts")
        return self._wrote(self._inner.decrement_many(k, n))

    # --- received deltas, durability, lifecycle ---

    def apply(self, delta: Union[Delta, _Handle, bytes, bytearray, memoryview]) -> None:
        """Joins a delta (or whole state) received from a peer, and logs it: a
        :class:`Delta` (what a write or :meth:`pluriverse.Sync.handle` returns), a state of
        the same kind, or the bytes of either. Idempotent; any order.

        Raises :class:`KindError` for another kind or types, :class:`DecodeError` for bad
        bytes, :class:`ForeignClaimError` for a delta claiming events of this incarnation it
        never issued; the state is then unchanged."""
        if isinstance(delta, (bytes, bytearray, memoryview)):
            self._inner.apply_bytes(bytes(delta))
        elif isinstance(delta, _Handle):
            self._inner.apply(delta._inner)
        else:
            raise KindError(f"Replica.apply takes a Delta, a state or bytes, not {type(delta).__name__}")
        self._view = None

    def sync(self) -> None:
        """``fdatasync`` of the log: every write so far survives power loss (group commit:
        one call acknowledges a whole batch)."""
        self._inner.sync()

    def fold(self) -> None:
        """Folds the log into a new snapshot now (atomically; it also happens by itself past
        ``fold_bytes``)."""
        self._inner.fold()

    def close(self) -> None:
        """Syncs the log and releases the directory; every later call but ``close`` raises
        :class:`ReplicaClosedError`. (Dropping the handle releases it without the sync.)"""
        self._view = None
        self._inner.close()

    def __enter__(self) -> Replica:
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        if self.closed:
            return f"Replica({str(self.path)!r}, closed)"
        return f"Replica({str(self.path)!r}, {self.kind}, writer={self.writer!r}, {len(self)} keys)"
