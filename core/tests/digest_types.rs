//! Contract 12: digests fold in the kind and the key and value types. The state digest is
//! recomputed here from its documented formula over the entries and the context (a naive
//! model, not the library's code), and states of different types never share a digest.

use pluriverse::{AWSet, CausalStore, LWWMap, MVMap, PNCounterMap};
use xxhash_rust::xxh3::{xxh3_128, xxh3_128_with_seed, xxh3_64};

/// The canonical bytes and type name of each key and value type, written out here.
trait Naive {
    const NAME: &'static str;
    fn bytes(&self) -> Vec<u8>;
}
impl Naive for u64 {
    const NAME: &'static str = "uint64";
    fn bytes(&self) -> Vec<u8> {
        self.to_le_bytes().to_vec()
    }
}
impl Naive for i64 {
    const NAME: &'static str = "int64";
    fn bytes(&self) -> Vec<u8> {
        self.to_le_bytes().to_vec()
    }
}
impl Naive for f64 {
    const NAME: &'static str = "float64";
    fn bytes(&self) -> Vec<u8> {
        self.to_bits().to_le_bytes().to_vec()
    }
}
impl Naive for bool {
    const NAME: &'static str = "bool";
    fn bytes(&self) -> Vec<u8> {
        vec![u8::from(*self)]
    }
}
impl Naive for String {
    const NAME: &'static str = "utf8";
    fn bytes(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}
impl Naive for Vec<u8> {
    const NAME: &'static str = "binary";
    fn bytes(&self) -> Vec<u8> {
        self.clone()
    }
}

/// The documented digest of a store whose type description is `desc`, from its entries
/// (key bytes, replica name, counter, value bytes) and its context.
fn naive_digest<K: pluriverse::item::Item, V: pluriverse::item::Item>(
    s: &CausalStore<K, V>,
    desc: &str,
    key: impl Fn(&K) -> Vec<u8>,
    value: impl Fn(&V) -> Vec<u8>,
) -> u128 {
    let seed = xxh3_64(desc.as_bytes());
    let (mut sum, mut count) = (0u128, 0u64);
    let mut add = |h: u128| {
        sum = sum.wrapping_add(h);
        count += 1;
    };
    for (k, name, counter, v) in s.entries() {
        let kb = key(&k);
        let mut b = vec![1u8];
        b.extend_from_slice(&(kb.len() as u64).to_le_bytes());
        b.extend_from_slice(&kb);
        b.extend_from_slice(&(name.as_bytes().len() as u64).to_le_bytes());
        b.extend_from_slice(name.as_bytes());
        b.extend_from_slice(&counter.to_le_bytes());
        b.extend_from_slice(&value(&v));
        add(xxh3_128_with_seed(&b, seed));
    }
    let ctx = s.context();
    for (name, dots) in ctx.table().names().iter().zip(ctx.dots().replicas()) {
        if dots.is_empty() {
            continue;
        }
        let mut b = vec![2u8];
        b.extend_from_slice(&(name.as_bytes().len() as u64).to_le_bytes());
        b.extend_from_slice(name.as_bytes());
        b.extend_from_slice(&dots.prefix().to_le_bytes());
        for (first, len) in dots.cloud_runs() {
            b.extend_from_slice(&first.to_le_bytes());
            b.extend_from_slice(&len.to_le_bytes());
        }
        add(xxh3_128(&b));
    }
    let mut t = vec![3u8];
    t.extend_from_slice(desc.as_bytes());
    add(xxh3_128(&t));
    // Digest::finish: xxh3_128 of the sum and the count, little-endian
    let mut fin = sum.to_le_bytes().to_vec();
    fin.extend_from_slice(&count.to_le_bytes());
    xxh3_128(&fin)
}

fn mvmap<K: Naive + pluriverse::wire::ArrowItem, V: Naive + pluriverse::wire::ArrowItem>(
    keys: &[K],
    values: &[V],
) -> u128 {
    let mut a: MVMap<K, V> = MVMap::new("a");
    let mut b: MVMap<K, V> = MVMap::new("b");
    a.set_many(keys, values).unwrap();
    b.set(keys[0].clone(), values[values.len() - 1].clone())
        .unwrap();
    a.remove(&keys[keys.len() - 1]);
    a.join(b.store());
    let desc = format!("MVMap<{},{}>", K::NAME, V::NAME);
    assert_eq!(CausalStore::<K, V>::type_description(), desc);
    let want = naive_digest(a.store(), &desc, |k| k.bytes(), |v| v.bytes());
    assert_eq!(a.digest(), want, "{desc}");
    a.digest()
}

#[test]
fn the_digest_is_the_documented_formula_for_every_kind_and_type() {
    let mut all = vec![
        mvmap::<u64, i64>(&[1, 2, 3], &[-1, 0, 1]),
        mvmap::<i64, f64>(&[-1, 2], &[0.5, f64::NAN]),
        mvmap::<String, bool>(&["x".into(), "y".into()], &[true, false]),
        mvmap::<Vec<u8>, String>(&[b"x".to_vec(), vec![0xff]], &["v".into(), "".into()]),
        mvmap::<Vec<u8>, Vec<u8>>(&[b"x".to_vec(), vec![0xff]], &[b"v".to_vec(), vec![]]),
    ];

    let mut s: AWSet<i64> = AWSet::new("s");
    s.add_many(&[1, -5, 9]).unwrap();
    s.remove(&9);
    let want = naive_digest(s.store(), "AWSet<int64,unit>", |k| k.bytes(), |_| vec![]);
    assert_eq!(s.digest(), want);
    all.push(s.digest());

    let mut p: PNCounterMap<String> = PNCounterMap::new("p");
    p.increment("a".into(), 5).unwrap();
    p.decrement("a".into(), 2).unwrap();
    p.increment("b".into(), 1).unwrap();
    let want = naive_digest(
        p.store(),
        "PNCounterMap<utf8,(uint64,uint64)>",
        |k| k.bytes(),
        |(i, d)| [i.bytes(), d.bytes()].concat(),
    );
    assert_eq!(p.digest(), want);
    all.push(p.digest());

    let mut l: LWWMap<u64, String> = LWWMap::new("l");
    l.set(1, "one".into(), 10).unwrap();
    l.set(2, "two".into(), 10).unwrap();
    l.remove(2, 20).unwrap();
    let want = naive_digest(
        l.store(),
        "LWWMap<uint64,(uint64,(bool,utf8))>",
        |k| k.bytes(),
        |(ts, (tomb, v))| [ts.bytes(), tomb.bytes(), v.bytes()].concat(),
    );
    assert_eq!(l.digest(), want);
    all.push(l.digest());

    let n = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), n, "all different");
}

#[test]
fn states_of_different_types_never_share_a_digest() {
    // empty states of every kind
    let empties = [
        MVMap::<u64, u64>::new("a").digest(),
        AWSet::<u64>::new("a").digest(),
        PNCounterMap::<u64>::new("a").digest(),
        LWWMap::<u64, u64>::new("a").digest(),
        MVMap::<u64, i64>::new("a").digest(),
        AWSet::<i64>::new("a").digest(),
    ];
    for i in 0..empties.len() {
        for j in 0..i {
            assert_ne!(empties[i], empties[j], "empty states {i} and {j}");
        }
    }
    // the same bytes under another type: AWSet<int64>{1} and AWSet<uint64>{1}
    let mut si: AWSet<i64> = AWSet::new("a");
    si.add(1).unwrap();
    let mut su: AWSet<u64> = AWSet::new("a");
    su.add(1).unwrap();
    assert_ne!(si.digest(), su.digest());
    assert_ne!(
        si.store().bucket_digests(2).unwrap(),
        su.store().bucket_digests(2).unwrap()
    );
    assert_ne!(
        si.store().key_digests(0, &[true])[0].1,
        su.store().key_digests(0, &[true])[0].1
    );
    // utf8 and binary
    let mut ss: AWSet<String> = AWSet::new("a");
    ss.add("k".into()).unwrap();
    let mut sb: AWSet<Vec<u8>> = AWSet::new("a");
    sb.add(b"k".to_vec()).unwrap();
    assert_ne!(ss.digest(), sb.digest());
    // and equal states still agree whatever the handle's replica
    let other = AWSet::from_store("z", si.store().clone());
    assert_eq!(other.digest(), si.digest());
}
