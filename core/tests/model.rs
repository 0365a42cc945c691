//! MVMap and AWSet against a naive model of the paper's definitions (Almeida, Shoker,
//! Baquero 2018): a state is a `BTreeSet` of `(key, dot, value)` entries and a `BTreeSet`
//! of dots; join, mutators and `delta_since` are the set formulas, written out plainly.
//! Random operations on 2-5 replicas, deltas delivered with drops, duplicates and
//! reordering, then full exchange.

mod common;
use common::Rng;

use std::collections::{BTreeMap, BTreeSet};

use pluriverse::{AWSet, CausalContext, JoinPath, MVMap, MVMapDelta};

const PATHS: [JoinPath; 3] = [JoinPath::Auto, JoinPath::Incremental, JoinPath::Full];

type D = (String, u64);

#[derive(Clone, Debug, PartialEq)]
struct Model<K = u64> {
    entries: BTreeSet<(K, D, i64)>,
    ctx: BTreeSet<D>,
}

impl<K> Default for Model<K> {
    fn default() -> Self {
        Self {
            entries: BTreeSet::new(),
            ctx: BTreeSet::new(),
        }
    }
}

impl<K: Ord + Clone> Model<K> {
    fn join(&mut self, o: &Model<K>) {
        let keep_a = self
            .entries
            .iter()
            .filter(|e| o.entries.contains(e) || !o.ctx.contains(&e.1));
        let keep_b = o
            .entries
            .iter()
            .filter(|e| self.entries.contains(e) || !self.ctx.contains(&e.1));
        self.entries = keep_a.chain(keep_b).cloned().collect();
        self.ctx.extend(o.ctx.iter().cloned());
    }
    fn next_dot(&self, me: &str) -> D {
        let max = self
            .ctx
            .iter()
            .filter(|d| d.0 == me)
            .map(|d| d.1)
            .max()
            .unwrap_or(0);
        (me.to_string(), max + 1)
    }
    fn dots_of(&self, k: &K) -> BTreeSet<D> {
        self.entries
            .iter()
            .filter(|e| e.0 == *k)
            .map(|e| e.1.clone())
            .collect()
    }
    fn set(&mut self, me: &str, k: K, v: i64) -> Model<K> {
        let d = self.next_dot(me);
        let mut ctx = self.dots_of(&k);
        ctx.insert(d.clone());
        let delta = Model {
            entries: [(k, d, v)].into_iter().collect(),
            ctx,
        };
        self.join(&delta);
        delta
    }
    fn remove(&mut self, k: &K) -> Model<K> {
        let delta = Model {
            entries: BTreeSet::new(),
            ctx: self.dots_of(k),
        };
        self.join(&delta);
        delta
    }
    fn delta_since(&self, peer: &BTreeSet<D>) -> Model<K> {
        let held_seen: BTreeSet<D> = self
            .entries
            .iter()
            .map(|e| e.1.clone())
            .filter(|d| peer.contains(d))
            .collect();
        Model {
            entries: self
                .entries
                .iter()
                .filter(|e| !peer.contains(&e.1))
                .cloned()
                .collect(),
            ctx: self.ctx.difference(&held_seen).cloned().collect(),
        }
    }
}

fn engine_entries<K: pluriverse::Item + Ord>(m: &MVMap<K, i64>) -> BTreeSet<(K, D, i64)> {
    m.store()
        .entries()
        .into_iter()
        .map(|(k, r, c, v)| (k, (r.to_string(), c), v))
        .collect()
}

fn engine_ctx(c: &CausalContext) -> BTreeSet<D> {
    let mut out = BTreeSet::new();
    for (name, d) in c.table().names().iter().zip(c.dots().replicas()) {
        for k in 1..=d.prefix() {
            out.insert((name.to_string(), k));
        }
        for k in d.cloud().iter() {
            out.insert((name.to_string(), k));
        }
    }
    out
}

fn assert_same(m: &MVMap<u64, i64>, model: &Model, what: &str) {
    assert_same_on(m, model, &(0..8).collect::<Vec<u64>>(), what);
}

/// The engine's entries, context and invariants equal the model's; `get` of each key in
/// `probe` lists each writer's latest value.
fn assert_same_on<K: pluriverse::Item + Ord>(
    m: &MVMap<K, i64>,
    model: &Model<K>,
    probe: &[K],
    what: &str,
) {
    if let Err(e) = m.store().check_invariants() {
        panic!("{what}: {e}");
    }
    assert_eq!(engine_entries(m), model.entries, "{what}: entries");
    assert_eq!(engine_ctx(m.context()), model.ctx, "{what}: context");
    for k in probe {
        // per writing replica, its latest write (it supersedes that replica's earlier ones)
        let mut latest: BTreeMap<String, (u64, i64)> = BTreeMap::new();
        for e in model.entries.iter().filter(|e| e.0 == *k) {
            let slot = latest.entry(e.1 .0.clone()).or_insert((0, 0));
            if e.1 .1 > slot.0 {
                *slot = (e.1 .1, e.2);
            }
        }
        let want: Vec<(D, i64)> = latest.into_iter().map(|(r, (c, v))| ((r, c), v)).collect();
        assert_eq!(
            m.get(k),
            want.into_iter().map(|x| x.1).collect::<Vec<_>>(),
            "{what}: get({k:?})"
        );
    }
}

const NAMES: [&str; 5] = ["r0", "r1", "r2", "r3", "r4"];

#[test]
fn random_runs_match_the_model_and_converge() {
    let mut g = Rng(0xC0FFEE);
    for seed in 0..300 {
        let n = 2 + g.below(4) as usize;
        let mut eng: Vec<MVMap<u64, i64>> = (0..n).map(|i| MVMap::new(NAMES[i])).collect();
        let mut model: Vec<Model> = vec![Model::default(); n];
        // in-flight deltas: (to, engine delta, model delta)
        let mut net: Vec<(usize, MVMapDelta<u64, i64>, Model)> = vec![];
        for _ in 0..(10 + g.below(40)) {
            let r = g.below(n as u64) as usize;
            match g.below(10) {
                0..=4 => {
                    let (k, v) = (g.below(8), g.below(100) as i64);
                    let d = eng[r].set(k, v).unwrap();
                    let md = model[r].set(NAMES[r], k, v);
                    for to in 0..n {
                        if to != r {
                            net.push((to, d.clone(), md.clone()));
                        }
                    }
                }
                5 | 6 => {
                    let k = g.below(8);
                    let d = eng[r].remove(&k);
                    let md = model[r].remove(&k);
                    for to in 0..n {
                        if to != r {
                            net.push((to, d.clone(), md.clone()));
                        }
                    }
                }
                _ => {
                    // deliver a random in-flight delta: maybe drop it, maybe keep a duplicate
                    if net.is_empty() {
                        continue;
                    }
                    let i = g.below(net.len() as u64) as usize;
                    let (to, d, md) = if g.below(4) == 0 {
                        net[i].clone()
                    } else {
                        net.swap_remove(i)
                    };
                    if g.below(5) != 0 {
                        eng[to].join_with(&d, PATHS[g.below(3) as usize]);
                        model[to].join(&md);
                    }
                }
            }
            for i in 0..n {
                assert_same(
                    &eng[i],
                    &model[i],
                    &format!("seed {seed} replica {i} mid-run"),
                );
            }
        }
        // heal: everyone exchanges whole states, through delta_since
        for a in 0..n {
            for b in 0..n {
                if a != b {
                    let d = eng[a].delta_since(eng[b].context());
                    let md = model[a].delta_since(&model[b].ctx);
                    assert_eq!(
                        engine_entries_of_delta(&d),
                        md.entries,
                        "seed {seed} delta entries"
                    );
                    assert_eq!(engine_ctx(d.context()), md.ctx, "seed {seed} delta ctx");
                    eng[b].join_with(&d, PATHS[g.below(3) as usize]);
                    model[b].join(&md);
                }
            }
        }
        for a in 0..n {
            for b in 0..n {
                if a != b {
                    let d = eng[a].delta_since(eng[b].context());
                    eng[b].join(&d);
                    let md = model[a].delta_since(&model[b].ctx);
                    model[b].join(&md);
                }
            }
        }
        for i in 0..n {
            assert_same(
                &eng[i],
                &model[i],
                &format!("seed {seed} replica {i} healed"),
            );
            assert_eq!(model[i], model[0]);
            assert_eq!(eng[i].digest(), eng[0].digest(), "seed {seed}: digests");
            assert_eq!(
                eng[i].to_bytes().unwrap(),
                eng[0].to_bytes().unwrap(),
                "seed {seed}: bytes"
            );
        }
    }
}

fn engine_entries_of_delta(d: &MVMapDelta<u64, i64>) -> BTreeSet<(u64, D, i64)> {
    d.entries()
        .into_iter()
        .map(|(k, r, c, v)| (k, (r.to_string(), c), v))
        .collect()
}

/// Contract 2: `a.delta_since(b.context)` joined into `b` equals `a` joined into `b`,
/// removals included (rust-crdt #160: removals lost under version-vector gossip).
#[test]
fn delta_since_equals_full_join_removals_included() {
    let mut g = Rng(7);
    for _ in 0..300 {
        let mut a: MVMap<u64, i64> = MVMap::new("a");
        let mut b: MVMap<u64, i64> = MVMap::new("b");
        for _ in 0..g.below(30) {
            let k = g.below(6);
            let who = g.below(3);
            let d = match who {
                0 => a.set(k, g.below(9) as i64).unwrap(),
                1 => b.set(k, g.below(9) as i64).unwrap(),
                _ => a.remove(&k),
            };
            if g.below(2) == 0 {
                if who == 1 {
                    a.join(&d)
                } else {
                    b.join(&d)
                }
            }
        }
        let mut via_delta = b.clone();
        via_delta.join(&a.delta_since(b.context()));
        let mut via_state = b.clone();
        via_state.join(a.store());
        assert_eq!(engine_entries(&via_delta), engine_entries(&via_state));
        assert_eq!(via_delta.context(), via_state.context());
        assert_eq!(via_delta.digest(), via_state.digest());
    }
}

fn random_state(g: &mut Rng, name: &str) -> MVMap<u64, i64> {
    let mut m = MVMap::new(name);
    let mut other = MVMap::new(format!("{name}-peer"));
    for _ in 0..g.below(20) {
        let k = g.below(6);
        match g.below(4) {
            0 => {
                let d = other.set(k, g.below(9) as i64).unwrap();
                m.join(&d);
            }
            1 => {
                m.remove(&k);
            }
            _ => {
                m.set(k, g.below(9) as i64).unwrap();
            }
        }
    }
    m
}

fn joined(a: &MVMap<u64, i64>, b: &MVMap<u64, i64>) -> MVMap<u64, i64> {
    let mut x = a.clone();
    x.join_with(b.store(), JoinPath::Full);
    let mut y = a.clone();
    y.join_with(b.store(), JoinPath::Incremental);
    assert_eq!(
        engine_entries(&x),
        engine_entries(&y),
        "join paths disagree"
    );
    assert_eq!(x.digest(), y.digest());
    x
}

#[test]
fn join_is_commutative() {
    let mut g = Rng(11);
    for _ in 0..200 {
        let (a, b) = (random_state(&mut g, "a"), random_state(&mut g, "b"));
        assert_eq!(
            engine_entries(&joined(&a, &b)),
            engine_entries(&joined(&b, &a))
        );
        assert_eq!(joined(&a, &b).digest(), joined(&b, &a).digest());
    }
}

#[test]
fn join_is_associative() {
    let mut g = Rng(12);
    for _ in 0..200 {
        let (a, b, c) = (
            random_state(&mut g, "a"),
            random_state(&mut g, "b"),
            random_state(&mut g, "c"),
        );
        let l = joined(&joined(&a, &b), &c);
        let r = joined(&a, &joined(&b, &c));
        assert_eq!(engine_entries(&l), engine_entries(&r));
        assert_eq!(l.digest(), r.digest());
    }
}

#[test]
fn join_is_idempotent() {
    let mut g = Rng(13);
    for _ in 0..200 {
        let a = random_state(&mut g, "a");
        let aa = joined(&a, &a);
        assert_eq!(engine_entries(&aa), engine_entries(&a));
        assert_eq!(aa.digest(), a.digest());
    }
}

#[test]
fn digest_ignores_interning_order() {
    // the same writes reach two replicas in different orders: different replica tables
    let mut x: MVMap<u64, i64> = MVMap::new("x");
    let mut y: MVMap<u64, i64> = MVMap::new("y");
    let mut z: MVMap<u64, i64> = MVMap::new("z");
    let dx = x.set(1, 10).unwrap();
    let dy = y.set(2, 20).unwrap();
    let mut p: MVMap<u64, i64> = MVMap::new("p");
    let mut q: MVMap<u64, i64> = MVMap::new("q");
    p.join(&dx);
    p.join(&dy);
    q.join(&dy);
    q.join(&dx);
    assert_eq!(p.digest(), q.digest());
    assert_eq!(p.context(), q.context());
    z.join(&dx);
    assert_ne!(z.digest(), p.digest());
}

fn awset_entries(s: &AWSet<u64>) -> BTreeSet<(u64, D, i64)> {
    s.store()
        .entries()
        .into_iter()
        .map(|(k, r, c, ())| (k, (r.to_string(), c), 0))
        .collect()
}

/// AWSet is the same dot store with unit values: the model is the MVMap model with value 0.
#[test]
fn awset_matches_the_model_and_add_wins() {
    let mut g = Rng(21);
    for seed in 0..200 {
        let mut eng = [
            AWSet::<u64>::new("a"),
            AWSet::<u64>::new("b"),
            AWSet::<u64>::new("c"),
        ];
        let mut model = vec![Model::default(); 3];
        let mut net = vec![];
        for _ in 0..(5 + g.below(30)) {
            let r = g.below(3) as usize;
            let e = g.below(5);
            if g.below(3) == 0 {
                let d = eng[r].remove(&e);
                let md = model[r].remove(&e);
                net.push((d, md));
            } else {
                let d = eng[r].add(e).unwrap();
                let md = model[r].set(["a", "b", "c"][r], e, 0);
                net.push((d, md));
            }
            if g.below(3) == 0 && !net.is_empty() {
                let to = g.below(3) as usize;
                let (d, md) = net[g.below(net.len() as u64) as usize].clone();
                eng[to].join_with(&d, PATHS[g.below(3) as usize]);
                model[to].join(&md);
            }
            for i in 0..3 {
                assert_eq!(
                    awset_entries(&eng[i]),
                    model[i].entries,
                    "seed {seed} replica {i}"
                );
                for e in 0..5 {
                    assert_eq!(
                        eng[i].contains(&e),
                        model[i].entries.iter().any(|x| x.0 == e)
                    );
                }
            }
        }
        for (d, md) in &net {
            for i in 0..3 {
                eng[i].join(d);
                model[i].join(md);
            }
        }
        for i in 0..3 {
            assert_eq!(awset_entries(&eng[i]), model[i].entries);
            assert_eq!(eng[i].digest(), eng[0].digest());
        }
    }
    // the classic: concurrent add and remove, add wins
    let mut a: AWSet<String> = AWSet::new("a");
    let mut b: AWSet<String> = AWSet::new("b");
    let add = a.add("x".into()).unwrap();
    b.join(&add);
    let rm = b.remove(&"x".into());
    let readd = a.add("x".into()).unwrap();
    a.join(&rm);
    b.join(&readd);
    assert!(a.contains(&"x".into()) && b.contains(&"x".into()));
    assert_eq!(a.elements(), vec!["x".to_string()]);
}

/// Big states take the parallel partitioned merge; its result must equal the join formula
/// evaluated naively on the entry sets, and the incremental path.
#[test]
fn parallel_full_join_matches_the_formula() {
    parallel_full_join_case(|k| k);
    // variable-length keys: the gathered offsets and bytes, across plan pieces
    parallel_full_join_case(|k| format!("k{k}"));
}

fn parallel_full_join_case<K: pluriverse::Item + Ord>(key: impl Fn(u64) -> K) {
    let n = 150_000u64;
    let mut a: MVMap<K, i64> = MVMap::new("a");
    let mut b: MVMap<K, i64> = MVMap::new("b");
    let keys: Vec<K> = (0..n).map(&key).collect();
    let vals: Vec<i64> = (0..n as i64).collect();
    let d = a.set_many(&keys, &vals).unwrap();
    b.join(&d);
    // b overwrites a third, removes a tenth; a concurrently overwrites every seventh
    let pick = |f: &dyn Fn(u64) -> bool| -> Vec<K> { (0..n).filter(|&k| f(k)).map(&key).collect() };
    let b_keys = pick(&|k| k % 3 == 0);
    b.set_many(&b_keys, &vec![-1; b_keys.len()]).unwrap();
    b.remove_many(&pick(&|k| k % 10 == 1));
    let a_keys = pick(&|k| k % 7 == 0);
    a.set_many(&a_keys, &vec![-2; a_keys.len()]).unwrap();
    let more: Vec<K> = (n..n + 50_000).map(&key).collect();
    b.set_many(&more, &vec![5; more.len()]).unwrap();

    let ea: BTreeSet<(K, D, i64)> = engine_entries(&a);
    let eb: BTreeSet<(K, D, i64)> = engine_entries(&b);
    let seen = |m: &MVMap<K, i64>, d: &D| {
        m.context()
            .contains(&pluriverse::Dot::new(d.0.as_str(), d.1))
    };
    let want: BTreeSet<(K, D, i64)> = ea
        .iter()
        .filter(|e| eb.contains(e) || !seen(&b, &e.1))
        .chain(eb.iter().filter(|e| ea.contains(e) || !seen(&a, &e.1)))
        .cloned()
        .collect();
    // The parallel plan runs only on a pool of more than one thread: force one of four
    // threads (a one-core machine's global pool would take the serial path), and check the
    // serial path on a one-thread pool against the same formula.
    let pool = |n| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
    };
    let mut full = a.clone();
    pool(4).install(|| {
        assert_eq!(rayon::current_num_threads(), 4);
        full.join_with(b.store(), JoinPath::Full)
    });
    assert_eq!(engine_entries(&full), want);
    let mut serial = a.clone();
    pool(1).install(|| serial.join_with(b.store(), JoinPath::Full));
    assert_eq!(engine_entries(&serial), want);
    let mut inc = a.clone();
    inc.join_with(b.store(), JoinPath::Incremental);
    assert_eq!(inc.digest(), full.digest());
    assert_eq!(full.store().run_count(), 1);
}

/// One-record deltas into states large enough to hold long (indexed) runs, with string
/// keys: sets that overwrite entries of long runs (found by key), removes (found through
/// the dot index), short runs scanned and grown in place, drops, duplicates and reordering,
/// every join path. After every delivery the engine equals the model.
#[test]
fn one_record_deltas_into_large_states_match_the_model() {
    const KEYS: u64 = 1500;
    let key = |k: u64| format!("key-{k:05}");
    let mut g = Rng(0x5EED);
    for seed in 0..4 {
        let n = 3;
        let mut eng: Vec<MVMap<String, i64>> = (0..n).map(|i| MVMap::new(NAMES[i])).collect();
        let mut model: Vec<Model<String>> = vec![Model::default(); n];
        // each replica writes 500 keys one by one; the others then join its whole state
        for r in 0..n {
            for k in (r as u64 * 400)..(r as u64 * 400 + 500) {
                let v = g.below(1000) as i64;
                eng[r].set(key(k), v).unwrap();
                model[r].set(NAMES[r], key(k), v);
            }
        }
        for a in 0..n {
            for b in 0..n {
                if a != b && g.below(4) != 0 {
                    let whole = eng[a].store().clone();
                    eng[b].join(&whole);
                    let m = model[a].clone();
                    model[b].join(&m);
                }
            }
        }
        let probe: Vec<String> = (0..KEYS).step_by(97).map(key).collect();
        for i in 0..n {
            assert_same_on(&eng[i], &model[i], &probe, &format!("seed {seed} bulk {i}"));
        }
        let mut net: Vec<(usize, MVMapDelta<String, i64>, Model<String>)> = vec![];
        for step in 0..400 {
            let r = g.below(n as u64) as usize;
            match g.below(10) {
                0..=4 => {
                    let (k, v) = (key(g.below(KEYS)), g.below(1000) as i64);
                    let d = eng[r].set(k.clone(), v).unwrap();
                    let md = model[r].set(NAMES[r], k, v);
                    for to in (0..n).filter(|&to| to != r) {
                        net.push((to, d.clone(), md.clone()));
                    }
                }
                5 | 6 => {
                    let k = key(g.below(KEYS));
                    let d = eng[r].remove(&k);
                    let md = model[r].remove(&k);
                    for to in (0..n).filter(|&to| to != r) {
                        net.push((to, d.clone(), md.clone()));
                    }
                }
                _ => {
                    for _ in 0..3 {
                        if net.is_empty() {
                            break;
                        }
                        let i = g.below(net.len() as u64) as usize;
                        let (to, d, md) = if g.below(4) == 0 {
                            net[i].clone()
                        } else {
                            net.swap_remove(i)
                        };
                        if g.below(6) != 0 {
                            eng[to].join_with(&d, PATHS[g.below(3) as usize]);
                            model[to].join(&md);
                        }
                        if step % 10 == 0 {
                            let what = format!("seed {seed} step {step} replica {to}");
                            assert_same_on(&eng[to], &model[to], &probe, &what);
                        }
                    }
                }
            }
        }
        // heal, then everyone equals everyone and the model
        for _ in 0..2 {
            for a in 0..n {
                for b in 0..n {
                    if a != b {
                        let d = eng[a].delta_since(eng[b].context());
                        eng[b].join(&d);
                        let md = model[a].delta_since(&model[b].ctx);
                        model[b].join(&md);
                    }
                }
            }
        }
        for i in 0..n {
            assert_same_on(
                &eng[i],
                &model[i],
                &probe,
                &format!("seed {seed} healed {i}"),
            );
            assert_eq!(model[i], model[0]);
            assert_eq!(eng[i].to_bytes().unwrap(), eng[0].to_bytes().unwrap());
        }
        assert!(
            eng[0].store().run_count() >= 1 && eng[0].len() > 600,
            "seed {seed}: the states stayed large"
        );
    }
}

/// Key lookups in runs long enough for a hash directory: every key written is found with
/// its value, absent keys are not, and a batch overwriting every third key finds (and
/// replaces) the old entries.
#[test]
fn long_runs_find_every_key() {
    fn case<K: pluriverse::Item + Ord>(key: impl Fn(u64) -> K) {
        let n = 20_000u64;
        let mut m: MVMap<K, i64> = MVMap::new("a");
        let keys: Vec<K> = (0..n).map(&key).collect();
        m.set_many(&keys, &(0..n as i64).collect::<Vec<_>>())
            .unwrap();
        m.compact_runs();
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(m.get(k), vec![i as i64], "key {k:?}");
        }
        for k in n..n + 2_000 {
            assert!(m.get(&key(k)).is_empty(), "absent key {k} found");
        }
        let third: Vec<K> = keys.iter().step_by(3).cloned().collect();
        m.set_many(&third, &vec![-1; third.len()]).unwrap();
        for (i, k) in keys.iter().enumerate() {
            let want = if i % 3 == 0 { -1 } else { i as i64 };
            assert_eq!(m.get(k), vec![want], "key {k:?} after the overwrite");
        }
        assert_eq!(m.entry_count(), n as usize);
    }
    case(|k| k.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    case(|k| format!("key-{k}"));
}

/// [`Model::dots_of`] by a range of the entries (sorted by key first), for large models.
fn dots_of_key(model: &Model, k: u64) -> BTreeSet<D> {
    model
        .entries
        .range((k, (String::new(), 0), i64::MIN)..)
        .take_while(|e| e.0 == k)
        .map(|e| e.1.clone())
        .collect()
}

/// The model's batch write: each distinct key of `keys` (the last value of a key given
/// twice) gets a dot of one contiguous run, in the store's order, which the engine issues
/// by key hash; here the dots are matched to keys through the engine's own delta, and
/// everything else (what the write covers and keeps) is the model's.
fn model_set_many(
    model: &mut Model,
    me: &str,
    keys: &[u64],
    vals: &[i64],
    dots: &BTreeMap<u64, u64>,
) -> Model {
    let mut last: BTreeMap<u64, i64> = BTreeMap::new();
    for (k, v) in keys.iter().zip(vals) {
        last.insert(*k, *v);
    }
    let mut ctx = BTreeSet::new();
    let mut entries = BTreeSet::new();
    for (k, v) in &last {
        ctx.extend(dots_of_key(model, *k));
        let d = (me.to_string(), dots[k]);
        ctx.insert(d.clone());
        entries.insert((*k, d, *v));
    }
    let delta = Model { entries, ctx };
    model.join(&delta);
    delta
}

/// Batch writes (`set_many` with repeated keys, `remove_many`) of every size, from a few
/// keys into a large state (the per-key probe) to batches as large as the state (the walk
/// beside the runs), on states of several runs with deleted rows, against the model: the
/// state, the delta and a second replica that joins the deltas agree with it.
#[test]
fn batch_writes_match_the_model() {
    let mut g = Rng(0xBA7C);
    let mut m: MVMap<u64, i64> = MVMap::new("r0");
    let mut other: MVMap<u64, i64> = MVMap::new("r1");
    let mut model = Model::default();
    let mut model_other = Model::default();
    let universe = 6000u64;
    for step in 0..40 {
        let n = match step % 5 {
            0 => 3000 + g.below(5000) as usize,
            1 => 1 + g.below(10) as usize,
            2 => 100 + g.below(400) as usize,
            3 => 20 + g.below(50) as usize,
            _ => 1000,
        };
        let keys: Vec<u64> = (0..n).map(|_| g.below(universe)).collect();
        if step % 7 == 6 {
            let d = m.remove_many(&keys);
            let mut want = Model::default();
            for k in &keys {
                want.ctx.extend(dots_of_key(&model, *k));
            }
            model.join(&want);
            assert_eq!(
                engine_entries_of_delta(&d),
                want.entries,
                "step {step}: remove delta"
            );
            assert_eq!(
                engine_ctx(d.context()),
                want.ctx,
                "step {step}: remove delta context"
            );
            other.join(&d);
            model_other.join(&want);
        } else {
            let vals: Vec<i64> = (0..n).map(|_| g.below(1000) as i64).collect();
            let d = m.set_many(&keys, &vals).unwrap();
            let dots: BTreeMap<u64, u64> = d.entries().into_iter().map(|e| (e.0, e.2)).collect();
            let want = model_set_many(&mut model, "r0", &keys, &vals, &dots);
            assert_eq!(
                engine_entries_of_delta(&d),
                want.entries,
                "step {step}: delta"
            );
            assert_eq!(
                engine_ctx(d.context()),
                want.ctx,
                "step {step}: delta context"
            );
            other.join(&d);
            model_other.join(&want);
        }
        let probe: Vec<u64> = keys.iter().take(50).copied().collect();
        assert_same_on(&m, &model, &probe, &format!("step {step}"));
        assert_same_on(&other, &model_other, &probe, &format!("step {step}, other"));
        // the other replica writes too, and its deltas come back
        if step % 3 == 0 {
            let ks: Vec<u64> = (0..200).map(|_| g.below(universe)).collect();
            let vs: Vec<i64> = vec![-7; ks.len()];
            let d = other.set_many(&ks, &vs).unwrap();
            let dots: BTreeMap<u64, u64> = d.entries().into_iter().map(|e| (e.0, e.2)).collect();
            let want = model_set_many(&mut model_other, "r1", &ks, &vs, &dots);
            m.join(&d);
            model.join(&want);
            assert_same_on(&m, &model, &ks[..20], &format!("step {step}, back"));
        }
    }
    assert!(m.store().run_count() >= 1);
}
