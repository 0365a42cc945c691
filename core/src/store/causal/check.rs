//! The store's internal validation (roaring's `internal_validate`): tests and fuzz targets
//! call it after every operation.

use std::collections::HashSet;

use super::CausalStore;
use crate::item::{Item, ItemCol};

impl<K: Item, V: Item> CausalStore<K, V> {
    /// Checks the store's invariants and returns the first one broken: every run sorted
    /// strictly by `(hash, key, replica, counter)` with each hash equal to `xxh3(key)`; no
    /// dot live twice; every live entry's dot in the context and its replica in the table;
    /// contexts canonical (clouds strictly above `prefix + 1`); no replica both a row with
    /// dots and a retired record (a record holds no entry: entries' replicas are rows). Tests and fuzz targets call
    /// it after every operation.
    ///
    /// # Errors
    /// A description of the first broken invariant.
    pub fn check_invariants(&self) -> std::result::Result<(), String> {
        let mut seen = HashSet::new();
        let mut buf = Vec::new();
        for (n, run) in self.runs.iter().enumerate() {
            for i in 0..run.rows() {
                buf.clear();
                run.keys.write_at(i, &mut buf);
                if run.hash[i] != xxhash_rust::xxh3::xxh3_64(&buf) {
                    return Err(format!("run {n} row {i}: hash is not xxh3 of the key"));
                }
                if i > 0 && !run.cmp_rows(i - 1, run, i).is_lt() {
                    return Err(format!("run {n} row {i}: out of order"));
                }
                if !run.is_live(i) {
                    continue;
                }
                let (r, c) = (run.replica[i], run.counter[i]);
                if r as usize >= self.ctx.table().len() {
                    return Err(format!("run {n} row {i}: replica {r} not in the table"));
                }
                if !self.ctx.dots().contains(r, c) {
                    return Err(format!(
                        "run {n} row {i}: dot ({r}, {c}) not in the context"
                    ));
                }
                if !seen.insert((r, c)) {
                    return Err(format!("run {n} row {i}: dot ({r}, {c}) live twice"));
                }
            }
        }
        let names = self.ctx.table().names();
        for (r, d) in self.ctx.dots().replicas().iter().enumerate() {
            if !d.is_empty() && self.ctx.retired().prefix(&names[r]) > 0 {
                return Err(format!(
                    "replica {r}: both a row with dots and a retired record"
                ));
            }
            if d.cloud()
                .min()
                .is_some_and(|m| m <= d.prefix().saturating_add(1))
            {
                return Err(format!("replica {r}: context not compact"));
            }
        }
        Ok(())
    }
}
