"""Partitioned states and merges on a Dask distributed cluster.

A state too big for one machine (or one merge too slow for it) is kept as a *partitioned
state*: a directory of ``part-00000.arrow``, ``part-00001.arrow``, ... where file ``p`` holds
partition ``p`` of the state (:meth:`MVMap.partition` and its kin: keys split by hash).

A partition file says which partition it is: a header line ``PLVPART1 {json}\n`` (the
partition index ``partition``, the count ``parts``, the hash range ``[lo, hi)`` of its keys,
and the ``length`` of what follows) and then the Arrow IPC state bytes (:func:`read_part`
splits them). Every read checks the header against the file's slot and the directory's
partition count, so a file copied into the wrong slot or from a state partitioned another
way fails with :class:`PartitionError` instead of merging into a wrong result. Part ``p`` of the merge of two states is the merge of their parts
``p``, so :func:`merge` joins replicas partition by partition, one Dask task per partition,
and the result is a partitioned state equal, part for part, to partitioning the
single-machine merge. Each task runs the native join (the GIL is released while it runs).

Needs the ``dask`` extra (``pip install "pluriverse[dask]"``): ``dask[distributed]``. Dask is
imported only inside these functions, so ``import pluriverse`` works without it.

The functions take a ``dask.distributed.Client`` connected to any cluster (a
``LocalCluster``, or workers on other machines): the tasks read and write the partition
files themselves, so every path must name the same files on every worker (a shared or
network filesystem when the workers are on several machines); nothing is sent through the
client but file names and digests, and the client itself needs no access to the files.

Every file is written atomically: to a hidden temporary file in the same directory
(``.part-00000.arrow.tmp-...``), flushed and fsync'ed, then renamed over the final name (and
the directory fsync'ed). A file that existed keeps its permission bits (a ``0600`` file stays
``0600``; a new one gets the default mode under the umask), and a symlink is followed: the
file it points to is replaced, in its own directory, and the link stays. A reader never sees a partly written partition file, whatever
happens to the worker; a task rerun after its worker died removes the temporary files the
dead attempt left, and a successful :func:`merge` leaves none.

>>> from dask.distributed import Client, LocalCluster             # doctest: +SKIP
>>> import pluriverse.dask as pd                                  # doctest: +SKIP
>>> pd.write_partitioned(paris, "/shared/paris", parts=16)        # doctest: +SKIP
>>> pd.write_partitioned(tokyo, "/shared/tokyo", parts=16)        # doctest: +SKIP
>>> with Client(LocalCluster(n_workers=2)) as client:             # doctest: +SKIP
...     pd.merge(client, ["/shared/paris", "/shared/tokyo"], "/shared/merged")
...     pd.digest(client, "/shared/merged")
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import stat
import uuid
from typing import Any, List, Optional, Sequence, Tuple, Type, TypeVar, Union

from . import _native
from ._errors import Error
from ._kinds import _KINDS, _State
from ._version_vector import Replica

__all__ = [
    "PartitionError",
    "PARTITION_FILE",
    "partition_file",
    "hash_range",
    "read_part",
    "write_partitioned",
    "read_partitioned",
    "merge",
    "partition_digests",
    "combine_digests",
    "digest",
    "diff",
]

PARTITION_FILE = "part-{:05d}.arrow"
"""The name of partition ``p``'s file in a partitioned state's directory (``.format(p)``)."""

_MAGIC = b"PLVPART1 "
_MAX_HEADER = 4096
_PART_RE = re.compile(r"^part-(\d{5,})\.arrow$")
_TMP_MARK = ".tmp-"

_S = TypeVar("_S", bound=_State)
PathLike = Union[str, "os.PathLike[str]"]


class PartitionError(Error, ValueError):
    """A partition could not be read, merged or written, or the partitioned states do not
    match (different partition counts, missing files). The message names the partition file;
    ``path`` is that file (or directory) and ``partition`` its index (``None`` when the
    problem is the directory as a whole)."""

    def __init__(self, message: str, path: Optional[str] = None, partition: Optional[int] = None) -> None:
        super().__init__(message)
        self.path = path
        self.partition = partition

    def __reduce__(self) -> Tuple[Any, ...]:  # pickled back from Dask workers with its fields
        return (type(self), (self.args[0], self.path, self.partition))


def partition_file(directory: PathLike, partition: int) -> str:
    """The path of partition ``partition``'s file in ``directory``."""
    return os.path.join(os.fspath(directory), PARTITION_FILE.format(partition))


def hash_range(partition: int, parts: int) -> Tuple[int, int]:
    """The 64-bit key hashes ``[lo, hi)`` of partition ``partition`` of ``parts``: those
    ``h`` with ``h * parts >> 64 == partition``."""
    if not 0 <= partition < parts:
        raise ValueError(f"partition {partition} is not in 0..{parts}")
    def ceil(x: int) -> int:  # the smallest h with h * parts >> 64 >= x
        return -((-x << 64) // parts)

    return ceil(partition), ceil(partition + 1)


def _header(partition: int, parts: int, length: int) -> bytes:
    lo, hi = hash_range(partition, parts)
    meta = {"partition": partition, "parts": parts, "hash_range": [lo, hi], "length": length}
    return _MAGIC + json.dumps(meta, separators=(",", ":")).encode() + b"\n"


def read_part(data: bytes) -> Tuple[dict, bytes]:  # type: ignore[type-arg]
    """Splits the bytes of a partition file into its header (a dict: ``partition``,
    ``parts``, ``hash_range``, ``length``) and the Arrow IPC state bytes;
    :class:`PartitionError` if they are not a whole partition file."""
    if not data.startswith(_MAGIC):
        raise PartitionError("not a partition file (no PLVPART1 header: written by something else)")
    end = data.find(b"\n", 0, _MAX_HEADER)
    if end < 0:
        raise PartitionError("not a partition file (its header has no end)")
    try:
        meta = json.loads(data[len(_MAGIC) : end])
        p, n, (lo, hi), length = meta["partition"], meta["parts"], meta["hash_range"], meta["length"]
        ok = all(isinstance(x, int) and not isinstance(x, bool) for x in (p, n, lo, hi, length))
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok or not 0 <= p < n or [lo, hi] != list(hash_range(p, n)):
        raise PartitionError("not a partition file (its header is malformed)")
    body = data[end + 1 :]
    if len(body) != length:
        raise PartitionError(f"a partition file cut short or padded: {len(body)} bytes of state where the header says {length}")
    return meta, body


# --- files (these run on the workers, and in write_partitioned / read_partitioned) ---


def _temp_prefix(path: str) -> str:
    d, name = os.path.split(path)
    return os.path.join(d, "." + name + _TMP_MARK)


def _remove_temps(path: str) -> None:
    """Removes the temporary files an earlier (dead) attempt at writing ``path`` left."""
    for stale in glob.glob(glob.escape(_temp_prefix(path)) + "*"):
        try:
            os.remove(stale)
        except FileNotFoundError:
            pass


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # a platform without directory handles: the rename still happened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_atomic(path: str, data: bytes) -> None:
    """Writes ``data`` to ``path`` through a temporary file in the same directory: written,
    fsync'ed and renamed, so ``path`` holds either its old content or all of ``data``. A
    symlink is followed (its target is replaced and the link stays); an existing file keeps
    its permission bits."""
    path = os.path.realpath(path)
    try:
        mode: Optional[int] = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = None
    tmp = _temp_prefix(path) + uuid.uuid4().hex
    try:
        with open(tmp, "xb") as f:
            if mode is not None:
                os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(os.path.dirname(path) or ".")


def _read(path: str, partition: int) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise PartitionError(f"partition {partition}: cannot read {path}: {e}", path, partition) from None


def _state_bytes(path: str, partition: int, parts: int) -> bytes:
    """The state bytes of partition file ``path``, after checking that its header names
    partition ``partition`` of ``parts``."""
    try:
        meta, body = read_part(_read(path, partition))
    except PartitionError as e:
        raise PartitionError(f"partition {partition}: {path}: {e}", path, partition) from None
    if (meta["partition"], meta["parts"]) != (partition, parts):
        raise PartitionError(
            f"partition {partition}: {path} holds partition {meta['partition']} of {meta['parts']}, "
            f"not {partition} of {parts} (a file copied into the wrong slot, or from a state "
            "partitioned another way)",
            path,
            partition,
        )
    return body


def _decode(path: str, partition: int, parts: int) -> Any:
    data = _state_bytes(path, partition, parts)
    try:
        return _native.State.from_bytes(data, None)  # no writer: a task only reads and joins
    except Error as e:
        raise PartitionError(f"partition {partition}: {path} is not a valid state: {e}", path, partition) from None


def _list_partitions(directory: str) -> List[str]:
    """The partition files of ``directory``, in order; raises unless they are exactly
    ``part-00000.arrow`` to ``part-{n-1}.arrow`` for some ``n >= 1``."""
    try:
        names = os.listdir(directory)
    except OSError as e:
        raise PartitionError(f"cannot list the partitioned state {directory}: {e}", directory) from None
    found = {}
    for name in names:
        m = _PART_RE.match(name)
        if m:
            found[int(m.group(1))] = name
    n = len(found)
    if n == 0:
        raise PartitionError(f"{directory} holds no partition files ({PARTITION_FILE.format(0)}, ...)", directory)
    missing = [p for p in range(n) if p not in found]
    if missing:
        path = partition_file(directory, missing[0])
        raise PartitionError(
            f"partition {missing[0]}: {path} is missing ({n} partition files, not numbered 0..{n - 1})",
            path,
            missing[0],
        )
    return [os.path.join(directory, found[p]) for p in range(n)]


def _merge_part(partition: int, parts: int, inputs: Sequence[str], output: str) -> bytes:
    """The task of :func:`merge`: joins partition ``partition`` of every input and writes
    the result atomically to ``output``; returns its digest."""
    _remove_temps(output)
    state = _decode(inputs[0], partition, parts)
    for path in inputs[1:]:
        data = _state_bytes(path, partition, parts)
        try:
            state.join_bytes(data)  # decode + join in the native code, GIL released
        except Error as e:
            raise PartitionError(
                f"partition {partition}: cannot merge {path}: {e}", path, partition
            ) from None
    _write_part(output, partition, parts, state.to_bytes())
    return state.digest()  # type: ignore[no-any-return]


def _write_part(path: str, partition: int, parts: int, body: bytes) -> None:
    """Writes a partition file (header and state bytes) atomically; an ``OSError`` becomes
    a :class:`PartitionError` naming the file."""
    try:
        _write_atomic(path, _header(partition, parts, len(body)) + body)
    except OSError as e:
        raise PartitionError(f"partition {partition}: cannot write {path}: {e}", path, partition) from None


def _digest_part(partition: int, parts: int, path: str) -> bytes:
    return _decode(path, partition, parts).digest()  # type: ignore[no-any-return]


def _prepare_output(output: str, parts: int) -> None:
    """Creates ``output``; refuses one that holds partition files a merge into ``parts``
    partitions would not overwrite (they would make a wrong partitioned state)."""
    try:
        os.makedirs(output, exist_ok=True)
        names = os.listdir(output)
    except OSError as e:  # a file in the way (FileExistsError), no permission, ...
        raise PartitionError(f"cannot use {output} as the output directory: {e}", output) from None
    for name in names:
        m = _PART_RE.match(name)
        if m and int(m.group(1)) >= parts:
            path = os.path.join(output, name)
            raise PartitionError(
                f"the output {output} already holds {name}, beyond the {parts} partitions of the merge",
                path,
                int(m.group(1)),
            )


def _sweep_temps(directory: str) -> int:
    """Removes the temporary files left in ``directory`` (after every task is done)."""
    n = 0
    for name in os.listdir(directory):
        if name.startswith(".part-") and _TMP_MARK in name:
            try:
                os.remove(os.path.join(directory, name))
                n += 1
            except FileNotFoundError:
                pass
    return n


# --- local helpers ---


def write_partitioned(state: _State, directory: PathLike, parts: int) -> List[str]:
    """Writes ``state`` as a partitioned state: ``directory`` (created if needed) gets
    ``parts`` files ``part-00000.arrow`` ... holding the Arrow IPC bytes of each partition of
    :meth:`~pluriverse.MVMap.partition`, each written atomically. Partition files already in
    ``directory`` beyond ``parts`` raise :class:`PartitionError`. Returns the paths."""
    d = os.fspath(directory)
    _prepare_output(d, parts)
    paths = []
    for p, part in enumerate(state.partition(parts)):
        path = partition_file(d, p)
        _write_part(path, p, parts, part.to_bytes())
        paths.append(path)
    return paths


def read_partitioned(directory: PathLike, replica: Replica, kind: Optional[Type[_S]] = None) -> Any:
    """Joins the partition files of ``directory`` back into one state (of the kind the bytes
    hold, or ``kind``: :class:`pluriverse.KindError` for another), written to as ``replica``.
    :class:`PartitionError` names a missing or unreadable partition file."""
    paths = _list_partitions(os.fspath(directory))
    n = len(paths)
    state = _decode(paths[0], 0, n)
    for p, path in enumerate(paths[1:], start=1):
        data = _state_bytes(path, p, n)
        try:
            state.join_bytes(data)
        except Error as e:
            raise PartitionError(f"partition {p}: cannot merge {path}: {e}", path, p) from None
    cls = _KINDS[state.state_type()[0]]
    if kind is not None and kind is not cls:
        from ._errors import KindError

        raise KindError(f"{directory} holds a {cls.__name__}, not a {kind.__name__}")
    return cls._wrap(state.with_replica(replica))


# --- on the cluster ---


def _distributed() -> Any:
    try:
        import dask.distributed
    except ImportError as e:  # pragma: no cover - only without the extra
        raise ImportError(
            "pluriverse.dask needs dask.distributed: pip install 'pluriverse[dask]'"
        ) from e
    return dask.distributed


def _run_all(client: Any, futures: List[Any], progress: bool) -> List[Any]:
    """Waits for every task (so none is still writing when this returns or raises), then
    returns their results in order, or raises the error of the first failed one."""
    distributed = _distributed()
    if progress and futures:
        distributed.progress(futures)
    distributed.wait(futures)
    for f in futures:
        if f.status == "error":
            f.result()  # raises the task's exception, with its remote traceback
    return client.gather(futures)  # type: ignore[no-any-return]


def _partitions_on_cluster(client: Any, directories: Sequence[str]) -> List[List[str]]:
    """Lists the partition files of each directory on a worker (the client may not see them)."""
    futures = [client.submit(_list_partitions, d, pure=False) for d in directories]
    return client.gather(futures)  # type: ignore[no-any-return]


def merge(client: Any, inputs: Sequence[PathLike], output: PathLike, *, progress: bool = False) -> List[str]:
    """Merges partitioned states on the cluster of ``client`` (a ``dask.distributed.Client``):
    ``inputs`` are two or more directories written by :func:`write_partitioned` (or by an
    earlier merge) with the same number of partitions; partition ``p`` of the result, the
    join of every input's partition ``p``, is written atomically to ``output``'s
    ``part-{p:05d}.arrow`` by one task. Joining the output's parts gives the single-machine
    merge of the inputs (same digest, same bytes).

    A worker that dies mid-task has its task rerun by Dask on another worker; the result is
    the same and no partly written file is ever visible. A bad partition file fails the merge
    with :class:`PartitionError` naming it, raised once every task has finished: the other
    partitions are then whole merged files, the bad one's output file is untouched, and no
    temporary file is left. ``progress=True`` shows Dask's progress bar. Returns the output's
    partition paths."""
    dirs = [os.fspath(d) for d in inputs]
    out = os.fspath(output)
    if len(dirs) < 2:
        raise ValueError(f"merge takes two or more partitioned states, not {len(dirs)}")
    listings = _partitions_on_cluster(client, dirs)
    parts = len(listings[0])
    for d, listing in zip(dirs[1:], listings[1:]):
        if len(listing) != parts:
            raise PartitionError(
                f"{dirs[0]} has {parts} partitions but {d} has {len(listing)}: partition both the same way",
                d,
            )
    client.submit(_prepare_output, out, parts, pure=False).result()
    futures = [
        client.submit(
            _merge_part,
            p,
            parts,
            [listing[p] for listing in listings],
            partition_file(out, p),
            key=f"pluriverse-merge-{uuid.uuid4().hex}-{p}",
        )
        for p in range(parts)
    ]
    try:
        _run_all(client, futures, progress)
    except BaseException:
        try:  # temporary files of killed attempts, as on success; the task's error wins
            client.submit(_sweep_temps, out, pure=False).result()
        except Exception:
            pass
        raise
    client.submit(_sweep_temps, out, pure=False).result()
    return [partition_file(out, p) for p in range(parts)]


def partition_digests(client: Any, directory: PathLike, *, progress: bool = False) -> List[bytes]:
    """The digest (16 bytes) of each partition of a partitioned state, computed on the
    cluster, in partition order."""
    (paths,) = _partitions_on_cluster(client, [os.fspath(directory)])
    futures = [client.submit(_digest_part, p, len(paths), path, pure=False) for p, path in enumerate(paths)]
    return _run_all(client, futures, progress)


def combine_digests(digests: Sequence[bytes]) -> bytes:
    """The fingerprint of a partitioned state from its partition digests: BLAKE2b (16 bytes)
    of the partition count and the digests in partition order. (Partition contexts overlap,
    so the per-partition digests do not add up to the whole state's digest.)"""
    h = hashlib.blake2b(b"pluriverse.dask partitioned digest v1", digest_size=16)
    h.update(len(digests).to_bytes(8, "little"))
    for d in digests:
        h.update(d)
    return h.digest()


def digest(client: Any, directory: PathLike, *, progress: bool = False) -> bytes:
    """The fingerprint of a partitioned state (16 bytes), computed on the cluster:
    :func:`combine_digests` of :func:`partition_digests`. Equal states partitioned into the
    same number of parts have equal fingerprints (partitioning is a function of the state);
    it is *not* the state's own :meth:`~pluriverse.MVMap.digest`, which needs the whole
    context (join the parts with :func:`read_partitioned` for that)."""
    return combine_digests(partition_digests(client, directory, progress=progress))


def diff(client: Any, a: PathLike, b: PathLike, *, progress: bool = False) -> List[int]:
    """The partitions in which two partitioned states (with the same number of partitions)
    differ, by their digests, in order: ``[]`` when they are equal. Only those partitions
    need to be exchanged or merged."""
    da = partition_digests(client, a, progress=progress)
    db = partition_digests(client, b, progress=progress)
    if len(da) != len(db):
        raise PartitionError(f"{os.fspath(a)} has {len(da)} partitions but {os.fspath(b)} has {len(db)}", os.fspath(b))
    return [p for p, (x, y) in enumerate(zip(da, db)) if x != y]

