//! The oracle: a plain model of what the replicas must end with, independent of the engine.
//!
//! It records every write as an event with its writer, its key, what it wrote, and — per
//! replica incarnation ("slot") — the step at which that slot first knew the event (it
//! issued it, or a message carrying it was delivered). From that alone it computes the
//! causal history (`e` happened before `e'` iff the writer of `e'` knew `e` when it wrote
//! `e'`) and, from the semantics of each kind, the final reads:
//!
//! * `MVMap`: the values of the `set`s on a key that no other event on the key (a later
//!   `set` or a `remove`) has in its causal past;
//! * `AWSet`: present iff some `add` is in no event's causal past;
//! * `PNCounterMap`: per writer the running totals of its latest event, summed;
//! * `LWWMap`: the effective write with the largest `(timestamp, replica name)`.
//!
//! An event is *lost* when no live incarnation knows it (its writer lost its state before
//! anyone received it). With nothing lost, the reads and the causal context are checked
//! exactly; otherwise the check allows the engine to keep a value whose overwriting event
//! was lost (the expected reads must be there, and nothing that was never written may be).

use std::collections::{BTreeMap, HashMap};

use pluriverse::{CausalContext, ReplicaId};
use pluriverse_any::{AnyState, Kind, Scalar};

use crate::Op;

/// "Not known."
const NEVER: u32 = u32::MAX;

/// One batch of writes: its events and the dots the engine gave them.
#[derive(Debug, Clone)]
struct Batch {
    slot: u32,
    events: std::ops::Range<u32>,
    first_dot: u64,
    dots: u64,
}

/// The model.
pub struct Oracle {
    kind: Kind,
    // per event
    key: Vec<u64>,
    op: Vec<Op>,
    value: Vec<i64>,
    ts: Vec<u64>,
    slot: Vec<u32>,
    issue: Vec<u32>,
    effective: Vec<bool>,
    totals: Vec<(u64, u64)>,
    // per slot
    names: Vec<ReplicaId>,
    live: Vec<bool>,
    known: Vec<Vec<u32>>,
    next_dot: Vec<u64>,
    pn: HashMap<(u32, u64), (u64, u64)>,
    by_key: HashMap<u64, Vec<u32>>,
    batches: Vec<Batch>,
    step: u32,
}

/// The outcome of the final check.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Check {
    /// Writes (events) issued.
    pub events: u64,
    /// Effective writes that no live replica ever received (their writer lost its state
    /// first): not acknowledged, so allowed to vanish.
    pub lost_unacknowledged: u64,
    /// Keys checked.
    pub keys_checked: u64,
    /// Whether the check was exact (nothing lost) or allowed lost overwrites.
    pub exact: bool,
    /// What disagreed (empty = pass), at most a few lines.
    pub failures: Vec<String>,
    /// Number of disagreements found.
    pub failure_count: u64,
}

impl Oracle {
    /// An empty model of a run of `kind`.
    pub fn new(kind: Kind) -> Self {
        Self {
            kind,
            key: vec![],
            op: vec![],
            value: vec![],
            ts: vec![],
            slot: vec![],
            issue: vec![],
            effective: vec![],
            totals: vec![],
            names: vec![],
            live: vec![],
            known: vec![],
            next_dot: vec![],
            pn: HashMap::new(),
            by_key: HashMap::new(),
            batches: vec![],
            step: 0,
        }
    }

    /// A new incarnation of a replica, named `name`.
    pub fn add_slot(&mut self, name: ReplicaId) -> u32 {
        self.names.push(name);
        self.live.push(true);
        self.known.push(vec![NEVER; self.key.len()]);
        self.next_dot.push(1);
        (self.names.len() - 1) as u32
    }

    /// The slot lost its state: what only it knew is lost.
    pub fn kill_slot(&mut self, slot: u32) {
        self.live[slot as usize] = false;
    }

    /// Events issued so far.
    pub fn events(&self) -> u32 {
        self.key.len() as u32
    }

    /// The current step (the model's clock: one per write batch or message received).
    pub fn step(&self) -> u32 {
        self.step
    }

    fn tick(&mut self) -> u32 {
        self.step += 1;
        self.step
    }

    /// The winning effective event on `key` among those `slot` knows (LWW).
    fn lww_winner(&self, key: u64, knows: impl Fn(u32) -> bool) -> Option<u32> {
        self.by_key.get(&key).and_then(|evs| {
            evs.iter()
                .copied()
                .filter(|&e| self.effective[e as usize] && knows(e))
                .max_by(|&a, &b| self.lww_cmp(a, b))
        })
    }

    fn lww_cmp(&self, a: u32, b: u32) -> std::cmp::Ordering {
        let (a, b) = (a as usize, b as usize);
        (
            self.ts[a],
            &self.names[self.slot[a] as usize],
            self.issue[a],
            a,
        )
            .cmp(&(
                self.ts[b],
                &self.names[self.slot[b] as usize],
                self.issue[b],
                b,
            ))
    }

    /// Records a batch of writes by `slot` (distinct keys), returning its events.
    /// `values[i]` is the value (`Set`, `LSet`) or amount (`Inc`, `Dec`); `ts` the
    /// timestamps (`LSet`, `LRemove`).
    pub fn issue(
        &mut self,
        slot: u32,
        op: Op,
        keys: &[u64],
        values: &[i64],
        ts: &[u64],
    ) -> std::ops::Range<u32> {
        let now = self.tick();
        let first = self.key.len() as u32;
        let s = slot as usize;
        let mut dots = 0;
        for (i, &k) in keys.iter().enumerate() {
            let e = self.key.len() as u32;
            let t = ts.get(i).copied().unwrap_or(0);
            let effective = match op {
                Op::LSet | Op::LRemove => {
                    let known = &self.known[s];
                    match self.lww_winner(k, |x| known[x as usize] != NEVER) {
                        None => true,
                        Some(w) => {
                            let w = w as usize;
                            let wn = &self.names[self.slot[w] as usize];
                            let me = &self.names[s];
                            (t, me) > (self.ts[w], wn) || (t == self.ts[w] && me == wn)
                        }
                    }
                }
                _ => true,
            };
            let total = match op {
                Op::Inc | Op::Dec => {
                    let cell = self.pn.entry((slot, k)).or_insert((0, 0));
                    let amount = values[i] as u64;
                    if op == Op::Inc {
                        cell.0 += amount;
                    } else {
                        cell.1 += amount;
                    }
                    *cell
                }
                _ => (0, 0),
            };
            self.key.push(k);
            self.op.push(op);
            self.value.push(values.get(i).copied().unwrap_or(0));
            self.ts.push(t);
            self.slot.push(slot);
            self.issue.push(now);
            self.effective.push(effective);
            self.totals.push(total);
            for (j, kn) in self.known.iter_mut().enumerate() {
                kn.push(if j == s { now } else { NEVER });
            }
            self.by_key.entry(k).or_default().push(e);
            if effective && op.takes_dot() {
                dots += 1;
            }
        }
        let events = first..self.key.len() as u32;
        self.batches.push(Batch {
            slot,
            events: events.clone(),
            first_dot: self.next_dot[s],
            dots,
        });
        self.next_dot[s] += dots;
        events
    }

    /// `slot` received a delta carrying `events`.
    pub fn receive_events(&mut self, slot: u32, events: std::ops::Range<u32>) {
        let now = self.tick();
        let kn = &mut self.known[slot as usize];
        for e in events {
            if kn[e as usize] == NEVER {
                kn[e as usize] = now;
            }
        }
    }

    /// `slot` received an anti-entropy reply from slot `from`, answering a request that
    /// slot `asked_by` sent at step `asked_at`: the reply carries what `from` knew at step
    /// `as_of` among the first `upto` events, less what the request said the requester had
    /// seen. Only that is credited: a reply addressed to an incarnation that has since lost
    /// its state leaves out what the old incarnation held, and the new one must not be
    /// credited with it.
    pub fn receive_reply(
        &mut self,
        slot: u32,
        from: u32,
        as_of: u32,
        upto: u32,
        asked: (u32, u32),
    ) {
        let now = self.tick();
        let (asked_by, asked_at) = asked;
        if slot == from {
            return;
        }
        let (s, f, r) = (slot as usize, from as usize, asked_by as usize);
        for e in 0..upto as usize {
            let carried = self.known[f][e] <= as_of && self.known[r][e] > asked_at;
            if carried && self.known[s][e] == NEVER {
                self.known[s][e] = now;
            }
        }
    }

    fn surviving(&self, e: usize) -> bool {
        self.live
            .iter()
            .zip(&self.known)
            .any(|(&l, k)| l && k[e] != NEVER)
    }

    /// Whether `e` is in the causal past of `later` (its writer knew `e` when writing).
    fn before(&self, e: usize, later: usize) -> bool {
        e != later && self.known[self.slot[later] as usize][e] < self.issue[later]
    }

    /// Checks a converged final state against the model.
    pub fn check(&self, state: &AnyState) -> Check {
        let n = self.key.len();
        let surviving: Vec<bool> = (0..n).map(|e| self.surviving(e)).collect();
        let lost = (0..n)
            .filter(|&e| !surviving[e] && self.effective[e])
            .count() as u64;
        let exact = lost == 0;
        let mut out = Check {
            events: n as u64,
            lost_unacknowledged: lost,
            exact,
            ..Check::default()
        };
        let mut fail = |msg: String| {
            out.failure_count += 1;
            if out.failures.len() < 8 {
                out.failures.push(msg);
            }
        };
        let mut keys: Vec<u64> = self.by_key.keys().copied().collect();
        keys.sort_unstable();
        let mut present_keys = 0usize;
        for &k in &keys {
            let evs: Vec<usize> = self.by_key[&k]
                .iter()
                .map(|&e| e as usize)
                .filter(|&e| surviving[e] && self.effective[e])
                .collect();
            let dominated = |e: usize| evs.iter().any(|&l| self.before(e, l));
            let key = Scalar::UInt64(k);
            match self.kind {
                Kind::MVMap => {
                    let sets = || evs.iter().copied().filter(|&e| self.op[e] == Op::Set);
                    let mut want: Vec<i64> = sets()
                        .filter(|&e| !dominated(e))
                        .map(|e| self.value[e])
                        .collect();
                    want.sort_unstable();
                    let mut got: Vec<i64> = match state.get(&key) {
                        Ok(v) => v
                            .into_iter()
                            .filter_map(|s| match s {
                                Scalar::Int64(x) => Some(x),
                                _ => None,
                            })
                            .collect(),
                        Err(e) => {
                            fail(format!("key {k}: read failed: {e}"));
                            continue;
                        }
                    };
                    got.sort_unstable();
                    let ok = if exact {
                        got == want
                    } else {
                        let all: Vec<i64> = sets().map(|e| self.value[e]).collect();
                        want.iter().all(|w| got.contains(w)) && got.iter().all(|g| all.contains(g))
                    };
                    if !ok {
                        fail(format!("key {k}: values {got:?}, expected {want:?}"));
                    }
                    present_keys += usize::from(!want.is_empty());
                }
                Kind::AWSet => {
                    let adds = || evs.iter().copied().filter(|&e| self.op[e] == Op::Add);
                    let want = adds().any(|e| !dominated(e));
                    let got = state.contains(&key).unwrap_or(false);
                    let ok = if exact {
                        got == want
                    } else {
                        (got || !want) && (!got || adds().next().is_some())
                    };
                    if !ok {
                        fail(format!("element {k}: present {got}, expected {want}"));
                    }
                    present_keys += usize::from(want);
                }
                Kind::PNCounterMap => {
                    let mut latest: BTreeMap<u32, usize> = BTreeMap::new();
                    for &e in &evs {
                        let w = latest.entry(self.slot[e]).or_insert(e);
                        if self.issue[e] > self.issue[*w] {
                            *w = e;
                        }
                    }
                    let want: i128 = latest
                        .values()
                        .map(|&e| self.totals[e].0 as i128 - self.totals[e].1 as i128)
                        .sum();
                    match state.value(&key) {
                        Ok(got) if got == want => {}
                        Ok(got) => fail(format!("counter {k}: value {got}, expected {want}")),
                        Err(e) => fail(format!("counter {k}: read failed: {e}")),
                    }
                    present_keys += usize::from(!evs.is_empty());
                }
                Kind::LWWMap => {
                    let win = evs
                        .iter()
                        .copied()
                        .max_by(|&a, &b| self.lww_cmp(a as u32, b as u32));
                    let want = match win {
                        Some(e) if self.op[e] == Op::LSet => vec![Scalar::Int64(self.value[e])],
                        _ => vec![],
                    };
                    match state.get(&key) {
                        Ok(got) if got == want => {}
                        Ok(got) => fail(format!("register {k}: {got:?}, expected {want:?}")),
                        Err(e) => fail(format!("register {k}: read failed: {e}")),
                    }
                    present_keys += usize::from(!want.is_empty());
                }
            }
            out.keys_checked += 1;
        }
        if exact && state.len() != present_keys {
            fail(format!(
                "the state holds {} keys, expected {present_keys}",
                state.len()
            ));
        }
        self.check_context(state.context(), &surviving, exact, &mut fail);
        out
    }

    /// The context must hold exactly the dots of the writes (with nothing lost: a plain
    /// version vector, every replica's dots `1..=n`).
    fn check_context(
        &self,
        ctx: &CausalContext,
        surviving: &[bool],
        exact: bool,
        fail: &mut impl FnMut(String),
    ) {
        let mut want = CausalContext::new();
        for b in &self.batches {
            let alive = b.events.clone().any(|e| surviving[e as usize]);
            if b.dots > 0 && (alive || exact) {
                let name = &self.names[b.slot as usize];
                if let Err(e) = want.insert_range(name, b.first_dot, b.first_dot + b.dots - 1) {
                    fail(format!("oracle: {e}"));
                }
            }
        }
        if exact {
            if *ctx != want {
                fail(format!(
                    "context differs from the writes: {ctx:?}, expected {want:?}"
                ));
            }
            if !ctx.is_compact() {
                fail(format!(
                    "context not compact: {} dots in the cloud",
                    ctx.cloud_len()
                ));
            }
        } else {
            // every surviving dot is there; live incarnations have contiguous dots
            let mut merged = ctx.clone();
            merged.merge(&want);
            if merged != *ctx {
                fail("context lacks dots of surviving writes".into());
            }
            let vv = ctx.version_vector();
            for (s, name) in self.names.iter().enumerate() {
                if self.live[s] && self.next_dot[s] > 1 && vv.get(name) != self.next_dot[s] - 1 {
                    fail(format!(
                        "replica {name}: context prefix {}, expected {}",
                        vv.get(name),
                        self.next_dot[s] - 1
                    ));
                }
            }
        }
    }
}
