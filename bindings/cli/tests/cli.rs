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
    let (j1, j2) = (json(&args), json(&args));
    assert_eq!(j1["verdict"], "PASS", "{j1}");
    assert_eq!(j1["config"]["kind"], "LWWMap", "{j1}");
    assert_eq!(j1["config"]["replicas"], 3, "{j1}");
    assert_eq!(j1["writes"]["events"], 2000, "{j1}");
    assert!(
        j1["merges"]["deltas"]["count"].as_u64().unwrap() > 0,
        "{j1}"
    );
    let digest = j1["final_state"]["digest"].as_str().unwrap();
    assert_eq!(digest.len(), 32);
    // the same seed gives the same run (wall-clock fields aside)
    assert_eq!(j1["final_state"], j2["final_state"]);
    assert_eq!(j1["net"], j2["net"]);
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
fn merge_refuses_one_dot_bound_to_two_contents_in_either_order() {
    // issue 13: `merge A B` and `merge B A` gave different files, without a word, when the
    // inputs bound one dot to two contents (two handles writing as one replica)
    let dir = Dir::new("equivocation");
    let (mut x, mut y) = (AnyState::new(mv_type(), "e"), AnyState::new(mv_type(), "e"));
    x.set(Scalar::Utf8("k".into()), Scalar::Int64(1)).unwrap();
    y.set(Scalar::Utf8("k".into()), Scalar::Int64(2)).unwrap(); // the same dot e:1
    let (px, py) = (dir.path("x.arrow"), dir.path("y.arrow"));
    std::fs::write(&px, x.to_bytes().unwrap()).unwrap();
    std::fs::write(&py, y.to_bytes().unwrap()).unwrap();
    let out = dir.path("out.arrow");
    std::fs::write(&out, b"previous content").unwrap();
    let outp = PathBuf::from(&out);
    for (a, b) in [(&px, &py), (&py, &px)] {
        assert_fails_cleanly(
            &["merge", a, b, "-o", &out],
            Some(&outp),
            "bound to two different contents",
        );
    }
    assert_eq!(std::fs::read(&out).unwrap(), b"previous content");
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

/// Runs the binary with `stdin` as its standard input.
fn run_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    // the command may stop reading early (a bound): a write error is expected then
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

#[test]
fn every_command_has_its_own_help() {
    for cmd in ["simulate", "merge", "diff", "inspect"] {
        for flag in ["--help", "-h"] {
            let o = run(&[cmd, flag]);
            let (out, err) = text(&o);
            assert!(o.status.success(), "{cmd} {flag}: {out} {err}");
            assert!(out.contains(&format!("Usage: pluriverse {cmd}")), "{out}");
            assert!(err.is_empty(), "{err}");
        }
    }
    let (out, _) = text(&run(&["simulate", "--help"]));
    for opt in [
        "--seed",
        "--replicas",
        "--loss",
        "--restarts",
        "--json",
        "--force",
    ] {
        assert!(out.contains(opt), "{opt} missing from: {out}");
    }
    assert!(
        out.contains("0 to 0.9"),
        "the accepted loss is stated: {out}"
    );
    let o = run(&["--help"]);
    assert!(o.status.success());
    assert!(text(&o).0.contains("inspect"));
}

#[test]
fn options_are_strict_and_say_what_is_wrong() {
    let dir = Dir::new("strict");
    let (pa, pb, _) = two_states(&dir);
    let (x, y) = (dir.path("x.arrow"), dir.path("y.arrow"));
    for (args, want) in [
        (vec!["simulate", "--json=1"], "--json"),
        (
            vec!["simulate", "--seed", "1", "--seed", "2"],
            "cannot be used multiple times",
        ),
        (
            vec!["merge", &pa, &pb, "-o", &x, "--output", &y],
            "cannot be used multiple times",
        ),
        (vec!["simulate", "--loss", "1.0"], "0.9"),
        (vec!["inspect", "a", "b"], "unexpected argument"),
    ] {
        let o = run(&args);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {out} {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains("unknown option"), "{args:?}: {err}");
    }
    // neither output of the conflicting merge was written
    assert!(!Path::new(&x).exists() && !Path::new(&y).exists());
}

#[test]
fn inspect_reads_standard_input() {
    let dir = Dir::new("stdin");
    let (pa, _, _) = two_states(&dir);
    let bytes = std::fs::read(&pa).unwrap();
    let o = run_with_stdin(&["inspect", "-"], &bytes);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out} {err}");
    assert!(out.contains("<stdin>"), "{out}");
    assert!(out.contains("MVMap<utf8, int64>"), "{out}");
    assert!(out.contains("keys         2"), "{out}");
    // and merge takes it as one of its inputs
    let (_, pb, joined) = two_states(&dir);
    let merged = dir.path("m.arrow");
    let o = run_with_stdin(&["merge", "-", &pb, "-o", &merged], &bytes);
    assert!(o.status.success(), "{:?}", text(&o));
    assert_eq!(std::fs::read(&merged).unwrap(), joined.to_bytes().unwrap());
}

#[test]
fn inputs_are_read_with_a_bound() {
    let dir = Dir::new("bound");
    let (pa, _, _) = two_states(&dir);
    let size = std::fs::metadata(&pa).unwrap().len();
    // a device that never ends: the read stops at the bound
    let t = std::time::Instant::now();
    assert_fails_cleanly(
        &["inspect", "/dev/zero", "--max-bytes", "1000000"],
        None,
        "larger than 1000000 bytes",
    );
    assert!(t.elapsed().as_secs() < 20);
    // a regular file: refused by its size, before it is read
    let limit = (size - 1).to_string();
    assert_fails_cleanly(
        &["inspect", &pa, "--max-bytes", &limit],
        None,
        "larger than",
    );
    let exact = size.to_string();
    assert!(run(&["inspect", &pa, "--max-bytes", &exact])
        .status
        .success());
    // standard input too
    let o = run_with_stdin(
        &["inspect", "-", "--max-bytes", "1000"],
        &vec![0u8; 1 << 20],
    );
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("larger than 1000 bytes"), "{err}");
}

#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = Dir::new("pipe");
    let ty = mv_type();
    let (mut a, b) = (AnyState::new(ty, "a"), AnyState::new(ty, "b"));
    for i in 0..20_000 {
        a.set(Scalar::Utf8(format!("key-{i:06}")), Scalar::Int64(i))
            .unwrap();
    }
    let (pa, pb) = (dir.path("a.arrow"), dir.path("b.arrow"));
    std::fs::write(&pa, a.to_bytes().unwrap()).unwrap();
    std::fs::write(&pb, b.to_bytes().unwrap()).unwrap();
    // `pluriverse diff A B --limit 100000 | head -1`: far more than a pipe buffers
    let mut child = bin()
        .args(["diff", &pa, &pb, "--limit", "100000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // the reader is gone now
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(first.contains("20,000 keys only in"), "{first}");
    assert!(err.is_empty(), "nothing on stderr: {err}");
    assert!(
        matches!(o.status.code(), Some(0 | 141)),
        "exit quietly: {:?}",
        o.status
    );
}

#[test]
fn an_arrow_ipc_file_is_named_as_such() {
    let dir = Dir::new("feather");
    let mut s = AnyState::new(mv_type(), "a");
    s.set(Scalar::Utf8("k".into()), Scalar::Int64(1)).unwrap();
    let (schema, batches) = s.to_record_batches().unwrap();
    let path = dir.path("state.feather");
    let f = std::fs::File::create(&path).unwrap();
    let mut w = arrow_ipc::writer::FileWriter::try_new(f, &schema).unwrap();
    for b in &batches {
        w.write(b).unwrap();
    }
    w.finish().unwrap();
    assert_fails_cleanly(
        &["inspect", &path],
        None,
        "this is an Arrow IPC file (Feather v2); pluriverse reads the IPC stream format",
    );
}

#[test]
fn inspect_escapes_replica_names() {
    let dir = Dir::new("names");
    let ty = mv_type();
    let evil = "evil\x1b[2J\nfake line 0";
    let mut a = AnyState::new(ty, evil);
    a.set(Scalar::Utf8("k".into()), Scalar::Int64(1)).unwrap();
    let mut b = AnyState::new(ty, pluriverse::ReplicaId::from(vec![0xffu8, 0xfe, b'x']));
    b.set(Scalar::Utf8("j\x07".into()), Scalar::Int64(2))
        .unwrap();
    a.join(&b).unwrap();
    let p = dir.path("evil.arrow");
    std::fs::write(&p, a.to_bytes().unwrap()).unwrap();
    let o = run(&["inspect", &p]);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(o.status.success(), "{out}");
    assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
    assert!(!out.lines().any(|l| l.starts_with("fake")), "{out}");
    assert!(out.contains(r#""evil\u{1b}[2J\nfake line 0""#), "{out}");
    assert!(out.contains(r#""\xff\xfex""#), "{out}");
    // keys too, in diff
    let empty = dir.path("empty.arrow");
    std::fs::write(&empty, AnyState::new(ty, "e").to_bytes().unwrap()).unwrap();
    let out = String::from_utf8(run(&["diff", &p, &empty]).stdout).unwrap();
    assert!(!out.contains('\x07'), "{out:?}");
    assert!(out.contains(r#"< "j\u{7}""#), "{out}");
}

#[test]
fn messages_agree_with_their_numbers() {
    let dir = Dir::new("grammar");
    let (pa, pb, _) = two_states(&dir);
    let (out, _) = text(&run(&["inspect", &pa]));
    assert!(out.contains("context      1 replica,"), "{out}");
    assert!(!out.contains("1 replicas"), "{out}");
    let (out, _) = text(&run(&["diff", &pa, &pb]));
    assert!(out.contains("1 key only in"), "{out}");
    let mut s = AnyState::new(
        StateType::new(Kind::AWSet, KeyType::Utf8, None).unwrap(),
        "z",
    );
    s.add(Scalar::Utf8("e".into())).unwrap();
    let set = dir.path("set.arrow");
    std::fs::write(&set, s.to_bytes().unwrap()).unwrap();
    let (_, err) = text(&run(&["diff", &pa, &set]));
    assert!(err.contains("holds an AWSet<utf8>"), "{err}");
    assert!(err.contains("holds an MVMap<utf8, int64>"), "{err}");
    assert!(
        !err.contains("a AWSet") && !err.contains("a MVMap"),
        "{err}"
    );
    let (out, _) = text(&run(&["simulate", "--replicas", "1", "--records", "50"]));
    assert!(out.contains("1 replica,"), "{out}");
}

#[test]
fn arrow_errors_are_explained() {
    let dir = Dir::new("explain");
    let (pa, _, _) = two_states(&dir);
    let good = std::fs::read(&pa).unwrap();
    for cut in [good.len() / 2, good.len() - 9, 12] {
        let p = dir.path(&format!("cut-{cut}.arrow"));
        std::fs::write(&p, &good[..cut]).unwrap();
        assert_fails_cleanly(&["inspect", &p], None, "the file is truncated or corrupt");
    }
}

#[test]
fn simulate_refuses_what_it_cannot_hold() {
    for args in [
        &["simulate", "--replicas", "1000", "--records", "1000"][..],
        &["simulate", "--records", "50000000"],
    ] {
        let t = std::time::Instant::now();
        let o = run(args);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {out} {err}");
        assert!(
            err.contains("GiB of memory") && err.contains("--force"),
            "{err}"
        );
        assert!(t.elapsed().as_secs() < 10, "refused up front");
    }
}

#[test]
fn simulate_shows_progress_in_every_phase() {
    let o = run(&[
        "simulate",
        "--records",
        "2000",
        "--replicas",
        "3",
        "--progress",
        "always",
    ]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out} {err}");
    for phase in ["writing", "in flight", "anti-entropy round", "checking"] {
        assert!(err.contains(phase), "{phase} missing: {err}");
    }
    // and none by default when stderr is not a terminal
    let (_, err) = text(&run(&["simulate", "--records", "2000", "--replicas", "3"]));
    assert!(err.is_empty(), "{err}");
}

#[test]
fn the_highest_accepted_loss_converges() {
    for seed in ["1", "2", "3"] {
        let o = run(&[
            "simulate",
            "--loss",
            "0.9",
            "--records",
            "2000",
            "--replicas",
            "4",
            "--seed",
            seed,
        ]);
        let (out, err) = text(&o);
        assert!(o.status.success(), "seed {seed}: {out} {err}");
        assert!(out.contains("verdict: PASS"), "{out}");
    }
}

fn json(args: &[&str]) -> serde_json::Value {
    let o = run(args);
    assert!(o.status.success(), "{:?}", text(&o));
    serde_json::from_slice(&o.stdout).expect("one JSON document")
}

#[test]
fn simulate_reports_the_faults_that_happened() {
    // the writes end before any scheduled fault is due
    let j = json(&[
        "simulate",
        "--records",
        "10",
        "--replicas",
        "2",
        "--restarts",
        "keep",
        "--partition",
        "isolate",
        "--json",
    ]);
    let f = &j["faults"];
    assert_eq!(f["restarts"], 0, "{f}");
    assert_eq!(f["blocked_by_partition"], 0, "{f}");
    assert_eq!(f["partitions_in_effect"], 0, "{f}");
    assert!(f["restarts_scheduled"].as_u64().unwrap() >= 1, "{f}");
    let (out, _) = text(&run(&[
        "simulate",
        "--records",
        "10",
        "--replicas",
        "2",
        "--restarts",
        "keep",
        "--partition",
        "isolate",
    ]));
    assert!(out.contains("0 of 1 scheduled"), "{out}");
    assert!(
        out.contains("before the scheduled faults came due"),
        "{out}"
    );
    // a longer run does what it scheduled, and the counts agree with each other
    let j = json(&[
        "simulate",
        "--records",
        "20000",
        "--replicas",
        "4",
        "--restarts",
        "lose",
        "--partition",
        "isolate",
        "--seed",
        "3",
        "--json",
    ]);
    let f = &j["faults"];
    assert!(f["restarts"].as_u64().unwrap() >= 1, "{f}");
    assert!(
        f["restarts"].as_u64() <= f["restarts_scheduled"].as_u64(),
        "{f}"
    );
    assert_eq!(f["restarts_state_lost"], f["restarts"], "{f}");
    assert!(f["blocked_by_partition"].as_u64().unwrap() > 0, "{f}");
    assert_eq!(f["blocked_by_partition"], j["net"]["blocked_by_partition"]);
    assert_eq!(j["verdict"], "PASS");
}

#[test]
fn diff_at_24_bits_runs_in_a_small_address_space() {
    // issue 13: `diff --bits 24` took 1 GB on empty states; under a 400 MB address-space
    // limit (ulimit -v) it must still answer, since its memory follows the data
    let dir = Dir::new("diff-bits");
    let (pa, _, _) = two_states(&dir);
    let empty = dir.path("empty.arrow");
    std::fs::write(&empty, AnyState::new(mv_type(), "e").to_bytes().unwrap()).unwrap();
    let limited = |a: &str, b: &str| {
        Command::new("sh")
            .arg("-c")
            .arg("ulimit -v 400000 && exec \"$0\" diff --bits 24 \"$1\" \"$2\"")
            .args([env!("CARGO_BIN_EXE_pluriverse"), a, b])
            .output()
            .unwrap()
    };
    let o = limited(&empty, &empty);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out} {err}");
    assert!(out.starts_with("0 of 16,777,216 buckets differ"), "{out}");
    assert!(out.contains("the states are equal"), "{out}");
    let o = limited(&pa, &empty);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out} {err}");
    assert!(
        out.starts_with("2 of 16,777,216 buckets differ; 2 keys only in"),
        "{out}"
    );
}
