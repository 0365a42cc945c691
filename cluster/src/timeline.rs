//! A cluster run over time, recorded only when asked ([`crate::Config::sample_every`]): a
//! sampling thread wakes on a fixed wall-clock interval from the start of the write phase
//! and records how the nodes' digests group (each running node's `GET /status`; a killed
//! node counts as down, not as a digest) and what the proxies did since the last sample;
//! the harness adds the windows (partitions, nodes down from SIGKILL to restart), the heal
//! and the moment every node reported one digest.
//!
//! Its cost is bounded: one `/status` per running node per interval (each given
//! [`STATUS_WAIT`] at most) and one sample of a few numbers; a slot that passes while the
//! sampler is still polling is skipped, not caught up. The harness's seeds, schedule and
//! waits are the same with or without it: the sampler draws nothing.
//!
//! [`Timeline::to_plot`] turns it into the simulator's [`pluriverse_sim::timeline::Timeline`]
//! (a tick is a millisecond, a sample every interval), which `plot` (feature `plot`) draws
//! with the simulator's drawing code.
//!
//! # Example
//! ```
//! use pluriverse_cluster::timeline::{Sample, Timeline, Window};
//! let sample = |at, groups: Vec<u32>, down| Sample {
//!     at, groups, down, silent: 0,
//!     datagrams_in: 10, delivered: 8, lost: 2, partitioned: 0, duplicated: 0,
//! };
//! let t = Timeline {
//!     interval_ms: 200,
//!     nodes: 3,
//!     samples: vec![sample(0.0, vec![2], 1), sample(0.2, vec![3], 0)],
//!     partitions: vec![],
//!     down: vec![Window { node: 1, start: 0.0, end: 0.2, from_copy: false }],
//!     heal: Some(0.2),
//!     converged: Some(0.3),
//! };
//! let p = t.to_plot();
//! assert_eq!(p.samples[1].tick, 200); // milliseconds
//! assert_eq!((p.heal, p.converged), (200, Some(300)));
//! assert_eq!(p.down[0].window.end, 200);
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pluriverse_node::client::request;
use pluriverse_sim::timeline as sim;
use serde::Serialize;

use crate::proxy::{Stats, StatsReader};

/// The longest a sample waits for one node's `/status`; one that does not answer in time
/// counts as silent.
pub const STATUS_WAIT: Duration = Duration::from_millis(500);

/// One sample, at a slot of the sampling interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    /// Seconds from the start of the write phase to the slot (a multiple of the interval).
    pub at: f64,
    /// Sizes of the groups of running nodes that reported the same digest, largest first.
    pub groups: Vec<u32>,
    /// Nodes killed and not started again.
    pub down: u32,
    /// Nodes running whose `/status` did not answer within [`STATUS_WAIT`].
    pub silent: u32,
    /// Datagrams the proxies received since the previous sample (both directions; the
    /// first sample counts from the proxies' start).
    pub datagrams_in: u64,
    /// Datagrams they delivered (copies included).
    pub delivered: u64,
    /// Dropped by the loss draw.
    pub lost: u64,
    /// Dropped by a partition.
    pub partitioned: u64,
    /// Extra copies made.
    pub duplicated: u64,
}

/// A span of a run, in seconds from the start of the write phase.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Span {
    /// When it began.
    pub start: f64,
    /// When it ended.
    pub end: f64,
}

/// A node down: from its SIGKILL to its next start.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Window {
    /// The node's index (`n0` is 0).
    pub node: usize,
    /// The SIGKILL, in seconds from the start of the write phase.
    pub start: f64,
    /// The start again.
    pub end: f64,
    /// Whether it came back from an old copy of its directory.
    pub from_copy: bool,
}

/// A cluster run over time.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timeline {
    /// The sampling interval, in milliseconds.
    pub interval_ms: u64,
    /// Nodes in the run.
    pub nodes: u32,
    /// The samples, in time order.
    pub samples: Vec<Sample>,
    /// The partitions.
    pub partitions: Vec<Span>,
    /// The nodes down, SIGKILL to restart (a node down at the heal is started then).
    pub down: Vec<Window>,
    /// When every node was up and every proxy unblocked, if the run got there.
    pub heal: Option<f64>,
    /// When the harness saw every node report the same digest, if it did.
    pub converged: Option<f64>,
}

impl Timeline {
    /// The simulator's shape of it, a tick per millisecond from the start of the write
    /// phase: the samples at their slot, the windows at the milliseconds they began and
    /// ended, the heal and convergence likewise (the heal after the last sample if the run
    /// never got there). Nodes down are not in `groups`; silent ones in neither `groups`
    /// nor `down`.
    pub fn to_plot(&self) -> sim::Timeline {
        let ms = |s: f64| (s * 1e3).round().max(0.0) as u32;
        let last = self.samples.last().map_or(0, |s| ms(s.at));
        let heal = self
            .heal
            .map_or(last.saturating_add(self.interval_ms as u32), ms);
        let samples = self
            .samples
            .iter()
            .map(|s| {
                let tick = ms(s.at);
                sim::Sample {
                    tick,
                    phase: if tick < heal {
                        sim::Phase::Write
                    } else {
                        sim::Phase::Heal
                    },
                    groups: s.groups.clone(),
                    sent: s.datagrams_in,
                    lost: s.lost,
                    blocked: s.partitioned,
                    delivered: s.delivered,
                    duplicated: s.duplicated,
                    down: s.down,
                }
            })
            .collect();
        let window = |start: f64, end: f64| sim::Window {
            start: ms(start),
            end: ms(end),
        };
        sim::Timeline {
            replicas: self.nodes,
            samples,
            partitions: self
                .partitions
                .iter()
                .map(|p| window(p.start, p.end))
                .collect(),
            down: self
                .down
                .iter()
                .map(|d| sim::Down {
                    replica: d.node,
                    window: window(d.start, d.end),
                    lost_state: d.from_copy,
                })
                .collect(),
            heal,
            converged: self.converged.map(ms),
        }
    }
}

/// What the harness tells the recorder as the run goes; shared with the sampling thread.
#[derive(Debug)]
pub(crate) struct Recorder {
    t0: Instant,
    timeline: Timeline,
    /// The partition in effect: when it began.
    partition: Option<f64>,
    /// Per node: when it was killed, if it is down.
    killed: Vec<Option<f64>>,
}

impl Recorder {
    pub(crate) fn new(t0: Instant, nodes: usize, interval: Duration) -> Self {
        Self {
            t0,
            timeline: Timeline {
                interval_ms: interval.as_millis().max(1) as u64,
                nodes: nodes as u32,
                ..Timeline::default()
            },
            partition: None,
            killed: vec![None; nodes],
        }
    }

    fn now(&self) -> f64 {
        self.t0.elapsed().as_secs_f64()
    }

    /// The network splits (a partition in effect ends first).
    pub(crate) fn partition(&mut self) {
        self.unblock();
        self.partition = Some(self.now());
    }

    /// Every proxy open again.
    pub(crate) fn unblock(&mut self) {
        if let Some(start) = self.partition.take() {
            let end = self.now();
            self.timeline.partitions.push(Span { start, end });
        }
    }

    /// Node `i` killed.
    pub(crate) fn killed(&mut self, i: usize) {
        self.killed[i] = Some(self.now());
    }

    /// Node `i` started again (`from_copy`: from an old copy of its directory).
    pub(crate) fn started(&mut self, i: usize, from_copy: bool) {
        if let Some(start) = self.killed[i].take() {
            let end = self.now();
            self.timeline.down.push(Window {
                node: i,
                start,
                end,
                from_copy,
            });
        }
    }

    /// Every node up, every proxy open.
    pub(crate) fn heal(&mut self) {
        self.unblock();
        self.timeline.heal = Some(self.now());
    }

    /// Every node reported the same digest.
    pub(crate) fn converged(&mut self) {
        self.timeline.converged = Some(self.now());
    }

    fn push(&mut self, s: Sample) {
        self.timeline.samples.push(s);
    }

    /// The timeline, its windows in time order.
    fn finish(&mut self) -> Timeline {
        let mut t = std::mem::take(&mut self.timeline);
        t.down.sort_by(|a, b| a.start.total_cmp(&b.start));
        t
    }
}

/// What a sample looks at: the nodes' HTTP addresses and whether each is up, the proxies'
/// counters.
pub(crate) struct Sources {
    /// Nodes in the run.
    pub(crate) nodes: usize,
    /// Node `i`'s HTTP address while it runs; `None` while it is down.
    pub(crate) node: Box<dyn Fn(usize) -> Option<SocketAddr> + Send>,
    /// Every proxy's counters.
    pub(crate) proxies: Vec<StatsReader>,
}

/// The sampling thread; [`Sampler::finish`] takes one last sample and returns the timeline.
pub(crate) struct Sampler {
    rec: Arc<Mutex<Recorder>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    /// Samples every `interval` from the recorder's start until finished.
    pub(crate) fn start(rec: Arc<Mutex<Recorder>>, src: Sources, interval: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (rec, stop) = (rec.clone(), stop.clone());
            std::thread::spawn(move || sample_loop(&rec, &src, interval, &stop))
        };
        Self {
            rec,
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the thread after one more sample (at its next slot) and returns the timeline.
    pub(crate) fn finish(mut self) -> Timeline {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        lock(&self.rec).finish()
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn sample_loop(rec: &Mutex<Recorder>, src: &Sources, interval: Duration, stop: &AtomicBool) {
    let t0 = lock(rec).t0;
    let step = interval.max(Duration::from_millis(1));
    let mut last = Stats::default();
    let mut slot: u32 = 0;
    loop {
        let due = t0 + step * slot;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let stopping = stop.load(Ordering::SeqCst);
        let (groups, down, silent) = digests(src);
        let now = total(&src.proxies);
        let d = |a: u64, b: u64| a.saturating_sub(b);
        let s = Sample {
            at: (step * slot).as_secs_f64(),
            groups,
            down,
            silent,
            datagrams_in: d(now.datagrams_in, last.datagrams_in),
            delivered: d(now.datagrams_out, last.datagrams_out),
            lost: d(now.dropped_loss, last.dropped_loss),
            partitioned: d(now.dropped_partition, last.dropped_partition),
            duplicated: d(now.duplicated, last.duplicated),
        };
        last = now;
        lock(rec).push(s);
        if stopping {
            return;
        }
        // the next slot still ahead (one that passed while polling is skipped)
        let passed = (t0.elapsed().as_nanos() / step.as_nanos()) as u32;
        slot = passed.max(slot) + 1;
    }
}

/// The groups of running nodes by the digest their `/status` reports; nodes down; nodes up
/// that did not answer.
fn digests(src: &Sources) -> (Vec<u32>, u32, u32) {
    let mut counts: HashMap<u128, u32> = HashMap::new();
    let (mut down, mut silent) = (0, 0);
    for i in 0..src.nodes {
        let Some(addr) = (src.node)(i) else {
            down += 1;
            continue;
        };
        let digest = request(addr, "GET", "/status", None, None, STATUS_WAIT)
            .ok()
            .filter(|r| r.status == 200)
            .and_then(|r| r.json().ok())
            .and_then(|j| {
                j["digest"]
                    .as_str()
                    .and_then(|d| u128::from_str_radix(d, 16).ok())
            });
        match digest {
            Some(d) => *counts.entry(d).or_default() += 1,
            None => silent += 1,
        }
    }
    let mut groups: Vec<u32> = counts.into_values().collect();
    groups.sort_unstable_by(|a, b| b.cmp(a));
    (groups, down, silent)
}

/// Every proxy's counters added up.
fn total(proxies: &[StatsReader]) -> Stats {
    let mut t = Stats::default();
    for p in proxies {
        let s = p.stats();
        t.datagrams_in += s.datagrams_in;
        t.bytes_in += s.bytes_in;
        t.datagrams_out += s.datagrams_out;
        t.bytes_out += s.bytes_out;
        t.dropped_loss += s.dropped_loss;
        t.dropped_partition += s.dropped_partition;
        t.duplicated += s.duplicated;
        t.dropped_other += s.dropped_other;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_and_the_heal_splits_the_phases() {
        let sample = |at: f64| Sample {
            at,
            groups: vec![2],
            down: 0,
            silent: 0,
            datagrams_in: 3,
            delivered: 2,
            lost: 1,
            partitioned: 0,
            duplicated: 0,
        };
        let t = Timeline {
            interval_ms: 250,
            nodes: 2,
            samples: (0..6).map(|k| sample(k as f64 * 0.25)).collect(),
            partitions: vec![Span {
                start: 0.3,
                end: 0.6,
            }],
            down: vec![],
            heal: Some(1.1),
            converged: None,
        };
        let p = t.to_plot();
        let ticks: Vec<u32> = p.samples.iter().map(|s| s.tick).collect();
        assert_eq!(ticks, vec![0, 250, 500, 750, 1000, 1250]);
        assert_eq!((p.partitions[0].start, p.partitions[0].end), (300, 600));
        assert_eq!(p.heal, 1100);
        assert_eq!(p.samples[4].phase, sim::Phase::Write);
        assert_eq!(p.samples[5].phase, sim::Phase::Heal);
        assert_eq!(p.converged, None);
        assert_eq!(p.samples[2].sent, 3);
        // no heal: an interval after the last sample
        let t = Timeline { heal: None, ..t };
        assert_eq!(t.to_plot().heal, 1500);
    }

    #[test]
    fn the_recorder_closes_windows() {
        let mut r = Recorder::new(Instant::now(), 3, Duration::from_millis(100));
        r.partition();
        r.killed(2);
        r.partition(); // a second one ends the first
        r.started(2, true);
        r.started(1, false); // never killed: no window
        r.heal();
        r.converged();
        let t = r.finish();
        assert_eq!(t.partitions.len(), 2);
        assert!(t.partitions.iter().all(|p| p.start <= p.end));
        assert_eq!(t.down.len(), 1);
        assert_eq!((t.down[0].node, t.down[0].from_copy), (2, true));
        let (heal, conv) = (t.heal.unwrap(), t.converged.unwrap());
        assert!(t.partitions[1].end <= heal && heal <= conv);
    }
}
