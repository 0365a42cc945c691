//! Local writes: the one delta-writing primitive every mutator uses (reserve dots, cover
//! what the writer saw of its keys, push the rows, join the delta and return it).

use pluriverse_kernels::dots::DotContext;

use super::CausalStore;
use crate::context::CausalContext;
use crate::item::Item;
use crate::store::run::Run;

impl<K: Item, V: Item> CausalStore<K, V> {
    /// Reserves the next `n >= 1` counters of `replica`: returns its index and the first.
    ///
    /// # Errors
    /// [`crate::Error::CounterOverflow`] when the last would exceed `u64::MAX`; nothing changes
    /// but the (harmless) interning of the name.
    fn reserve_dots(&mut self, replica: &crate::ReplicaId, n: u64) -> crate::Result<(u32, u64)> {
        let first = self.ctx.next_dot(replica)?.counter;
        first
            .checked_add(n.saturating_sub(1))
            .ok_or_else(|| crate::Error::CounterOverflow {
                replica: replica.to_string(),
            })?;
        Ok((self.ctx.table_mut().intern(replica), first))
    }

    /// The dots of every live entry of `keys`: what a writer that replaces those keys has
    /// seen of them.
    pub(crate) fn seen_of<'k>(&self, keys: impl IntoIterator<Item = &'k K>) -> DotContext {
        let mut seen = DotContext::new();
        for k in keys {
            for (r, c, _) in self.entries_of(k) {
                seen.insert(r, c);
            }
        }
        seen
    }

    /// The one local write every mutator makes: issues `replica` one new dot per row of
    /// `rows` (`(key hash, key, cell)`, in any order, each key at most once), covers `seen`
    /// (the dots of this state the write replaces, by this store's replica indices), joins
    /// the delta that says so and returns it. With no rows and nothing seen, nothing changes
    /// and the delta is empty.
    ///
    /// # Errors
    /// [`crate::Error::CounterOverflow`] when `replica` cannot issue `rows.len()` more dots;
    /// nothing changes.
    pub(crate) fn write_local(
        &mut self,
        replica: &crate::ReplicaId,
        rows: &[(u64, &K, &V)],
        mut seen: DotContext,
    ) -> crate::Result<Self> {
        let mut run = Run::with_capacity(rows.len());
        if !rows.is_empty() {
            let n = rows.len() as u64;
            let (me, first) = self.reserve_dots(replica, n)?;
            seen.insert_range(me, first, first + n - 1)?;
            for (k, &(h, key, cell)) in rows.iter().enumerate() {
                run.push(h, key, me, first + k as u64, cell);
            }
        }
        Ok(self.join_local(run, seen))
    }

    /// [`CausalStore::write_local`] without rows (a remove): covers `seen`, issues no dot,
    /// so it cannot fail.
    pub(crate) fn remove_local(&mut self, seen: DotContext) -> Self {
        self.join_local(Run::default(), seen)
    }

    /// Joins and returns the delta of the new entries `run` and the covered dots `ctx`
    /// (empty, changing nothing, when both are).
    fn join_local(&mut self, mut run: Run<K, V>, ctx: DotContext) -> Self {
        if run.rows() == 0 && ctx.replicas().iter().all(|d| d.is_empty()) {
            return Self::new();
        }
        run.sort();
        let delta = Self {
            ctx: CausalContext::from_parts(self.ctx.table().clone(), ctx),
            runs: if run.rows() > 0 { vec![run] } else { vec![] },
        };
        self.join(&delta);
        delta
    }
}
