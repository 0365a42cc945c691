"""`pluriverse.Replica` (a durable directory) and `pluriverse.Sync` (the sans-IO sync peer).

Every check is against an independent reference: a plain Python expectation written down by
the test, the naive model of `_model.py`, sizes and offsets measured on the files, or the
join of every delta the writes returned; never against the code's own earlier output.
"""

from __future__ import annotations

import pathlib
import random
import shutil
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

import pluriverse as pv
from _model import Model

KINDS = ["mvmap", "awset", "pncounter", "lww"]
CLASSES = {"mvmap": pv.MVMap, "awset": pv.AWSet, "pncounter": pv.PNCounterMap, "lww": pv.LWWMap}


# --- one write and one read per kind, with what the read must give ---


def write(r: pv.Replica, kind: str, key: str, i: int) -> pv.Delta:
    """Writes `i` at `key` in the kind's own way."""
    if kind == "mvmap":
        return r.set(key, i)
    if kind == "awset":
        return r.add(key)
    if kind == "pncounter":
        return r.increment(key, i)
    return r.set(key, i, timestamp=i)


def read(r: Any, kind: str, key: str) -> Any:
    """What a replica (or a state) holds at `key`."""
    if kind == "mvmap":
        return sorted(r.get(key))
    if kind == "awset":
        return key in r
    if kind == "pncounter":
        return r.value(key)
    return r.get(key)


def expected(kind: str, i: Optional[int]) -> Any:
    """What `read` gives after `write(.., i)` alone (`None`: never written)."""
    if kind == "mvmap":
        return [] if i is None else [i]
    if kind == "awset":
        return i is not None
    if kind == "pncounter":
        return 0 if i is None else i
    return i


# --- an in-memory network: seeded loss, duplication, reordering and delay ---


class Link:
    """One direction of a lossy channel: each message is dropped with probability `drop`,
    else delivered (twice with probability `dup`), in shuffled order, some held back a tick."""

    def __init__(self, rng: random.Random, drop: float, dup: float, delay: float) -> None:
        self.rng, self.drop, self.dup, self.delay = rng, drop, dup, delay
        self.queue: List[bytes] = []
        self.sent = 0
        self.largest = 0

    def send(self, m: bytes) -> None:
        self.sent += 1
        self.largest = max(self.largest, len(m))
        self.queue.append(m)

    def deliver(self) -> List[bytes]:
        now, later = [], []
        for m in self.queue:
            if self.rng.random() < self.drop:
                continue
            (later if self.rng.random() < self.delay else now).append(m)
            if self.rng.random() < self.dup:
                now.append(m)
        self.rng.shuffle(now)
        self.queue = later
        return now


class Mesh:
    """Replicas (or bare states) joined pairwise by `Sync` peers over `Link`s."""

    def __init__(
        self,
        nodes: Dict[str, Any],
        seed: int,
        max_message: int,
        drop: float = 0.0,
        dup: float = 0.0,
        delay: float = 0.0,
        round_interval: float = 0.1,
    ) -> None:
        rng = random.Random(seed)
        self.nodes = nodes
        self.max_message = max_message
        self.peers: Dict[Tuple[str, str], pv.Sync] = {}
        self.links: Dict[Tuple[str, str], Link] = {}
        for a in nodes:
            for b in nodes:
                if a != b:
                    self.peers[(a, b)] = pv.Sync(nodes[a], max_message=max_message, round_interval=round_interval)
                    self.links[(a, b)] = Link(random.Random(rng.random()), drop, dup, delay)
        self.now = 0.0

    def push(self, a: str, delta: pv.Delta) -> None:
        """A write at `a`: its delta goes to every peer of `a`."""
        for (x, _), p in self.peers.items():
            if x == a:
                p.push(delta)

    def tick(self, dt: float = 0.05) -> None:
        self.now += dt
        for (a, b), p in self.peers.items():
            while (m := p.poll_transmit(self.now, self.nodes[a])) is not None:
                assert len(m) <= self.max_message, (len(m), self.max_message)
                self.links[(a, b)].send(m)
        for (a, b), link in self.links.items():
            for m in link.deliver():
                d = self.peers[(b, a)].handle(self.now, m)
                if d is not None:
                    apply(self.nodes[b], d)

    def run_until(self, done: Callable[[], bool], ticks: int) -> int:
        """Ticks until `done()`; returns how many it took (fails past `ticks`)."""
        for t in range(ticks):
            self.tick()
            if done():
                return t + 1
        raise AssertionError(f"no convergence in {ticks} ticks: {[digest(n).hex() for n in self.nodes.values()]}")

    def converged(self) -> bool:
        ds = {digest(n) for n in self.nodes.values()}
        return len(ds) == 1


def apply(node: Any, d: pv.Delta) -> None:
    if isinstance(node, pv.Replica):
        node.apply(d)
    else:
        node.merge(d)


def digest(node: Any) -> bytes:
    return node.digest()  # type: ignore[no-any-return]


# --- issue 14: a restored backup must not lose writes ---


@pytest.mark.parametrize("kind", KINDS)
def test_restored_backup_loses_nothing(tmp_path: pathlib.Path, kind: str) -> None:
    """Issue 14's reproduction through replica directories: paris writes a (tokyo gets it),
    paris's directory is copied, paris writes b and c (tokyo gets them), paris is closed and
    the old copy restored over it, paris writes d; after syncing both ways over a lossy
    channel both hold a, b, c and d. A restored paris reusing its old identity would give d
    the dot of b, and one of them would be lost."""
    tokyo = pv.Replica.create(tmp_path / "tokyo", "tokyo", kind=kind)
    paris = pv.Replica.create(tmp_path / "paris", "paris", kind=kind)
    tokyo.apply(write(paris, kind, "a", 1))
    paris.sync()
    backup = tmp_path / "backup"
    shutil.copytree(tmp_path / "paris", backup)
    tokyo.apply(write(paris, kind, "b", 2).to_bytes())
    tokyo.apply(write(paris, kind, "c", 3))
    first_writer = paris.writer
    paris.close()

    shutil.rmtree(tmp_path / "paris")
    shutil.copytree(backup, tmp_path / "paris")
    paris = pv.Replica.open(tmp_path / "paris")
    assert paris.name == "paris"
    assert paris.writer != first_writer
    assert paris.writer.startswith("paris#") and first_writer.startswith("paris#")
    assert read(paris, kind, "a") == expected(kind, 1)
    assert read(paris, kind, "b") == expected(kind, None)  # the backup predates b
    d = write(paris, kind, "d", 4)

    mesh = Mesh({"paris": paris, "tokyo": tokyo}, seed=14, max_message=4096, drop=0.3, dup=0.2, delay=0.2)
    mesh.push("paris", d)
    mesh.run_until(mesh.converged, ticks=400)

    want = {"a": 1, "b": 2, "c": 3, "d": 4}
    for r in (paris, tokyo):
        for key, i in want.items():
            assert read(r, kind, key) == expected(kind, i), (r.name, key)
        assert len(r) == len(want)
    assert paris.digest() == tokyo.digest()

    # and it all survives another reopen of both
    second_writer = paris.writer
    for name in ("paris", "tokyo"):
        mesh.nodes[name].close()
        with pv.Replica.open(tmp_path / name) as again:
            for key, i in want.items():
                assert read(again, kind, key) == expected(kind, i)
            assert again.writer not in (first_writer, second_writer)


# --- the directory: reopen, the lock, torn tails, damage ---


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("durability", ["group", "synced", "buffered"])
def test_reopen_keeps_every_acknowledged_write(tmp_path: pathlib.Path, kind: str, durability: str) -> None:
    r = pv.Replica.create(tmp_path / "r", "r", kind=kind, durability=durability)
    assert r.durability == durability
    writers = {r.writer}
    for i in range(1, 21):
        write(r, kind, f"k{i}", i)
    assert r.issued == 20
    if durability == "group":
        r.sync()
    del r  # dropped without close: the log is already written (buffered) or synced
    with pv.Replica.open(tmp_path / "r", durability=durability) as r:
        for i in range(1, 21):
            assert read(r, kind, f"k{i}") == expected(kind, i)
        assert read(r, kind, "k21") == expected(kind, None)
        assert len(r) == 20
        assert r.issued == 0  # a fresh incarnation has issued nothing yet
        writers.add(r.writer)
        write(r, kind, "k21", 21)
    with pv.Replica.open(tmp_path / "r") as r:
        assert read(r, kind, "k21") == expected(kind, 21)
        assert len(r) == 21
        writers.add(r.writer)
    assert len(writers) == 3


def test_a_directory_opens_once(tmp_path: pathlib.Path) -> None:
    r = pv.Replica.create(tmp_path / "r", "r")
    with pytest.raises(pv.ReplicaLockedError, match="open in another process") as e:
        pv.Replica.open(tmp_path / "r")
    assert pathlib.Path(e.value.path) == tmp_path / "r"
    assert isinstance(e.value, pv.ReplicaError) and isinstance(e.value, pv.Error)
    with pytest.raises(pv.ReplicaLockedError):  # create over an open one: locked too
        pv.Replica.create(tmp_path / "r", "r")
    r.close()
    r.close()  # a second close does nothing
    with pv.Replica.open(tmp_path / "r") as again:
        assert again.name == "r"
    with pytest.raises(pv.ReplicaExistsError, match="already holds a replica"):
        pv.Replica.create(tmp_path / "r", "other")
    with pytest.raises(pv.NotAReplicaError, match="no replica.json"):
        pv.Replica.open(tmp_path / "nothing-here")


def test_a_name_is_1_to_238_bytes(tmp_path: pathlib.Path) -> None:
    # an empty or longer name is refused before anything is written
    for bad in ["", "n" * 239, b"\xff" * 239]:
        with pytest.raises(pv.ConfigError, match=f"name of {len(bad)} bytes"):
            pv.Replica.create(tmp_path / "r", bad)
        assert not (tmp_path / "r").exists()
    with pv.Replica.create(tmp_path / "r", "n" * 238) as r:
        assert r.name == "n" * 238
        assert len(r.writer) == 238 + 17


def newest_log(d: pathlib.Path) -> pathlib.Path:
    return max(d.glob("log-*"))


def write_measured(r: pv.Replica, kind: str, n: int) -> List[int]:
    """`n` writes; the newest log's size before each and after the last (record offsets)."""
    log = newest_log(r.path)
    sizes = [log.stat().st_size]
    for i in range(1, n + 1):
        write(r, kind, f"k{i}", i)
        sizes.append(log.stat().st_size)
    return sizes


@pytest.mark.parametrize("kind", KINDS)
def test_a_torn_tail_is_cut_on_open(tmp_path: pathlib.Path, kind: str) -> None:
    r = pv.Replica.create(tmp_path / "r", "r", kind=kind, durability="buffered")
    sizes = write_measured(r, kind, 5)
    assert sizes == sorted(set(sizes)), "each write appends a record"
    log = newest_log(r.path)
    r.close()
    with open(log, "r+b") as f:  # a crash in the middle of the last append
        f.truncate(sizes[-1] - 3)
    with pv.Replica.open(tmp_path / "r") as r:
        for i in range(1, 5):
            assert read(r, kind, f"k{i}") == expected(kind, i)
        assert read(r, kind, "k5") == expected(kind, None)  # the torn record is gone
        assert log.stat().st_size == sizes[-2]  # cut where the good records end
        write(r, kind, "k6", 6)
    with pv.Replica.open(tmp_path / "r") as r:  # and the log after the cut is whole
        assert [read(r, kind, f"k{i}") for i in range(1, 7)] == [
            expected(kind, i if i != 5 else None) for i in range(1, 7)
        ]


@pytest.mark.parametrize("kind", KINDS)
def test_a_damaged_middle_record_is_an_error_naming_file_and_offset(tmp_path: pathlib.Path, kind: str) -> None:
    r = pv.Replica.create(tmp_path / "r", "r", kind=kind)
    sizes = write_measured(r, kind, 5)
    log = newest_log(r.path)
    r.close()
    start, end = sizes[2], sizes[3]  # the third record
    data = bytearray(log.read_bytes())
    data[(start + end) // 2] ^= 0x5A
    log.write_bytes(bytes(data))
    with pytest.raises(pv.CorruptError) as e:
        pv.Replica.open(tmp_path / "r")
    assert pathlib.Path(e.value.file) == log
    assert e.value.offset == start
    assert log.name in str(e.value) and f"byte {start}" in str(e.value)
    # nothing was cut or skipped: the file is as damaged as it was
    assert log.read_bytes() == bytes(data)


def test_fold_writes_a_snapshot_and_keeps_everything(tmp_path: pathlib.Path) -> None:
    r = pv.Replica.create(tmp_path / "r", "r", kind="pncounter", fold_bytes=1 << 30)
    for i in range(1, 11):
        r.increment(f"k{i}", i)
    r.fold()
    assert len(list(r.path.glob("snapshot-*.arrow"))) == 1
    assert r.log_bytes == 0
    for i in range(1, 11):
        r.decrement(f"k{i}", 1)
    r.close()
    with pv.Replica.open(tmp_path / "r") as r:
        assert [r.value(f"k{i}") for i in range(1, 11)] == [i - 1 for i in range(1, 11)]
    # a small fold_bytes folds by itself
    r = pv.Replica.create(tmp_path / "s", "s", kind="awset", fold_bytes=2000)
    r.add_many([f"e{i}" for i in range(200)])
    for i in range(30):
        r.add(f"x{i}")
    assert list(r.path.glob("snapshot-*.arrow"))
    r.close()
    with pv.Replica.open(tmp_path / "s") as r:
        assert set(r.elements().to_pylist()) == {f"e{i}" for i in range(200)} | {f"x{i}" for i in range(30)}


# --- the Python surface: kinds, views, errors ---


def test_writes_of_another_kind_raise_kind_error(tmp_path: pathlib.Path) -> None:
    wrong: Dict[str, List[Callable[[pv.Replica], Any]]] = {
        "mvmap": [lambda r: r.add("x"), lambda r: r.increment("x"), lambda r: r.set("x", 1, timestamp=3), lambda r: r.value("x")],
        "awset": [lambda r: r.set("x", 1), lambda r: r.decrement("x"), lambda r: r.get("x"), lambda r: r.set_many(["x"], [1])],
        "pncounter": [lambda r: r.add("x"), lambda r: r.set("x", 1), lambda r: r.remove("x"), lambda r: r.add_many(["x"])],
        "lww": [lambda r: r.set("x", 1), lambda r: r.remove("x"), lambda r: r.add("x"), lambda r: r.increment_many(["x"])],
    }
    for kind, calls in wrong.items():
        with pv.Replica.create(tmp_path / kind, kind, kind=kind) as r:
            for call in calls:
                with pytest.raises(pv.KindError):
                    call(r)
            assert r.issued == 0 and len(r) == 0 and r.log_bytes == 0
            with pytest.raises(pv.KindError):
                r.apply(CLASSES["awset" if kind != "awset" else "mvmap"]("z").copy())
            with pytest.raises(pv.DecodeError):
                r.apply(b"not a delta")
            with pytest.raises(pv.KindError, match="key|element"):
                write(r, kind, 5, 1)  # type: ignore[arg-type]
            assert len(r) == 0


def test_batch_writes_and_their_deltas(tmp_path: pathlib.Path) -> None:
    with pv.Replica.create(tmp_path / "m", "m", kind=pv.MVMap, key="int64", value="float64") as m:
        d = m.set_many(range(100), [i / 2 for i in range(100)])
        assert isinstance(d, pv.Delta) and len(d) == 100
        m.remove_many([0, 1])
        assert len(m) == 98 and m.get(3) == [1.5] and m.get(0) == []
        other = pv.MVMap("other", key_type="int64", value_type="float64")
        other.merge(pv.Delta.from_bytes(d.to_bytes()))
        assert len(other) == 100
    with pv.Replica.create(tmp_path / "l", "l", kind="lww") as lw:
        lw.set_many(["a", "b"], [1, 2], timestamps=[10, 10])
        lw.remove_many(["a"], timestamps=11)
        lw.set("b", 3, timestamp=5)  # loses to the write at 10
        assert lw.get("a") is None and lw.get_with_timestamp("b") == (10, 2)
    with pv.Replica.create(tmp_path / "c", "c", kind="pncounter", key=int) as c:
        c.increment_many([1, 2, 3], 10)
        c.decrement_many([1, 2], [1, 2])
        assert [c.value(k) for k in (1, 2, 3, 4)] == [9, 8, 10, 0]


def test_state_is_a_read_only_snapshot(tmp_path: pathlib.Path) -> None:
    with pv.Replica.create(tmp_path / "r", "r", kind="awset") as r:
        r.add("x")
        view = r.state
        assert isinstance(view, pv.AWSet) and view.elements().to_pylist() == ["x"]
        assert r.state is view  # nothing changed: the same snapshot
        with pytest.raises(pv.ReadOnlyError, match="read-only view"):
            view.add("y")
        with pytest.raises(pv.ReadOnlyError):
            view.merge(pv.AWSet("z").copy())
        with pytest.raises(pv.ReadOnlyError):
            view.copy().add("y")  # a plain copy is still a view
        mine = view.copy(replica="elsewhere")
        mine.add("y")  # a copy under another name writes as that name
        assert set(mine.elements().to_pylist()) == {"x", "y"}
        r.add("z")
        assert view.elements().to_pylist() == ["x"]  # a snapshot as of when it was taken
        assert sorted(r.state.elements().to_pylist()) == ["x", "z"]
        assert "y" not in r and len(r) == 2
        assert r.state.digest() == r.digest()
        assert pv.AWSet.from_bytes(r.to_bytes(), "copy").digest() == r.digest()


def test_closed_handles_and_bad_arguments(tmp_path: pathlib.Path) -> None:
    with pv.Replica.create(tmp_path / "r", "r") as r:
        r.set("k", 1)
    assert r.closed
    for call in (lambda: r.set("k", 2), lambda: r.get("k"), lambda: len(r), lambda: r.sync(), lambda: r.writer):
        with pytest.raises(pv.ReplicaClosedError, match="closed"):
            call()
    assert "closed" in repr(r)
    with pytest.raises(pv.ConfigError, match="durability"):
        pv.Replica.open(tmp_path / "r", durability="sometimes")
    with pytest.raises(pv.KindError, match="unknown kind"):
        pv.Replica.create(tmp_path / "x", "x", kind="graph")
    with pytest.raises(pv.KindError, match="no values"):
        pv.Replica.create(tmp_path / "x", "x", kind="awset", value="int64")
    with pytest.raises(TypeError):
        pv.Replica()
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    with pytest.raises(pv.ReplicaIOError) as e:
        pv.Replica.create(blocker / "sub", "x")
    assert isinstance(e.value, OSError) and e.value.errno is not None
    assert pathlib.Path(e.value.filename) == blocker / "sub"


def test_a_delta_claiming_this_incarnations_future_is_refused(tmp_path: pathlib.Path) -> None:
    with pv.Replica.create(tmp_path / "r", "r") as r:
        r.set("mine", 1)
        forged = pv.MVMap(r.writer)  # another handle writing as r's incarnation
        forged.set("a", 1)
        d = forged.set("b", 2)  # claims r#...:2, r has issued only :1
        with pytest.raises(pv.ForeignClaimError, match="forgery"):
            r.apply(d)
        assert "b" not in r and r.issued == 1


# --- sync over lossy channels ---


def test_sync_errors_are_clear() -> None:
    with pytest.raises(pv.ConfigError, match="too small"):
        pv.Sync("mvmap", max_message=200)
    p = pv.Sync(pv.AWSet("a"), max_message=4096)
    with pytest.raises(pv.SyncMessageError):
        p.handle(0.0, b"\x00" * 40)
    with pytest.raises(pv.SyncMessageError):
        p.handle(0.0, b"x" * 5000)  # over max_message
    assert p.stats["bad_messages"] == 2 and p.stats["messages_in"] == 2
    with pytest.raises(pv.KindError, match="syncs AWSet"):
        p.poll_transmit(0.0, pv.MVMap("a"))
    with pytest.raises(pv.KindError):
        p.push(pv.MVMap("a").set("k", 1))
    with pytest.raises(ValueError, match="seconds"):
        p.poll_transmit(-1.0, pv.AWSet("a"))
    assert p.poll_timeout() is None
    assert p.poll_transmit(2.0, pv.AWSet("a")) is not None  # the first round's summary
    assert p.poll_timeout() == pytest.approx(3.0)
    p.start_round()
    assert p.poll_transmit(2.5, pv.AWSet("a")) is not None
    assert p.stats["rounds"] == 2
    while p.poll_transmit(2.5, pv.AWSet("a")) is not None:
        pass
    assert p.is_idle()


def random_writes(r: pv.Replica, name: str, kind: str, model: Model, rng: random.Random, n: int) -> List[pv.Delta]:
    """`n` random writes at `r` on a few hot keys, mirrored in the model."""
    out = []
    for _ in range(n):
        key = f"hot{rng.randrange(6)}"
        if kind == "mvmap":
            if rng.random() < 0.75:
                v = rng.randrange(100)
                out.append(r.set(key, v)); model.set(name, key, v)
            else:
                out.append(r.remove(key)); model.remove(name, key)
        elif kind == "awset":
            if rng.random() < 0.6:
                out.append(r.add(key)); model.add(name, key)
            else:
                out.append(r.remove(key)); model.remove(name, key)
        elif kind == "pncounter":
            n_ = rng.randrange(1, 10)
            if rng.random() < 0.6:
                out.append(r.increment(key, n_)); model.count(name, key, n_, 0)
            else:
                out.append(r.decrement(key, n_)); model.count(name, key, 0, n_)
        else:
            ts = rng.randrange(0, 20)
            if rng.random() < 0.75:
                v = rng.randrange(100)
                out.append(r.set(key, v, timestamp=ts)); model.lww(name, key, v, ts)
            else:
                out.append(r.remove(key, timestamp=ts)); model.lww(name, key, None, ts, remove=True)
    return out


def bulk_write(r: pv.Replica, name: str, kind: str, model: Model, keys: List[str]) -> pv.Delta:
    """One batch write of `keys` (a delta far larger than a message), mirrored in the model."""
    vals = list(range(len(keys)))
    if kind == "mvmap":
        d = r.set_many(keys, vals)
        for k, v in zip(keys, vals):
            model.set(name, k, v)
    elif kind == "awset":
        d = r.add_many(keys)
        for k in keys:
            model.add(name, k)
    elif kind == "pncounter":
        d = r.increment_many(keys, 3)
        for k in keys:
            model.count(name, k, 3, 0)
    else:
        d = r.set_many(keys, vals, timestamps=7)
        for k, v in zip(keys, vals):
            model.lww(name, k, v, 7)
    return d


def model_read(model: Model, name: str, kind: str, key: str) -> Any:
    if kind == "mvmap":
        return sorted(model.mv_get(name, key))
    if kind == "awset":
        return model.aw_contains(name, key)
    if kind == "pncounter":
        return model.pn_value(name, key)
    return model.lww_get(name, key)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n", [2, 3])
def test_replicas_converge_over_a_lossy_channel(tmp_path: pathlib.Path, kind: str, n: int) -> None:
    """`n` replicas, each pair joined by Sync peers (max_message 4096) over channels that drop
    30%, duplicate 20%, reorder and delay; three epochs of writes (bulk batches several
    times the message bound, then random writes on shared hot keys, pushed as they
    happen), each run until the digests agree. Then every replica equals the join of every
    delta written, and every read matches the naive model; no message exceeded 4096 bytes."""
    max_message = 4096
    names = ["a", "b", "c"][:n]
    rng = random.Random(1000 * n + KINDS.index(kind))
    nodes = {x: pv.Replica.create(tmp_path / x, x, kind=kind, durability="buffered") for x in names}
    model = Model(kind)
    for x in names:
        model.replica(x)
    reference = CLASSES[kind]("reference")
    mesh = Mesh(nodes, seed=rng.randrange(1 << 30), max_message=max_message, drop=0.3, dup=0.2, delay=0.2)
    checked = set()
    for epoch in range(3):
        for x in names:
            deltas = []
            if epoch == 0:
                keys = [f"bulk-{x}-{i}" for i in range(400)] + [f"shared-{i}" for i in range(100)]
                deltas.append(bulk_write(nodes[x], x, kind, model, keys))
                checked |= set(rng.sample(keys, 25))
            deltas += random_writes(nodes[x], x, kind, model, rng, 15)
            for d in deltas:
                reference.merge(d)
                mesh.push(x, d)
        mesh.run_until(mesh.converged, ticks=1500)
        every = [model.events[i] for i in model.events]
        for x in names:
            model.receive(x, every)  # converged: each has seen every event
    # the columns' size, not the state file's (format 3 compresses it several times over)
    assert reference.to_arrow().nbytes > 4 * max_message, "the states must need many messages"
    for x in names:
        assert nodes[x].digest() == reference.digest(), x
        for key in sorted(checked | {f"hot{i}" for i in range(6)}):
            assert read(nodes[x], kind, key) == model_read(model, x, kind, key), (x, key)
        assert len(nodes[x]) == len(model.keys(x))
    for link in mesh.links.values():
        assert 0 < link.largest <= max_message
    assert sum(p.stats["messages_out"] for p in mesh.peers.values()) == sum(l.sent for l in mesh.links.values())
    for x in names:
        nodes[x].close()
        with pv.Replica.open(tmp_path / x) as again:  # and what was received is durable too
            assert again.digest() == reference.digest()


def test_sync_of_bare_states_and_bytes_pushes() -> None:
    """Sync works on plain states too, and takes pushed deltas as bytes."""
    a, b = pv.PNCounterMap("a", key_type="int64"), pv.PNCounterMap("b", key_type="int64")
    mesh = Mesh({"a": a, "b": b}, seed=7, max_message=2048, drop=0.25, dup=0.1)
    total: Dict[int, int] = {}
    for i in range(300):
        d = a.increment(i % 50, i) if i % 2 else b.decrement(i % 50, 1)
        total[i % 50] = total.get(i % 50, 0) + (i if i % 2 else -1)
        mesh.peers[("a", "b") if i % 2 else ("b", "a")].push(d.to_bytes())
    mesh.run_until(mesh.converged, ticks=600)
    assert {k: a.value(k) for k in total} == total == {k: b.value(k) for k in total}
    assert all(l.largest <= 2048 for l in mesh.links.values())

