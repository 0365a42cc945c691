//! The sync state machine for one peer: `pluriverse_replica::sync::Peer` with times as
//! float seconds and messages as `bytes`. The public class is `pluriverse.Sync`.

use std::str::FromStr;
use std::time::Duration;

use pluriverse_any::{KeyType, Kind, StateType, ValueType};
use pluriverse_replica::sync::{Config, Peer};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::errors::{replica_err, KindError};
use crate::lock::Shared;
use crate::replica::Replica;
use crate::scalar::{any_err, bytes_arg};
use crate::state::State;

/// The sync state machine for one peer (see `pluriverse.Sync`).
///
/// Frozen: the peer lives behind a lock (`crate::lock`), so threads may share it (calls
/// take turns).
#[pyclass(name = "Sync", module = "pluriverse._native", frozen)]
pub struct Sync {
    inner: Shared<Peer>,
    ty: StateType,
}

/// `now` (float seconds since any fixed origin) as a `Duration`.
fn time(now: f64, what: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(now).map_err(|_| {
        PyValueError::new_err(format!(
            "{what} must be a finite, non-negative number of seconds, got {now}"
        ))
    })
}

impl Sync {
    fn check(&self, t: StateType, what: &str) -> PyResult<()> {
        if t == self.ty {
            Ok(())
        } else {
            Err(KindError::new_err(format!(
                "{what} is a {t}, this Sync peer syncs {}",
                self.ty
            )))
        }
    }
}

#[pymethods]
impl Sync {
    /// A peer syncing states of the given kind and types.
    #[new]
    #[pyo3(signature = (kind, key_type, value_type=None, max_message=65536, round_interval=1.0, max_inbound=268435456, max_queue=4096))]
    fn new(
        kind: &str,
        key_type: &str,
        value_type: Option<&str>,
        max_message: usize,
        round_interval: f64,
        max_inbound: usize,
        max_queue: usize,
    ) -> PyResult<Self> {
        let kind = Kind::from_str(kind).map_err(any_err)?;
        let key = KeyType::from_str(key_type).map_err(any_err)?;
        let value = value_type
            .map(ValueType::from_str)
            .transpose()
            .map_err(any_err)?;
        let ty = StateType::new(kind, key, value).map_err(any_err)?;
        let cfg = Config {
            max_message,
            round_interval: time(round_interval, "round_interval")?,
            max_inbound,
            max_queue,
            ..Config::default()
        };
        let inner = Peer::new(ty, cfg).map_err(replica_err)?;
        Ok(Self {
            inner: Shared::new(inner),
            ty,
        })
    }

    /// Queues a local write's delta for the peer.
    fn push(&self, py: Python<'_>, delta: &State) -> PyResult<()> {
        self.check(delta.ty(), "the delta")?;
        let d = &delta.inner;
        self.inner.write_detached(py, |peer| {
            // a delta is small: a copy, so that the two locks are never held together
            let d = d.read_blocking().clone();
            peer.push(&d)
        });
        Ok(())
    }

    /// Takes one message from the peer; returns the delta it carries, if any.
    fn handle(&self, py: Python<'_>, now: f64, data: &Bound<'_, PyAny>) -> PyResult<Option<State>> {
        let now = time(now, "now")?;
        let data = bytes_arg(data, "data")?;
        let data: &[u8] = &data;
        self.inner
            .write_detached(py, |peer| peer.handle(now, data))
            .map(|d| d.map(State::wrap))
            .map_err(replica_err)
    }

    /// The next message for the peer, computed against `source` (a native `Replica` or
    /// `State`), or `None`.
    fn poll_transmit<'py>(
        &self,
        py: Python<'py>,
        now: f64,
        source: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let now = time(now, "now")?;
        let peer = &self.inner;
        let out = if let Ok(r) = source.cast::<Replica>() {
            let r = r.get();
            self.check(r.ty(), "the replica")?;
            let src = &r.inner;
            let out = py.detach(|| {
                // both locks, in address order (see `Shared::first_of`)
                let (mut p, s) = if peer.first_of(src) {
                    let p = peer.write_blocking();
                    (p, src.read_blocking())
                } else {
                    let s = src.read_blocking();
                    (peer.write_blocking(), s)
                };
                s.as_ref().map(|s| p.poll_transmit(now, s.state()))
            });
            out.ok_or_else(|| r.closed())?
        } else if let Ok(st) = source.cast::<State>() {
            let st = st.get();
            self.check(st.ty(), "the state")?;
            let src = &st.inner;
            py.detach(|| {
                let (mut p, s) = if peer.first_of(src) {
                    let p = peer.write_blocking();
                    (p, src.read_blocking())
                } else {
                    let s = src.read_blocking();
                    (peer.write_blocking(), s)
                };
                p.poll_transmit(now, &s)
            })
        } else {
            return Err(KindError::new_err(format!(
                "poll_transmit reads a Replica or a state, not {}",
                source.get_type().name()?
            )));
        };
        Ok(out.map(|m| PyBytes::new(py, &m)))
    }

    /// When the next round is due (float seconds), or `None` before the first poll.
    fn poll_timeout(&self, py: Python<'_>) -> Option<f64> {
        self.inner
            .read(py, |p| p.poll_timeout())
            .map(|d| d.as_secs_f64())
    }

    /// Starts a round at the next `poll_transmit`, whatever the interval.
    fn start_round(&self, py: Python<'_>) {
        self.inner.write(py, |p| p.start_round());
    }

    /// Whether nothing is queued.
    fn is_idle(&self, py: Python<'_>) -> bool {
        self.inner.read(py, |p| p.is_idle())
    }

    /// The counters of what it has done, as a dict.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.inner.read(py, |p| p.stats().clone());
        let d = PyDict::new(py);
        for (k, v) in [
            ("messages_out", s.messages_out),
            ("bytes_out", s.bytes_out),
            ("messages_in", s.messages_in),
            ("bytes_in", s.bytes_in),
            ("rounds", s.rounds),
            ("slices_out", s.slices_out),
            ("deltas_in", s.deltas_in),
            ("bad_messages", s.bad_messages),
            ("throttled", s.throttled),
            ("dropped_work", s.dropped_work),
            ("oversized", s.oversized),
            ("long_names", s.long_names),
        ] {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    /// `(max_message, round_interval, max_inbound, max_queue)`.
    fn config(&self, py: Python<'_>) -> (usize, f64, usize, usize) {
        let c = self.inner.read(py, |p| *p.config());
        (
            c.max_message,
            c.round_interval.as_secs_f64(),
            c.max_inbound,
            c.max_queue,
        )
    }
}
