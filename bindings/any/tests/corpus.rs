//! Runs the shared case corpus (`testdata/*.case`, format in `testdata/README.md`) through
//! the Rust face. The Python and C test suites run the same files.

use std::collections::BTreeMap;
use std::path::PathBuf;

use pluriverse::CausalContext;
use pluriverse_any::{AnyState, KeyType, Kind, Scalar, StateType, ValueType};

struct Replica {
    state: AnyState,
    outbox: Vec<Vec<u8>>,
}

struct Case {
    name: String,
    ty: Option<StateType>,
    replicas: BTreeMap<String, Replica>,
    checks: usize,
}

impl Case {
    fn ty(&self) -> StateType {
        self.ty.expect("`kind` line before use")
    }
    fn key(&self, text: &str) -> Scalar {
        Scalar::parse_key(text, self.ty().key).unwrap()
    }
    fn value(&self, text: &str) -> Scalar {
        Scalar::parse_value(text, self.ty().value.expect("a kind with values")).unwrap()
    }
    fn replica(&mut self, name: &str) -> &mut Replica {
        let case = self.name.clone();
        self.replicas
            .get_mut(name)
            .unwrap_or_else(|| panic!("{case}: unknown replica {name}"))
    }
    fn state(&self, name: &str) -> &AnyState {
        &self.replicas[name].state
    }
}

fn num(t: &str) -> u64 {
    t.parse().unwrap()
}

fn run_line(case: &mut Case, words: &[&str]) {
    let name = case.name.clone();
    match words {
        ["kind", kind, key, rest @ ..] => {
            let kind: Kind = kind.parse().unwrap();
            let key: KeyType = key.parse().unwrap();
            let value: Option<ValueType> = rest.first().map(|v| v.parse().unwrap());
            case.ty = Some(StateType::new(kind, key, value).unwrap());
        }
        ["replicas", names @ ..] => {
            for n in names {
                let state = AnyState::new(case.ty(), *n);
                case.replicas.insert(
                    n.to_string(),
                    Replica {
                        state,
                        outbox: vec![],
                    },
                );
            }
        }
        ["deliver", from, to, i] => {
            let bytes = case.replica(from).outbox[num(i) as usize].clone();
            case.replica(to).state.join_bytes(&bytes).unwrap();
        }
        ["sync", from, to] => {
            let ctx = CausalContext::from_bytes(&case.state(to).context().to_bytes()).unwrap();
            let bytes = case.state(from).delta_since(&ctx).to_bytes().unwrap();
            case.replica(to).state.join_bytes(&bytes).unwrap();
        }
        ["merge", from, to] => {
            let bytes = case.state(from).to_bytes().unwrap();
            case.replica(to).state.join_bytes(&bytes).unwrap();
        }
        ["expect", r, "get", key, values @ ..] => {
            let got = case.state(r).get(&case.key(key)).unwrap();
            let mut got: Vec<String> = got.iter().map(|v| v.to_string()).collect();
            got.sort();
            assert_eq!(got, values, "{name}: {r} get {key}");
            case.checks += 1;
        }
        ["expect", r, "lget", key, value] => {
            let got = case.state(r).get(&case.key(key)).unwrap();
            let want: Vec<Scalar> = match *value {
                "-" => vec![],
                v => vec![case.value(v)],
            };
            assert_eq!(got, want, "{name}: {r} lget {key}");
            case.checks += 1;
        }
        ["expect", r, "contains", key, b] => {
            let got = case.state(r).contains(&case.key(key)).unwrap();
            assert_eq!(got, *b == "true", "{name}: {r} contains {key}");
            case.checks += 1;
        }
        ["expect", r, "value", key, v] => {
            let got = case.state(r).value(&case.key(key)).unwrap();
            assert_eq!(got, v.parse::<i128>().unwrap(), "{name}: {r} value {key}");
            case.checks += 1;
        }
        ["expect", r, "len", n] => {
            assert_eq!(case.state(r).len(), num(n) as usize, "{name}: {r} len");
            case.checks += 1;
        }
        ["expect-digest", r, hex] => {
            let got: String = case
                .state(r)
                .digest_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(got, *hex, "{name}: digest of {r}");
            // one byte order: the bytes are the u128's big-endian bytes, so their hex is
            // the u128's hex
            let state = case.state(r);
            assert_eq!(state.digest_bytes(), state.digest().to_be_bytes());
            assert_eq!(format!("{:032x}", state.digest()), *hex, "{name}: u128 hex");
            case.checks += 1;
        }
        ["expect-equal", first, rest @ ..] => {
            let a = case.state(first);
            if std::env::var_os("PLURIVERSE_CORPUS_SHOW_DIGESTS").is_some() {
                let hex: String = a
                    .digest_bytes()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                eprintln!("{name}: expect-digest {first} {hex}");
            }
            for r in rest {
                let b = case.state(r);
                assert_eq!(a.digest(), b.digest(), "{name}: digests of {first} and {r}");
                assert_eq!(
                    a.to_bytes().unwrap(),
                    b.to_bytes().unwrap(),
                    "{name}: bytes of {first} and {r}"
                );
            }
            case.checks += 1;
        }
        [r, op, args @ ..] => {
            let (key, ty) = (args.first().copied().unwrap_or(""), case.ty());
            let k = Scalar::parse_key(key, ty.key).unwrap();
            let rep = &mut case.replica(r).state;
            let delta = match (*op, args) {
                ("set", [_, v]) => rep.set(k, Scalar::parse_value(v, ty.value.unwrap()).unwrap()),
                ("remove", [_]) => rep.remove(k),
                ("add", [_]) => rep.add(k),
                ("inc", [_, n]) => rep.increment(k, num(n)),
                ("dec", [_, n]) => rep.decrement(k, num(n)),
                ("lset", [_, v, ts]) => rep.set_at(
                    k,
                    Scalar::parse_value(v, ty.value.unwrap()).unwrap(),
                    num(ts),
                ),
                ("lremove", [_, ts]) => rep.remove_at(k, num(ts)),
                _ => panic!("{name}: unknown line {words:?}"),
            };
            let bytes = delta.unwrap().to_bytes().unwrap();
            case.replica(r).outbox.push(bytes);
        }
        _ => panic!("{name}: unknown line {words:?}"),
    }
}

#[test]
fn corpus() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "case"))
        .collect();
    files.sort();
    let (mut cases, mut checks) = (0, 0);
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let mut case: Option<Case> = None;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = line.split(' ').collect();
            match (words.as_slice(), case.as_mut()) {
                (["case", name], None) => {
                    case = Some(Case {
                        name: name.to_string(),
                        ty: None,
                        replicas: BTreeMap::new(),
                        checks: 0,
                    })
                }
                (["end"], Some(c)) => {
                    assert!(c.checks > 0, "{}: a case must check something", c.name);
                    cases += 1;
                    checks += c.checks;
                    case = None;
                }
                (_, Some(c)) => run_line(c, &words),
                _ => panic!("{}: line outside a case: {line}", f.display()),
            }
        }
        assert!(case.is_none(), "{}: case without `end`", f.display());
    }
    assert!(cases >= 10, "the corpus holds {cases} cases");
    eprintln!(
        "corpus: {cases} cases, {checks} checks, {} files",
        files.len()
    );
}
