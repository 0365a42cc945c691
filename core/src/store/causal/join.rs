//! The join's entry points and the choice between the full and the incremental algorithm.

use std::borrow::Cow;

use pluriverse_kernels::dots::DotContext;

use super::CausalStore;
use crate::item::Item;
use crate::store::run::{Remapped, Run, SCAN_ROWS};
use pluriverse_kernels::interleave::Pick;

/// Joins whose other side costs more than 1/INCREMENTAL_FRACTION of this store take the
/// full merge path.
const INCREMENTAL_FRACTION: usize = 8;

/// Which algorithm a join uses. Both give the same state; [`JoinPath::Auto`] picks by cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum JoinPath {
    /// Incremental when the other side is small against this store, full otherwise.
    #[default]
    Auto,
    /// Mark removed rows deleted in place and add the new entries as a new run: costs what
    /// the other side carries (plus a lookup per dot), not what this store holds.
    Incremental,
    /// Merge both sides' sorted entries into one new run: one sequential pass over both.
    Full,
}

/// The other side of a join, with replica indices already mapped into ours.
pub(super) struct Incoming<'a, K: Item, V: Item> {
    pub(super) run: Cow<'a, Run<K, V>>,
    /// The run's replica column in our indices where the tables differ (the run's own is
    /// then in the other's), in the run's row order.
    pub(super) replica: Option<Vec<u32>>,
    /// The order of the run's rows under our indices where it differs from the run's own:
    /// row `order[k].index()` is the `k`-th (see [`Run::remapped`]).
    pub(super) order: Option<Vec<Pick>>,
    pub(super) ctx: Cow<'a, DotContext>,
}

impl<K: Item, V: Item> Incoming<'_, K, V> {
    /// The run's replica column, in our indices.
    pub(super) fn replica(&self) -> &[u32] {
        self.replica.as_deref().unwrap_or(&self.run.replica)
    }
}

impl<K: Item, V: Item> CausalStore<K, V> {
    /// `other` in this store's replica indices, given `map` (their index -> ours). Borrows
    /// `other`'s data when the indices already agree.
    fn incoming<'a>(other: &'a Self, map: &[u32]) -> Incoming<'a, K, V> {
        let src = other.merged_cow();
        if is_identity(map) {
            return Incoming {
                run: src,
                replica: None,
                order: None,
                ctx: Cow::Borrowed(other.ctx.dots()),
            };
        }
        let mut ctx = DotContext::new();
        for (theirs, &ours) in other.ctx.dots().replicas().iter().zip(map) {
            *ctx.replica_mut(ours) = theirs.clone();
        }
        // only the replica column changes (and, for some keys, the order of their rows):
        // the other columns are read where they are
        let Remapped { replica, order } = src.remapped(map);
        Incoming {
            run: src,
            replica: Some(replica),
            order,
            ctx: Cow::Owned(ctx),
        }
    }

    /// Joins `other` (a delta or a whole state) into this store.
    ///
    /// For trusted input: a dot that the two sides bind to different contents (which no
    /// honest pair of replicas does) is not detected, and which content survives depends on
    /// the algorithm. Bytes from elsewhere go through [`Self::try_join`] or
    /// [`Self::join_checked`].
    pub fn join(&mut self, other: &Self) {
        self.join_with(other, JoinPath::Auto);
    }

    /// [`CausalStore::join`] with the algorithm chosen by the caller (tests and benches pin
    /// each path; the result does not depend on it).
    pub fn join_with(&mut self, other: &Self, path: JoinPath) {
        // unchecked: nothing to refuse
        let _ = self.join_inner::<false>(other, path);
    }

    /// Joins `other`, refusing it when it binds a dot to other contents than this store does
    /// (the same dot with another key or value: proof that a replica equivocated or that the
    /// bytes were forged). The check costs only on dots both sides hold (plus the dots each
    /// side drops, on the full-merge path); the join is otherwise [`Self::join`].
    ///
    /// # Errors
    /// [`crate::Error::Equivocation`] naming the replica and counter of the smallest such
    /// dot; the store is unchanged (but for the interning of the other's replica names,
    /// which no read, digest or encoding sees).
    pub fn try_join(&mut self, other: &Self) -> crate::Result<()> {
        self.try_join_with(other, JoinPath::Auto)
    }

    /// [`Self::try_join`] with a pinned algorithm.
    ///
    /// # Errors
    /// As [`Self::try_join`].
    pub fn try_join_with(&mut self, other: &Self, path: JoinPath) -> crate::Result<()> {
        self.join_inner::<true>(other, path)
            .map_err(|(r, c)| crate::Error::Equivocation {
                replica: self.ctx.table().names()[r as usize].to_string(),
                counter: c,
            })
    }

    /// [`Self::try_join`] by the replica `me` that holds this store, which also refuses a
    /// context claiming dots of `me` beyond the highest this store knows `me` issued: no
    /// honest peer can have seen them, so the claim is a forgery, or this store is a rollback
    /// (a restored old copy, which must rejoin under a new name: DESIGN, "A dot is never
    /// issued twice"). Joining such a claim would make `me`'s next writes look removed to
    /// everyone who has joined it.
    ///
    /// # Errors
    /// [`crate::Error::ForeignClaim`], or as [`Self::try_join`]; the store is unchanged.
    pub fn join_checked(&mut self, other: &Self, me: &crate::ReplicaId) -> crate::Result<()> {
        let max_of = |s: &Self| s.ctx.max_counter(me);
        let (claimed, issued) = (max_of(other), max_of(self));
        if claimed > issued {
            return Err(crate::Error::ForeignClaim {
                replica: me.to_string(),
                counter: claimed,
                issued,
            });
        }
        self.try_join(other)
    }

    /// The join; with `CHECK`, refused before anything changes when a dot is bound to two
    /// contents (returned in our replica indices).
    fn join_inner<const CHECK: bool>(
        &mut self,
        other: &Self,
        path: JoinPath,
    ) -> Result<(), (u32, u64)> {
        let promoted = self.promote_for_join(other);
        let other: &Self = &promoted;
        let map = self.ctx.table_mut().absorb(other.ctx.table());
        // Into a store that holds no entry and has seen no dot (a replica starting empty
        // taking a peer's state), the join is the other's rows as they are, none dropped:
        // share its runs, so no row is copied and the dot indexes built on them stay (the
        // pinned paths, which tests compare with this one, always merge).
        if matches!(path, JoinPath::Auto)
            && self.runs.is_empty()
            && self.ctx.dots().replicas().iter().all(|d| d.is_empty())
            && is_identity(&map)
        {
            self.runs = other.runs.clone();
            self.ctx.dots_mut().union_with(other.ctx.dots());
            self.ctx.merge_retired(other.ctx.retired());
            return Ok(());
        }
        let incremental = match path {
            JoinPath::Incremental => true,
            JoinPath::Full => false,
            JoinPath::Auto => {
                self.incremental_cost(other, &map) * INCREMENTAL_FRACTION <= self.len().max(1024)
            }
        };
        let res = if incremental {
            self.join_incremental::<CHECK>(other, &map)
        } else {
            self.join_full::<CHECK>(Self::incoming(other, &map))
        };
        if res.is_ok() {
            self.ctx.merge_retired(other.ctx.retired());
        }
        res
    }

    /// Rows the incremental path would touch: the other's entries, its cloud dots, and our
    /// entries under its prefixes. The last are counted exactly in runs that are short or
    /// already indexed by dot, and bounded by what our context holds of those prefixes in
    /// the others (estimating must not build an index the full path would not use).
    fn incremental_cost(&self, other: &Self, map: &[u32]) -> usize {
        let mut cost = other.len() + other.ctx.dots().cloud_len() as usize;
        for (r, d) in other.ctx.dots().replicas().iter().enumerate() {
            let ours = map[r];
            let Some(seen) = self.ctx.dots().get(ours) else {
                continue;
            };
            let p = d.prefix();
            if p == 0 || !self.seen_any(ours, p) {
                continue;
            }
            let bound = seen.prefix().min(p).saturating_add(seen.cloud().rank(p));
            for run in &self.runs {
                cost += if run.rows() <= SCAN_ROWS || run.has_dot_index() {
                    run.dot_range(ours, 1, p).len()
                } else {
                    usize::try_from(bound).unwrap_or(usize::MAX).min(run.rows())
                };
            }
        }
        cost
    }

    /// Whether our context holds any dot of `replica` with a counter in `1..=upto`.
    pub(super) fn seen_any(&self, replica: u32, upto: u64) -> bool {
        self.ctx
            .dots()
            .get(replica)
            .is_some_and(|d| d.prefix() > 0 || d.cloud().min().is_some_and(|m| m <= upto))
    }
}

/// Whether `map` sends every index to itself.
fn is_identity(map: &[u32]) -> bool {
    map.iter().enumerate().all(|(i, &m)| m as usize == i)
}
