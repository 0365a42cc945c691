//! `delta_since`: the entries and context a peer with a given context needs.
//!
//! It costs what it ships: the entries the peer lacks come from each run's dot index (the
//! rows of a replica above the peer's prefix), and the dots the peer has seen that we
//! removed are found by bisecting counter ranges, comparing what the context holds of a
//! range with what the runs still hold live there (the dot-index sums make each count
//! O(log rows)); a range where the two agree is skipped whole. Only a context with very
//! many scattered removals falls back to one pass over the merged rows.

use pluriverse_kernels::dots::{DotContext, ReplicaDots};
use roaring::RoaringTreemap;

use super::CausalStore;
use crate::context::CausalContext;
use crate::item::Item;
use crate::store::run::Run;

/// `delta_since` spells out at most this many counters of one replica's prefix in a bitmap
/// before it ships the whole state instead.
const MAX_SPELLED_RANGE: u64 = 1 << 32;

/// Counter ranges the indexed path may bisect, per row of the store (plus a floor), before
/// it gives up for the scan: each costs a few O(log rows) lookups per run.
const BISECT_PER_ROWS: usize = 64;
const BISECT_FLOOR: usize = 4096;

/// The dots of `a` that are also in `b`.
fn intersect(a: &ReplicaDots, b: &ReplicaDots) -> ReplicaDots {
    let (lo, hi) = if a.prefix() <= b.prefix() {
        (a, b)
    } else {
        (b, a)
    };
    // above the shorter prefix: the shorter one's cloud within the longer one's set
    let p = lo.prefix();
    let mut cloud = lo.cloud() & hi.cloud();
    let mut under = lo.cloud().clone();
    if hi.prefix() < u64::MAX {
        under.remove_range(hi.prefix() + 1..);
    }
    cloud |= under;
    ReplicaDots::from_parts(p, cloud)
}

/// Dots of `d` in `lo..=hi` (`lo >= 1`).
fn count_in(d: &ReplicaDots, lo: u64, hi: u64) -> u64 {
    let p = d.prefix().min(hi);
    let from_prefix = if p >= lo { p - lo + 1 } else { 0 };
    let c = d.cloud();
    from_prefix + c.rank(hi) - c.rank(lo - 1)
}

/// Number of values of the sorted `v` in `lo..=hi`.
fn sorted_count(v: &[u64], lo: u64, hi: u64) -> u64 {
    (v.partition_point(|&c| c <= hi) - v.partition_point(|&c| c < lo)) as u64
}

impl<K: Item, V: Item> CausalStore<K, V> {
    /// The delta a peer whose context is `peer` needs: every entry whose dot the peer has
    /// not seen, and a context that tells it what we removed. Joining the result into the
    /// peer gives exactly what joining this whole store would give.
    ///
    /// The delta's context is `C - (S ∩ C_peer)`: all we have seen, except the dots we still
    /// hold that the peer has seen too (which it must keep, not treat as removed). It costs
    /// what it ships, not a pass over the store: the entries the peer lacks come from the
    /// runs' dot indexes, the removals it must learn from bisecting counter ranges (a
    /// context with very many scattered removals falls back to one pass).
    ///
    /// # Example
    /// ```
    /// use pluriverse::MVMap;
    /// let mut a: MVMap<u64, u64> = MVMap::new("a");
    /// a.set_many(&(0..1000).collect::<Vec<_>>(), &[1; 1000]).unwrap();
    /// let mut b: MVMap<u64, u64> = MVMap::new("b");
    /// b.join(a.store());
    /// a.set(5, 2).unwrap();
    /// a.remove(&7);
    /// let d = a.store().delta_since(b.context());
    /// assert_eq!(d.len(), 1); // the new value of key 5 only
    /// b.join(&d);
    /// assert_eq!(b.digest(), a.digest());
    /// ```
    pub fn delta_since(&self, peer: &CausalContext) -> Self {
        let peer = peer.expanded();
        let mut out = self
            .delta_since_indexed(&peer)
            .unwrap_or_else(|| self.delta_since_scan_rows(&peer));
        out.add_records_for(self);
        out
    }

    /// Adds to this delta of `from` the records of `from`, as rows. A record holds no
    /// entry, so all its dots go, as for a row without entries: those the peer lacks, and
    /// those it has seen, which remove the entries of them it may still hold.
    fn add_records_for(&mut self, from: &Self) {
        for (name, m) in from.ctx.retired().iter() {
            if self.ctx.max_counter(&name) < m {
                self.ctx
                    .insert_range(&name, 1, m)
                    .unwrap_or_else(|_| unreachable!("a record's prefix is at least 1"));
            }
        }
    }

    /// The peer's dots of each of our replica indices.
    fn peer_dots<'a>(
        &self,
        peer: &'a CausalContext,
        empty: &'a ReplicaDots,
    ) -> Vec<&'a ReplicaDots> {
        self.ctx
            .table()
            .names()
            .iter()
            .map(|n| {
                peer.table()
                    .get(n)
                    .and_then(|i| peer.dots().get(i))
                    .unwrap_or(empty)
            })
            .collect()
    }

    /// [`Self::delta_since`] through the dot indexes; `None` when a context has too many
    /// scattered removals for bisection to pay (or a range too long to spell out: the
    /// caller then scans, which decides the same way).
    fn delta_since_indexed(&self, peer: &CausalContext) -> Option<Self> {
        let empty = ReplicaDots::new();
        let peer_dots = self.peer_dots(peer, &empty);
        let rows: usize = self.runs.iter().map(|r| r.rows()).sum();
        let mut budget = BISECT_FLOOR + rows / BISECT_PER_ROWS;
        // (run, row) of every entry to ship
        let mut ship: Vec<(usize, usize)> = Vec::new();
        let mut dots = DotContext::new();
        for (r, ours) in self.ctx.dots().replicas().iter().enumerate() {
            let theirs = peer_dots[r];
            let r32 = r as u32;
            // entries of r the peer has not seen: all lie above its prefix
            let mut shipped: Vec<u64> = Vec::new();
            if theirs.prefix() < u64::MAX {
                for (ri, run) in self.runs.iter().enumerate() {
                    let ids = run.by_dot();
                    for &row in &ids[run.dot_range(r32, theirs.prefix() + 1, u64::MAX)] {
                        let row = row as usize;
                        let c = run.counter[row];
                        if run.is_live(row) && !theirs.cloud().contains(c) {
                            ship.push((ri, row));
                            shipped.push(c);
                        }
                    }
                }
            }
            shipped.sort_unstable();
            let both = intersect(ours, theirs);
            if both.is_empty() {
                *dots.replica_mut(r32) = ours.clone();
                continue;
            }
            let top = both.max();
            let live_seen = |lo: u64, hi: u64| -> u64 {
                let live: u64 = self
                    .runs
                    .iter()
                    .map(|run| run.live_sum(r32, lo, hi).0)
                    .sum();
                live - sorted_count(&shipped, lo, hi)
            };
            if live_seen(1, top) == 0 {
                // nothing we hold is in the peer's context: our whole context is correct
                *dots.replica_mut(r32) = ours.clone();
                continue;
            }
            // the dots of `both` we no longer hold: bisect where the counts differ. Each
            // scattered removed dot costs a path of bisections: when there are too many
            // for the budget, the scan is cheaper (decided before spending any)
            let gone = count_in(&both, 1, top) - live_seen(1, top);
            let depth = 64 - top.leading_zeros() as usize;
            if usize::try_from(gone).map_or(true, |g| g.saturating_mul(2 * depth) > budget) {
                return None;
            }
            let mut removed = RoaringTreemap::new();
            let mut stack = vec![(1u64, top)];
            while let Some((lo, hi)) = stack.pop() {
                if budget == 0 {
                    return None;
                }
                budget -= 1;
                let seen = count_in(&both, lo, hi);
                if seen == 0 {
                    continue;
                }
                let live = live_seen(lo, hi);
                if live == seen {
                    continue;
                }
                if live == 0 {
                    // all of `both` in the range is removed
                    let p = both.prefix().min(hi);
                    if p >= lo {
                        if p - lo >= MAX_SPELLED_RANGE {
                            return None;
                        }
                        removed.insert_range(lo..=p);
                    }
                    let mut it = both.cloud().iter();
                    it.advance_to(lo);
                    for c in it.take_while(|&c| c <= hi) {
                        removed.insert(c);
                    }
                    continue;
                }
                // live > 0 and live < seen: at least two counters in the range
                let mid = lo + (hi - lo) / 2;
                stack.push((mid + 1, hi));
                stack.push((lo, mid));
            }
            // C - (S ∩ P) = (C - P) ∪ (removed dots of C ∩ P)
            let mut set = ours.cloud() - theirs.cloud();
            if ours.prefix() > theirs.prefix() {
                if ours.prefix() - theirs.prefix() > MAX_SPELLED_RANGE {
                    return None;
                }
                let mut range = RoaringTreemap::new();
                range.insert_range(theirs.prefix() + 1..=ours.prefix());
                set |= &range - theirs.cloud();
            }
            set.remove_range(..=theirs.prefix());
            set |= removed;
            *dots.replica_mut(r32) = ReplicaDots::from_parts(0, set);
        }
        // the shipped rows, in store order within each run (as `slice` builds them)
        ship.sort_unstable();
        let mut runs: Vec<Run<K, V>> = Vec::new();
        let mut cur: Option<(usize, Run<K, V>)> = None;
        for (ri, row) in ship {
            if cur.as_ref().is_some_and(|(i, _)| *i != ri) {
                runs.extend(cur.take().map(|(_, run)| run));
            }
            let (_, run) = cur.get_or_insert_with(|| (ri, Run::default()));
            run.push_row(&self.runs[ri], row, self.runs[ri].replica[row]);
        }
        runs.extend(cur.map(|(_, run)| run));
        let mut out = Self {
            ctx: CausalContext::from_parts(self.ctx.table().clone(), dots),
            runs: runs.into_iter().map(Into::into).collect(),
        };
        out.compact_runs();
        Some(out)
    }

    /// [`Self::delta_since`] by one pass over the merged rows: the reference the indexed
    /// path is tested against, and its fallback.
    #[doc(hidden)]
    pub fn delta_since_scan(&self, peer: &CausalContext) -> Self {
        let peer = peer.expanded();
        let mut out = self.delta_since_scan_rows(&peer);
        out.add_records_for(self);
        out
    }

    /// [`Self::delta_since_scan`] for our rows, given a peer context without records.
    fn delta_since_scan_rows(&self, peer: &CausalContext) -> Self {
        let table = self.ctx.table();
        let empty = ReplicaDots::new();
        let peer_dots = self.peer_dots(peer, &empty);
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
            runs: if run.rows() > 0 {
                vec![run.into()]
            } else {
                vec![]
            },
        }
    }
}
