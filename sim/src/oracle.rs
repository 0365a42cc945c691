//! The oracle: a plain model of what the replicas must end with, independent of the engine.
//!
//! # What it models
//! Every write is an *event* with its writer (a replica incarnation, a *slot*), its key,
//! what it wrote and the step it was issued at. An event that the engine gives a dot (every
//! write but `MVMap`/`AWSet` removes and `LWWMap` writes that lose to what their writer
//! holds) is known by its dot, which the harness reads off the writer's own delta when the
//! write returns: the identity the system acknowledged, as a Jepsen history records it.
//! The oracle checks that those dots are the writer's next counters, in one run.
//!
//! Per slot and event it keeps two facts, each the step it became true (or never):
//!
//! * **known**: the slot has the event's dot in its causal context;
//! * **dead**: the slot knows the event was overwritten or removed.
//!
//! They change in exactly two ways, and each is a rule of the kinds' semantics, not of the
//! engine's code:
//!
//! 1. **A local write** knows its own event, and kills the events on its key that its
//!    writer knows and holds alive and that it replaces: `MVMap` sets and removes replace
//!    the key's sets, `AWSet` adds and removes its adds, a `PNCounterMap` update its
//!    writer's own earlier cell, an `LWWMap` write that wins every register it knows
//!    (a losing one changes nothing and takes no dot; which one wins is decided on the
//!    registers its writer holds alive).
//! 2. **A delta joined.** The harness sees every delta the protocol hands a replica to join
//!    (and the broken merges are applied to it after that, so the oracle credits what
//!    arrived, not what a merge kept). The delta is data: its causal context is a set of
//!    dots, its entries are the dots still live in it. The receiver is credited with
//!    *known* for every dot in the context, and with *dead* for every dot in the context
//!    that has no entry — but only if the sender itself knew that event dead when the
//!    message left it (its `dead` step is at most the step the harness took the message
//!    from the sender's protocol; a message may have been built a little earlier, never
//!    later, and what a slot knows only grows, so this never refuses a death an honest
//!    sender shipped). A delta that names a dot its sender never knew, a dot never issued,
//!    or a death its sender had no reason for is reported as a failure: a protocol or a
//!    join that invents knowledge is caught where it happens.
//!
//! Nothing is inferred from the type of a message or from what its sender knew at large:
//! with slices and range summaries a message carries a part of a sender's knowledge, cut at
//! dot ranges that need not match a write, its key, or its batch. In particular a write's
//! own dot and the dots it overwrote can travel in different slices: a replica can hold the
//! new value and still the old one (a concurrent-looking pair, until the old one's slice
//! arrives), or know the old one dead without ever receiving the new one. If the writer then
//! loses its state, either half may be all that survives, and the model follows that per
//! dot. So causal past is never credited wholesale: only the dots a delta names.
//!
//! # What it expects
//! At the end, after every live replica has joined every other's state, an event with a
//! dot is *alive* iff some live slot knows it and no live slot knows it dead (the join of
//! the live states: union of contexts, an entry survives unless some side saw its dot
//! without it). Then, per key:
//!
//! * `MVMap`: the values of its alive sets, the latest of each writer only (a writer's
//!   later set has its earlier ones in its causal past even where the slice that says so
//!   was lost with the writer's state: a replica always knows its own writes);
//! * `AWSet`: present iff one of its adds is alive;
//! * `PNCounterMap`: per writer the running totals of its latest alive cell, summed;
//! * `LWWMap`: the alive write with the largest `(timestamp, replica name)`, if a set.
//!
//! And the final causal context is exactly the union of what the live slots know; with no
//! slot lost, that is every writer's counters `1..=n`, compact. The check is exact whatever
//! was lost: a writer's loss removes only what no live slot was credited with. (An event is
//! *lost unacknowledged* when no live slot knows it: its writer lost its state before any
//! of it got out; the report counts them.)

use std::collections::{BTreeMap, HashMap, HashSet};

use arrow_array::cast::AsArray;
use arrow_array::types::{UInt32Type, UInt64Type};
use arrow_array::Array;
use pluriverse::{CausalContext, ReplicaId};
use pluriverse_any::{AnyState, Kind, Scalar};

use crate::Op;

/// "Not known."
const NEVER: u32 = u32::MAX;

/// What a replica incarnation's state was at one step: where an old copy of its directory
/// came from.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    slot: u32,
    step: u32,
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
    dot: Vec<u64>, // 0: none
    // per slot
    names: Vec<ReplicaId>,
    live: Vec<bool>,
    known: Vec<Vec<u32>>,
    dead: Vec<Vec<u32>>,
    /// `dot_events[s][c - 1]`: the event slot `s` issued counter `c` for.
    dot_events: Vec<Vec<u32>>,
    /// The counter slot `s` issues next.
    next_dot: Vec<u64>,
    by_name: HashMap<ReplicaId, Vec<u32>>,
    pn: HashMap<(u32, u64), (u64, u64)>,
    by_key: HashMap<u64, Vec<u32>>,
    step: u32,
    /// What went wrong while the run went on (a delta that invents knowledge, say).
    failures: Vec<String>,
    failure_count: u64,
    /// Deltas credited, and dots they carried.
    credited: (u64, u64),
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
    /// Whether nothing was lost (the check itself is exact either way: see the module).
    pub exact: bool,
    /// Deltas the oracle credited a replica with (every one a protocol handed over).
    pub deltas_credited: u64,
    /// Dots those deltas carried.
    pub dots_credited: u64,
    /// What disagreed (empty = pass), at most a few lines.
    pub failures: Vec<String>,
    /// Number of disagreements found.
    pub failure_count: u64,
}

/// The live entries of a state or delta, as `(key, writer, counter)`: read from its Arrow
/// columns (data, not the engine's logic).
pub fn entry_dots(state: &AnyState) -> Vec<(u64, ReplicaId, u64)> {
    let mut out = Vec::with_capacity(state.entry_count());
    let Ok((_, batches)) = state.to_record_batches() else {
        return out;
    };
    for b in batches {
        let (Some(k), Some(r), Some(c)) = (
            b.column_by_name("key"),
            b.column_by_name("replica"),
            b.column_by_name("counter"),
        ) else {
            continue;
        };
        let (Some(k), Some(r), Some(c)) = (
            k.as_primitive_opt::<UInt64Type>(),
            r.as_dictionary_opt::<UInt32Type>(),
            c.as_primitive_opt::<UInt64Type>(),
        ) else {
            continue;
        };
        let Some(names) = r.values().as_binary_opt::<i32>() else {
            continue;
        };
        let names: Vec<ReplicaId> = (0..names.len())
            .map(|i| ReplicaId::from(names.value(i).to_vec()))
            .collect();
        for i in 0..b.num_rows() {
            let n = r.keys().value(i) as usize;
            out.push((k.value(i), names[n].clone(), c.value(i)));
        }
    }
    out
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
            dot: vec![],
            names: vec![],
            live: vec![],
            known: vec![],
            dead: vec![],
            dot_events: vec![],
            next_dot: vec![],
            by_name: HashMap::new(),
            pn: HashMap::new(),
            by_key: HashMap::new(),
            step: 0,
            failures: vec![],
            failure_count: 0,
            credited: (0, 0),
        }
    }

    fn fail(&mut self, msg: String) {
        self.failure_count += 1;
        if self.failures.len() < 8 {
            self.failures.push(msg);
        }
    }

    /// A new incarnation of a replica, named `name`, knowing nothing.
    pub fn add_slot(&mut self, name: ReplicaId) -> u32 {
        let s = self.names.len() as u32;
        self.by_name.entry(name.clone()).or_default().push(s);
        self.names.push(name);
        self.live.push(true);
        self.known.push(vec![NEVER; self.key.len()]);
        self.dead.push(vec![NEVER; self.key.len()]);
        self.dot_events.push(vec![]);
        self.next_dot.push(1);
        s
    }

    /// The slot lost its state: what only it knew is lost.
    pub fn kill_slot(&mut self, slot: u32) {
        self.live[slot as usize] = false;
    }

    /// What `slot` knows now (an old copy of its directory being taken).
    pub fn snapshot(&self, slot: u32) -> Snapshot {
        Snapshot {
            slot,
            step: self.step,
        }
    }

    /// A replica comes back from an old copy: a new slot named `name` that knows what
    /// `snap`'s slot knew then (that slot is gone). Under its old name (the broken
    /// `NoEpoch`) it goes on counting from the copy, reusing counters issued since.
    pub fn restore(&mut self, snap: Snapshot, name: ReplicaId) -> u32 {
        let now = self.tick();
        let s = self.add_slot(name.clone());
        let (old, new) = (snap.slot as usize, s as usize);
        for e in 0..self.key.len() {
            if self.known[old][e] <= snap.step {
                self.known[new][e] = now;
            }
            if self.dead[old][e] <= snap.step {
                self.dead[new][e] = now;
            }
        }
        if self.names[old] == name {
            let keep = self.dot_events[old]
                .iter()
                .take_while(|&&e| e != NEVER && self.issue[e as usize] <= snap.step)
                .count();
            self.dot_events[new] = self.dot_events[old][..keep].to_vec();
            self.next_dot[new] = keep as u64 + 1;
        }
        s
    }

    /// Events issued so far.
    pub fn events(&self) -> u32 {
        self.key.len() as u32
    }

    /// The current step (the model's clock: one per write batch or delta credited).
    pub fn step(&self) -> u32 {
        self.step
    }

    fn tick(&mut self) -> u32 {
        self.step += 1;
        self.step
    }

    fn alive_at(&self, s: usize, e: usize) -> bool {
        self.known[s][e] != NEVER && self.dead[s][e] == NEVER
    }

    fn lww_cmp(&self, a: u32, b: u32) -> std::cmp::Ordering {
        let (a, b) = (a as usize, b as usize);
        (self.ts[a], &self.names[self.slot[a] as usize], self.dot[a]).cmp(&(
            self.ts[b],
            &self.names[self.slot[b] as usize],
            self.dot[b],
        ))
    }

    /// Whether a write of `op` on its key replaces the earlier event `x` its writer holds.
    fn replaces(&self, op: Op, s: usize, x: usize) -> bool {
        match op {
            Op::Set | Op::Remove if self.kind == Kind::MVMap => self.op[x] == Op::Set,
            Op::Add | Op::Remove => self.op[x] == Op::Add,
            Op::Inc | Op::Dec => self.names[self.slot[x] as usize] == self.names[s],
            Op::LSet | Op::LRemove => self.effective[x],
            _ => false,
        }
    }

    /// Records a batch of writes by `slot` (distinct keys) and returns its events.
    /// `values[i]` is the value (`Set`, `LSet`) or amount (`Inc`, `Dec`); `ts` the
    /// timestamps (`LSet`, `LRemove`); `delta` the delta the write returned, whose entries
    /// tell the dot each event was given.
    pub fn issue(
        &mut self,
        slot: u32,
        op: Op,
        keys: &[u64],
        values: &[i64],
        ts: &[u64],
        delta: &AnyState,
    ) -> std::ops::Range<u32> {
        let now = self.tick();
        let first = self.key.len() as u32;
        let s = slot as usize;
        let next = self.next_dot[s];
        let mut batch: Vec<u64> = vec![];
        let mut dots: HashMap<u64, u64> = HashMap::new();
        for (k, name, c) in entry_dots(delta) {
            if name != self.names[s] {
                self.fail(format!(
                    "a write by {} made an entry of {name}",
                    self.names[s]
                ));
            } else if dots.insert(k, c).is_some() {
                self.fail(format!("a write by {name} made two entries for key {k}"));
            }
        }
        for (i, &k) in keys.iter().enumerate() {
            let e = self.key.len();
            let t = ts.get(i).copied().unwrap_or(0);
            let effective = match op {
                Op::LSet | Op::LRemove => {
                    let winner = self.by_key.get(&k).and_then(|evs| {
                        evs.iter()
                            .copied()
                            .filter(|&x| self.effective[x as usize] && self.alive_at(s, x as usize))
                            .max_by(|&a, &b| self.lww_cmp(a, b))
                    });
                    match winner {
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
            // what it replaces: the events on the key it holds alive
            if effective {
                let kills: Vec<usize> = self
                    .by_key
                    .get(&k)
                    .into_iter()
                    .flatten()
                    .map(|&x| x as usize)
                    .filter(|&x| self.dot[x] != 0 && self.alive_at(s, x) && self.replaces(op, s, x))
                    .collect();
                for x in kills {
                    self.dead[s][x] = now;
                }
            }
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
            // the engine numbers a batch's dots in its own order (the state's hash order):
            // which event got which counter is read off the delta; that the batch got the
            // writer's next counters, one each, is checked below
            let dot = if effective && op.takes_dot() {
                match dots.remove(&k) {
                    Some(c) => {
                        batch.push(c);
                        c
                    }
                    None => {
                        self.fail(format!(
                            "{}: a {op:?} of key {k} got no entry",
                            self.names[s]
                        ));
                        0
                    }
                }
            } else {
                0
            };
            if dot != 0 {
                let de = &mut self.dot_events[s];
                if de.len() < dot as usize {
                    de.resize(dot as usize, NEVER);
                }
                de[dot as usize - 1] = e as u32;
            }
            self.key.push(k);
            self.op.push(op);
            self.value.push(values.get(i).copied().unwrap_or(0));
            self.ts.push(t);
            self.slot.push(slot);
            self.issue.push(now);
            self.effective.push(effective);
            self.totals.push(total);
            self.dot.push(dot);
            for (j, kn) in self.known.iter_mut().enumerate() {
                kn.push(if j == s { now } else { NEVER });
            }
            for d in &mut self.dead {
                d.push(NEVER);
            }
            self.by_key.entry(k).or_default().push(e as u32);
        }
        if let Some((k, c)) = dots.into_iter().next() {
            self.fail(format!(
                "{}: an entry for key {k} (counter {c}) that the model gives no dot",
                self.names[s]
            ));
        }
        batch.sort_unstable();
        let m = batch.len() as u64;
        if batch.iter().copied().ne(next..next + m) {
            self.fail(format!(
                "{}: a batch of {m} dots got counters {:?}, expected {next}..={}",
                self.names[s],
                batch.first()..=batch.last(),
                next + m - 1
            ));
        }
        self.next_dot[s] = next + m;
        first..self.key.len() as u32
    }

    /// Slot `to` joined `delta`, which slot `from` sent; the harness took the message from
    /// `from`'s protocol at step `sent` (see the module docs for what is credited).
    pub fn credit(&mut self, to: u32, from: u32, sent: u32, delta: &AnyState) {
        let now = self.tick();
        let (t, f) = (to as usize, from as usize);
        let mut live: HashMap<ReplicaId, HashSet<u64>> = HashMap::new();
        for (_, r, c) in entry_dots(delta) {
            live.entry(r).or_default().insert(c);
        }
        let ctx = delta.context();
        let mut dots = 0u64;
        let mut bad: Vec<String> = vec![];
        for (i, name) in ctx.table().names().iter().enumerate() {
            let Some(d) = ctx.dots().get(i as u32) else {
                continue;
            };
            let mut runs = vec![];
            if d.prefix() > 0 {
                runs.push((1, d.prefix()));
            }
            // the cloud's runs come as (first, length)
            runs.extend(d.cloud_runs().into_iter().map(|(a, len)| (a, a + len - 1)));
            let slots = self.by_name.get(name).cloned().unwrap_or_default();
            let live_here = live.get(name);
            for (lo, hi) in runs {
                for c in lo..=hi {
                    dots += 1;
                    let is_live = live_here.is_some_and(|l| l.contains(&c));
                    let mut issued = false;
                    for &s in &slots {
                        let Some(&e) = self.dot_events[s as usize].get(c as usize - 1) else {
                            continue;
                        };
                        if e == NEVER {
                            continue;
                        }
                        issued = true;
                        let e = e as usize;
                        if self.known[f][e] > sent {
                            bad.push(format!("dot ({name}, {c}) its sender never knew"));
                        }
                        if self.known[t][e] == NEVER {
                            self.known[t][e] = now;
                        }
                        if !is_live && self.dead[t][e] == NEVER {
                            if self.dead[f][e] <= sent {
                                self.dead[t][e] = now;
                            } else {
                                bad.push(format!(
                                    "dot ({name}, {c}) without its entry, though its sender \
                                     held it alive"
                                ));
                            }
                        }
                    }
                    if !issued {
                        bad.push(format!("dot ({name}, {c}) that was never issued"));
                        break;
                    }
                }
            }
        }
        self.credited.0 += 1;
        self.credited.1 += dots;
        if let Some(b) = bad.first() {
            let msg = format!(
                "{} received from {} a delta with a {b} ({} such)",
                self.names[t],
                self.names[f],
                bad.len()
            );
            self.fail(msg);
        }
    }

    fn alive(&self, e: usize) -> bool {
        self.dot[e] != 0
            && (0..self.names.len()).any(|s| self.live[s] && self.known[s][e] != NEVER)
            && !(0..self.names.len()).any(|s| self.live[s] && self.dead[s][e] != NEVER)
    }

    /// Checks a converged final state against the model.
    pub fn check(&self, state: &AnyState) -> Check {
        let n = self.key.len();
        let known_live: Vec<bool> = (0..n)
            .map(|e| (0..self.names.len()).any(|s| self.live[s] && self.known[s][e] != NEVER))
            .collect();
        let alive: Vec<bool> = (0..n).map(|e| self.alive(e)).collect();
        let lost = (0..n)
            .filter(|&e| self.dot[e] != 0 && !known_live[e])
            .count() as u64;
        let exact = lost == 0 && self.live.iter().all(|&l| l);
        let mut out = Check {
            events: n as u64,
            lost_unacknowledged: lost,
            exact: lost == 0,
            deltas_credited: self.credited.0,
            dots_credited: self.credited.1,
            failures: self.failures.clone(),
            failure_count: self.failure_count,
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
        let mut checked = 0u64;
        for &k in &keys {
            let evs: Vec<usize> = self.by_key[&k]
                .iter()
                .map(|&e| e as usize)
                .filter(|&e| alive[e])
                .collect();
            let key = Scalar::UInt64(k);
            match self.kind {
                Kind::MVMap => {
                    // a writer's later set of a key has its earlier ones in its causal
                    // past (a replica knows its own writes): per writer, the latest alive
                    // set is the one that counts, even where the slice that says the
                    // earlier one is dead was lost with its writer's state
                    let mut latest: BTreeMap<&ReplicaId, usize> = BTreeMap::new();
                    for &e in evs.iter().filter(|&&e| self.op[e] == Op::Set) {
                        let w = latest
                            .entry(&self.names[self.slot[e] as usize])
                            .or_insert(e);
                        if self.dot[e] > self.dot[*w] {
                            *w = e;
                        }
                    }
                    let mut want: Vec<i64> = latest.values().map(|&e| self.value[e]).collect();
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
                    if got != want {
                        fail(format!("key {k}: values {got:?}, expected {want:?}"));
                    }
                    present_keys += usize::from(!want.is_empty());
                }
                Kind::AWSet => {
                    let want = evs.iter().any(|&e| self.op[e] == Op::Add);
                    let got = state.contains(&key).unwrap_or(false);
                    if got != want {
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
            checked += 1;
        }
        if state.len() != present_keys {
            fail(format!(
                "the state holds {} keys, expected {present_keys}",
                state.len()
            ));
        }
        self.check_context(state.context(), &known_live, exact, &mut fail);
        out.keys_checked = checked;
        out
    }

    /// The context must be exactly the dots the live slots know (with no slot lost, a plain
    /// version vector: every writer's counters `1..=n`).
    fn check_context(
        &self,
        ctx: &CausalContext,
        known_live: &[bool],
        exact: bool,
        fail: &mut impl FnMut(String),
    ) {
        let mut want = CausalContext::new();
        for (e, &known) in known_live.iter().enumerate() {
            if self.dot[e] != 0 && known {
                let name = &self.names[self.slot[e] as usize];
                if let Err(err) = want.insert_range(name, self.dot[e], self.dot[e]) {
                    fail(format!("oracle: {err}"));
                }
            }
        }
        want.compact();
        // retirement keeps incarnations whose dots are a prefix as compact records: the
        // context sent as rows plus records must rebuild to the same dots (then compared
        // with the model below)
        let (rows, retired) = ctx.split_retired(|_| false);
        let rebuilt = CausalContext::from_bytes(&rows.to_bytes()).and_then(|rows| {
            pluriverse::retired::Retired::from_bytes(&retired.to_bytes())
                .map(|r| rows.with_retired(&r))
                .map_err(pluriverse::Error::Decode)
        });
        match rebuilt {
            Ok(r) if r == *ctx => {}
            Ok(r) => fail(format!(
                "context as rows plus retired records differs from the context: {r:?}, \
                 expected {ctx:?}"
            )),
            Err(err) => fail(format!("context as rows plus retired records: {err}")),
        }
        if *ctx != want {
            fail(format!(
                "context differs from what the live replicas were credited with: {ctx:?}, \
                 expected {want:?}"
            ));
        }
        if exact && !ctx.is_compact() {
            fail(format!(
                "context not compact: {} dots in the cloud",
                ctx.cloud_len()
            ));
        }
    }
}

fn step(s: u32) -> i64 {
    if s == NEVER {
        -1
    } else {
        s as i64
    }
}

impl Oracle {
    /// The events on `key`, with the step at which every slot knew each and knew it dead
    /// (`-1`: never): what to print when a check fails on that key.
    pub fn explain(&self, key: u64) -> String {
        let mut s = String::new();
        for &e in self.by_key.get(&key).into_iter().flatten() {
            let e = e as usize;
            s += &format!(
                "event {e} {:?} v{} by {} dot {} issued {}:",
                self.op[e],
                self.value[e],
                self.names[self.slot[e] as usize],
                self.dot[e],
                self.issue[e]
            );
            for t in 0..self.names.len() {
                s += &format!(
                    " [{}{} k{} d{}]",
                    self.names[t],
                    if self.live[t] { "" } else { "(dead)" },
                    step(self.known[t][e]),
                    step(self.dead[t][e])
                );
            }
            s += "\n";
        }
        s
    }
}
