//! The simulated network: loss, duplication, delay and reordering, partitions (symmetric
//! and asymmetric) and restarts, all drawn from the run's seed.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::rng::Rng;

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
    /// Both kinds.
    Mixed,
}

impl RestartMode {
    /// Parses `none`, `keep`, `lose` or `mixed`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Self::None,
            "keep" => Self::KeepState,
            "lose" => Self::LoseState,
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
            Self::Mixed => "mixed",
        }
    }
}

/// One partition: `blocked[from * n + to]` while `start <= tick < end`.
#[derive(Debug, Clone)]
pub(crate) struct Partition {
    pub start: u32,
    pub end: u32,
    pub blocked: Vec<bool>,
}

/// One restart of a replica.
#[derive(Debug, Clone)]
pub(crate) struct Restart {
    pub replica: usize,
    pub at: u32,
    pub back: u32,
    pub lose_state: bool,
}

/// Draws the partitions of a run of `ticks` ticks over `n` replicas.
pub(crate) fn partitions(
    rng: &mut Rng,
    mode: PartitionMode,
    n: usize,
    ticks: u32,
) -> Vec<Partition> {
    if n < 2 || ticks < 4 {
        return vec![];
    }
    let count = match mode {
        PartitionMode::None => 0,
        PartitionMode::Random => 1 + rng.below(3) as usize,
        _ => 1,
    };
    let mut out = vec![];
    for _ in 0..count {
        let mode = match mode {
            PartitionMode::Random => match rng.below(3) {
                0 => PartitionMode::IsolateOne,
                1 => PartitionMode::Split,
                _ => PartitionMode::Asymmetric,
            },
            m => m,
        };
        let start = rng.below(ticks as u64 / 2) as u32;
        let end = (start + 2 + rng.below(ticks as u64 / 2) as u32).min(ticks);
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
        });
    }
    out
}

/// Draws the restarts of a run.
pub(crate) fn restarts(rng: &mut Rng, mode: RestartMode, n: usize, ticks: u32) -> Vec<Restart> {
    if mode == RestartMode::None || ticks < 4 {
        return vec![];
    }
    let count = 1 + rng.below(2) as usize;
    (0..count)
        .map(|_| {
            let at = 1 + rng.below(ticks as u64 - 2) as u32;
            Restart {
                replica: rng.below(n as u64) as usize,
                at,
                back: at + 1 + rng.below(ticks as u64 / 4 + 1) as u32,
                lose_state: match mode {
                    RestartMode::KeepState => false,
                    RestartMode::LoseState => true,
                    _ => rng.chance(0.5),
                },
            }
        })
        .collect()
}

/// What a message carries.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    /// The delta of a batch of writes: events `events` of the oracle.
    Delta {
        bytes: Arc<Vec<u8>>,
        events: std::ops::Range<u32>,
    },
    /// Anti-entropy, step 1: "here is what I have seen" (context bytes and digest).
    AeRequest { context: Arc<Vec<u8>>, digest: u128 },
    /// Anti-entropy, step 2: `delta_since` of the requester's context; it carries what the
    /// sender's oracle slot knew at step `as_of`, among the first `upto` events.
    AeReply {
        bytes: Arc<Vec<u8>>,
        slot: u32,
        as_of: u32,
        upto: u32,
    },
}

/// A message in flight.
#[derive(Debug, Clone)]
pub(crate) struct Msg {
    pub from: usize,
    pub to: usize,
    pub body: Body,
}

impl Msg {
    fn len(&self) -> usize {
        match &self.body {
            Body::Delta { bytes, .. } | Body::AeReply { bytes, .. } => bytes.len(),
            Body::AeRequest { context, .. } => context.len() + 16,
        }
    }
}

/// Counters of what the network did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
    /// Messages dropped by a partition or a replica that was down.
    pub blocked: u64,
    /// Extra copies made.
    pub duplicated: u64,
}

/// The network: faults plus the messages in flight, by delivery tick.
pub(crate) struct Network {
    pub n: usize,
    pub loss: f64,
    pub dup: f64,
    pub max_delay: u32,
    pub heavy_tail: bool,
    pub partitions: Vec<Partition>,
    pub in_flight: BTreeMap<u32, Vec<Msg>>,
    pub stats: NetStats,
    rng: Rng,
}

impl Network {
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

    fn blocked(&self, from: usize, to: usize, tick: u32) -> bool {
        self.partitions
            .iter()
            .any(|p| p.start <= tick && tick < p.end && p.blocked[from * self.n + to])
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
    pub fn send(&mut self, msg: Msg, tick: u32) {
        self.stats.sent += 1;
        self.stats.bytes_sent += msg.len() as u64;
        if self.blocked(msg.from, msg.to, tick) {
            self.stats.blocked += 1;
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
    pub fn due(&mut self, tick: u32) -> Vec<Msg> {
        let mut v = self.in_flight.remove(&tick).unwrap_or_default();
        self.rng.shuffle(&mut v);
        v
    }

    /// Whether any message is still in flight.
    pub fn is_idle(&self) -> bool {
        self.in_flight.is_empty()
    }
}
