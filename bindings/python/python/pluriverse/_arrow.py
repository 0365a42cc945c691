"""Conversions between what users pass (lists, numpy arrays, pyarrow arrays) and Arrow arrays
for the native module, and type names for the record kinds."""

from __future__ import annotations

from typing import Any, Mapping, Sequence, Tuple, Union

import pyarrow as pa  # type: ignore[import-untyped]

from ._errors import KindError, ShapeError

__all__ = ["KEY_TYPES", "VALUE_TYPES", "type_name", "arrow_type", "to_array", "to_array_or_repeat"]

KEY_TYPES = ("utf8", "binary", "int64", "uint64")
VALUE_TYPES = ("utf8", "binary", "int64", "float64", "bool")

_ARROW = {
    "utf8": pa.utf8(),
    "binary": pa.binary(),
    "int64": pa.int64(),
    "uint64": pa.uint64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
}
_PYTHON = {str: "utf8", bytes: "binary", int: "int64", float: "float64", bool: "bool"}
_ALIASES = {"string": "utf8", "str": "utf8", "bytes": "binary", "double": "float64", "bool_": "bool", "boolean": "bool"}

TypeSpec = Union[str, type, pa.DataType]


def type_name(t: TypeSpec, allowed: Sequence[str], what: str) -> str:
    """The pluriverse name of a key or value type given as a name (``"utf8"``), a pyarrow
    ``DataType`` (``pa.string()``) or a Python type (``str``, ``bytes``, ``int``, ...)."""
    name: Any
    if isinstance(t, pa.DataType):
        name = next((n for n, a in _ARROW.items() if a == t), str(t))
    elif isinstance(t, type):
        name = _PYTHON.get(t, t.__name__)
    elif isinstance(t, str):
        name = _ALIASES.get(t.lower(), t.lower())
    else:
        raise KindError(f"{what} must be a type name, a pyarrow DataType or a Python type, not {t!r}")
    if name not in allowed:
        raise KindError(f"unsupported {what} {t!r}; expected one of {', '.join(allowed)}")
    return str(name)


def arrow_type(name: str) -> pa.DataType:
    """The pyarrow type of a pluriverse type name."""
    return _ARROW[name]


def to_array(x: Any, name: str, what: str) -> Any:
    """``x`` as an Arrow array of type ``name``: pyarrow arrays (and other objects with
    ``__arrow_c_array__``) pass without copying; lists, tuples and numpy arrays go through
    ``pyarrow.array``."""
    t = _ARROW[name]
    if isinstance(x, pa.ChunkedArray):
        x = x.combine_chunks()
    if isinstance(x, pa.Array):
        if x.type != t:
            try:
                x = x.cast(t)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                raise KindError(f"{what}: cannot use a {x.type} array as {name}: {e}") from e
        return x
    if hasattr(x, "__arrow_c_array__") and not hasattr(x, "__array_interface__"):
        return x  # another Arrow producer (polars, nanoarrow, ...): its type is checked natively
    if isinstance(x, Mapping):
        raise KindError(
            f"{what} is a {type(x).__name__}: pass its keys and values apart (list(d), list(d.values())), "
            "or the mapping itself to set_many(mapping) / increment_many(mapping)"
        )
    if isinstance(x, (str, bytes, bytearray, memoryview)):
        raise KindError(f"{what} must be a list, numpy array, pyarrow array or iterable, not {type(x).__name__}")
    if not hasattr(x, "__len__"):
        if not hasattr(x, "__iter__"):
            raise KindError(f"{what} must be a list, numpy array, pyarrow array or iterable, not {type(x).__name__}")
        x = list(x)  # a generator or another iterable: consumed once
    try:
        return pa.array(x, type=t)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as e:
        raise KindError(f"{what}: cannot convert to {name}: {e}") from e
    except OverflowError as e:
        raise KindError(f"{what}: a number is out of range for {name}: {e}") from e


def to_array_or_repeat(x: Any, length: int, name: str, what: str) -> Any:
    """As :func:`to_array`, and a single int becomes ``length`` copies of itself."""
    if isinstance(x, int) and not isinstance(x, bool):
        if not 0 <= x < 2**64:
            from ._errors import CounterOverflowError, TimestampError

            error = TimestampError if what == "timestamps" else CounterOverflowError
            raise error(f"{what} must be in 0..2**64, got {x}")
        return pa.repeat(pa.scalar(x, _ARROW[name]), length)
    return to_array(x, name, what)


def split_mapping(x: Any, what: str) -> Tuple[Any, Any]:
    """A mapping's keys and values as two lists (the batch form of ``set_many(mapping)``)."""
    if not isinstance(x, Mapping):
        raise KindError(f"{what} must be a mapping, not {type(x).__name__}")
    return list(x.keys()), list(x.values())


def length(x: Any, what: str) -> int:
    """The length of a batch argument."""
    try:
        return len(x)
    except TypeError as e:
        raise ShapeError(f"{what} has no length") from e


class ArrayCapsules:
    """Holds an exported ``(schema, array)`` capsule pair for ``pyarrow.array()``."""

    __slots__ = ("_capsules",)

    def __init__(self, capsules: Tuple[Any, Any]) -> None:
        self._capsules = capsules

    def __arrow_c_array__(self, requested_schema: Any = None) -> Tuple[Any, Any]:
        return self._capsules
