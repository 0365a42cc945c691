"""``Sync``: the sans-IO sync protocol, one state machine per peer. It takes and returns
``bytes`` and is given the time; it does no I/O, reads no clock and never changes a state
itself, so it runs over any transport (sockets, websockets, a queue, a test's list)."""

from __future__ import annotations

from typing import Dict, Optional, Union

from . import _native
from ._arrow import TypeSpec
from ._errors import KindError
from ._kinds import Delta, _Handle
from ._replica import KindSpec, Replica, state_type

__all__ = ["Sync"]


class Sync:
    """The sync state machine for one peer: make one per peer, for the replica (or bare
    state) it serves.

    - :meth:`push` a local write's delta: it goes out as one message, or as slices of it
      when larger than ``max_message``.
    - Give every message from the peer to :meth:`handle`; join the delta it returns, if any
      (``replica.apply(d)``).
    - Send what :meth:`poll_transmit` returns until it returns ``None``; call it again when
      a message came in, after a push, and at :meth:`poll_timeout` (the next anti-entropy
      round: summaries of what each side holds, so what was lost is found and resent).

    Any message may be lost, duplicated, reordered or delayed: every data message is a valid
    delta on its own, nothing is retransmitted, and the next round finds what is missing.
    Every message is at most ``max_message`` bytes (the smallest bound a type allows is
    1.5 to 1.9 KB, as the empty delta of the type needs; :class:`pluriverse.ConfigError`
    below it).

    ``like`` gives the kind and types: a :class:`Replica`, a state (:class:`MVMap`, ...), or
    a kind (name or class) with ``key`` and ``value`` as for :meth:`Replica.create`.
    ``now`` arguments are float seconds since any fixed origin (``time.monotonic()``).
    ``round_interval`` is the time between rounds; ``max_inbound`` bounds the bytes accepted
    per round interval (the rest are dropped and fetched again later); ``max_queue`` bounds
    the work queued for the peer.

    >>> from pluriverse import AWSet
    >>> a, b = AWSet("a"), AWSet("b")
    >>> _ = a.add_many([f"x{i}" for i in range(500)])
    >>> pa, pb = Sync(a, max_message=2048), Sync(b, max_message=2048)
    >>> for tick in range(50):
    ...     now = tick * 0.1
    ...     while (m := pa.poll_transmit(now, a)) is not None:
    ...         assert len(m) <= 2048
    ...         d = pb.handle(now, m)
    ...         if d is not None:
    ...             b.merge(d)
    ...     while (m := pb.poll_transmit(now, b)) is not None:
    ...         d = pa.handle(now, m)
    ...         if d is not None:
    ...             a.merge(d)
    >>> len(b), a.digest() == b.digest()
    (500, True)
    """

    __slots__ = ("_inner", "_kind")

    def __init__(
        self,
        like: Union[Replica, _Handle, KindSpec],
        key: TypeSpec = "utf8",
        value: Optional[TypeSpec] = None,
        *,
        max_message: int = 65536,
        round_interval: float = 1.0,
        max_inbound: int = 256 << 20,
        max_queue: int = 4096,
    ) -> None:
        """A peer for states of ``like``'s kind and types. :class:`pluriverse.ConfigError`
        when ``max_message`` cannot hold the smallest message for the type."""
        if isinstance(like, (Replica, _Handle)):
            kind, key_name, value_name = like.kind, like.key_type, like.value_type
        else:
            kind, key_name, value_name = state_type(like, key, value)
        self._kind = kind
        self._inner = _native.Sync(
            kind, key_name, value_name, max_message, float(round_interval), max_inbound, max_queue
        )

    def push(self, delta: Union[Delta, _Handle, bytes, bytearray, memoryview]) -> None:
        """Queues a local write's delta (a :class:`Delta`, or its bytes) for the peer."""
        if isinstance(delta, (bytes, bytearray, memoryview)):
            delta = Delta.from_bytes(bytes(delta))
        if not isinstance(delta, _Handle):
            raise KindError(f"Sync.push takes a Delta or its bytes, not {type(delta).__name__}")
        self._inner.push(delta._inner)

    def handle(self, now: float, data: Union[bytes, bytearray, memoryview]) -> Optional[Delta]:
        """Takes one message from the peer. Returns the delta it carries, for the caller to
        join (``replica.apply(d)`` or ``state.merge(d)``), or ``None``; replies are queued for
        :meth:`poll_transmit`.

        Raises :class:`pluriverse.SyncMessageError` for a malformed message or one over
        ``max_message``, :class:`pluriverse.DecodeError` / :class:`pluriverse.KindError` for
        a delta that does not decode or is of another type; the message is dropped and
        nothing else changes (a transport may log and go on)."""
        d = self._inner.handle(float(now), bytes(data))
        return None if d is None else Delta._wrap(d)

    def poll_transmit(self, now: float, source: Union[Replica, _Handle]) -> Optional[bytes]:
        """The next message for the peer (at most ``max_message`` bytes), computed against
        ``source`` as it is now (the :class:`Replica` or state this peer serves), or ``None``
        when there is nothing to send until the next message in or the next round."""
        if not isinstance(source, (Replica, _Handle)):
            raise KindError(f"Sync.poll_transmit reads a Replica or a state, not {type(source).__name__}")
        return self._inner.poll_transmit(float(now), source._inner)

    def poll_timeout(self) -> Optional[float]:
        """When the next anti-entropy round is due (the ``now`` to call
        :meth:`poll_transmit` at), or ``None`` before the first call."""
        return self._inner.poll_timeout()

    def start_round(self) -> None:
        """Starts a round at the next :meth:`poll_transmit`, whatever the interval (after a
        reconnect, say)."""
        self._inner.start_round()

    def is_idle(self) -> bool:
        """Whether nothing is queued: no message waiting, no work pending."""
        return self._inner.is_idle()

    @property
    def stats(self) -> Dict[str, int]:
        """What it has done: ``messages_out``, ``bytes_out``, ``messages_in``, ``bytes_in``,
        ``rounds``, ``slices_out``, ``deltas_in``, ``bad_messages``, ``throttled``,
        ``dropped_work``, ``oversized``, ``long_names`` (replicas left out of rounds because
        their names are too long for the message bound; a fresh dict each time)."""
        return self._inner.stats()

    @property
    def max_message(self) -> int:
        """The largest message sent or accepted, in bytes."""
        return self._inner.config()[0]

    @property
    def round_interval(self) -> float:
        """Seconds between anti-entropy rounds."""
        return self._inner.config()[1]

    def __repr__(self) -> str:
        return f"Sync({self._kind}, max_message={self.max_message}, round_interval={self.round_interval})"
