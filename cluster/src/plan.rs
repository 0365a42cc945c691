//! The nemesis's schedule, drawn from the run's seed before anything starts: copies of
//! node directories, partitions and their heals, kills and restarts (from the node's own
//! directory or from an old copy of it).

use std::time::Duration;

use serde::Serialize;

use crate::rng::Rng;

/// How the network partitions during the write phase (every partition heals before the
/// end of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PartitionMode {
    /// No partition.
    None,
    /// One node is cut off from all others.
    Isolate,
    /// The nodes split into two random groups.
    Split,
    /// Either, drawn per partition.
    Mixed,
}

impl PartitionMode {
    /// Parses `none`, `isolate`, `split` or `mixed`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Self::None,
            "isolate" => Self::Isolate,
            "split" => Self::Split,
            "mixed" => Self::Mixed,
            _ => return None,
        })
    }

    /// The name [`PartitionMode::parse`] reads.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Isolate => "isolate",
            Self::Split => "split",
            Self::Mixed => "mixed",
        }
    }
}

/// One thing the nemesis does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Copy the node's directory while it runs (kept for a later restore).
    Copy(usize),
    /// Cut the network between the nodes with `side[i]` true and the others.
    Partition(Vec<bool>),
    /// End the partition.
    Heal,
    /// SIGKILL the node, wait `down`, start it again, from its latest old copy when
    /// `from_copy` (and one exists), else from its own directory.
    Kill {
        /// The node.
        node: usize,
        /// How long it stays down.
        down: Duration,
        /// Restart from an old copy.
        from_copy: bool,
    },
}

/// The schedule over a write phase of `duration`: `(time from its start, event)`, in time
/// order.
pub fn plan(
    rng: &mut Rng,
    nodes: usize,
    duration: Duration,
    mode: PartitionMode,
    partitions: u32,
    kills: u32,
) -> Vec<(Duration, Event)> {
    let d = duration.as_secs_f64();
    let at = |f: f64| Duration::from_secs_f64(f.clamp(0.0, d));
    let mut ev = Vec::new();
    let mut copied = vec![f64::MAX; nodes];
    for (n, c) in copied.iter_mut().enumerate() {
        *c = d * (0.03 + 0.15 * rng.unit());
        ev.push((at(*c), Event::Copy(n)));
    }
    let mut windows: Vec<(f64, f64)> = Vec::new();
    let parts = if mode == PartitionMode::None || nodes < 2 {
        0
    } else {
        partitions
    };
    if parts > 0 {
        let slot = 0.75 * d / f64::from(parts);
        for p in 0..parts {
            let len = (0.6 * slot).min(1.5) * (0.6 + 0.4 * rng.unit());
            let start = 0.1 * d + f64::from(p) * slot + (slot - len) * rng.unit();
            let isolate = match mode {
                PartitionMode::Isolate => true,
                PartitionMode::Split => false,
                _ => rng.chance(0.5),
            };
            let mut side = vec![false; nodes];
            if isolate || nodes == 2 {
                side[rng.below(nodes as u64) as usize] = true;
            } else {
                // a random proper, non-empty subset
                loop {
                    for s in side.iter_mut() {
                        *s = rng.chance(0.5);
                    }
                    let k = side.iter().filter(|s| **s).count();
                    if k > 0 && k < nodes {
                        break;
                    }
                }
            }
            windows.push((start, start + len));
            ev.push((at(start), Event::Partition(side)));
            ev.push((at(start + len), Event::Heal));
        }
    }
    let mut restores = 0;
    for _ in 0..kills {
        let mut t = d * (0.15 + 0.75 * rng.unit());
        let node = rng.below(nodes as u64) as usize;
        let down = Duration::from_millis(150 + rng.below(350));
        // half of them from a copy, and at least the first that can be
        let mut from_copy = t > copied[node] + 0.1 && (rng.chance(0.5) || restores == 0);
        // a restore from a copy first waits until what only the node holds is held
        // elsewhere: never while a partition may cut it off (moved after it, or given up)
        for &(s, e) in &windows {
            if from_copy && t + down.as_secs_f64() + 0.3 >= s && t <= e + 0.1 {
                t = e + 0.15;
                from_copy = t < 0.95 * d;
            }
        }
        restores += u32::from(from_copy);
        ev.push((
            at(t),
            Event::Kill {
                node,
                down,
                from_copy,
            },
        ));
    }
    ev.sort_by_key(|(t, _)| *t);
    ev
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng;

    #[test]
    fn plans_are_seeded_bounded_and_heal_every_partition() {
        let d = Duration::from_secs(4);
        let p = plan(&mut rng::seeded(5), 3, d, PartitionMode::Mixed, 2, 3);
        assert_eq!(
            p,
            plan(&mut rng::seeded(5), 3, d, PartitionMode::Mixed, 2, 3)
        );
        assert!(p.windows(2).all(|w| w[0].0 <= w[1].0));
        assert!(p.iter().all(|(t, _)| *t <= d));
        let count = |f: &dyn Fn(&Event) -> bool| p.iter().filter(|(_, e)| f(e)).count();
        assert_eq!(count(&|e| matches!(e, Event::Copy(_))), 3);
        assert_eq!(count(&|e| matches!(e, Event::Kill { .. })), 3);
        assert_eq!(count(&|e| matches!(e, Event::Partition(_))), 2);
        // partitions alternate with heals, and each cuts a proper subset
        let mut open = false;
        for (_, e) in &p {
            match e {
                Event::Partition(side) => {
                    assert!(!open);
                    open = true;
                    let k = side.iter().filter(|s| **s).count();
                    assert!(k > 0 && k < 3);
                }
                Event::Heal => {
                    assert!(open);
                    open = false;
                }
                _ => {}
            }
        }
        assert!(!open);
        assert!(plan(&mut rng::seeded(1), 3, d, PartitionMode::None, 5, 0)
            .iter()
            .all(|(_, e)| matches!(e, Event::Copy(_))));
    }
}
