//! MVMap against Helsing's `dson` crate (0.3): an `OrMap<u64>` of `MvReg` registers in a
//! `CausalDotStore`, on the same work as `mvmap_join` in `mvmap.rs` (replica `a` wrote keys
//! 0..N, `b` saw most of `a`'s writes, then wrote keys N/2..3N/2: half the keys shared, a
//! tenth of the shared keys written concurrently; `u64` keys and `u64` values): the
//! workload and the pluriverse states come from `pluriverse_benches` (`work`, `pv_states`).
//!
//! - `dson_join/<N>`: the full-state join of `b` into `a`.
//! - `dson_delta_one/<N>`: joining deltas that carry one key, each written by a third replica
//!   `w`, into the merged state of the join above (1.5N keys) after it took two of `w`'s
//!   deltas untimed (see the comment there); like `join_one_record_delta` in `mvmap.rs`, a
//!   fresh copy of the state (untimed) takes a chunk of deltas new to it.
//! - Memory per entry of state `a`, counted by a global allocator around its construction,
//!   printed to stderr.
//!
//! `dson` takes keys of any `Hash + Eq + Clone` type, so its map is keyed by `u64` like
//! pluriverse's (no string keys needed) and its registers hold `MvRegValue::U64`.
//!
//! # How the dson states are built (construction is not timed)
//!
//! Every mutation in `dson` returns a delta that the writer joins into its state, and a join
//! rebuilds the whole map (`DotMap::join` moves every entry of both sides into a new
//! `HashMap`), so writing N keys one by one, or in one `MapTransaction` (which joins each write
//! into its working copy and then folds the deltas one into the next), costs O(N^2): 100K keys
//! did not finish in minutes. The states are therefore built from the very same one-key
//! deltas, joined in a balanced tree (a binary counter: two parts of equal size are joined as
//! soon as both exist), O(N log N) in all:
//!
//! 1. each write is the delta `OrMap::apply_to_register(|reg, cc, id| reg.write(v, cc, id),
//!    key, cc, id)` (what `MapTransaction::write_register` produces), made against what the
//!    writer had seen; the writer's context advances by one dot per write
//!    (`insert_next_dot`), so replica A's dots are 1..N in the order of its writes and B's are
//!    1..1.5N. A replica writes each key once per batch, so the register a write replaces is the
//!    one in the state the batch started from: the deltas are byte for byte those of writing
//!    key by key.
//! 2. `first` = tree join of A's writes of all keys but the concurrent ones (the same batch,
//!    order and values as pluriverse's `a_first`); state `a` = `first` joined with the tree join
//!    of A's later writes of the concurrent keys (N/2 <= k < N, k % 10 == 0); state `b` =
//!    `first` (B saw A's first batch) joined with the tree join of B's writes of N/2..3N/2,
//!    made against `first`, so B's write of a shared key carries A's dot in its context and
//!    overwrites it, while B's write of a concurrent key does not, and both values survive.
//!
//! Join is associative, commutative and idempotent, so the tree gives the same state as the
//! one-by-one joins: the same keys, the same (dot, value) pairs, the same contexts
//! (A: 1..N in `a`; A: 1..|first| and B: 1..N in `b`), and, since every entry of a state made
//! by joins holds its cached dot set, the same cache the fast path of `DotMap::join` relies on.
//! Once outside timing, the merged states of both systems are checked to hold the same number
//! of keys and, on a sample of keys of each kind, the same values.
//!
//! `PLURIVERSE_BENCH_RECORDS=10k,100k,1m` picks N (default `100k,1m`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use dson::crdts::mvreg::MvRegValue;
use dson::sentinel::DummySentinel;
use dson::{CausalDotStore, Identifier, OrMap};
use pluriverse::{JoinPath, MVMap};
use pluriverse_benches::{
    label, live_bytes, pv_states, sizes, work, CountingAlloc, SplitMix, Work,
};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// A dson document: an observed-remove map of multi-value registers, with its context.
type Doc = CausalDotStore<OrMap<u64>>;

const REPLICA_A: Identifier = Identifier::new(1, 0);
const REPLICA_B: Identifier = Identifier::new(2, 0);
const REPLICA_W: Identifier = Identifier::new(3, 0);

fn join_docs(x: Doc, y: Doc) -> Doc {
    match x.join(y, &mut DummySentinel) {
        Ok(d) => d,
        Err(never) => match never {},
    }
}

/// Joins parts in a balanced tree as they arrive: a binary counter whose digit `l` holds the
/// join of 2^l parts, so each part takes part in O(log n) joins.
#[derive(Default)]
struct TreeJoin {
    levels: Vec<(u32, Doc)>,
}

impl TreeJoin {
    fn push(&mut self, doc: Doc) {
        let (mut level, mut doc) = (0, doc);
        while self.levels.last().is_some_and(|(l, _)| *l == level) {
            let (_, older) = self.levels.pop().expect("checked");
            doc = join_docs(older, doc);
            level += 1;
        }
        self.levels.push((level, doc));
    }

    fn finish(mut self) -> Doc {
        let mut acc = self.levels.pop().map(|(_, d)| d).unwrap_or_default();
        while let Some((_, older)) = self.levels.pop() {
            acc = join_docs(older, acc);
        }
        acc
    }
}

/// Replica `id` writes `keys[i] = values[i]`, one one-key delta per write, having seen `seen`;
/// returns the join of those deltas (see the top of this file).
fn dson_writes(seen: &Doc, id: Identifier, keys: &[u64], values: &[u64]) -> Doc {
    let mut cc = seen.context.clone();
    let mut tree = TreeJoin::default();
    for (&k, &v) in keys.iter().zip(values) {
        let delta = seen.store.apply_to_register(
            |reg, cc, id| reg.write(MvRegValue::U64(v), cc, id),
            k,
            &cc,
            id,
        );
        cc.insert_next_dot(cc.next_dot_for(id));
        tree.push(delta);
    }
    tree.finish()
}

/// State `a` of dson (A's first batch, then its writes of the concurrent keys).
fn dson_a(w: &Work) -> Doc {
    let first = dson_writes(&Doc::default(), REPLICA_A, &w.a_first, &w.values);
    let conc = dson_writes(&first, REPLICA_A, &w.a_concurrent, &w.values);
    join_docs(first, conc)
}

/// State `b` of dson (A's first batch, then B's writes made having seen it).
fn dson_b(w: &Work) -> Doc {
    let first = dson_writes(&Doc::default(), REPLICA_A, &w.a_first, &w.values);
    let mine = dson_writes(&first, REPLICA_B, &w.b_keys, &w.values);
    join_docs(first, mine)
}

/// The values of `key` in a dson document, sorted.
fn dson_values(d: &Doc, key: u64) -> Vec<u64> {
    let mut v: Vec<u64> = d
        .store
        .get(&key)
        .map(|tv| {
            tv.reg
                .0
                .values()
                .map(|x| match x {
                    MvRegValue::U64(x) => *x,
                    other => panic!("dson: key {key} holds a non-u64 value {other:?}"),
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort_unstable();
    v
}

/// The merged states of both systems must agree (outside timing).
fn check_same(n: usize, pv: &MVMap<u64, u64>, ds: &Doc) {
    let (pv_len, ds_len) = (pv.len(), ds.store.len());
    assert!(
        pv_len == n * 3 / 2 && ds_len == pv_len,
        "merged states differ in size: pluriverse {pv_len} keys, dson {ds_len}, expected {}",
        n * 3 / 2
    );
    let n = n as u64;
    let mut sample: Vec<u64> = (0..n * 3 / 2).step_by((n as usize / 500).max(1)).collect();
    // one of each kind: a's only, shared and overwritten by b, concurrent, b's only
    sample.extend([0, n / 2 + 1, n / 2 + 10 - (n / 2) % 10, n + 3]);
    let mut concurrent = 0;
    for k in sample {
        let mut p = pv.get(&k);
        p.sort_unstable();
        let d = dson_values(ds, k);
        assert!(
            p == d && !p.is_empty(),
            "key {k}: pluriverse holds {p:?}, dson {d:?}"
        );
        concurrent += usize::from(p.len() == 2);
    }
    assert!(concurrent > 0, "no concurrent key in the sample");
}

fn bench(c: &mut Criterion) {
    for n in sizes("100k,1m") {
        let w = work(n);
        let label = label(n);

        let (a, b, pv_bytes) = pv_states(&w);
        eprintln!(
            "pluriverse: {} + {} entries, {:.1} bytes per entry (state a)",
            a.entry_count(),
            b.entry_count(),
            pv_bytes as f64 / a.entry_count() as f64
        );
        let records = a.entry_count() + b.entry_count();

        let t = Instant::now();
        let before = live_bytes();
        let da = dson_a(&w);
        let ds_bytes = live_bytes() - before;
        let db = dson_b(&w);
        eprintln!(
            "dson: {} + {} keys, {:.1} bytes per entry (state a); built in {:.1?} (tree of joins)",
            da.store.len(),
            db.store.len(),
            ds_bytes as f64 / da.store.len() as f64,
            t.elapsed()
        );

        let mut g = c.benchmark_group(format!("dson_join/{label}"));
        g.sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(5));
        g.throughput(Throughput::Elements(records as u64));
        g.bench_function("pluriverse", |bn| {
            bn.iter_batched(
                || a.detached(),
                |mut x| {
                    x.join_with(b.store(), JoinPath::Full);
                    x
                },
                BatchSize::LargeInput,
            )
        });
        g.bench_function("dson", |bn| {
            bn.iter_batched(
                || (da.clone(), db.clone()),
                |(mut x, y)| {
                    match x.join_with(y.store, &y.context, &mut DummySentinel) {
                        Ok(()) => {}
                        Err(never) => match never {},
                    }
                    x
                },
                BatchSize::LargeInput,
            )
        });
        g.finish();

        // the merged states must agree (sanity, outside timing)
        let mut pj = a.clone();
        pj.join(b.store());
        drop((a, b));
        let mut dj = join_docs(da, db);
        check_same(n, &pj, &dj);

        // one-key deltas from a third replica into the merged state (1.5N keys)
        let mut g = SplitMix(9);
        let mut pw: MVMap<u64, u64> = MVMap::new("w");
        let pv_deltas: Vec<_> = (0..100_000u64)
            .map(|i| pw.set(g.below(n as u64), i).unwrap())
            .collect();
        let mut g = SplitMix(9);
        let mut dw = Doc::default();
        let ds_deltas: Vec<Doc> = (0..64u64)
            .map(|i| {
                let d = dw.store.apply_to_register(
                    |reg, cc, id| reg.write(MvRegValue::U64(i), cc, id),
                    g.below(n as u64),
                    &dw.context,
                    REPLICA_W,
                );
                dw.join_or_replace_with(d.store.clone(), &d.context);
                d
            })
            .collect();
        // Both states first take two of w's deltas, untimed, as a replica that hears from w
        // has: a one-time cost of the first deltas from a replica it has already seen
        // (pluriverse may build its dot index of the big run then, which clones keep) is not
        // charged to every fresh clone below. The timed deltas are w's later ones.
        let (pv_warm, pv_deltas) = pv_deltas.split_at(2);
        for d in pv_warm {
            pj.join(d);
        }
        let (ds_warm, ds_deltas) = ds_deltas.split_at(2);
        for d in ds_warm {
            dj.join_or_replace_with(d.store.clone(), &d.context);
        }

        let mut group = c.benchmark_group(format!("dson_delta_one/{label}"));
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(5));
        group.throughput(Throughput::Elements(1));
        group.bench_function("pluriverse", |bn| {
            bn.iter_custom(|iters| {
                // every delta is new to a fresh copy of the state (copies are not timed)
                let (mut elapsed, mut done) = (Duration::ZERO, 0usize);
                while done < iters as usize {
                    let chunk = pv_deltas.len().min(iters as usize - done);
                    let mut target = pj.detached();
                    let t = Instant::now();
                    for d in &pv_deltas[..chunk] {
                        target.join(d);
                    }
                    elapsed += t.elapsed();
                    done += chunk;
                }
                elapsed
            })
        });
        group.bench_function("dson", |bn| {
            bn.iter_custom(|iters| {
                let (mut elapsed, mut done) = (Duration::ZERO, 0usize);
                while done < iters as usize {
                    let chunk = ds_deltas.len().min(iters as usize - done);
                    let mut target = dj.clone();
                    // the join consumes the delta's store: copies made before the clock starts
                    let parts: Vec<Doc> = ds_deltas[..chunk].to_vec();
                    let t = Instant::now();
                    for d in parts {
                        match target.join_with(d.store, black_box(&d.context), &mut DummySentinel) {
                            Ok(()) => {}
                            Err(never) => match never {},
                        }
                    }
                    elapsed += t.elapsed();
                    done += chunk;
                }
                elapsed
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
