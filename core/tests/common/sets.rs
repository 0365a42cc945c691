//! The naive model the join tests compare against: a store's entries and context as plain
//! sets of dots, the join as the paper's formula, and a map's reads in a canonical order.

use std::collections::{BTreeMap, BTreeSet};

use pluriverse::{CausalContext, CausalStore, Item, MVMap};

/// A dot as the model sees it: the replica's name and a counter.
pub type Dot = (String, u64);
/// A store as the model sees it: its entries `(key, dot, value)` and its context.
pub type Model = (BTreeSet<(u64, Dot, u64)>, BTreeSet<Dot>);

/// A store's entries and context as plain sets.
pub fn model(s: &CausalStore<u64, u64>) -> Model {
    let entries = s
        .entries()
        .into_iter()
        .map(|(k, r, c, v)| (k, (r.to_string(), c), v))
        .collect();
    (entries, ctx_set(s.context()))
}

/// Every dot a context holds, one by one (its rows' prefixes and clouds).
pub fn ctx_set(c: &CausalContext) -> BTreeSet<Dot> {
    let mut out = BTreeSet::new();
    for (name, d) in c.table().names().iter().zip(c.dots().replicas()) {
        out.extend((1..=d.prefix()).map(|k| (name.to_string(), k)));
        out.extend(d.cloud().iter().map(|k| (name.to_string(), k)));
    }
    out
}

/// The join formula: an entry survives when both hold it or the other has not seen its dot.
pub fn model_join(a: &mut Model, b: &Model) {
    let keep_a =
        a.0.iter()
            .filter(|e| b.0.contains(e) || !b.1.contains(&e.1));
    let keep_b =
        b.0.iter()
            .filter(|e| a.0.contains(e) || !a.1.contains(&e.1));
    a.0 = keep_a.chain(keep_b).cloned().collect();
    a.1.extend(b.1.iter().cloned());
}

/// What a map shows a reader: every key's values, sorted.
pub fn reads<K: Item + Ord, V: Item + Ord>(m: &MVMap<K, V>) -> BTreeMap<K, Vec<V>> {
    m.keys()
        .into_iter()
        .map(|k| {
            let mut v = m.get(&k);
            v.sort_unstable();
            (k, v)
        })
        .collect()
}
