//! `delta_since`: the entries and context a peer with a given context needs.

use pluriverse_kernels::dots::{DotContext, ReplicaDots};
use roaring::RoaringTreemap;

use super::CausalStore;
use crate::context::CausalContext;
use crate::item::Item;
use crate::store::run::Run;

/// `delta_since` spells out at most this many counters of one replica's prefix in a bitmap
/// before it ships the whole state instead.
const MAX_SPELLED_RANGE: u64 = 1 << 32;

impl<K: Item, V: Item> CausalStore<K, V> {
    /// The delta a peer whose context is `peer` needs: every entry whose dot the peer has
    /// not seen, and a context that tells it what we removed. Joining the result into the
    /// peer gives exactly what joining this whole store would give.
    ///
    /// The delta's context is `C - (S ∩ C_peer)`: all we have seen, except the dots we still
    /// hold that the peer has seen too (which it must keep, not treat as removed).
    pub fn delta_since(&self, peer: &CausalContext) -> Self {
        let table = self.ctx.table();
        // our replica index -> peer's dots
        let empty = ReplicaDots::new();
        let peer_dots: Vec<&ReplicaDots> = table
            .names()
            .iter()
            .map(|n| {
                peer.table()
                    .get(n)
                    .and_then(|i| peer.dots().get(i))
                    .unwrap_or(&empty)
            })
            .collect();
        let all = self.merged();
        let mut run = Run::default();
        let mut holes: Vec<RoaringTreemap> = vec![RoaringTreemap::new(); table.len()];
        for i in 0..all.rows() {
            let (r, c) = (all.replica[i], all.counter[i]);
            if peer_dots[r as usize].contains(c) {
                holes[r as usize].insert(c);
            } else {
                run.push_row(&all, i, r);
            }
        }
        let mut dots = DotContext::new();
        for (r, d) in self.ctx.dots().replicas().iter().enumerate() {
            let h = &holes[r];
            let slot = if h.is_empty() {
                d.clone()
            } else {
                // 1..first_hole stays a prefix; from the first hole on, the range is spelled
                // out in the bitmap. A range too long to spell out (a replica that issued
                // billions of events before a dot we still hold) falls back to the whole
                // state, which is always a correct delta.
                let first_hole = h.min().unwrap_or(1);
                if d.prefix().saturating_sub(first_hole) > MAX_SPELLED_RANGE {
                    return self.clone();
                }
                let mut set = d.cloud().clone();
                if d.prefix() >= first_hole {
                    set.insert_range(first_hole..=d.prefix());
                }
                set -= h;
                ReplicaDots::from_parts(first_hole.min(d.prefix() + 1) - 1, set)
            };
            *dots.replica_mut(r as u32) = slot;
        }
        Self {
            ctx: CausalContext::from_parts(table.clone(), dots),
            runs: if run.rows() > 0 { vec![run] } else { vec![] },
        }
    }
}
