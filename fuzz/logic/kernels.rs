//! Every version-vector implementation the CPU has equals the portable one on arbitrary
//! matrices: the bytes choose the width, the row count, a start offset and the counters.
use pluriverse::kernels::vv::KernelSet;
use pluriverse::kernels::Isa;

fn counters(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks(2)
        .map(|c| {
            // small values collide often (equal / before / after); 0xFF.. spreads to the edges
            let v = u64::from(c[0]) % 4;
            match c.get(1).copied().unwrap_or(0) {
                0xFF => u64::MAX - v,
                0xFE => v << 63,
                0xFD => (v << 32) | 0xFFFF_FFFF,
                _ => v,
            }
        })
        .collect()
}

/// Runs one input: the checks panic on any disagreement.
pub fn check(data: &[u8]) {
    if data.len() < 3 {
        return;
    }
    let width = usize::from(data[0] % 70) + 1;
    let offset = usize::from(data[1] % 4);
    let body = &data[2..];
    let (ab, bb) = body.split_at(body.len() / 2);
    let (a, b) = (counters(ab), counters(bb));
    let n = a.len().min(b.len()) / width * width;
    let rows = n / width;
    let mut abuf = vec![0u64; offset];
    abuf.extend_from_slice(&a[..n]);
    let mut bbuf = vec![0u64; offset];
    bbuf.extend_from_slice(&b[..n]);
    let (a, b) = (&abuf[offset..], &bbuf[offset..]);

    let reference = KernelSet::<u64>::for_isa(Isa::Portable).unwrap();
    let mut want_codes = vec![0u8; rows];
    reference.compare(a, b, width, &mut want_codes).unwrap();
    let mut want_merge = a.to_vec();
    reference.merge(&mut want_merge, b, width).unwrap();
    let mut want_min = vec![0u64; width];
    reference.column_min(a, width, &mut want_min).unwrap();

    for isa in Isa::available() {
        let k = KernelSet::<u64>::for_isa(isa).unwrap();
        let mut codes = vec![0u8; rows];
        k.compare(a, b, width, &mut codes).unwrap();
        assert_eq!(codes, want_codes, "{isa} compare");
        let mut m = a.to_vec();
        let mut codes = vec![0u8; rows];
        k.merge_compare(&mut m, b, width, &mut codes).unwrap();
        assert_eq!(
            (m, codes),
            (want_merge.clone(), want_codes.clone()),
            "{isa} merge_compare"
        );
        let mut dom = vec![false; rows];
        k.dominated(a, b, width, &mut dom).unwrap();
        let want_dom: Vec<bool> = want_codes.iter().map(|&c| c & 1 == 0).collect();
        assert_eq!(dom, want_dom, "{isa} dominated");
        let mut mn = vec![0u64; width];
        k.column_min(a, width, &mut mn).unwrap();
        assert_eq!(mn, want_min, "{isa} column_min");
    }
}
