//! A run over time: one [`Sample`] per tick (how the replicas' digests group, what the
//! network did that tick), the partition and restart windows, the heal and the moment of
//! convergence. Recording it costs one digest per replica per tick, so a run records it only
//! when asked ([`crate::harness::run_with_timeline`]); `plot` (feature `plot`) draws it.
//!
//! # Example
//! ```
//! use pluriverse_sim::{harness::run_with_timeline, Config};
//! let cfg = Config { records: 2_000, ..Config::default() };
//! let report = run_with_timeline(&cfg, &mut |_| {});
//! let t = report.timeline.as_ref().unwrap();
//! assert_eq!(t.samples.len() as u32, t.ticks());
//! // at convergence every replica holds the same digest
//! let last = t.samples.last().unwrap();
//! assert_eq!(last.groups, vec![cfg.replicas as u32]);
//! ```

use std::collections::HashMap;

use serde::Serialize;

use crate::net::{NetStats, Partition, Restart};

/// Which part of a run a tick belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Replicas write, gossip and run occasional anti-entropy; faults happen.
    Write,
    /// After the heal: what was still in flight is delivered.
    Drain,
    /// Anti-entropy rounds, everyone with everyone, until the replicas converge.
    Heal,
}

/// One tick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sample {
    /// The tick.
    pub tick: u32,
    /// The part of the run it belongs to.
    pub phase: Phase,
    /// Sizes of the groups of replicas holding the same digest at the end of the tick,
    /// largest first (one group: they agree).
    pub groups: Vec<u32>,
    /// Messages handed to the network this tick (copies not counted).
    pub sent: u64,
    /// Of those, lost at random.
    pub lost: u64,
    /// Of those, dropped by a partition.
    pub blocked: u64,
    /// Message copies that reached a live replica this tick.
    pub delivered: u64,
    /// Extra copies the network made this tick.
    pub duplicated: u64,
    /// Replicas down at the end of the tick. The simulator counts a down replica in
    /// `groups` too (with the state it holds on its disk); `pluriverse-cluster` does not (a
    /// killed process answers no digest), so there `groups` sum to the replicas up.
    pub down: u32,
}

impl Sample {
    /// Distinct digests among the replicas.
    pub fn distinct(&self) -> u32 {
        self.groups.len() as u32
    }

    /// Replicas that do not hold the most common digest.
    pub fn outside_majority(&self) -> u32 {
        let total: u32 = self.groups.iter().sum();
        total - self.groups.first().copied().unwrap_or(0)
    }
}

/// A span of ticks, `start <= tick < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Window {
    /// First tick.
    pub start: u32,
    /// First tick after it.
    pub end: u32,
}

/// A replica down, from its restart until it came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Down {
    /// The replica.
    pub replica: usize,
    /// When it was down.
    pub window: Window,
    /// Whether it came back without its latest state (empty under a new epoch, or from
    /// an old copy under a fresh incarnation).
    pub lost_state: bool,
}

/// A run over time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Timeline {
    /// Replicas in the run.
    pub replicas: u32,
    /// One sample per tick, from tick 0, in tick order (`pluriverse-cluster`'s ticks are
    /// milliseconds, and it samples every interval: there, ticks between are absent).
    pub samples: Vec<Sample>,
    /// The partitions that were in effect (cut at the heal).
    pub partitions: Vec<Window>,
    /// The restarts that happened (cut at the heal).
    pub down: Vec<Down>,
    /// The tick the faults ended (the first tick after the write phase).
    pub heal: u32,
    /// The tick from whose end on every replica held the same digest, if the run converged
    /// (ended with every replica holding identical bytes).
    pub converged: Option<u32>,
}

impl Timeline {
    /// Ticks recorded.
    pub fn ticks(&self) -> u32 {
        self.samples.len() as u32
    }
}

/// Records a timeline while the harness runs.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    timeline: Timeline,
    last: NetStats,
}

impl Recorder {
    pub(crate) fn new(replicas: usize) -> Self {
        Self {
            timeline: Timeline {
                replicas: replicas as u32,
                ..Timeline::default()
            },
            last: NetStats::default(),
        }
    }

    /// The end of `tick`: the replicas' digests and the network's counters now.
    pub(crate) fn tick(&mut self, tick: u32, phase: Phase, digests: &[u128], net: &NetStats) {
        let mut counts: HashMap<u128, u32> = HashMap::new();
        for d in digests {
            *counts.entry(*d).or_default() += 1;
        }
        let mut groups: Vec<u32> = counts.into_values().collect();
        groups.sort_unstable_by(|a, b| b.cmp(a));
        let d = |now: u64, before: u64| now.saturating_sub(before);
        self.timeline.samples.push(Sample {
            tick,
            phase,
            groups,
            sent: d(net.sent, self.last.sent),
            lost: d(net.lost, self.last.lost),
            blocked: d(net.blocked_by_partition, self.last.blocked_by_partition),
            delivered: d(net.delivered, self.last.delivered),
            duplicated: d(net.duplicated, self.last.duplicated),
            down: 0,
        });
        self.last = net.clone();
    }

    /// The faults ended at `heal`: the windows that began before it, cut there.
    pub(crate) fn heal(&mut self, heal: u32, partitions: &[Partition], restarts: &[Restart]) {
        let cut = |start: u32, end: u32| Window {
            start,
            end: end.min(heal),
        };
        let t = &mut self.timeline;
        t.heal = heal;
        t.partitions = partitions
            .iter()
            .filter(|p| p.start < heal)
            .map(|p| cut(p.start, p.end))
            .collect();
        t.down = restarts
            .iter()
            .filter(|r| r.at < heal)
            .map(|r| Down {
                replica: r.replica,
                window: cut(r.at, r.back),
                lost_state: r.kind != crate::net::RestartKind::Keep,
            })
            .collect();
    }

    /// The timeline; `converged`: whether the replicas ended byte-identical. The moment of
    /// convergence is the first tick from which every replica held the same digest.
    pub(crate) fn finish(mut self, converged: bool) -> Timeline {
        let down = std::mem::take(&mut self.timeline.down);
        for s in &mut self.timeline.samples {
            s.down = down
                .iter()
                .filter(|d| (d.window.start..d.window.end).contains(&s.tick))
                .count() as u32;
        }
        self.timeline.down = down;
        let samples = &self.timeline.samples;
        let agreed = samples
            .iter()
            .rev()
            .take_while(|s| s.groups.len() == 1)
            .count();
        self.timeline.converged =
            (converged && agreed > 0).then(|| samples[samples.len() - agreed].tick);
        self.timeline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_per_tick_counts() {
        let mut r = Recorder::new(4);
        let mut net = NetStats {
            sent: 10,
            lost: 2,
            delivered: 5,
            ..NetStats::default()
        };
        r.tick(0, Phase::Write, &[7, 7, 9, 7], &net);
        net.sent = 13;
        net.delivered = 11;
        r.tick(1, Phase::Heal, &[1, 1, 1, 1], &net);
        let t = r.finish(true);
        assert_eq!(t.converged, Some(1));
        assert_eq!(t.samples[0].groups, vec![3, 1]);
        assert_eq!(t.samples[0].outside_majority(), 1);
        assert_eq!((t.samples[1].sent, t.samples[1].lost), (3, 0));
        assert_eq!(t.samples[1].delivered, 6);
        assert_eq!(t.samples[1].distinct(), 1);
    }
}
