//! The `pluriverse` binary end to end: real processes, real files, exit codes, and files
//! left untouched on errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pluriverse_any::{AnyState, KeyType, Kind, Scalar, StateType, ValueType};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pluriverse"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A scratch directory, removed at the end.
struct Dir(PathBuf);
impl Dir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("pluriverse-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    fn path(&self, f: &str) -> String {
        self.0.join(f).to_string_lossy().into_owned()
    }
}
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn mv_type() -> StateType {
    StateType::new(Kind::MVMap, KeyType::Utf8, Some(ValueType::Int64)).unwrap()
}

/// Two replicas' states: a shared key written concurrently, and one key each.
fn two_states(dir: &Dir) -> (String, String, AnyState) {
    let mut a = AnyState::new(mv_type(), "a");
    let mut b = AnyState::new(mv_type(), "b");
    let k = |s: &str| Scalar::Utf8(s.into());
    a.set(k("shared"), Scalar::Int64(1)).unwrap();
    b.set(k("shared"), Scalar::Int64(2)).unwrap();
    a.set(k("only-a"), Scalar::Int64(3)).unwrap();
    b.set(k("only-b"), Scalar::Int64(4)).unwrap();
    let (pa, pb) = (dir.path("a.arrow"), dir.path("b.arrow"));
    std::fs::write(&pa, a.to_bytes().unwrap()).unwrap();
    std::fs::write(&pb, b.to_bytes().unwrap()).unwrap();
    let mut joined = a.clone();
    joined.join(&b).unwrap();
    (pa, pb, joined)
}

#[test]
fn simulate_prints_a_real_verdict() {
    let o = run(&[
        "simulate",
        "--records",
        "3000",
        "--replicas",
        "4",
        "--seed",
        "7",
        "--restarts",
        "mixed",
    ]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(out.contains("verdict: PASS"), "{out}");
    assert!(out.contains("3,000 writes"), "{out}");
    assert!(out.contains("byte-identical"), "{out}");
}

#[test]
fn simulate_json_is_machine_readable_and_deterministic() {
    let args = [
        "simulate",
        "--records",
        "2000",
        "--replicas",
        "3",
        "--kind",
        "lww",
        "--loss",
        "0.3",
        "--json",
    ];
    let (o1, o2) = (run(&args), run(&args));
    let (j1, _) = text(&o1);
    let (j2, _) = text(&o2);
    assert!(o1.status.success());
    assert!(j1.starts_with('{') && j1.trim_end().ends_with('}'), "{j1}");
    assert!(j1.contains("\"verdict\":\"PASS\""), "{j1}");
    assert!(j1.contains("\"kind\":\"LWWMap\""), "{j1}");
    // the same seed gives the same run (wall-clock fields aside)
    let digest = |j: &str| j.split("\"digest\":").nth(1).map(|s| s[..34].to_string());
    assert_eq!(digest(&j1), digest(&j2));
    assert!(digest(&j1).is_some());
}

#[test]
fn simulate_rejects_bad_options() {
    for bad in [
        &["simulate", "--loss", "2"][..],
        &["simulate", "--kind", "tree"],
        &["simulate", "--replicas", "0"],
        &["simulate", "--partition", "sideways"],
        &["simulate", "--bogus"],
        &["simulate", "--seed"],
        &["frobnicate"],
    ] {
        let o = run(bad);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {out} {err}");
        assert_eq!(err.lines().count(), 1, "{bad:?}: one line: {err}");
        assert!(out.is_empty());
    }
}

#[test]
fn merge_writes_the_join_atomically() {
    let dir = Dir::new("merge");
    let (pa, pb, joined) = two_states(&dir);
    let out = dir.path("out.arrow");
    let o = run(&["merge", &pa, &pb, "-o", &out]);
    assert!(o.status.success(), "{:?}", text(&o));
    let bytes = std::fs::read(&out).unwrap();
    // the merged file is exactly the join computed in-process
    assert_eq!(bytes, joined.to_bytes().unwrap());
    let back = AnyState::from_bytes(&bytes, "x").unwrap();
    let mut shared: Vec<Scalar> = back.get(&Scalar::Utf8("shared".into())).unwrap();
    shared.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(shared, vec![Scalar::Int64(1), Scalar::Int64(2)]);
    // no temporary file is left behind
    let names: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
}

#[test]
fn inspect_and_diff_report_what_is_in_the_files() {
    let dir = Dir::new("inspect");
    let (pa, pb, _) = two_states(&dir);
    let o = run(&["inspect", &pa]);
    let (out, _) = text(&o);
    assert!(o.status.success());
    assert!(out.contains("MVMap<utf8, int64>"), "{out}");
    assert!(out.contains("keys         2"), "{out}");
    let o = run(&["diff", &pa, &pb]);
    let (out, _) = text(&o);
    assert!(o.status.success());
    assert!(out.contains("1 key only in"), "{out}");
    assert!(out.contains("< \"only-a\""), "{out}");
    assert!(out.contains("> \"only-b\""), "{out}");
    assert!(out.contains("~ \"shared\""), "{out}");
    let o = run(&["diff", &pa, &pa]);
    assert!(text(&o).0.contains("the states are equal"));
}

fn assert_fails_cleanly(args: &[&str], out_file: Option<&Path>, want: &str) {
    let before = out_file.map(|p| std::fs::read(p).ok());
    let o = run(args);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{args:?}: {out} {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
    assert!(err.contains(want), "{args:?}: {err}");
    if let (Some(p), Some(b)) = (out_file, before) {
        assert_eq!(std::fs::read(p).ok(), b, "{args:?}: output touched");
    }
}

#[test]
fn bad_files_fail_with_one_line_and_touch_nothing() {
    let dir = Dir::new("bad");
    let (pa, pb, _) = two_states(&dir);
    let out = dir.path("out.arrow");
    std::fs::write(&out, b"previous content").unwrap();
    let outp = PathBuf::from(&out);
    // truncated
    let good = std::fs::read(&pa).unwrap();
    let trunc = dir.path("trunc.arrow");
    std::fs::write(&trunc, &good[..good.len() / 2]).unwrap();
    assert_fails_cleanly(
        &["merge", &pa, &trunc, "-o", &out],
        Some(&outp),
        "trunc.arrow",
    );
    // corrupted bytes
    let mut bad = good.clone();
    for i in (8..bad.len()).step_by(7) {
        bad[i] ^= 0x5a;
    }
    let corrupt = dir.path("corrupt.arrow");
    std::fs::write(&corrupt, &bad).unwrap();
    assert_fails_cleanly(
        &["merge", &corrupt, &pb, "-o", &out],
        Some(&outp),
        "corrupt.arrow",
    );
    assert_fails_cleanly(&["inspect", &corrupt], None, "truncated or corrupt");
    // not Arrow at all
    let text_file = dir.path("notes.txt");
    std::fs::write(&text_file, "hello").unwrap();
    assert_fails_cleanly(&["diff", &text_file, &pa], None, "notes.txt");
    // another kind
    let mut s = AnyState::new(
        StateType::new(Kind::AWSet, KeyType::Utf8, None).unwrap(),
        "z",
    );
    s.add(Scalar::Utf8("e".into())).unwrap();
    let set = dir.path("set.arrow");
    std::fs::write(&set, s.to_bytes().unwrap()).unwrap();
    assert_fails_cleanly(
        &["merge", &pa, &set, "-o", &out],
        Some(&outp),
        "cannot be merged",
    );
    assert_fails_cleanly(&["diff", &pa, &set], None, "cannot be merged");
    // missing path
    let missing = dir.path("missing.arrow");
    assert_fails_cleanly(
        &["merge", &pa, &missing, "-o", &out],
        Some(&outp),
        "missing.arrow",
    );
    assert_fails_cleanly(&["inspect", &missing], None, "missing.arrow");
    // an output in a directory that does not exist
    let nowhere = dir.path("no/such/dir/out.arrow");
    assert_fails_cleanly(&["merge", &pa, &pb, "-o", &nowhere], None, "out.arrow");
    assert_eq!(std::fs::read(&out).unwrap(), b"previous content");
}
