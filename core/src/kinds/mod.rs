//! The record kinds: maps over millions of keys, each key holding a small CRDT.

pub mod awset;
pub mod mvmap;

/// Sorts `keys` by `(hash, key)` and keeps the last occurrence of each key: a batch that
/// writes a key twice means its last write. Returns row indices into `keys`.
pub(crate) fn last_per_key<K: crate::item::Item>(keys: &[K]) -> Vec<(u64, usize)> {
    let mut idx: Vec<(u64, usize)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.hash64(), i))
        .collect();
    idx.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| keys[a.1].total_cmp(&keys[b.1]))
            .then_with(|| a.1.cmp(&b.1))
    });
    let mut out: Vec<(u64, usize)> = Vec::with_capacity(idx.len());
    for (h, i) in idx {
        match out.last_mut() {
            Some(last) if last.0 == h && keys[last.1].total_cmp(&keys[i]).is_eq() => *last = (h, i),
            _ => out.push((h, i)),
        }
    }
    out
}
