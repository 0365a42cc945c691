"""pluriverse.vv: batch merge and compare over numpy uint64 matrices, against numpy itself."""

from __future__ import annotations

import numpy as np
import pytest

import pluriverse
from pluriverse import vv


def model_compare(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lt = (a < b).any(axis=1)
    gt = (a > b).any(axis=1)
    return (lt.astype(np.uint8) | (gt.astype(np.uint8) << 1)).astype(np.uint8)


def test_codes() -> None:
    assert (vv.EQUAL, vv.BEFORE, vv.AFTER, vv.CONCURRENT) == (0, 1, 2, 3)


# the last shapes cross the size where the kernels split the batch over threads (2**18)
@pytest.mark.parametrize("shape", [(0, 1), (1, 1), (7, 3), (100, 8), (33, 17), (70_000, 4), (3, 100_000)])
def test_against_numpy(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    a = rng.integers(0, 4, size=shape, dtype=np.uint64)
    b = rng.integers(0, 4, size=shape, dtype=np.uint64)
    if shape[0] > 2:
        b[0] = a[0]  # an equal row
        a[1, -1] = np.uint64(2**64 - 1)
    before = a.copy()
    codes = vv.compare(a, b)
    assert codes.dtype == np.uint8 and codes.shape == (shape[0],)
    np.testing.assert_array_equal(codes, model_compare(a, b))
    np.testing.assert_array_equal(a, before)  # compare writes nothing
    out = vv.merge(a, b)
    assert out is a  # in place, no copy
    np.testing.assert_array_equal(a, np.maximum(before, b))


def test_merge_writes_the_callers_memory() -> None:
    base = np.zeros((4, 2), dtype=np.uint64)
    view = base[1:3]  # a contiguous view: the kernel must write through it
    vv.merge(view, np.full((2, 2), 5, dtype=np.uint64))
    assert base.tolist() == [[0, 0], [5, 5], [5, 5], [0, 0]]


def test_aliasing() -> None:
    a = np.array([[1, 2], [3, 4], [5, 0]], dtype=np.uint64)
    vv.merge(a, a)
    assert a.tolist() == [[1, 2], [3, 4], [5, 0]]
    assert vv.compare(a, a).tolist() == [0, 0, 0]
    # overlapping views of one buffer
    m = np.array([[1, 9], [4, 4], [7, 1], [0, 0]], dtype=np.uint64)
    expected = np.maximum(m[0:3], m[1:4].copy())
    vv.merge(m[0:3], m[1:4])
    np.testing.assert_array_equal(m[0:3], expected)


@pytest.mark.parametrize(
    "a,b,err",
    [
        (np.zeros((2, 2), np.int64), np.zeros((2, 2), np.uint64), pluriverse.KindError),
        (np.zeros((2, 2), np.uint32), np.zeros((2, 2), np.uint32), pluriverse.KindError),
        (np.zeros((2, 2), ">u8"), np.zeros((2, 2), np.uint64), pluriverse.KindError),
        ([[1, 2]], [[1, 2]], pluriverse.KindError),
        (np.zeros(4, np.uint64), np.zeros(4, np.uint64), pluriverse.ShapeError),
        (np.zeros((2, 2, 2), np.uint64), np.zeros((2, 2, 2), np.uint64), pluriverse.ShapeError),
        (np.zeros((2, 3), np.uint64), np.zeros((3, 2), np.uint64), pluriverse.ShapeError),
        (np.zeros((2, 0), np.uint64), np.zeros((2, 0), np.uint64), pluriverse.ShapeError),
        (np.zeros((4, 4), np.uint64)[:, ::2], np.zeros((4, 2), np.uint64), pluriverse.ShapeError),
        (np.zeros((4, 4), np.uint64).T, np.zeros((4, 4), np.uint64), pluriverse.ShapeError),
    ],
    ids=["int64", "uint32", "big-endian", "list", "1-d", "3-d", "shapes", "no-columns", "strided", "fortran"],
)
def test_bad_arguments(a, b, err) -> None:  # type: ignore[no-untyped-def]
    before = np.array(a, copy=True)
    with pytest.raises(err):
        vv.merge(a, b)
    with pytest.raises(err):
        vv.compare(a, b)
    np.testing.assert_array_equal(np.asarray(a), before)


def test_read_only_target() -> None:
    a = np.ones((2, 2), np.uint64)
    a.flags.writeable = False
    with pytest.raises(pluriverse.ShapeError, match="read-only"):
        vv.merge(a, np.full((2, 2), 3, np.uint64))
    assert vv.compare(a, a).tolist() == [0, 0]  # reading a read-only matrix is fine
