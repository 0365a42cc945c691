"""Batch version vectors: ``N x R`` matrices of ``uint64`` counters, one vector per row.

For stores that keep a version vector per record (Dynamo-style). Both functions run the SIMD
kernels of ``pluriverse::kernels::vv`` directly on the numpy memory (no copies; the GIL is
released while they run) and split large batches over all cores.

Matrices must be numpy arrays (or other buffers) of dtype ``uint64``, 2-dimensional and
C-contiguous, both of the same shape; anything else raises :class:`pluriverse.KindError`
(dtype) or :class:`pluriverse.ShapeError` (shape, layout), and nothing is written.

    >>> import numpy as np
    >>> a = np.array([[1, 7], [0, 4]], dtype=np.uint64)
    >>> b = np.array([[3, 2], [0, 4]], dtype=np.uint64)
    >>> compare(a, b).tolist() == [CONCURRENT, EQUAL]
    True
    >>> merge(a, b).tolist()
    [[3, 7], [0, 4]]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import _native

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["merge", "compare", "EQUAL", "BEFORE", "AFTER", "CONCURRENT"]

EQUAL: int = _native.EQUAL
"""Order code 0: the two rows are equal."""
BEFORE: int = _native.BEFORE
"""Order code 1: the row of ``a`` happened before the row of ``b`` (some ``a < b``, none greater)."""
AFTER: int = _native.AFTER
"""Order code 2: the row of ``a`` happened after the row of ``b`` (some ``a > b``, none smaller)."""
CONCURRENT: int = _native.CONCURRENT
"""Order code 3: neither row dominates (bit 0: some ``a < b``; bit 1: some ``a > b``)."""


def merge(a: npt.NDArray[np.uint64], b: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """Joins ``b`` into ``a`` **in place**: ``a[i, j] = max(a[i, j], b[i, j])``.

    ``a`` must be writable. Returns ``a`` itself (not a copy), so calls can be chained.
    ``b`` may be ``a`` or a view of it.
    """
    _native.vv_batch_merge(a, b)
    return a


def compare(a: npt.NDArray[np.uint64], b: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint8]:
    """The order of each row of ``a`` against the same row of ``b``: a new ``uint8`` array of
    shape ``(N,)`` holding :data:`EQUAL`, :data:`BEFORE`, :data:`AFTER` or
    :data:`CONCURRENT`. Neither input is modified."""
    import numpy as np

    rows = a.shape[0] if getattr(a, "ndim", 0) >= 1 else 0
    out = np.empty(rows, dtype=np.uint8)
    _native.vv_batch_compare(a, b, out)
    return out
