//! The two-way merge of two sorted sequences, written once: [`Merge`] walks two index
//! ranges in step and says, per step, whether the smaller item is on the left, on the
//! right, or on both sides (roaring-rs `Pairs` is the model). Every merge of the store
//! (the full join's plan, merging runs, matching bucket and key digests in a diff, the
//! checked join's dropped dots) is a loop over one.

use std::cmp::Ordering;
use std::ops::Range;

use super::run::Run;
use crate::item::Item;

/// One step of a [`Merge`]: the index of the smaller item, on the side that holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Left item `i` is smaller than every remaining right item.
    Left(usize),
    /// Right item `j` is smaller than every remaining left item.
    Right(usize),
    /// Left item `i` and right item `j` are equal.
    Both(usize, usize),
}

/// Merges two sorted index ranges by `cmp(i, j)` (the order of left item `i` against right
/// item `j`): each [`Iterator::next`] consumes the smaller item, or one of each when they
/// are equal. Within a side, equal items are not grouped (each is one step).
///
/// [`Merge::next_pair`] stops as soon as one side is exhausted, for callers that copy the
/// rest in bulk ([`Merge::rest`]); the iterator goes on through both tails.
///
/// Generic over the comparison, so each merge is its own monomorphic, inlined loop.
pub(crate) struct Merge<F> {
    i: usize,
    i_end: usize,
    j: usize,
    j_end: usize,
    cmp: F,
}

impl<F: FnMut(usize, usize) -> Ordering> Merge<F> {
    /// The merge of left indices `a` with right indices `b`.
    #[inline]
    pub(crate) fn new(a: Range<usize>, b: Range<usize>, cmp: F) -> Self {
        Self {
            i: a.start,
            i_end: a.end.max(a.start),
            j: b.start,
            j_end: b.end.max(b.start),
            cmp,
        }
    }

    /// The next step while both sides have items left; `None` once either is exhausted.
    #[inline]
    pub(crate) fn next_pair(&mut self) -> Option<Step> {
        if self.i >= self.i_end || self.j >= self.j_end {
            return None;
        }
        let (i, j) = (self.i, self.j);
        Some(match (self.cmp)(i, j) {
            Ordering::Less => {
                self.i += 1;
                Step::Left(i)
            }
            Ordering::Greater => {
                self.j += 1;
                Step::Right(j)
            }
            Ordering::Equal => {
                self.i += 1;
                self.j += 1;
                Step::Both(i, j)
            }
        })
    }

    /// The indices not yet consumed: `(left, right)`.
    pub(crate) fn rest(&self) -> (Range<usize>, Range<usize>) {
        (self.i..self.i_end, self.j..self.j_end)
    }
}

impl<F: FnMut(usize, usize) -> Ordering> Iterator for Merge<F> {
    type Item = Step;

    #[inline]
    fn next(&mut self) -> Option<Step> {
        if let Some(s) = self.next_pair() {
            return Some(s);
        }
        if self.i < self.i_end {
            self.i += 1;
            Some(Step::Left(self.i - 1))
        } else if self.j < self.j_end {
            self.j += 1;
            Some(Step::Right(self.j - 1))
        } else {
            None
        }
    }
}

/// The merge of two sorted slices by their natural order.
#[inline]
pub(crate) fn slices<'a, T: Ord>(
    a: &'a [T],
    b: &'a [T],
) -> Merge<impl FnMut(usize, usize) -> Ordering + 'a> {
    Merge::new(0..a.len(), 0..b.len(), move |i, j| a[i].cmp(&b[j]))
}

/// The merge of rows `ra` of run `a` with rows `rb` of run `b` on the full sort key
/// `(hash, key, replica, counter)`. The hashes decide almost every step; the rest of the
/// key only on equal hashes.
#[inline]
pub(crate) fn runs<'a, K: Item, V: Item>(
    a: &'a Run<K, V>,
    ra: Range<usize>,
    b: &'a Run<K, V>,
    rb: Range<usize>,
) -> Merge<impl FnMut(usize, usize) -> Ordering + 'a> {
    Merge::new(ra, rb, move |i, j| match a.hash[i].cmp(&b.hash[j]) {
        Ordering::Equal => a.cmp_rows(i, b, j),
        o => o,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The naive merge: concatenate, tag by side, sort stably, pair equal neighbours.
    fn naive(a: &[u32], b: &[u32]) -> Vec<Step> {
        let mut tagged: Vec<(u32, u8, usize)> =
            a.iter().enumerate().map(|(i, &x)| (x, 0, i)).collect();
        tagged.extend(b.iter().enumerate().map(|(j, &x)| (x, 1, j)));
        tagged.sort();
        // a left item and a right item of one value pair up in order of appearance
        let mut out = vec![];
        let mut k = 0;
        while k < tagged.len() {
            let v = tagged[k].0;
            let end = k + tagged[k..].iter().take_while(|t| t.0 == v).count();
            let left: Vec<usize> = tagged[k..end]
                .iter()
                .filter(|t| t.1 == 0)
                .map(|t| t.2)
                .collect();
            let right: Vec<usize> = tagged[k..end]
                .iter()
                .filter(|t| t.1 == 1)
                .map(|t| t.2)
                .collect();
            let both = left.len().min(right.len());
            for p in 0..both {
                out.push(Step::Both(left[p], right[p]));
            }
            out.extend(left[both..].iter().map(|&i| Step::Left(i)));
            out.extend(right[both..].iter().map(|&j| Step::Right(j)));
            k = end;
        }
        out
    }

    #[test]
    fn merge_matches_the_naive_merge() {
        let mut g = pluriverse_testkit::SplitMix64(7);
        let mut next = |n: u64| g.below(n) as u32;
        for round in 0..500 {
            let (na, nb) = (next(12) as usize, next(12) as usize);
            let span = 1 + next(20) as u64;
            let mut a: Vec<u32> = (0..na).map(|_| next(span)).collect();
            let mut b: Vec<u32> = (0..nb).map(|_| next(span)).collect();
            a.sort_unstable();
            b.sort_unstable();
            let got: Vec<Step> = slices(&a, &b).collect();
            assert_eq!(got, naive(&a, &b), "round {round}: {a:?} {b:?}");
            // next_pair stops at the first exhausted side, and rest() is what is left
            let mut m = slices(&a, &b);
            let mut pairs = vec![];
            while let Some(p) = m.next_pair() {
                pairs.push(p);
            }
            let (ra, rb) = m.rest();
            assert!(ra.is_empty() || rb.is_empty());
            assert_eq!(pairs[..], got[..pairs.len()]);
            let tail: Vec<Step> = ra.map(Step::Left).chain(rb.map(Step::Right)).collect();
            assert_eq!(tail[..], got[pairs.len()..]);
        }
    }

    #[test]
    fn merge_of_sub_ranges_and_empty_sides() {
        let (a, b) = ([1, 2, 3, 4], [2, 4, 6]);
        let steps: Vec<Step> = Merge::new(1..3, 0..2, |i, j| a[i].cmp(&b[j])).collect();
        assert_eq!(steps, [Step::Both(1, 0), Step::Left(2), Step::Right(1)]);
        assert_eq!(slices::<u8>(&[], &[]).count(), 0);
        assert_eq!(slices(&[1], &[]).collect::<Vec<_>>(), [Step::Left(0)]);
        assert_eq!(slices(&[], &[1]).collect::<Vec<_>>(), [Step::Right(0)]);
        // an empty (or reversed) range is no items
        #[allow(clippy::reversed_empty_ranges)] // the point of the test
        let reversed = Merge::new(3..1, 0..0, |i, j| a[i].cmp(&b[j])).count();
        assert_eq!(reversed, 0);
    }
}
