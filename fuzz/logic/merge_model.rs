//! Merge versus model: an arbitrary sequence of writes and deliveries on three replicas of an
//! `MVMap<u64, u64>`, run on the engine and on a naive model of the paper's definitions
//! (a set of `(key, dot, value)` and a set of dots per replica); after a full exchange the
//! reads agree with the model, all replicas have equal digests and bytes, and the join laws
//! hold on the states along the way.

use std::collections::BTreeSet;

use arbitrary::{Arbitrary, Unstructured};
use pluriverse::{CausalStore, MVMap};

/// One step of the scenario.
#[derive(Debug, Arbitrary)]
pub enum Step {
    /// Replica `r` sets `key` to `value`.
    Set { r: u8, key: u8, value: u8 },
    /// Replica `r` removes `key`.
    Remove { r: u8, key: u8 },
    /// `to` joins delta number `idx` (of all deltas so far).
    Deliver { to: u8, idx: u8 },
    /// `to` joins `from`'s `delta_since(to's context)`.
    Sync { from: u8, to: u8 },
}

const N: usize = 3;
type Dot = (u8, u64);

/// The paper's causal dot store, naively: entries and a context as plain sets.
#[derive(Clone, Default, Debug, PartialEq)]
struct Model {
    entries: BTreeSet<(u64, Dot, u64)>,
    ctx: BTreeSet<Dot>,
}

impl Model {
    fn join(&mut self, o: &Model) {
        let keep = |x: &(u64, Dot, u64), other: &Model| {
            other.entries.contains(x) || !other.ctx.contains(&x.1)
        };
        let mut out: BTreeSet<_> = self
            .entries
            .iter()
            .filter(|x| keep(x, o))
            .cloned()
            .collect();
        out.extend(o.entries.iter().filter(|x| keep(x, self)).cloned());
        self.entries = out;
        self.ctx.extend(o.ctx.iter().cloned());
    }
    fn key_dots(&self, key: u64) -> BTreeSet<Dot> {
        self.entries
            .iter()
            .filter(|e| e.0 == key)
            .map(|e| e.1)
            .collect()
    }
    fn set(&mut self, r: u8, key: u64, value: u64) -> Model {
        let next = self
            .ctx
            .iter()
            .filter(|d| d.0 == r)
            .map(|d| d.1)
            .max()
            .unwrap_or(0)
            + 1;
        let mut ctx = self.key_dots(key);
        ctx.insert((r, next));
        let delta = Model {
            entries: [(key, (r, next), value)].into(),
            ctx,
        };
        self.join(&delta);
        delta
    }
    fn remove(&mut self, key: u64) -> Model {
        let delta = Model {
            entries: BTreeSet::new(),
            ctx: self.key_dots(key),
        };
        self.join(&delta);
        delta
    }
    /// The values of `key`, keeping only each replica's latest write (the engine's read
    /// rule: a replica's later write supersedes its earlier ones), sorted.
    fn get(&self, key: u64) -> Vec<u64> {
        let mut latest: std::collections::BTreeMap<u8, (u64, u64)> = Default::default();
        for &(k, (r, c), v) in &self.entries {
            if k == key && latest.get(&r).is_none_or(|&(lc, _)| c > lc) {
                latest.insert(r, (c, v));
            }
        }
        let mut v: Vec<u64> = latest.values().map(|&(_, v)| v).collect();
        v.sort_unstable();
        v
    }
}

fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v
}

/// Runs one input: panics on any disagreement.
pub fn check(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(steps) = Vec::<Step>::arbitrary(&mut u) else {
        return;
    };
    let names = ["r0", "r1", "r2"];
    let mut eng: Vec<MVMap<u64, u64>> = names.iter().map(|n| MVMap::new(*n)).collect();
    let mut model: Vec<Model> = vec![Model::default(); N];
    let mut deltas: Vec<(CausalStore<u64, u64>, Model)> = vec![];
    for step in steps.iter().take(200) {
        match *step {
            Step::Set { r, key, value } => {
                let (r, key) = (usize::from(r) % N, u64::from(key % 8));
                let d = eng[r].set(key, u64::from(value)).unwrap();
                let m = model[r].set(r as u8, key, u64::from(value));
                deltas.push((d, m));
            }
            Step::Remove { r, key } => {
                let (r, key) = (usize::from(r) % N, u64::from(key % 8));
                let d = eng[r].remove(&key);
                let m = model[r].remove(key);
                deltas.push((d, m));
            }
            Step::Deliver { to, idx } => {
                if deltas.is_empty() {
                    continue;
                }
                let (to, i) = (usize::from(to) % N, usize::from(idx) % deltas.len());
                let bytes = deltas[i].0.to_bytes().unwrap();
                eng[to].join_bytes(&bytes).unwrap();
                model[to].join(&deltas[i].1.clone());
            }
            Step::Sync { from, to } => {
                let (from, to) = (usize::from(from) % N, usize::from(to) % N);
                let d = eng[from].delta_since(eng[to].context());
                eng[to].join(&d);
                let m = model[from].clone();
                model[to].join(&m);
            }
        }
    }
    // the join laws on the states as they are
    let bytes = |s: &CausalStore<u64, u64>| s.to_bytes().unwrap();
    let joined = |a: &MVMap<u64, u64>, b: &MVMap<u64, u64>| {
        let mut x = a.store().clone();
        x.join(b.store());
        x
    };
    assert_eq!(
        bytes(&joined(&eng[0], &eng[1])),
        bytes(&joined(&eng[1], &eng[0])),
        "commutative"
    );
    let mut idem = eng[2].store().clone();
    idem.join(eng[2].store());
    assert_eq!(bytes(&idem), bytes(eng[2].store()), "idempotent");
    let mut ab_c = joined(&eng[0], &eng[1]);
    ab_c.join(eng[2].store());
    let mut a_bc = eng[0].store().clone();
    a_bc.join(&joined(&eng[1], &eng[2]));
    assert_eq!(bytes(&ab_c), bytes(&a_bc), "associative");
    for (e, m) in eng.iter().zip(&model) {
        e.store().check_invariants().unwrap();
        for key in 0..8 {
            assert_eq!(
                sorted(e.get(&key)),
                m.get(key),
                "read of key {key} before the exchange"
            );
        }
    }
    // full exchange
    let mut all = Model::default();
    for m in &model {
        all.join(m);
    }
    for _ in 0..2 {
        for a in 0..N {
            for b in 0..N {
                if a != b {
                    let d = eng[a].delta_since(eng[b].context());
                    eng[b].join(&d);
                }
            }
        }
    }
    for e in &eng {
        for key in 0..8 {
            assert_eq!(
                sorted(e.get(&key)),
                all.get(key),
                "read of key {key} after the exchange"
            );
        }
        assert_eq!(e.digest(), eng[0].digest());
        assert_eq!(e.to_bytes().unwrap(), eng[0].to_bytes().unwrap());
        assert!(
            e.context().is_compact(),
            "everything seen: a plain version vector"
        );
    }
}
