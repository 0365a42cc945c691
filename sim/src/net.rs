//! The simulated network: loss, duplication, delay and reordering, partitions (symmetric
//! and asymmetric) and restarts, all drawn from the run's seed.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::rng::Rng;

/// How the network partitions during the write phase (every partition heals before the
/// end of the run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionMode {
    /// No partition.
    None,
    /// One replica is cut off from all others, both ways.
    IsolateOne,
    /// The replicas split into two random groups that cannot reach each other.
    Split,
    /// A random group can send to the others but hears nothing back.
    Asymmetric,
    /// A mix of the above, several times.
    Random,
    /// Many short partitions of any of the above kinds, one to three ticks each, all
    /// through the write phase: with a bounded link rate they cut transfers in the middle.
    Flapping,
}

impl PartitionMode {
    /// Parses `none`, `isolate`, `split`, `asymmetric` or `random`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Self::None,
            "isolate" | "isolate-one" => Self::IsolateOne,
            "split" => Self::Split,
            "asymmetric" | "asym" => Self::Asymmetric,
            "random" => Self::Random,
            "flapping" => Self::Flapping,
            _ => return None,
        })
    }

    /// The name [`PartitionMode::parse`] reads.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::IsolateOne => "isolate",
            Self::Split => "split",
            Self::Asymmetric => "asymmetric",
            Self::Random => "random",
            Self::Flapping => "flapping",
        }
    }
}

/// Restarts of replicas during the write phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartMode {
    /// No restart.
    None,
    /// Replicas go down and come back with their state.
    KeepState,
    /// Replicas go down and come back empty, under a new epoch of their name.
    LoseState,
    /// Replicas go down and come back from an old copy of their directory (their state as
    /// it was some ticks earlier), under a fresh incarnation of their name.
    OldCopy,
    /// All three kinds.
    Mixed,
}

impl RestartMode {
    /// Parses `none`, `keep`, `lose`, `old` or `mixed`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Self::None,
            "keep" => Self::KeepState,
            "lose" => Self::LoseState,
            "old" | "old-copy" => Self::OldCopy,
            "mixed" => Self::Mixed,
            _ => return None,
        })
    }

    /// The name [`RestartMode::parse`] reads.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::KeepState => "keep",
            Self::LoseState => "lose",
            Self::OldCopy => "old",
            Self::Mixed => "mixed",
        }
    }
}

/// Both serialize as the names their `parse` reads.
macro_rules! serialize_by_name {
    ($($t:ty),*) => {$(
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }
    )*};
}
serialize_by_name!(PartitionMode, RestartMode);

/// One partition: `blocked[from * n + to]` while `start <= tick < end`.
#[derive(Debug, Clone)]
pub struct Partition {
    /// First tick.
    pub start: u32,
    /// First tick after it.
    pub end: u32,
    /// Which directions are cut.
    pub blocked: Vec<bool>,
    /// Messages it dropped.
    pub blocked_messages: u64,
}

/// What a replica comes back with after a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartKind {
    /// Its state and name.
    Keep,
    /// Nothing: empty, under a new epoch of its name.
    Lose,
    /// The copy of its state taken at [`Restart::copy_at`], under a fresh incarnation.
    OldCopy,
}

/// One restart of a replica.
#[derive(Debug, Clone)]
pub struct Restart {
    /// Which replica.
    pub replica: usize,
    /// The tick it goes down.
    pub at: u32,
    /// The tick it comes back.
    pub back: u32,
    /// What it comes back with.
    pub kind: RestartKind,
    /// For [`RestartKind::OldCopy`]: the tick the copy is taken (at most `at`).
    pub copy_at: u32,
}

/// Draws the partitions of a run of `ticks` ticks over `n` replicas.
pub fn partitions(rng: &mut Rng, mode: PartitionMode, n: usize, ticks: u32) -> Vec<Partition> {
    let mode_all = mode;
    if n < 2 || ticks < 4 {
        return vec![];
    }
    let count = match mode {
        PartitionMode::None => 0,
        PartitionMode::Random => 1 + rng.below(3) as usize,
        PartitionMode::Flapping => 3 + rng.below(4) as usize,
        _ => 1,
    };
    let mut out = vec![];
    for _ in 0..count {
        let mode = match mode {
            PartitionMode::Random | PartitionMode::Flapping => match rng.below(3) {
                0 => PartitionMode::IsolateOne,
                1 => PartitionMode::Split,
                _ => PartitionMode::Asymmetric,
            },
            m => m,
        };
        let (start, end) = if let PartitionMode::Flapping = mode_all {
            let start = rng.below(ticks as u64) as u32;
            (start, (start + 1 + rng.below(3) as u32).min(ticks))
        } else {
            let start = rng.below(ticks as u64 / 2) as u32;
            (
                start,
                (start + 2 + rng.below(ticks as u64 / 2) as u32).min(ticks),
            )
        };
        // group: the replicas on one side
        let mut side = vec![false; n];
        match mode {
            PartitionMode::IsolateOne => side[rng.below(n as u64) as usize] = true,
            _ => {
                let mut ids: Vec<usize> = (0..n).collect();
                rng.shuffle(&mut ids);
                let k = 1 + rng.below(n as u64 - 1) as usize;
                for &i in &ids[..k] {
                    side[i] = true;
                }
            }
        }
        let mut blocked = vec![false; n * n];
        for from in 0..n {
            for to in 0..n {
                if side[from] != side[to] {
                    // asymmetric: the marked side still reaches the others
                    blocked[from * n + to] = !(mode == PartitionMode::Asymmetric && side[from]);
                }
            }
        }
        out.push(Partition {
            start,
            end,
            blocked,
            blocked_messages: 0,
        });
    }
    out
}

/// Draws the restarts of a run.
pub fn restarts(rng: &mut Rng, mode: RestartMode, n: usize, ticks: u32) -> Vec<Restart> {
    if mode == RestartMode::None || ticks < 4 {
        return vec![];
    }
    let count = 1 + rng.below(2) as usize;
    (0..count)
        .map(|_| {
            let at = 1 + rng.below(ticks as u64 - 2) as u32;
            let replica = rng.below(n as u64) as usize;
            let back = at + 1 + rng.below(ticks as u64 / 4 + 1) as u32;
            let kind = match mode {
                RestartMode::KeepState => RestartKind::Keep,
                RestartMode::LoseState => RestartKind::Lose,
                RestartMode::OldCopy => RestartKind::OldCopy,
                _ => match rng.below(3) {
                    0 => RestartKind::Keep,
                    1 => RestartKind::Lose,
                    _ => RestartKind::OldCopy,
                },
            };
            // the copy is a few ticks old, or from the very start
            let copy_at = at.saturating_sub(1 + rng.below(ticks as u64 / 2) as u32);
            Restart {
                replica,
                at,
                back,
                kind,
                copy_at,
            }
        })
        .collect()
}

/// A message in flight: who sends it to whom, its bytes, and `note`, what the harness
/// records about it for the oracle (the network never looks inside either).
#[derive(Debug, Clone)]
pub struct Msg<T> {
    /// The sending replica.
    pub from: usize,
    /// The receiving replica (whatever incarnation it is in when the message arrives).
    pub to: usize,
    /// What travels on the wire.
    pub bytes: Arc<Vec<u8>>,
    /// The harness's bookkeeping (not on the wire).
    pub note: T,
}

/// Counters of what the network did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct NetStats {
    /// Messages handed to the network.
    pub sent: u64,
    /// Bytes of those messages.
    pub bytes_sent: u64,
    /// Copies delivered.
    pub delivered: u64,
    /// Bytes delivered.
    pub bytes_delivered: u64,
    /// Messages lost.
    pub lost: u64,
    /// Messages dropped by a partition.
    pub blocked_by_partition: u64,
    /// Copies that arrived at a replica that was down.
    pub blocked_down: u64,
    /// Extra copies made.
    pub duplicated: u64,
}

/// The network: faults plus the messages in flight, by delivery tick.
pub struct Network<T> {
    n: usize,
    loss: f64,
    dup: f64,
    max_delay: u32,
    /// Whether a few messages are delayed up to 20 times longer (off after the heal).
    pub heavy_tail: bool,
    /// The partitions (cleared at the heal).
    pub partitions: Vec<Partition>,
    in_flight: BTreeMap<u32, Vec<Msg<T>>>,
    /// What the network did.
    pub stats: NetStats,
    rng: Rng,
}

impl<T: Clone> Network<T> {
    /// A network between `n` replicas.
    pub fn new(rng: Rng, n: usize, loss: f64, dup: f64, max_delay: u32) -> Self {
        Self {
            n,
            loss,
            dup,
            max_delay,
            heavy_tail: true,
            partitions: vec![],
            in_flight: BTreeMap::new(),
            stats: NetStats::default(),
            rng,
        }
    }

    /// The partition that blocks `from -> to` at `tick`, if any.
    fn blocking(&self, from: usize, to: usize, tick: u32) -> Option<usize> {
        self.partitions
            .iter()
            .position(|p| p.start <= tick && tick < p.end && p.blocked[from * self.n + to])
    }

    fn delay(&mut self) -> u32 {
        let d = 1 + self.rng.below(self.max_delay as u64 + 1) as u32;
        // an unbounded reorder window: now and then a message is very late
        if self.heavy_tail && self.rng.chance(0.02) {
            d + self.rng.below(20 * (self.max_delay as u64 + 1)) as u32
        } else {
            d
        }
    }

    /// Hands `msg` to the network at `tick`.
    pub fn send(&mut self, msg: Msg<T>, tick: u32) {
        self.stats.sent += 1;
        self.stats.bytes_sent += msg.bytes.len() as u64;
        if let Some(p) = self.blocking(msg.from, msg.to, tick) {
            self.stats.blocked_by_partition += 1;
            self.partitions[p].blocked_messages += 1;
            return;
        }
        if self.rng.chance(self.loss) {
            self.stats.lost += 1;
            return;
        }
        let mut copies = 1;
        while copies < 4 && self.rng.chance(self.dup) {
            copies += 1;
            self.stats.duplicated += 1;
        }
        for _ in 1..copies {
            let at = tick + self.delay();
            self.in_flight.entry(at).or_default().push(msg.clone());
        }
        let at = tick + self.delay();
        self.in_flight.entry(at).or_default().push(msg);
    }

    /// The messages due at `tick`, in random order.
    pub fn due(&mut self, tick: u32) -> Vec<Msg<T>> {
        let mut v = self.in_flight.remove(&tick).unwrap_or_default();
        self.rng.shuffle(&mut v);
        v
    }

    /// The last tick at which a message is due, if any is in flight.
    pub fn last_due(&self) -> Option<u32> {
        self.in_flight.keys().next_back().copied()
    }

    /// Whether any message is still in flight.
    pub fn is_idle(&self) -> bool {
        self.in_flight.is_empty()
    }
}
