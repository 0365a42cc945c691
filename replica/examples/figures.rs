//! The replica and sync figures of `benches/README.md`, measured in one run with their
//! baselines beside them:
//!
//! - bytes and round trips for an empty replica catching up on a peer of N records, against
//!   the peer's state file;
//! - two N-record replicas differing in 100 keys: bytes, messages, round trips, time;
//! - both with a datagram-sized 1,200-byte message bound as well;
//! - one-record deltas gossiped through the protocol, against joining the same deltas bare;
//! - durable writes: group commit throughput, and a synced write's latency against a bare
//!   `fdatasync` of a file of the same size;
//! - the context after many restarts of one replica among five.
//!
//! `cargo run --release -p pluriverse-replica --example figures -- [records] [sections]`
//! (default 1,000,000 records; sections a comma list of `sync`, `gossip`, `durable`,
//! `restarts`, default all); `... -- restarts [N]` runs only the restart figure (default
//! 10,000), and `... -- restarts N memory` the same restarts without a directory.

use std::time::{Duration, Instant};

use arrow_array::{Int64Array, StringArray};
use pluriverse::CausalContext;
use pluriverse_any::{AnyState, KeyType, Kind, Scalar, StateType, ValueType};
use pluriverse_replica::sync::{Config, Peer};
use pluriverse_replica::{Durability, Options, Replica};

fn ty() -> StateType {
    StateType::new(Kind::MVMap, KeyType::Utf8, Some(ValueType::Int64)).unwrap()
}

struct Sync {
    bytes: u64,
    messages: u64,
    rounds: u64,
    largest: usize,
    time: Duration,
}

/// Runs two peers over a lossless in-memory link until equal; a "round trip" is one pass
/// of both directions.
fn sync_pair(a: &mut AnyState, b: &mut AnyState, max_message: usize) -> Sync {
    let cfg = Config {
        max_message,
        round_interval: Duration::from_secs(3600),
        ..Config::default()
    };
    let (mut pa, mut pb) = (Peer::new(ty(), cfg).unwrap(), Peer::new(ty(), cfg).unwrap());
    let t = Instant::now();
    let mut s = Sync {
        bytes: 0,
        messages: 0,
        rounds: 0,
        largest: 0,
        time: Duration::ZERO,
    };
    let now = Duration::ZERO;
    loop {
        s.rounds += 1;
        let ab = pass(a, b, &mut pa, &mut pb, &mut s, now);
        let ba = pass(b, a, &mut pb, &mut pa, &mut s, now);
        if !ab && !ba {
            break;
        }
    }
    s.time = t.elapsed();
    assert_eq!(a.digest(), b.digest());
    s
}

/// Sends everything `pf` has for `from` and joins what `pt` hands back into `to`.
fn pass(
    from: &AnyState,
    to: &mut AnyState,
    pf: &mut Peer,
    pt: &mut Peer,
    s: &mut Sync,
    now: Duration,
) -> bool {
    let mut out = Vec::new();
    while let Some(m) = pf.poll_transmit(now, from) {
        out.push(m);
    }
    let moved = !out.is_empty();
    for m in out {
        s.bytes += m.len() as u64;
        s.messages += 1;
        s.largest = s.largest.max(m.len());
        if let Some(d) = pt.handle(now, &m).unwrap() {
            to.join(&d).unwrap();
        }
    }
    moved
}

fn filled(name: &str, n: usize) -> AnyState {
    let mut s = AnyState::new(ty(), name);
    let keys = StringArray::from_iter_values((0..n).map(|i| format!("key-{i:09}")));
    let vals = Int64Array::from_iter_values(0..n as i64);
    s.set_many(&keys, &vals).unwrap();
    s
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("restarts") {
        let n = std::env::args()
            .nth(2)
            .and_then(|s| s.parse().ok())
            .unwrap_or(10_000);
        println!("# pluriverse-replica restart figure, {n} restarts, MVMap<utf8, int64>");
        let dir = std::env::temp_dir().join(format!("pluriverse-restarts-{}", std::process::id()));
        if std::env::args().nth(3).as_deref() == Some("memory") {
            restart_figure_in_memory(n);
        } else {
            restart_figure(&dir, n);
        }
        return;
    }
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let sections = std::env::args()
        .nth(2)
        .unwrap_or_else(|| "sync,gossip,durable,restarts".into());
    let on = |name: &str| sections.split(',').any(|s| s == name);
    println!("# pluriverse-replica figures, {n} records, MVMap<utf8, int64>");
    if on("sync") {
        sync_figures(n);
    }
    if on("gossip") {
        gossip_figures(n);
    }
    if on("durable") {
        durable_figures();
    }
    if on("restarts") {
        let dir = std::env::temp_dir().join(format!("plv-restarts-{}", std::process::id()));
        restart_figure(&dir, 200);
    }
}

fn sync_figures(n: usize) {
    let a = filled("a", n);
    let state_bytes = a.to_bytes().unwrap().len();
    println!("state file: {state_bytes} bytes");

    for max in [64 << 10, 1200] {
        let mut x = a.clone();
        let mut e = AnyState::new(ty(), "b");
        let s = sync_pair(&mut x, &mut e, max);
        println!(
            "catch-up, bound {max}: {} bytes ({:.3}x the state file), {} messages, {} round trips, largest {} B, {:.2?}",
            s.bytes,
            s.bytes as f64 / state_bytes as f64,
            s.messages,
            s.rounds,
            s.largest,
            s.time
        );
        // now they differ in 100 keys: 50 new on one side, 50 removed on the other
        let mut y = x.clone();
        let mut z = e;
        for i in 0..50 {
            y.set(Scalar::Utf8(format!("new-{i}")), Scalar::Int64(i))
                .unwrap();
            z.remove(Scalar::Utf8(format!("key-{:09}", i as usize * (n / 50))))
                .unwrap();
        }
        // the dot index and range sums of each long run are built on first use and then
        // kept in step with joins: a live replica has them; time their building apart
        let t = Instant::now();
        for st in [&y, &z] {
            for name in st.replicas_seen() {
                st.range_summary(&name, 1, u64::MAX);
            }
        }
        let index = t.elapsed();
        let s = sync_pair(&mut y, &mut z, max);
        println!(
            "100-key difference, bound {max}: {} bytes, {} messages, {} round trips, {:.2?} (building the indexes first, once: {index:.2?})",
            s.bytes, s.messages, s.rounds, s.time
        );
    }
}

fn gossip_figures(n: usize) {
    // gossip: one-record deltas through the protocol vs bare joins of the same deltas
    let k = 100_000;
    let mut w = filled("w", n);
    let deltas: Vec<AnyState> = (0..k)
        .map(|i| {
            w.set(Scalar::Utf8(format!("g-{i}")), Scalar::Int64(i))
                .unwrap()
        })
        .collect();
    let mut bare = filled("w", n);
    let t = Instant::now();
    for d in &deltas {
        bare.join(d).unwrap();
    }
    let bare_t = t.elapsed();
    let mut recv = filled("w", n);
    let cfg = Config::default();
    let (mut tx, mut rx) = (Peer::new(ty(), cfg).unwrap(), Peer::new(ty(), cfg).unwrap());
    let empty = AnyState::new(ty(), "none");
    // no rounds: the interval is far away once the first has gone
    let far = Duration::from_secs(0);
    let _ = tx.poll_transmit(far, &empty);
    let t = Instant::now();
    let mut msgs = 0;
    // where the time goes: sending (push and poll_transmit), receiving (handle: checks and
    // decoding), joining what was received
    let (mut send_t, mut recv_t, mut join_t) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    for chunk in deltas.chunks(256) {
        let t0 = Instant::now();
        for d in chunk {
            tx.push(d);
        }
        let mut out = Vec::new();
        while let Some(m) = tx.poll_transmit(far, &empty) {
            out.push(m);
        }
        send_t += t0.elapsed();
        for m in out {
            msgs += 1;
            let t1 = Instant::now();
            let got = rx.handle(far, &m).unwrap();
            recv_t += t1.elapsed();
            if let Some(d) = got {
                let t2 = Instant::now();
                recv.join(&d).unwrap();
                join_t += t2.elapsed();
            }
        }
    }
    let proto_t = t.elapsed();
    assert_eq!(recv.digest(), bare.digest());
    let per = |d: Duration| d.as_secs_f64() * 1e9 / k as f64;
    println!(
        "gossip of {k} one-record deltas into {n}: protocol {:.0}/s ({msgs} messages), bare join {:.0}/s: {:.2}x; per delta: send {:.0} ns, receive {:.0} ns, join {:.0} ns",
        k as f64 / proto_t.as_secs_f64(),
        k as f64 / bare_t.as_secs_f64(),
        proto_t.as_secs_f64() / bare_t.as_secs_f64(),
        per(send_t),
        per(recv_t),
        per(join_t)
    );
}

fn durable_figures() {
    // durable writes
    let dir = std::env::temp_dir().join(format!("plv-figures-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut r = Replica::create(&dir, "paris", ty(), Options::default()).unwrap();
    let writes = 20_000;
    let t = Instant::now();
    for i in 0..writes {
        r.write(|s| s.set(Scalar::Utf8(format!("k{i}")), Scalar::Int64(i)))
            .unwrap();
        if i % 1000 == 999 {
            r.sync().unwrap();
        }
    }
    r.sync().unwrap();
    let gt = t.elapsed();
    drop(r);
    std::fs::remove_dir_all(&dir).unwrap();
    println!(
        "group commit (one fdatasync per 1,000 writes): {:.0} writes/s",
        writes as f64 / gt.as_secs_f64()
    );
    let opts = Options {
        durability: Durability::Synced,
        ..Options::default()
    };
    let mut r = Replica::create(&dir, "paris", ty(), opts).unwrap();
    let log = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_str().unwrap().starts_with("log-"))
        .unwrap();
    let bare_file = dir.join("bare");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&bare_file)
        .unwrap();
    let reps = 300;
    let (mut synced, mut fsync) = (Vec::new(), Vec::new());
    for i in 0..reps {
        let t = Instant::now();
        r.write(|s| s.set(Scalar::Utf8(format!("s{i}")), Scalar::Int64(i)))
            .unwrap();
        synced.push(t.elapsed());
        let rec = std::fs::metadata(&log).unwrap().len() as usize / (i as usize + 1);
        use std::io::Write;
        let t = Instant::now();
        f.write_all(&vec![7u8; rec]).unwrap();
        f.sync_data().unwrap();
        fsync.push(t.elapsed());
    }
    synced.sort();
    fsync.sort();
    let med = |v: &[Duration]| v[v.len() / 2];
    println!(
        "synced write latency: median {:.2?} against a bare write+fdatasync of the same size {:.2?}: {:.2}x",
        med(&synced),
        med(&fsync),
        med(&synced).as_secs_f64() / med(&fsync).as_secs_f64()
    );
    drop(r);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// One replica among five, reopened `restarts` times and writing once per open (the four
/// others write the same key, so earlier incarnations keep no live entry): at checkpoints,
/// the time so far, its context's named rows and bytes, and the same context split into
/// rows plus retired records (`pluriverse::retired`), checked to expand back to it.
fn restart_figure(dir: &std::path::Path, restarts: i64) {
    let _ = std::fs::remove_dir_all(dir);
    let opts = Options {
        durability: Durability::Buffered,
        ..Options::default()
    };
    Replica::create(dir, "paris", ty(), opts).unwrap();
    let mut others: Vec<AnyState> = (0..4)
        .map(|i| AnyState::new(ty(), format!("o{i}")))
        .collect();
    let report = |r: &Replica, done: i64, t: Instant| {
        let ctx = r.state().context();
        let (rows, retired) = ctx.split_retired(|_| false);
        assert_eq!(&rows.with_retired(&retired), ctx, "the split is lossless");
        println!(
            "after {done} restarts of one replica among five ({:.1?}): in memory {}; \
             context bytes {} B; split: {} rows ({} B) + {} retired records ({} B, {:.1} B each)",
            t.elapsed(),
            in_memory(ctx),
            ctx.to_bytes().len(),
            rows.canonical_order().len(),
            rows.to_bytes().len(),
            retired.len(),
            retired.to_bytes().len(),
            retired.to_bytes().len() as f64 / retired.len().max(1) as f64,
        );
    };
    let t = Instant::now();
    // checkpoints 10, 20, 50, 100, 200, 500, ...
    let checkpoint = |k: i64| {
        let mut p = 10;
        while p * 10 <= k {
            p *= 10;
        }
        k >= 10 && [p, 2 * p, 5 * p].contains(&k)
    };
    for i in 0..restarts {
        let mut r = Replica::open(dir, opts).unwrap();
        r.write(|s| s.set(Scalar::Utf8("k".into()), Scalar::Int64(i)))
            .unwrap();
        for o in &mut others {
            let d = o.set(Scalar::Utf8("k".into()), Scalar::Int64(i)).unwrap();
            r.apply(&d).unwrap();
        }
        if checkpoint(i + 1) {
            report(&r, i + 1, t);
        }
    }
    let r = Replica::open(dir, opts).unwrap();
    print!("reopened: ");
    report(&r, restarts, t);
    let state = r.state().clone();
    drop(r);
    std::fs::remove_dir_all(dir).unwrap();
    sync_after_restarts(&state, &mut others[0]);
}

/// [`restart_figure`] without a directory: each restart carries the state over in memory
/// under a fresh incarnation (what opening the directory gives, minus reading it), so that
/// large counts of restarts are cheap to reach. Run twice in one run: retiring the idle
/// incarnations at each restart (what an open does), and never retiring (the baseline).
fn restart_figure_in_memory(restarts: i64) {
    let run = |retire: bool| {
        let mut paris = AnyState::new(ty(), "paris");
        let mut others: Vec<AnyState> = (0..4)
            .map(|i| AnyState::new(ty(), format!("o{i}")))
            .collect();
        let t = Instant::now();
        for i in 0..restarts {
            // the same incarnations in both runs (bits from the restart's number)
            let bits = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            paris = paris.with_replica(pluriverse_replica::identity::incarnation(
                &"paris".into(),
                bits,
            ));
            if retire {
                // what an open does: the idle incarnations become retired records
                paris.retire_idle();
            }
            paris
                .set(Scalar::Utf8("k".into()), Scalar::Int64(i))
                .unwrap();
            for o in &mut others {
                let d = o.set(Scalar::Utf8("k".into()), Scalar::Int64(i)).unwrap();
                paris.join(&d).unwrap();
            }
        }
        (paris, others, t.elapsed())
    };
    let (base, _, base_t) = run(false);
    let (paris, mut others, t) = run(true);
    assert_eq!(paris.digest(), base.digest(), "retiring changes no state");
    assert_eq!(paris.to_bytes().unwrap(), base.to_bytes().unwrap());
    let ctx = paris.context();
    assert_eq!(ctx, base.context());
    let (rows, retired) = ctx.split_retired(|_| false);
    assert_eq!(&rows.with_retired(&retired), ctx, "the split is lossless");
    let as_rows = CausalContext::from_bytes(&ctx.to_bytes()).unwrap();
    assert_eq!(&as_rows, ctx);
    sync_after_restarts(&paris, &mut others[0]);
    println!(
        "after {restarts} restarts in memory, retiring at each ({t:.1?}): in memory {}; \
         never retiring ({base_t:.1?}, {:.2}x the time): in memory {}; as rows only \
         (format 1) {} B; split: {} rows + {} retired records, {} B of records ({:.1} B \
         each), context bytes (format 2) {} B",
        in_memory(ctx),
        t.as_secs_f64() / base_t.as_secs_f64(),
        in_memory(base.context()),
        rows_only_bytes(ctx),
        rows.canonical_order().len(),
        retired.len(),
        retired.to_bytes().len(),
        retired.to_bytes().len() as f64 / retired.len().max(1) as f64,
        ctx.to_bytes().len(),
    );
}

/// Sync after many restarts: the bytes of a round between two peers holding `state` (one
/// names item in version 5), against the listing of every replica a version-4 round sent
/// (encoded by the same code: the items are unchanged), and the bytes and round trips to
/// find and ship one write of `writer` (one replica among all the incarnations) that only
/// one peer has. At the datagram-sized bound and at 64 KiB.
fn sync_after_restarts(state: &AnyState, writer: &mut AnyState) {
    use pluriverse_replica::sync::message::{Cover, Item, Message};
    let mut names = state.replicas_seen();
    names.sort();
    let t = Instant::now();
    let items: Vec<Item> = names
        .iter()
        .map(|n| Item {
            replica: n.clone(),
            lo: 1,
            hi: u64::MAX,
            summary: state.range_summary(n, 1, u64::MAX),
        })
        .collect();
    let summaries_time = t.elapsed();
    for max_message in [1200, 64 << 10] {
        // the version-4 round: the listing in messages of at most the bound
        let (mut v4_bytes, mut v4_msgs, mut at) = (0usize, 0usize, 0usize);
        while at < items.len() {
            let mut end = at + 1;
            let enc = |a: usize, e: usize| {
                Message::Summary {
                    cover: Some(Cover {
                        after: (a > 0).then(|| items[a - 1].replica.clone()),
                        upto: (e < items.len()).then(|| items[e - 1].replica.clone()),
                    }),
                    items: items[a..e].to_vec(),
                }
                .encode()
                .len()
            };
            // grow the message by doubling, then back off to the bound
            let mut step = 64;
            while end < items.len() && enc(at, (end + step).min(items.len())) <= max_message {
                end = (end + step).min(items.len());
                step *= 2;
            }
            while end < items.len() && enc(at, end + 1) <= max_message {
                end += 1;
            }
            v4_bytes += enc(at, end);
            v4_msgs += 1;
            at = end;
        }
        let cfg = Config {
            max_message,
            round_interval: Duration::from_secs(3600),
            ..Config::default()
        };
        let mut p = Peer::new(ty(), cfg).unwrap();
        let t = Instant::now();
        let mut round = 0usize;
        let mut round_msgs = 0;
        while let Some(m) = p.poll_transmit(Duration::ZERO, state) {
            round += m.len();
            round_msgs += 1;
        }
        let round_time = t.elapsed();
        // one write of one replica, at one peer only
        let d = writer
            .set(Scalar::Utf8("after-restarts".into()), Scalar::Int64(1))
            .unwrap();
        let mut a = state.clone();
        let mut b = state.clone();
        b.join(&d).unwrap();
        let s = sync_pair(&mut a, &mut b, max_message);
        println!(
            "  sync at {max_message} B, {} replicas known: a round between agreeing peers \
             {round} B in {round_msgs} message(s) ({round_time:.1?}), version 4 listed \
             {v4_bytes} B in {v4_msgs} messages a side ({:.0}x; its summaries alone \
             {summaries_time:.1?}); one changed replica found and shipped in {} B, {} \
             messages, {} round trips ({:.1?}; version 4: {v4_bytes} B a side in its first \
             round trip alone)",
            items.len(),
            v4_bytes as f64 / round as f64,
            s.bytes,
            s.messages,
            s.rounds,
            s.time,
        );
    }
}

/// The context as held in memory: its rows (replica table entries) and retired records,
/// with an estimate of their heap bytes (a row: its name, the name's `Arc` and hash-map
/// slot, its dot set; a record: 16 bytes of bits and prefix, plus each base name once).
fn in_memory(ctx: &CausalContext) -> String {
    let rows = ctx.table().len();
    let name_bytes: usize = ctx.table().names().iter().map(|n| n.as_bytes().len()).sum();
    let row_bytes = name_bytes
        + rows * (2 * (16 + std::mem::size_of::<pluriverse::ReplicaId>()) + 8)
        + rows * std::mem::size_of::<pluriverse::kernels::dots::ReplicaDots>();
    let records = ctx.retired().len();
    format!(
        "{rows} rows (about {row_bytes} B) + {records} retired records ({} B)",
        records * 16
    )
}

/// What format 1 of the standalone context (every replica a row) takes: per replica its
/// name's length and bytes, prefix, run count and runs, after a 13-byte header.
fn rows_only_bytes(ctx: &CausalContext) -> usize {
    let ctx = ctx.expanded();
    13 + ctx
        .canonical_order()
        .iter()
        .map(|&i| {
            let runs = ctx.dots().get(i).map_or(0, |d| d.cloud_runs().len());
            8 + ctx.table().names()[i as usize].as_bytes().len() + 16 + 16 * runs
        })
        .sum::<usize>()
}
