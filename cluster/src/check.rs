//! The checker: a plain model of an `MVMap` fed only by what clients were told (Jepsen's
//! history + checker split), and the final states it is held against. It knows nothing of
//! the engine, the nodes or the network.
//!
//! # Why the expected values are computable
//! The harness writes so that causality between the writes on a key is known without
//! watching the network:
//! - **Owned keys.** Every key but the contested ones belongs to one *chain*: one client
//!   thread of one node, writing it one request at a time. The node's successive
//!   incarnations (a restart from its own directory keeps every write it acknowledged) see
//!   each earlier write of the chain, so each write overwrites the one before, and a
//!   `remove` removes them all. After a restart from an *old copy* a node's chains start
//!   on fresh keys (the copy may lack the latest writes of the old ones, and a write there
//!   would be concurrent with them).
//! - **Unknown outcomes.** A request that failed (the node was killed, a timeout) may or
//!   may not have been applied; its chain ends there (the key is never written again), so
//!   the chain's final value is its last acknowledged one or the unknown one, nothing else.
//! - **Contested keys.** Right after a partition starts, one node on each side writes the
//!   same fresh key once, and both writes are answered before the partition heals: neither
//!   side can have seen the other's, so they are concurrent and an `MVMap` keeps both.
//!
//! So a key's expected value set is the union, over its chains, of one candidate each: the
//! last acknowledged write's value (with the exact dot it was acknowledged with), nothing
//! (after a `remove`, or when nothing was acknowledged), or the trailing unknown write's
//! value (with a dot of its node's name). The check also requires that no dot was
//! acknowledged for two writes, that no key appears that was never written, that every
//! acknowledged dot is in every final context, that every context is compact (no dot
//! outside the contiguous prefixes) and names only the cluster's nodes, and that all final
//! states have one digest.

use std::collections::{BTreeMap, HashMap};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, UInt32Type, UInt64Type};
use pluriverse::ReplicaId;
use pluriverse_any::AnyState;
use pluriverse_replica::identity::base_name;
use serde::Serialize;

/// How a write ended, as its client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Acknowledged, with the dot it was given (`counter` is `None` for a remove).
    Acked {
        /// The incarnation that wrote it.
        writer: String,
        /// Its counter.
        counter: Option<u64>,
    },
    /// The request failed: it may or may not have been applied.
    Unknown,
}

/// One write as the client saw it.
#[derive(Debug, Clone)]
pub struct Write {
    /// The node's name (its replica name).
    pub node: String,
    /// The key.
    pub key: String,
    /// Which chain of the key (0 for owned keys; 0 and 1 for the two sides of a contested
    /// key).
    pub chain: u32,
    /// The value set, `None` for a remove.
    pub value: Option<i64>,
    /// How it ended.
    pub outcome: Outcome,
}

/// One live entry of a final state.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    /// The value.
    pub value: i64,
    /// The dot's replica (incarnation).
    pub writer: String,
    /// The dot's counter.
    pub counter: u64,
}

/// The checker's verdict.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Check {
    /// Keys whose values were checked.
    pub keys_checked: u64,
    /// Of them, written concurrently on both sides of a partition.
    pub contested_keys: u64,
    /// Of them, with two values in the end (both contested writes kept).
    pub multi_value_keys: u64,
    /// Acknowledged writes whose dot was checked for uniqueness.
    pub dots_checked: u64,
    /// Final states compared.
    pub states: u64,
    /// What disagreed (empty = pass), at most a few lines.
    pub failures: Vec<String>,
    /// Number of disagreements found.
    pub failure_count: u64,
}

impl Check {
    fn fail(&mut self, m: String) {
        self.failure_count += 1;
        if self.failures.len() < 12 {
            self.failures.push(m);
        }
    }
}

/// What a chain may have left on its key.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Candidate {
    /// Nothing.
    Absent,
    /// This value with exactly this dot.
    Exact(Entry),
    /// This value with some dot of this node.
    Some { value: i64, node: String },
}

impl Candidate {
    fn show(&self) -> String {
        match self {
            Self::Absent => "nothing".into(),
            Self::Exact(e) => format!("{} at ({}, {})", e.value, e.writer, e.counter),
            Self::Some { value, node } => format!("{value} (unacknowledged, by {node})"),
        }
    }
}

/// The candidates each chain of each key leaves, from the history alone.
fn expected(history: &[Write]) -> (BTreeMap<String, Vec<Vec<Candidate>>>, Vec<String>) {
    let mut problems = Vec::new();
    let mut chains: BTreeMap<String, BTreeMap<u32, Vec<&Write>>> = BTreeMap::new();
    for w in history {
        chains
            .entry(w.key.clone())
            .or_default()
            .entry(w.chain)
            .or_default()
            .push(w);
    }
    let mut out = BTreeMap::new();
    for (key, cs) in chains {
        let mut per = Vec::new();
        for (chain, ws) in cs {
            if ws
                .iter()
                .rev()
                .skip(1)
                .any(|w| w.outcome == Outcome::Unknown)
            {
                problems.push(format!(
                    "history: key {key:?} chain {chain} is written after an unknown outcome"
                ));
            }
            let last_acked = ws.iter().rposition(|w| w.outcome != Outcome::Unknown);
            let mut cands = Vec::new();
            match last_acked.map(|i| ws[i]) {
                None => cands.push(Candidate::Absent),
                Some(w) => match (&w.outcome, w.value) {
                    (Outcome::Acked { .. }, None) => cands.push(Candidate::Absent),
                    (Outcome::Acked { writer, counter }, Some(v)) => match counter {
                        Some(c) => cands.push(Candidate::Exact(Entry {
                            value: v,
                            writer: writer.clone(),
                            counter: *c,
                        })),
                        None => problems.push(format!(
                            "history: the set of {key:?} to {v} was acknowledged without a dot"
                        )),
                    },
                    (Outcome::Unknown, _) => {}
                },
            }
            if let Some(w) = ws.last().filter(|w| w.outcome == Outcome::Unknown) {
                cands.push(match w.value {
                    Some(v) => Candidate::Some {
                        value: v,
                        node: w.node.clone(),
                    },
                    None => Candidate::Absent,
                });
            }
            per.push(cands);
        }
        out.insert(key, per);
    }
    (out, problems)
}

/// Whether choosing one candidate per chain can give exactly `found`.
fn matches(chains: &[Vec<Candidate>], found: &[Entry]) -> bool {
    fn go(chains: &[Vec<Candidate>], left: &mut Vec<Entry>) -> bool {
        let Some((first, rest)) = chains.split_first() else {
            return left.is_empty();
        };
        for c in first {
            match c {
                Candidate::Absent => {
                    if go(rest, left) {
                        return true;
                    }
                }
                Candidate::Exact(e) => {
                    if let Some(i) = left.iter().position(|x| x == e) {
                        let x = left.remove(i);
                        if go(rest, left) {
                            return true;
                        }
                        left.insert(i, x);
                    }
                }
                Candidate::Some { value, node } => {
                    let ok = |x: &Entry| {
                        x.value == *value
                            && base_name(&ReplicaId::from(x.writer.as_bytes()))
                                .is_some_and(|n| n.as_bytes() == node.as_bytes())
                    };
                    for i in 0..left.len() {
                        if ok(&left[i]) {
                            let x = left.remove(i);
                            if go(rest, left) {
                                return true;
                            }
                            left.insert(i, x);
                        }
                    }
                }
            }
        }
        false
    }
    go(chains, &mut found.to_vec())
}

/// The live entries of an `MVMap` with UTF-8 keys and `Int64` values, by key.
///
/// # Errors
/// A state of another type, or columns that are not what the state format says.
pub fn entries(state: &AnyState) -> Result<BTreeMap<String, Vec<Entry>>, String> {
    let (_, batches) = state
        .to_record_batches()
        .map_err(|e| format!("the state's record batches: {e}"))?;
    let mut out: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
    for b in batches {
        let col = |name: &str| {
            b.column_by_name(name)
                .ok_or_else(|| format!("the state has no column {name:?}"))
        };
        let keys = col("key")?
            .as_string_opt::<i32>()
            .ok_or("the keys are not UTF-8 (the cluster runs an MVMap of utf8 to int64)")?;
        let replicas = col("replica")?
            .as_dictionary_opt::<UInt32Type>()
            .ok_or("the replica column is not a dictionary")?;
        let names = replicas
            .values()
            .as_binary_opt::<i32>()
            .ok_or("the replica names are not binary")?;
        let counters = col("counter")?
            .as_primitive_opt::<UInt64Type>()
            .ok_or("the counters are not u64")?;
        let values = col("value")?
            .as_primitive_opt::<Int64Type>()
            .ok_or("the values are not int64")?;
        for i in 0..b.num_rows() {
            let r = replicas.keys().value(i) as usize;
            out.entry(keys.value(i).to_owned())
                .or_default()
                .push(Entry {
                    value: values.value(i),
                    writer: String::from_utf8_lossy(names.value(r)).into_owned(),
                    counter: counters.value(i),
                });
        }
    }
    for v in out.values_mut() {
        v.sort();
    }
    Ok(out)
}

/// Checks the final states (one per node, `names` the nodes' replica names) against the
/// history of writes.
pub fn check(history: &[Write], names: &[String], states: &[AnyState]) -> Check {
    let mut c = Check {
        states: states.len() as u64,
        ..Check::default()
    };
    // no dot acknowledged for two writes
    let mut dots: HashMap<(&str, u64), usize> = HashMap::new();
    for (i, w) in history.iter().enumerate() {
        if let Outcome::Acked {
            writer,
            counter: Some(n),
        } = &w.outcome
        {
            c.dots_checked += 1;
            if let Some(j) = dots.insert((writer.as_str(), *n), i) {
                let o = &history[j];
                c.fail(format!(
                    "dot ({writer}, {n}) acknowledged twice: {:?} = {:?} and {:?} = {:?}",
                    o.key, o.value, w.key, w.value
                ));
            }
            if base_name(&ReplicaId::from(writer.as_bytes()))
                .is_none_or(|b| b.as_bytes() != w.node.as_bytes())
            {
                c.fail(format!(
                    "a write to {} was acknowledged by {writer}, not one of its incarnations",
                    w.node
                ));
            }
        }
    }
    let (want, problems) = expected(history);
    for p in problems {
        c.fail(p);
    }
    c.contested_keys = want.values().filter(|cs| cs.len() > 1).count() as u64;
    let Some(first) = states.first() else {
        c.fail("no final state to check".into());
        return c;
    };
    let digest = first.digest();
    for (i, s) in states.iter().enumerate() {
        if s.digest() != digest {
            c.fail(format!(
                "node {i}'s final state has digest {:032x}, node 0's {digest:032x}",
                s.digest()
            ));
        }
        let ctx = s.context();
        if !ctx.is_compact() {
            c.fail(format!(
                "node {i}'s context is not compact: {} dots outside the prefixes",
                ctx.cloud_len()
            ));
        }
        let vv = ctx.version_vector();
        for (r, _) in vv.iter() {
            if base_name(r).is_none_or(|b| !names.iter().any(|n| n.as_bytes() == b.as_bytes())) {
                c.fail(format!(
                    "node {i}'s context names {:?}, no incarnation of a node",
                    String::from_utf8_lossy(r.as_bytes())
                ));
            }
        }
        for ((writer, n), _) in dots.iter() {
            let d = pluriverse::Dot::new(ReplicaId::from(writer.as_bytes()), *n);
            if !ctx.contains(&d) {
                c.fail(format!(
                    "node {i} never saw the acknowledged dot ({writer}, {n})"
                ));
            }
        }
    }
    // values: every node's state (equal digests make one enough, but a digest is not proof)
    for (i, s) in states.iter().enumerate() {
        let found = match entries(s) {
            Ok(f) => f,
            Err(e) => {
                c.fail(format!("node {i}: {e}"));
                continue;
            }
        };
        for k in found.keys() {
            if !want.contains_key(k) {
                c.fail(format!("node {i} holds {k:?}, a key never written"));
            }
        }
        for (k, chains) in &want {
            let got = found.get(k).map_or(&[][..], Vec::as_slice);
            if i == 0 {
                c.keys_checked += 1;
                if chains.len() > 1 && got.len() > 1 {
                    c.multi_value_keys += 1;
                }
            }
            if !matches(chains, got) {
                let cands: Vec<String> = chains
                    .iter()
                    .map(|cs| {
                        cs.iter()
                            .map(Candidate::show)
                            .collect::<Vec<_>>()
                            .join(" or ")
                    })
                    .collect();
                let got: Vec<String> = got
                    .iter()
                    .map(|e| format!("{} at ({}, {})", e.value, e.writer, e.counter))
                    .collect();
                c.fail(format!(
                    "node {i}, key {k:?}: expected {}; found [{}]",
                    cands.join(" together with "),
                    got.join(", ")
                ));
            }
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use pluriverse_any::{KeyType, Kind, Scalar, StateType, ValueType};

    fn ty() -> StateType {
        StateType::new(Kind::MVMap, KeyType::Utf8, Some(ValueType::Int64)).unwrap()
    }

    fn acked(
        node: &str,
        key: &str,
        chain: u32,
        v: Option<i64>,
        w: &AnyState,
        c: Option<u64>,
    ) -> Write {
        Write {
            node: node.into(),
            key: key.into(),
            chain,
            value: v,
            outcome: Outcome::Acked {
                writer: String::from_utf8_lossy(w.replica().as_bytes()).into_owned(),
                counter: c,
            },
        }
    }

    /// Two incarnations writing as the harness does, merged as the nodes would; the check
    /// passes, and each way of breaking the result is caught.
    #[test]
    fn the_model_accepts_the_semantics_and_catches_each_breakage() {
        let mut a = AnyState::new(ty(), "a#00000000000000aa");
        let mut b = AnyState::new(ty(), "b#00000000000000bb");
        let k = |s: &str| Scalar::Utf8(s.into());
        let mut h = Vec::new();
        // owned key x: set 1, set 2 (overwrites), owned key y: set 5, remove
        a.set(k("x"), Scalar::Int64(1)).unwrap();
        h.push(acked("a", "x", 0, Some(1), &a, Some(1)));
        a.set(k("x"), Scalar::Int64(2)).unwrap();
        h.push(acked("a", "x", 0, Some(2), &a, Some(2)));
        a.set(k("y"), Scalar::Int64(5)).unwrap();
        h.push(acked("a", "y", 0, Some(5), &a, Some(3)));
        a.remove(k("y")).unwrap();
        h.push(acked("a", "y", 0, None, &a, None));
        // contested key c: one write per side, concurrent
        a.set(k("c"), Scalar::Int64(10)).unwrap();
        h.push(acked("a", "c", 0, Some(10), &a, Some(4)));
        b.set(k("c"), Scalar::Int64(20)).unwrap();
        h.push(acked("b", "c", 1, Some(20), &b, Some(1)));
        // an unknown write on b's key z that was applied
        b.set(k("z"), Scalar::Int64(7)).unwrap();
        h.push(Write {
            node: "b".into(),
            key: "z".into(),
            chain: 0,
            value: Some(7),
            outcome: Outcome::Unknown,
        });
        // an unknown write that was not applied
        h.push(Write {
            node: "b".into(),
            key: "w".into(),
            chain: 0,
            value: Some(8),
            outcome: Outcome::Unknown,
        });
        let mut m = a.clone();
        m.join(&b).unwrap();
        let mut m2 = b.clone();
        m2.join(&a).unwrap();
        let names = vec!["a".to_string(), "b".to_string()];
        let ok = check(&h, &names, &[m.clone(), m2]);
        assert!(ok.failures.is_empty(), "{:?}", ok.failures);
        assert_eq!(
            (ok.keys_checked, ok.contested_keys, ok.multi_value_keys),
            (5, 1, 1)
        );

        // a lost acknowledged write: the state lacks b's side of c
        let lost = a.clone();
        let r = check(&h, &names, &[lost]);
        assert!(
            r.failures.iter().any(|f| f.contains("\"c\"")),
            "{:?}",
            r.failures
        );
        // a dot acknowledged twice
        let mut h2 = h.clone();
        h2.push(acked("a", "q", 0, Some(3), &a, Some(1)));
        let r = check(&h2, &names, std::slice::from_ref(&m));
        assert!(
            r.failures.iter().any(|f| f.contains("acknowledged twice")),
            "{:?}",
            r.failures
        );
        // a value nobody wrote
        let mut bad = m.clone();
        let mut c = AnyState::new(ty(), "a#00000000000000cc");
        c.set(k("x"), Scalar::Int64(99)).unwrap();
        bad.join(&c).unwrap();
        let r = check(&h, &names, &[bad]);
        assert!(
            r.failures.iter().any(|f| f.contains("\"x\"")),
            "{:?}",
            r.failures
        );
        // a stranger in the context, a key never written
        let mut s = AnyState::new(ty(), "eve#00000000000000ee");
        s.set(k("evil"), Scalar::Int64(1)).unwrap();
        let mut bad = m.clone();
        bad.join(&s).unwrap();
        let r = check(&h, &names, &[bad]);
        assert!(
            r.failures.iter().any(|f| f.contains("never written")),
            "{:?}",
            r.failures
        );
        assert!(
            r.failures.iter().any(|f| f.contains("\"eve#")),
            "{:?}",
            r.failures
        );
        // states that differ
        let r = check(&h, &names, &[m.clone(), a.clone()]);
        assert!(
            r.failures.iter().any(|f| f.contains("digest")),
            "{:?}",
            r.failures
        );
        // a chain written after an unknown outcome is a broken history
        let mut h3 = h.clone();
        h3.push(acked("b", "w", 0, Some(9), &b, Some(2)));
        let r = check(&h3, &names, &[m]);
        assert!(
            r.failures.iter().any(|f| f.contains("after an unknown")),
            "{:?}",
            r.failures
        );
    }
}
