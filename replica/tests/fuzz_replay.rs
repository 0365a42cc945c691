//! Replays the `sync_message` fuzz target's committed corpus (`fuzz/seeds/sync_message/`),
//! every crasher ever found (`fuzz/regressions/sync_message/`), and a seeded slice of
//! mutations of real messages through the checks the fuzzer runs, so CI keeps checking
//! them on stable Rust without libFuzzer.

use std::path::PathBuf;

#[path = "../../fuzz/logic/sync_message.rs"]
mod sync_message;

fn corpus() -> Vec<Vec<u8>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut out = vec![];
    for dir in ["seeds", "regressions"] {
        let Ok(rd) = std::fs::read_dir(root.join(dir).join("sync_message")) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = rd.map(|e| e.unwrap().path()).collect();
        paths.sort();
        out.extend(
            paths
                .iter()
                .filter(|p| p.is_file())
                .map(|p| std::fs::read(p).unwrap()),
        );
    }
    out
}

#[test]
fn sync_message_corpus_and_mutations() {
    let files = corpus();
    assert!(files.len() >= 10, "fuzz/seeds/sync_message holds the seeds");
    let seeds = sync_message::seeds();
    let mut rng = pluriverse_testkit::SplitMix64(0x5EED);
    let mut next = move || rng.next_u64();
    let mut n = 0;
    for s in files.iter().chain(&seeds) {
        sync_message::check(s);
        for _ in 0..6 {
            let mut m = s.clone();
            match next() % 4 {
                0 => m.truncate((next() as usize) % m.len().max(1)),
                1 => {
                    let i = (next() as usize) % m.len().max(1);
                    if let Some(b) = m.get_mut(i) {
                        *b ^= 1 << (next() % 8);
                    }
                }
                2 => {
                    // drop the checksum: `check` re-seals the rest, reaching the structure
                    m.truncate(m.len().saturating_sub(8));
                    let i = (next() as usize) % m.len().max(1);
                    if let Some(b) = m.get_mut(i) {
                        *b = next() as u8;
                    }
                }
                _ => m.extend((0..1 + next() % 9).map(|_| next() as u8)),
            }
            sync_message::check(&m);
            n += 1;
        }
    }
    assert!(n > 100);
}

/// Writes the committed seeds (`cargo test -p pluriverse-replica --test fuzz_replay --
/// --ignored`): one real message of each shape per few types, and their bodies without the
/// checksum (which `check` re-seals).
#[test]
#[ignore]
fn write_sync_message_seeds() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/sync_message");
    std::fs::create_dir_all(&dir).unwrap();
    let seeds = sync_message::seeds();
    for (i, s) in seeds.iter().enumerate().step_by((seeds.len() / 24).max(1)) {
        std::fs::write(dir.join(format!("msg-{i:03}")), s).unwrap();
    }
    // every dots message (fewer of them, and the newest shape)
    for (i, s) in seeds.iter().enumerate() {
        if s.get(4) == Some(&3) {
            std::fs::write(dir.join(format!("dots-{i:03}")), s).unwrap();
        }
        // and every compressed data message, plain (type 4) or in columns (type 6)
        if s.get(4) == Some(&4) {
            std::fs::write(dir.join(format!("zdata-{i:03}")), s).unwrap();
        }
        // and every names message
        if s.get(4) == Some(&5) {
            std::fs::write(dir.join(format!("names-{i:03}")), s).unwrap();
        }
        if s.get(4) == Some(&6) {
            std::fs::write(dir.join(format!("cdata-{i:03}")), s).unwrap();
        }
    }
}
