//! Interleave against a naive oracle: random and edge inputs (empty sides, one side only,
//! every length up to a few vector widths), picks out of bounds, and indices at the limit.

mod common;

use common::Rng;
use pluriverse_kernels::interleave::{
    interleave, interleave_in_place, interleave_into, interleave_var_in_place, interleave_var_into,
    AnyPick, CheckedPlan, Part, Pick, Pick16, Pick32, Side, VarSlice,
};
use pluriverse_kernels::KernelError;

/// The oracle: one branch per pick, `None` at the first pick past its side's end.
fn naive<T: Clone>(left: &[T], right: &[T], picks: &[(bool, usize)]) -> Option<Vec<T>> {
    let mut out = vec![];
    for &(is_right, i) in picks {
        let side = if is_right { right } else { left };
        out.push(side.get(i)?.clone());
    }
    Some(out)
}

/// `n` random picks over sides of `nl` and `nr` items (both in bounds when non-empty).
fn random_picks(g: &mut Rng, n: usize, nl: usize, nr: usize) -> Vec<(bool, usize)> {
    (0..n)
        .filter_map(|_| {
            let right = g.below(2) == 1;
            let len = if right { nr } else { nl };
            (len > 0).then(|| (right, g.below(len as u64) as usize))
        })
        .collect()
}

fn to_picks(p: &[(bool, usize)]) -> Vec<Pick> {
    to_any(p)
}

/// The same picks in either width.
fn to_any<Q: AnyPick>(p: &[(bool, usize)]) -> Vec<Q> {
    p.iter()
        .map(|&(r, i)| if r { Q::right(i) } else { Q::left(i) })
        .collect()
}

/// A plan in parts, in four-byte picks.
fn narrow(parts: &[Vec<Pick>]) -> Vec<Vec<Pick32>> {
    parts
        .iter()
        .map(|part| {
            let flat: Vec<(bool, usize)> = part.iter().map(|p| (p.is_right(), p.index())).collect();
            to_any(&flat)
        })
        .collect()
}

#[test]
fn pick32_round_trips_side_and_index_up_to_its_limit() {
    assert_eq!(Pick32::MAX_INDEX, (1 << 31) - 1);
    for i in [0, 1, 2, 1 << 20, Pick32::MAX_INDEX - 1, Pick32::MAX_INDEX] {
        let (l, r) = (Pick32::left(i), Pick32::right(i));
        assert_eq!((l.side(), l.index(), l.is_right()), (Side::Left, i, false));
        assert_eq!((r.side(), r.index(), r.is_right()), (Side::Right, i, true));
        assert_eq!((AnyPick::side_bit(l), AnyPick::side_bit(r)), (0, 1));
        assert_ne!(l, r);
        assert_eq!(Pick32::checked_left(i), Some(l));
        assert_eq!(Pick32::checked_right(i), Some(r));
    }
    // one past the limit would alias the side bit: refused, never wrapped
    assert_eq!(Pick32::checked_left(Pick32::MAX_INDEX + 1), None);
    assert_eq!(Pick32::checked_right(1 << 32), None);
    assert_eq!(Pick32::checked_right(usize::MAX), None);
    assert_eq!(format!("{:?}", Pick32::right(3)), "Right(3)");
    assert_eq!(std::mem::size_of::<Pick32>(), 4);
}

#[test]
fn pick16_round_trips_side_and_index_up_to_its_limit() {
    assert_eq!(Pick16::MAX_INDEX, (1 << 15) - 1);
    for i in [0, 1, 2, 1 << 10, Pick16::MAX_INDEX - 1, Pick16::MAX_INDEX] {
        let (l, r) = (Pick16::left(i), Pick16::right(i));
        assert_eq!((l.side(), l.index(), l.is_right()), (Side::Left, i, false));
        assert_eq!((r.side(), r.index(), r.is_right()), (Side::Right, i, true));
        assert_eq!((AnyPick::side_bit(l), AnyPick::side_bit(r)), (0, 1));
        assert_eq!(Pick16::checked_right(i), Some(r));
    }
    assert_eq!(Pick16::checked_left(Pick16::MAX_INDEX + 1), None);
    assert_eq!(Pick16::checked_right(1 << 16), None);
    assert_eq!(std::mem::size_of::<Pick16>(), 2);
}

#[test]
#[should_panic(expected = "MAX_INDEX")]
fn pick16_past_the_limit_panics_rather_than_aliasing() {
    let _ = Pick16::left(Pick16::MAX_INDEX + 1);
}

#[test]
#[should_panic(expected = "MAX_INDEX")]
fn pick32_past_the_limit_panics_rather_than_aliasing() {
    let _ = Pick32::right(Pick32::MAX_INDEX + 1);
}

#[test]
fn pick_round_trips_side_and_index_up_to_the_limit() {
    for i in [0, 1, 2, 1 << 32, Pick::MAX_INDEX - 1, Pick::MAX_INDEX] {
        let (l, r) = (Pick::left(i), Pick::right(i));
        assert_eq!((l.side(), l.index(), l.is_right()), (Side::Left, i, false));
        assert_eq!((r.side(), r.index(), r.is_right()), (Side::Right, i, true));
        assert_ne!(l, r);
        assert_eq!(Pick::new(Side::Left, i), l);
        assert_eq!(Pick::new(Side::Right, i), r);
        assert_eq!(Pick::checked_left(i), Some(l));
        assert_eq!(Pick::checked_right(i), Some(r));
    }
    // one past the limit would alias the side bit: refused, never wrapped
    assert_eq!(Pick::checked_left(Pick::MAX_INDEX + 1), None);
    assert_eq!(Pick::checked_right(usize::MAX), None);
    assert_eq!(format!("{:?}", Pick::right(3)), "Right(3)");
}

#[test]
#[should_panic(expected = "MAX_INDEX")]
fn pick_past_the_limit_panics_rather_than_aliasing() {
    let _ = Pick::left(Pick::MAX_INDEX + 1);
}

#[test]
fn fixed_width_matches_the_naive_interleave() {
    let mut g = Rng(0x1e7e);
    // every length up to a few vector widths, then longer ones
    let lens: Vec<usize> = (0..=40).chain([255, 256, 257, 4096]).collect();
    for &nl in &[0usize, 1, 3, 17, 64, 1000] {
        for &n in &lens {
            let nr = g.below(70) as usize;
            let left: Vec<u64> = (0..nl).map(|_| g.next_u64()).collect();
            let right: Vec<u64> = (0..nr).map(|_| g.next_u64()).collect();
            let p = random_picks(&mut g, n, nl, nr);
            let want = naive(&left, &right, &p).unwrap();
            assert_eq!(interleave(&left, &right, &to_picks(&p)).unwrap(), want);
            assert_eq!(
                interleave(&left, &right, &to_any::<Pick32>(&p)).unwrap(),
                want
            );
            // narrower items and unaligned starts (a slice one item in)
            let l8: Vec<u8> = left.iter().map(|&x| x as u8).collect();
            let r8: Vec<u8> = right.iter().map(|&x| x as u8).collect();
            let w8: Vec<u8> = want.iter().map(|&x| x as u8).collect();
            assert_eq!(interleave(&l8, &r8, &to_picks(&p)).unwrap(), w8);
            if nl > 1 {
                let shifted: Vec<(bool, usize)> =
                    p.iter().filter(|x| x.0 || x.1 + 1 < nl).copied().collect();
                assert_eq!(
                    interleave(&left[1..], &right, &to_picks(&shifted)).unwrap(),
                    naive(&left[1..], &right, &shifted).unwrap()
                );
            }
        }
    }
}

#[test]
fn one_side_only_and_empty_plans() {
    let a = [1u32, 2, 3];
    assert_eq!(
        interleave::<u32, Pick>(&[], &[], &[]).unwrap(),
        Vec::<u32>::new()
    );
    let all_left: Vec<Pick> = (0..3).rev().map(Pick::left).collect();
    assert_eq!(interleave(&a, &[], &all_left).unwrap(), [3, 2, 1]);
    let all_right: Vec<Pick> = (0..3).map(Pick::right).collect();
    assert_eq!(interleave(&[], &a, &all_right).unwrap(), [1, 2, 3]);
    // a pick may repeat an item
    assert_eq!(
        interleave(&a, &a, &[Pick::left(1), Pick::left(1), Pick::right(1)]).unwrap(),
        [2, 2, 2]
    );
}

#[test]
fn out_of_bounds_picks_are_errors_and_leave_the_output_unchanged() {
    let (left, right) = ([1u64, 2], [3u64]);
    let cases = [
        (vec![Pick::left(2)], 0, Side::Left, 2, 2),
        (vec![Pick::left(0), Pick::right(1)], 1, Side::Right, 1, 1),
        (
            vec![Pick::right(0), Pick::left(Pick::MAX_INDEX)],
            1,
            Side::Left,
            Pick::MAX_INDEX,
            2,
        ),
        (
            vec![Pick::right(Pick::MAX_INDEX)],
            0,
            Side::Right,
            Pick::MAX_INDEX,
            1,
        ),
    ];
    for (picks, at, side, index, len) in cases {
        let want = KernelError::PickOutOfBounds {
            at,
            side,
            index,
            len,
        };
        let mut out = vec![7u64];
        assert_eq!(
            interleave_into(&left, &right, &picks, &mut out),
            Err(want.clone())
        );
        assert_eq!(out, [7]);
        let (mut offsets, mut values) = (vec![0u64, 1], vec![b'z']);
        let v = VarSlice {
            offsets: &[0, 1, 2],
            values: b"ab",
        };
        let w = VarSlice {
            offsets: &[0, 1],
            values: b"c",
        };
        assert_eq!(
            interleave_var_into(v, w, &picks, &mut offsets, &mut values),
            Err(want)
        );
        assert_eq!((offsets, values), (vec![0, 1], vec![b'z']));
    }
}

/// Random byte items as `Vec`s and in the Arrow layout.
fn var_column(g: &mut Rng, n: usize) -> (Vec<Vec<u8>>, Vec<u64>, Vec<u8>) {
    let items: Vec<Vec<u8>> = (0..n)
        .map(|_| (0..g.below(9)).map(|_| g.below(256) as u8).collect())
        .collect();
    let mut offsets = vec![0u64];
    let mut values = vec![];
    for it in &items {
        values.extend_from_slice(it);
        offsets.push(values.len() as u64);
    }
    (items, offsets, values)
}

#[test]
fn var_width_matches_the_naive_interleave_and_appends() {
    let mut g = Rng(0xb17e5);
    for round in 0..300 {
        let (nl, nr) = (g.below(20) as usize, g.below(20) as usize);
        let (li, lo, lv) = var_column(&mut g, nl);
        let (ri, ro, rv) = var_column(&mut g, nr);
        let (left, right) = (
            VarSlice {
                offsets: &lo,
                values: &lv,
            },
            VarSlice {
                offsets: &ro,
                values: &rv,
            },
        );
        assert_eq!((left.len(), right.len()), (nl, nr));
        // two parts appended to one column, as a partitioned plan is
        let (n1, n2) = (g.below(30) as usize, g.below(30) as usize);
        let p1 = random_picks(&mut g, n1, nl, nr);
        let p2 = random_picks(&mut g, n2, nl, nr);
        let (mut offsets, mut values) = (vec![], vec![]);
        interleave_var_into(left, right, &to_picks(&p1), &mut offsets, &mut values).unwrap();
        interleave_var_into(left, right, &to_picks(&p2), &mut offsets, &mut values).unwrap();
        let want: Vec<Vec<u8>> = naive(&li, &ri, &[p1.clone(), p2.clone()].concat())
            .unwrap()
            .into_iter()
            .collect();
        let got = VarSlice {
            offsets: &offsets,
            values: &values,
        };
        assert_eq!(got.len(), want.len(), "round {round}");
        for (k, w) in want.iter().enumerate() {
            assert_eq!(got.get(k), Some(w.as_slice()), "round {round} item {k}");
        }
        assert_eq!(offsets.last().copied(), Some(values.len() as u64));
        // the same in four-byte picks
        let (mut o32, mut v32) = (vec![], vec![]);
        interleave_var_into(left, right, &to_any::<Pick32>(&p1), &mut o32, &mut v32).unwrap();
        interleave_var_into(left, right, &to_any::<Pick32>(&p2), &mut o32, &mut v32).unwrap();
        assert_eq!((o32, v32), (offsets, values), "round {round}");
    }
}

#[test]
fn var_width_refuses_offsets_that_are_not_a_range() {
    // item 1 ends past the values; item 2 runs backwards
    let bad = VarSlice {
        offsets: &[0, 1, 9, 3],
        values: b"abcd",
    };
    let ok = VarSlice {
        offsets: &[0],
        values: b"",
    };
    let (mut offsets, mut values) = (vec![], vec![]);
    assert_eq!(
        interleave_var_into(
            bad,
            ok,
            &[Pick::left(0), Pick::left(1)],
            &mut offsets,
            &mut values
        ),
        Err(KernelError::BadOffset { index: 1 })
    );
    assert!(offsets.is_empty() && values.is_empty());
    assert_eq!(
        interleave_var_into(bad, ok, &[Pick::left(2)], &mut offsets, &mut values),
        Err(KernelError::BadOffset { index: 0 })
    );
    assert_eq!(bad.get(1), None);
    assert_eq!(bad.get(0), Some(&b"a"[..]));
}

/// A merge-shaped plan over sides of `nl` and `nr` items: the left picks a random subset
/// of `0..nl` in order, the right picks random items, interleaved at random; cut into
/// random parts (some empty).
fn merge_plan(g: &mut Rng, nl: usize, nr: usize, right_n: usize) -> Vec<Vec<Pick>> {
    let keep = g.below(4);
    let lefts: Vec<usize> = (0..nl)
        .filter(|_| keep == 3 || g.below(4) <= keep)
        .collect();
    let rights: Vec<usize> = (0..if nr == 0 { 0 } else { right_n })
        .map(|_| g.below(nr as u64) as usize)
        .collect();
    let (mut li, mut ri, mut flat) = (0, 0, vec![]);
    while li < lefts.len() || ri < rights.len() {
        let take_right = ri < rights.len() && (li == lefts.len() || g.below(2) == 1);
        if take_right {
            flat.push(Pick::right(rights[ri]));
            ri += 1;
        } else {
            flat.push(Pick::left(lefts[li]));
            li += 1;
        }
    }
    let mut parts = vec![];
    let mut rest = &flat[..];
    while !rest.is_empty() || g.below(3) == 0 {
        let cut = g.below(rest.len() as u64 + 1) as usize;
        parts.push(rest[..cut].to_vec());
        rest = &rest[cut..];
        if parts.len() > 12 {
            parts.push(rest.to_vec());
            break;
        }
    }
    parts
}

#[test]
fn in_place_matches_the_naive_interleave() {
    let mut g = Rng(31);
    for round in 0..3000 {
        let nl = g.below(40) as usize;
        let nr = g.below(40) as usize;
        let right_n = g.below(60) as usize;
        let left: Vec<u64> = (0..nl).map(|_| g.next_u64()).collect();
        let right: Vec<u64> = (0..nr).map(|_| g.next_u64()).collect();
        let parts = merge_plan(&mut g, nl, nr, right_n);
        let flat: Vec<(bool, usize)> = parts
            .iter()
            .flatten()
            .map(|p| (p.is_right(), p.index()))
            .collect();
        let want = naive(&left, &right, &flat).expect("a merge plan is in bounds");
        let plan = CheckedPlan::new(&parts, nl, nr).expect("a merge plan is valid");
        assert_eq!(plan.len(), want.len());
        let mut got = left.clone();
        interleave_in_place(&mut got, &right, &plan).unwrap();
        assert_eq!(got, want, "round {round}: {parts:?}");
        // narrow items too (the same plan serves every column)
        let mut small: Vec<u8> = left.iter().map(|&x| x as u8).collect();
        let right8: Vec<u8> = right.iter().map(|&x| x as u8).collect();
        interleave_in_place(&mut small, &right8, &plan).unwrap();
        let want8: Vec<u8> = want.iter().map(|&x| x as u8).collect();
        assert_eq!(small, want8);
        // the same plan in four-byte picks
        let parts32 = narrow(&parts);
        let plan32 = CheckedPlan::new(&parts32, nl, nr).expect("a merge plan is valid");
        assert_eq!(
            (plan32.len(), plan32.left_picks()),
            (plan.len(), plan.left_picks())
        );
        let mut got32 = left.clone();
        interleave_in_place(&mut got32, &right, &plan32).unwrap();
        assert_eq!(got32, want, "round {round}: {parts:?}");
    }
}

#[test]
fn in_place_edges_grow_shrink_and_one_side() {
    let left: Vec<u32> = (0..1000).collect();
    let right: Vec<u32> = (5000..8000).collect();
    let check = |parts: &[Vec<Pick>]| {
        let flat: Vec<(bool, usize)> = parts
            .iter()
            .flatten()
            .map(|p| (p.is_right(), p.index()))
            .collect();
        let mut got = left.clone();
        let plan = CheckedPlan::new(parts, left.len(), right.len()).unwrap();
        interleave_in_place(&mut got, &right, &plan).unwrap();
        assert_eq!(Some(got), naive(&left, &right, &flat));
    };
    // nothing kept; everything kept; only the right side (longer than the left)
    check(&[]);
    check(&[vec![]]);
    check(&[(0..1000).map(Pick::left).collect()]);
    check(&[(0..3000).map(Pick::right).collect()]);
    // all right items before all left ones, and after (largest moves either way)
    let l: Vec<Pick> = (0..1000).map(Pick::left).collect();
    let r: Vec<Pick> = (0..3000).map(Pick::right).collect();
    check(&[r.clone(), l.clone()]);
    check(&[l.clone(), r.clone()]);
    // drop the first half of the left, then add right items at the end (shrink, grow)
    check(&[(500..1000).map(Pick::left).collect(), vec![Pick::right(7)]]);
    check(&[(0..1000).step_by(3).map(Pick::left).collect()]);
    // alternating, with the left side's last item only
    check(&[vec![Pick::left(999), Pick::right(0), Pick::right(0)]]);
}

#[test]
fn in_place_refuses_bad_plans_and_leaves_the_column_unchanged() {
    let parts = [vec![Pick::left(2), Pick::left(2)]];
    assert_eq!(
        CheckedPlan::new(&parts, 3, 0).unwrap_err(),
        KernelError::PickOutOfOrder {
            at: 1,
            index: 2,
            previous: 2
        }
    );
    let parts = [vec![Pick::left(1)], vec![Pick::left(0)]];
    assert!(matches!(
        CheckedPlan::new(&parts, 3, 0),
        Err(KernelError::PickOutOfOrder {
            at: 1,
            index: 0,
            ..
        })
    ));
    let parts = [vec![Pick::right(0), Pick::left(3)]];
    assert_eq!(
        CheckedPlan::new(&parts, 3, 1).unwrap_err(),
        KernelError::PickOutOfBounds {
            at: 1,
            side: Side::Left,
            index: 3,
            len: 3
        }
    );
    let parts = [vec![Pick::right(1)]];
    assert!(matches!(
        CheckedPlan::new(&parts, 3, 1),
        Err(KernelError::PickOutOfBounds {
            side: Side::Right,
            ..
        })
    ));
    // a checked plan applied to columns of other lengths is refused, the column unchanged
    let parts = [vec![Pick::left(0), Pick::right(0)]];
    let plan = CheckedPlan::new(&parts, 2, 1).unwrap();
    let mut short = vec![1u64];
    assert!(matches!(
        interleave_in_place(&mut short, &[9], &plan),
        Err(KernelError::LengthMismatch { what: "left", .. })
    ));
    assert_eq!(short, [1]);
    let mut ok = vec![1u64, 2];
    assert!(matches!(
        interleave_in_place(&mut ok, &[9, 9], &plan),
        Err(KernelError::LengthMismatch { what: "right", .. })
    ));
    assert_eq!(ok, [1, 2]);
    interleave_in_place(&mut ok, &[9], &plan).unwrap();
    assert_eq!(ok, [1, 9]);
    // four-byte picks are checked alike
    let parts = [vec![Pick32::right(0), Pick32::left(3)]];
    assert_eq!(
        CheckedPlan::new(&parts, 3, 1).unwrap_err(),
        KernelError::PickOutOfBounds {
            at: 1,
            side: Side::Left,
            index: 3,
            len: 3
        }
    );
    let parts = [vec![Pick32::left(1)], vec![Pick32::left(1)]];
    assert!(matches!(
        CheckedPlan::new(&parts, 3, 0),
        Err(KernelError::PickOutOfOrder {
            at: 1,
            index: 1,
            ..
        })
    ));
    let mut col = vec![1u64, 2];
    assert_eq!(
        interleave_into(&[1u64], &[], &[Pick32::left(0), Pick32::right(0)], &mut col).unwrap_err(),
        KernelError::PickOutOfBounds {
            at: 1,
            side: Side::Right,
            index: 0,
            len: 0
        }
    );
    assert_eq!(col, [1, 2]);
}

/// Random byte items of up to `max_len` bytes (some past the kernel's short-item size).
fn var_items(g: &mut Rng, n: usize, max_len: u64) -> Vec<Vec<u8>> {
    (0..n)
        .map(|_| {
            let len = if g.below(8) == 0 {
                g.below(max_len + 1)
            } else {
                g.below(12)
            };
            (0..len).map(|_| g.below(256) as u8).collect()
        })
        .collect()
}

/// `items` in the Arrow layout after `prefix` bytes that belong to no item.
fn arrow_layout(items: &[Vec<u8>], prefix: usize) -> (Vec<u64>, Vec<u8>) {
    let mut values: Vec<u8> = (0..prefix).map(|i| i as u8 ^ 0xa5).collect();
    let mut offsets = vec![values.len() as u64];
    for it in items {
        values.extend_from_slice(it);
        offsets.push(values.len() as u64);
    }
    (offsets, values)
}

/// The column `offsets`/`values` holds exactly `want` after `prefix`, with no byte past
/// its last item.
fn assert_var_column(offsets: &[u64], values: &[u8], prefix: usize, want: &[Vec<u8>], at: &str) {
    assert_eq!(offsets.len(), want.len() + 1, "{at}");
    assert_eq!(offsets[0], prefix as u64, "{at}");
    let got = VarSlice { offsets, values };
    for (k, w) in want.iter().enumerate() {
        assert_eq!(got.get(k), Some(w.as_slice()), "{at}: item {k}");
    }
    assert_eq!(offsets.last().copied(), Some(values.len() as u64), "{at}");
    let before: Vec<u8> = (0..prefix).map(|i| i as u8 ^ 0xa5).collect();
    assert_eq!(
        &values[..prefix],
        before.as_slice(),
        "{at}: the bytes before the column"
    );
}

#[test]
fn var_width_in_place_matches_the_naive_interleave() {
    let mut g = Rng(0x7a4_1ace);
    for round in 0..3000 {
        let (nl, nr) = (g.below(40) as usize, g.below(40) as usize);
        let right_n = g.below(60) as usize;
        let li = var_items(&mut g, nl, 80);
        let ri = var_items(&mut g, nr, 80);
        let prefix = if g.below(4) == 0 {
            g.below(10) as usize
        } else {
            0
        };
        let (lo, mut lv) = arrow_layout(&li, prefix);
        // bytes after the last item belong to no item and are dropped
        let trailing = if g.below(4) == 0 {
            g.below(5) as usize
        } else {
            0
        };
        lv.extend(std::iter::repeat_n(0xee, trailing));
        let (ro, rv) = arrow_layout(&ri, g.below(3) as usize);
        let right = VarSlice {
            offsets: &ro,
            values: &rv,
        };
        let parts = merge_plan(&mut g, nl, nr, right_n);
        let flat: Vec<(bool, usize)> = parts
            .iter()
            .flatten()
            .map(|p| (p.is_right(), p.index()))
            .collect();
        let want = naive(&li, &ri, &flat).expect("a merge plan is in bounds");
        let at = format!("round {round}: {parts:?}");
        let plan = CheckedPlan::new(&parts, nl, nr).expect("a merge plan is valid");
        let (mut offsets, mut values) = (lo.clone(), lv.clone());
        interleave_var_in_place(&mut offsets, &mut values, right, &plan).unwrap();
        assert_var_column(&offsets, &values, prefix, &want, &at);
        let parts32 = narrow(&parts);
        let plan32 = CheckedPlan::new(&parts32, nl, nr).expect("a merge plan is valid");
        let (mut o32, mut v32) = (lo.clone(), lv.clone());
        interleave_var_in_place(&mut o32, &mut v32, right, &plan32).unwrap();
        assert_eq!((o32, v32), (offsets, values), "{at}");
    }
}

#[test]
fn var_width_in_place_edges_grow_shrink_long_items_and_one_side() {
    let mut g = Rng(5);
    // items of every length around the short-item size, and long ones
    let li: Vec<Vec<u8>> = (0..300)
        .map(|i| (0..(i % 70)).map(|_| g.below(256) as u8).collect())
        .collect();
    let ri: Vec<Vec<u8>> = (0..700)
        .map(|i| (0..((i * 7) % 45)).map(|_| g.below(256) as u8).collect())
        .collect();
    let (lo, lv) = arrow_layout(&li, 0);
    let (ro, rv) = arrow_layout(&ri, 0);
    let right = VarSlice {
        offsets: &ro,
        values: &rv,
    };
    let check = |parts: &[Vec<Pick>]| {
        let flat: Vec<(bool, usize)> = parts
            .iter()
            .flatten()
            .map(|p| (p.is_right(), p.index()))
            .collect();
        let plan = CheckedPlan::new(parts, li.len(), ri.len()).unwrap();
        let (mut offsets, mut values) = (lo.clone(), lv.clone());
        interleave_var_in_place(&mut offsets, &mut values, right, &plan).unwrap();
        let want = naive(&li, &ri, &flat).unwrap();
        assert_var_column(&offsets, &values, 0, &want, &format!("{parts:?}"));
    };
    let l: Vec<Pick> = (0..300).map(Pick::left).collect();
    let r: Vec<Pick> = (0..700).map(Pick::right).collect();
    check(&[]);
    check(&[vec![]]);
    check(std::slice::from_ref(&l));
    check(std::slice::from_ref(&r));
    check(&[r.clone(), l.clone()]);
    check(&[l.clone(), r.clone()]);
    check(&[(150..300).map(Pick::left).collect(), vec![Pick::right(699)]]);
    check(&[(0..300).step_by(3).map(Pick::left).collect()]);
    check(&[vec![Pick::left(299), Pick::right(0), Pick::right(0)]]);
    // the same long right item many times, between every left item
    let mixed: Vec<Pick> = (0..300)
        .flat_map(|i| [Pick::right(44), Pick::left(i)])
        .collect();
    check(&[mixed]);
}

#[test]
fn var_width_in_place_refuses_bad_columns_and_leaves_them_unchanged() {
    let parts = [vec![Pick::left(0), Pick::right(0), Pick::left(2)]];
    let plan = CheckedPlan::new(&parts, 3, 1).unwrap();
    let good = VarSlice {
        offsets: &[0, 2],
        values: b"xy",
    };
    let refused = |offsets: &[u64], values: &[u8], right: VarSlice<'_>| {
        let (mut o, mut v) = (offsets.to_vec(), values.to_vec());
        let e = interleave_var_in_place(&mut o, &mut v, right, &plan).unwrap_err();
        assert_eq!((o.as_slice(), v.as_slice()), (offsets, values), "{e}");
        e
    };
    // a decreasing left offset, one past the values, and a column of the wrong length
    assert_eq!(
        refused(&[0, 3, 2, 4], b"abcd", good),
        KernelError::BadColumnOffset {
            what: "left",
            index: 2
        }
    );
    assert_eq!(
        refused(&[0, 1, 2, 9], b"abcd", good),
        KernelError::BadColumnOffset {
            what: "left",
            index: 3
        }
    );
    assert!(matches!(
        refused(&[0, 1, 2], b"abcd", good),
        KernelError::LengthMismatch {
            what: "left offsets",
            ..
        }
    ));
    // the same for the right side
    let bad_right = VarSlice {
        offsets: &[0, 5],
        values: b"xy",
    };
    assert_eq!(
        refused(&[0, 1, 2, 4], b"abcd", bad_right),
        KernelError::BadColumnOffset {
            what: "right",
            index: 1
        }
    );
    let long_right = VarSlice {
        offsets: &[0, 1, 2],
        values: b"xy",
    };
    assert!(matches!(
        refused(&[0, 1, 2, 4], b"abcd", long_right),
        KernelError::LengthMismatch {
            what: "right offsets",
            ..
        }
    ));
    // and the column it was checked for takes the plan
    let (mut o, mut v) = (vec![0u64, 1, 2, 4], b"abcd".to_vec());
    interleave_var_in_place(&mut o, &mut v, good, &plan).unwrap();
    assert_eq!(
        (o.as_slice(), v.as_slice()),
        (&[0u64, 1, 3, 5][..], &b"axycd"[..])
    );
}

/// The same plan in two-byte picks, each part counting from its smallest item of either
/// side (or from a random base at or below it).
fn based16(g: &mut Rng, parts: &[Vec<Pick>]) -> Vec<Part<Pick16>> {
    parts
        .iter()
        .map(|part| {
            let min = |right: bool| {
                part.iter()
                    .filter(|p| p.is_right() == right)
                    .map(|p| p.index())
                    .min()
                    .unwrap_or(0)
            };
            let (l, r) = (min(false), min(true));
            let (left, right) = (
                l - g.below(l as u64 + 1) as usize,
                r - g.below(r as u64 + 1) as usize,
            );
            let picks = part
                .iter()
                .map(|p| {
                    if p.is_right() {
                        Pick16::right(p.index() - right)
                    } else {
                        Pick16::left(p.index() - left)
                    }
                })
                .collect();
            Part { left, right, picks }
        })
        .collect()
}

#[test]
fn in_place_with_based_two_byte_parts_matches_the_naive_interleave() {
    let mut g = Rng(0x16);
    for round in 0..2000 {
        let (nl, nr) = (g.below(40) as usize, g.below(40) as usize);
        let right_n = g.below(60) as usize;
        let parts = merge_plan(&mut g, nl, nr, right_n);
        let flat: Vec<(bool, usize)> = parts
            .iter()
            .flatten()
            .map(|p| (p.is_right(), p.index()))
            .collect();
        let parts16 = based16(&mut g, &parts);
        let plan = CheckedPlan::new(&parts16, nl, nr).expect("a merge plan is valid");
        let at = format!("round {round}: {parts16:?}");
        // fixed width
        let left: Vec<u64> = (0..nl).map(|_| g.next_u64()).collect();
        let right: Vec<u64> = (0..nr).map(|_| g.next_u64()).collect();
        let mut got = left.clone();
        interleave_in_place(&mut got, &right, &plan).unwrap();
        assert_eq!(Some(got), naive(&left, &right, &flat), "{at}");
        // variable width
        let (li, ri) = (var_items(&mut g, nl, 40), var_items(&mut g, nr, 40));
        let ((mut lo, mut lv), (ro, rv)) = (arrow_layout(&li, 0), arrow_layout(&ri, 0));
        let right = VarSlice {
            offsets: &ro,
            values: &rv,
        };
        interleave_var_in_place(&mut lo, &mut lv, right, &plan).unwrap();
        assert_var_column(&lo, &lv, 0, &naive(&li, &ri, &flat).unwrap(), &at);
    }
}

#[test]
fn based_parts_are_checked_from_their_bases() {
    // bases far past two-byte indices, as a long column's later parts are
    let parts = [
        Part {
            left: 0,
            right: 0,
            picks: vec![Pick16::left(5), Pick16::right(Pick16::MAX_INDEX)],
        },
        Part {
            left: 100_000,
            right: 40_000,
            picks: vec![Pick16::left(0), Pick16::right(3)],
        },
    ];
    let plan = CheckedPlan::new(&parts, 100_001, 40_004).unwrap();
    assert_eq!((plan.len(), plan.left_picks()), (4, 2));
    let left: Vec<u32> = (0..100_001).collect();
    let right: Vec<u32> = (0..40_004).map(|i| 1_000_000 + i).collect();
    let mut got = left.clone();
    interleave_in_place(&mut got, &right, &plan).unwrap();
    assert_eq!(got, [5, 1_000_000 + 32767, 100_000, 1_040_003]);
    // the errors name the item counted from the input's start
    assert_eq!(
        CheckedPlan::new(&parts, 100_000, 40_004).unwrap_err(),
        KernelError::PickOutOfBounds {
            at: 2,
            side: Side::Left,
            index: 100_000,
            len: 100_000
        }
    );
    assert_eq!(
        CheckedPlan::new(&parts, 100_001, 40_003).unwrap_err(),
        KernelError::PickOutOfBounds {
            at: 3,
            side: Side::Right,
            index: 40_003,
            len: 40_003
        }
    );
    // a later part whose base goes back before an earlier left pick is out of order
    let back = [
        Part {
            left: 10,
            right: 0,
            picks: vec![Pick16::left(0)],
        },
        Part {
            left: 5,
            right: 0,
            picks: vec![Pick16::left(5)],
        },
    ];
    assert_eq!(
        CheckedPlan::new(&back, 20, 0).unwrap_err(),
        KernelError::PickOutOfOrder {
            at: 1,
            index: 10,
            previous: 10
        }
    );
    // a base that overflows is out of bounds, not a wrap
    let huge = [Part {
        left: usize::MAX,
        right: 0,
        picks: vec![Pick16::left(1)],
    }];
    assert!(matches!(
        CheckedPlan::new(&huge, 20, 0),
        Err(KernelError::PickOutOfBounds {
            index: usize::MAX,
            ..
        })
    ));
}

/// The oracle of [`CheckedPlan::new`]'s errors: the first pick past its side's end or, for
/// a left pick, not past the previous left pick.
fn naive_check(flat: &[(bool, usize)], nl: usize, nr: usize) -> Option<KernelError> {
    let mut previous: Option<usize> = None;
    for (at, &(right, index)) in flat.iter().enumerate() {
        let len = if right { nr } else { nl };
        if index >= len {
            let side = if right { Side::Right } else { Side::Left };
            return Some(KernelError::PickOutOfBounds {
                at,
                side,
                index,
                len,
            });
        }
        if !right {
            if let Some(p) = previous.filter(|&p| index <= p) {
                return Some(KernelError::PickOutOfOrder {
                    at,
                    index,
                    previous: p,
                });
            }
            previous = Some(index);
        }
    }
    None
}

#[test]
fn long_plans_are_checked_part_by_part_on_the_pool_alike() {
    // past the size from which the parts are checked in parallel, cut into many parts (some
    // empty) so that the checks between parts decide
    let mut g = Rng(0x10f6);
    let (nl, nr) = (200_000usize, 150_000usize);
    let flat: Vec<(bool, usize)> = {
        let lefts: Vec<usize> = (0..nl).filter(|_| g.below(10) != 0).collect();
        let (mut li, mut ri, mut flat) = (0, 0, vec![]);
        while li < lefts.len() || ri < nr {
            if ri < nr && (li == lefts.len() || g.below(2) == 1) {
                flat.push((true, g.below(nr as u64) as usize));
                ri += 1;
            } else {
                flat.push((false, lefts[li]));
                li += 1;
            }
        }
        flat
    };
    let cut = |g: &mut Rng, flat: &[(bool, usize)]| -> Vec<Vec<Pick>> {
        let mut parts = vec![];
        let mut rest = flat;
        while !rest.is_empty() {
            let n = (g.below(12_000) as usize).min(rest.len());
            parts.push(to_picks(&rest[..n]));
            rest = &rest[n..];
        }
        parts
    };
    let left: Vec<u64> = (0..nl).map(|_| g.next_u64()).collect();
    let right: Vec<u64> = (0..nr).map(|_| g.next_u64()).collect();
    let parts = cut(&mut g, &flat);
    let plan = CheckedPlan::new(&parts, nl, nr).unwrap();
    assert_eq!(plan.len(), flat.len());
    assert_eq!(plan.left_picks(), flat.iter().filter(|p| !p.0).count());
    let mut got = left.clone();
    interleave_in_place(&mut got, &right, &plan).unwrap();
    assert_eq!(Some(got), naive(&left, &right, &flat));
    // each fault alone, anywhere in the plan (at a part's edge or inside one): the error
    // is the oracle's, naming the first offending pick
    for round in 0..60 {
        let mut bad = flat.clone();
        let at = g.below(bad.len() as u64) as usize;
        match round % 4 {
            0 => bad[at] = (true, nr + g.below(3) as usize),
            1 => bad[at] = (false, nl + g.below(3) as usize),
            // a left item named again, or one before the previous left pick
            2 => {
                let before = bad[..at].iter().rev().find(|p| !p.0).map_or(0, |p| p.1);
                bad[at] = (false, before.saturating_sub(g.below(2) as usize));
            }
            _ => {
                let other = (at + 1 + g.below(40) as usize).min(bad.len() - 1);
                bad.swap(at, other);
            }
        }
        // every other round, the faulty pick opens a part (the checks between parts)
        let parts = if round % 8 < 4 {
            cut(&mut g, &bad)
        } else {
            let mut parts = cut(&mut g, &bad[..at]);
            parts.extend(cut(&mut g, &bad[at..]));
            parts
        };
        let want = naive_check(&bad, nl, nr);
        let got = CheckedPlan::new(&parts, nl, nr).err();
        assert_eq!(got, want, "round {round}, fault at {at}");
        if let Ok(plan) = CheckedPlan::new(&parts, nl, nr) {
            let mut col = left.clone();
            interleave_in_place(&mut col, &right, &plan).unwrap();
            assert_eq!(Some(col), naive(&left, &right, &bad), "round {round}");
        }
    }
}
