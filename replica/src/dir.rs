//! The durable replica: a directory holding a snapshot and an append-only log.
//!
//! # Layout (format 2)
//! | file | what |
//! |---|---|
//! | `replica.json` | format, replica name, kind and key/value types (written atomically: at create, and when an open upgrades format 1) |
//! | `LOCK` | locked (`flock`) by the process that has the replica open |
//! | `snapshot-<seq>.arrow` | the state as of the fold that made it, in the state format (any Arrow reader opens it) |
//! | `log-<seq>` | [`log`] records: local writes' and received deltas since the snapshot `<seq>` |
//!
//! Format 2 adds log records holding a received delta in the compact bytes it came in
//! ([`log::TAG_COMPACT`], [`Replica::apply_many_compact`]); format 1 (Arrow records
//! only) is read as it is, and an open of a format-1 directory rewrites `replica.json` as
//! format 2 before it logs anything, so an older build refuses the directory by its
//! format instead of meeting a record tag it does not know.
//!
//! Opening takes the newest snapshot, joins every record of the logs numbered from it on
//! (a join is idempotent, so a record already in the snapshot changes nothing), cuts a torn
//! tail off the last log, and refuses a damaged record anywhere else with the file and
//! offset. A fold writes `snapshot-<n+1>.arrow` (temporary file, fsync, rename, fsync of
//! the directory) after starting `log-<n+1>`, then deletes the older files; a kill at any
//! point leaves a directory that opens to the same state. [`Replica::start_fold`] does the
//! same with the snapshot encoded and written by a thread of its own (the caller cuts the
//! log and clones the state, then goes on writing into `log-<n+1>`): the files and their
//! order are those of a fold on the caller's thread, so the format does not change. The
//! clone shares the state's runs (no rows are copied); a run the caller changes while the
//! fold still holds it is copied then, so a fold in flight holds up to one more state in
//! memory until it is written.
//!
//! # Folds and received deltas
//! Local writes fold by [`Options::fold_bytes`]' rule at once. Deltas received from peers
//! do not fold as they come (a catch-up would otherwise encode its growing state again
//! at every fold): they fold when the log passes [`RECEIVED_FOLD_FACTOR`] times
//! `fold_bytes`, and otherwise when the caller says the stream has paused ([`Replica::fold_if_due`],
//! which a node calls once no delta has arrived for a while), so a catch-up into an empty
//! replica writes one snapshot, at its end.
//!
//! # Durability
//! See [`Durability`]: what a successful write survives is the caller's choice.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use pluriverse::wire::Limits;
use pluriverse::ReplicaId;
use pluriverse_any::{AnyState, KeyType, Kind, StateType, ValueType};
use serde::{Deserialize, Serialize};

use crate::error::{io, ReplicaError, Result};
use crate::identity::fresh_incarnation;
use crate::log::{self, TAG_COMPACT, TAG_DELTA};

/// Format of the directory written to `replica.json`.
pub const DIR_FORMAT: u32 = 2;
const META: &str = "replica.json";
const LOCK: &str = "LOCK";

/// What a write that returned success survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// The record is handed to the operating system (`write`) before the write returns: it
    /// survives a crash or kill of the process, not a power loss.
    Buffered,
    /// The log is `fdatasync`ed before the write returns: the write survives power loss.
    Synced,
    /// Group commit: the record is written as for `Buffered`, and the write is durable
    /// against power loss once [`Replica::sync`] returns; one `fdatasync` acknowledges a
    /// whole batch ([`Written::durable`] says which applies). The default: a caller that
    /// acknowledges many writes at once (a server) syncs once per batch.
    #[default]
    Group,
}

/// How a replica keeps its directory.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// What a successful write survives.
    pub durability: Durability,
    /// The log is folded into a new snapshot when it grows past this many bytes
    /// (default 64 MiB), or earlier: past the snapshot's own size once it holds at least
    /// [`FOLD_FLOOR`] bytes, so that an open never replays much more than it reads (a
    /// small replica restarted many times would otherwise replay an ever longer log of
    /// small records at every open).
    pub fold_bytes: u64,
    /// Bounds on what received deltas may hold (and on the files read at open).
    pub limits: Limits,
}

/// The log size below which only [`Options::fold_bytes`] starts a fold (1 MiB): a small
/// snapshot is not rewritten for every few records.
pub const FOLD_FLOOR: u64 = 1 << 20;

/// Received deltas ([`Replica::apply`] and its kin) fold only once the log passes this
/// many times [`Options::fold_bytes`] (256 MiB by default), or at [`Replica::fold_if_due`]:
/// an open then replays at most about that many bytes of records.
pub const RECEIVED_FOLD_FACTOR: u64 = 4;

impl Default for Options {
    fn default() -> Self {
        Self {
            durability: Durability::default(),
            fold_bytes: 64 << 20,
            limits: Limits::default(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Meta {
    format: u32,
    /// The name's bytes in hex (names may be any bytes).
    name_hex: String,
    /// The name as text, for people, when it is UTF-8.
    #[serde(default)]
    name: Option<String>,
    kind: String,
    key: String,
    #[serde(default)]
    value: Option<String>,
}

/// What a local write did.
#[derive(Debug, Clone)]
pub struct Written {
    /// The delta to ship to peers.
    pub delta: AnyState,
    /// The incarnation that wrote it.
    pub writer: ReplicaId,
    /// The counters the write was given, `first..=last` of `writer` (`None` for a write that
    /// takes no dot: a remove).
    pub dots: Option<(u64, u64)>,
    /// Whether the write is durable against power loss now (`Synced`), or becomes so at the
    /// next [`Replica::sync`] (`Buffered`, `Group`).
    pub durable: bool,
}

/// A replica that lives in a directory: survives its process, writes under a fresh
/// incarnation at every open (so a dot is never issued twice, whatever happened to the
/// files), and is opened by one handle at a time.
///
/// # Example
/// ```
/// use pluriverse_any::{Kind, KeyType, Scalar, StateType, ValueType};
/// use pluriverse_replica::{Options, Replica};
/// let dir = std::env::temp_dir().join(format!("plv-doc-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let t = StateType::new(Kind::MVMap, KeyType::Utf8, Some(ValueType::Int64)).unwrap();
/// let mut paris = Replica::create(&dir, "paris", t, Options::default()).unwrap();
/// let w = paris.write(|s| s.set(Scalar::Utf8("k".into()), Scalar::Int64(1))).unwrap();
/// assert_eq!(w.dots, Some((1, 1)));
/// assert!(Replica::open(&dir, Options::default()).is_err()); // one handle at a time
/// drop(paris);
/// let again = Replica::open(&dir, Options::default()).unwrap();
/// assert_eq!(again.state().get(&Scalar::Utf8("k".into())).unwrap(), vec![Scalar::Int64(1)]);
/// assert_ne!(again.writer(), &w.writer); // a fresh incarnation
/// # drop(again); std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub struct Replica {
    dir: PathBuf,
    _lock: File,
    name: ReplicaId,
    writer: ReplicaId,
    state: AnyState,
    opts: Options,
    log: File,
    log_path: PathBuf,
    log_seq: u64,
    log_len: u64,
    /// The newest snapshot (0 when there is none): files numbered below it are stale.
    snapshot_seq: u64,
    /// Its size in bytes (0 when there is none).
    snapshot_len: u64,
    /// Records written since the last `fdatasync`.
    unsynced: bool,
    poisoned: bool,
    /// Bumped at every change of the state (a write, a received delta joined, a fold's
    /// retirement of idle incarnations): [`Replica::changes`].
    changes: u64,
    /// A fold whose snapshot is being written by another thread
    /// ([`Replica::start_fold`]).
    pending: Option<PendingFold>,
}

/// A snapshot being encoded and written off the caller's thread: its number, and the
/// thread, which returns the snapshot's size once it is renamed into place, the directory
/// synced and the files it makes stale removed.
struct PendingFold {
    seq: u64,
    thread: std::thread::JoinHandle<Result<u64>>,
}

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica")
            .field("dir", &self.dir)
            .field("name", &self.name.to_string())
            .field("writer", &self.writer.to_string())
            .field("log_seq", &self.log_seq)
            .finish()
    }
}

/// A state or delta together with the bytes it was decoded from (the state format, as
/// [`AnyState::to_bytes`] writes it), for [`Replica::apply_encoded`], which logs the bytes
/// as they are. Only [`Encoded::decode`] makes one, so the two always agree.
pub struct Encoded {
    state: AnyState,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for Encoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoded")
            .field("entries", &self.state.entry_count())
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

impl Encoded {
    /// Decodes `bytes` within `limits` as a state whose local writer is `writer` (the
    /// replica's [`Replica::writer`]), every validation of
    /// [`AnyState::from_bytes_with_limits`] included.
    ///
    /// # Errors
    /// The decode's error, as [`ReplicaError::State`].
    pub fn decode(bytes: Vec<u8>, writer: ReplicaId, limits: &Limits) -> Result<Self> {
        let state = AnyState::from_bytes_with_limits(&bytes, writer, limits)?;
        Ok(Self { state, bytes })
    }

    /// The decoded state.
    pub fn state(&self) -> &AnyState {
        &self.state
    }

    /// The bytes it was decoded from.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

fn snapshot_name(seq: u64) -> String {
    format!("snapshot-{seq:020}.arrow")
}
fn log_name(seq: u64) -> String {
    format!("log-{seq:020}")
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir, "fsync directory"))
}

/// Writes `bytes` to `path` atomically: a temporary file, fsync, rename, fsync of the
/// directory.
fn write_atomic(dir: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).map_err(io(&tmp, "create"))?;
    f.write_all(bytes).map_err(io(&tmp, "write"))?;
    f.sync_all().map_err(io(&tmp, "fsync"))?;
    fs::rename(&tmp, path).map_err(io(path, "rename into"))?;
    sync_dir(dir)
}

/// Deletes what the newest snapshot (`snapshot_seq`) makes stale: older snapshots and the
/// logs numbered below it (their records are in it), and temporaries of an interrupted
/// fold. Logs from the snapshot's number on are kept: they may hold records it does not.
/// Never runs while a fold's thread writes its temporary (a fold waits for the one before).
fn remove_stale(dir: &Path, snapshot_seq: u64) -> Result<()> {
    for e in fs::read_dir(dir).map_err(io(dir, "list"))? {
        let e = e.map_err(io(dir, "list"))?;
        let fname = e.file_name();
        let Some(f) = fname.to_str() else { continue };
        let seq = f
            .strip_prefix("snapshot-")
            .and_then(|s| s.strip_suffix(".arrow"))
            .or_else(|| f.strip_prefix("log-"))
            .and_then(|s| s.parse::<u64>().ok());
        let stale = f.ends_with(".tmp") || seq.is_some_and(|s| s < snapshot_seq);
        if stale {
            fs::remove_file(e.path()).map_err(io(e.path(), "remove"))?;
        }
    }
    Ok(())
}

/// What a fold's thread does ([`Replica::start_fold`]): encodes `state` as snapshot `seq`,
/// writes it atomically (temporary, fsync, rename, fsync of the directory), and only then
/// removes the files it makes stale (the previous snapshot and logs, whose records it
/// holds) and syncs the directory again. Returns the snapshot's size.
fn write_snapshot(dir: &Path, seq: u64, state: &AnyState) -> Result<u64> {
    let bytes = state.to_bytes()?;
    write_atomic(dir, &dir.join(snapshot_name(seq)), &bytes)?;
    remove_stale(dir, seq)?;
    sync_dir(dir)?;
    Ok(bytes.len() as u64)
}

fn lock(dir: &Path) -> Result<File> {
    let p = dir.join(LOCK);
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&p)
        .map_err(io(&p, "open"))?;
    // A holder that goes away within a moment is waited for: a process that another
    // thread of ours forked holds a copy of a descriptor we closed until it execs, and the
    // lock lives as long as any copy does. A real second holder is reported after ~0.1 s.
    for attempt in 0..LOCK_ATTEMPTS {
        match f.try_lock() {
            Ok(()) => return Ok(f),
            Err(fs::TryLockError::WouldBlock) if attempt + 1 < LOCK_ATTEMPTS => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(fs::TryLockError::WouldBlock) => break,
            Err(fs::TryLockError::Error(e)) => return Err(io(&p, "lock")(e)),
        }
    }
    Err(ReplicaError::Locked { dir: dir.into() })
}

/// How many times [`lock`] tries before reporting [`ReplicaError::Locked`].
const LOCK_ATTEMPTS: u32 = 10;

impl Replica {
    /// Creates a replica named `name` of type `ty` in `dir` (created if missing; it must not
    /// hold a replica already) and opens it.
    ///
    /// # Errors
    /// [`ReplicaError::Config`] for a name that is empty or longer than
    /// [`MAX_REPLICA_NAME`](crate::identity::MAX_REPLICA_NAME) bytes,
    /// [`ReplicaError::AlreadyExists`], or [`ReplicaError::Io`].
    pub fn create(
        dir: impl AsRef<Path>,
        name: impl Into<ReplicaId>,
        ty: StateType,
        opts: Options,
    ) -> Result<Self> {
        let dir = dir.as_ref();
        let name = name.into();
        crate::identity::check_name(&name)?;
        fs::create_dir_all(dir).map_err(io(dir, "create directory"))?;
        let _lock = lock(dir)?;
        let meta_path = dir.join(META);
        if meta_path.exists() {
            return Err(ReplicaError::AlreadyExists { dir: dir.into() });
        }
        let meta = Meta {
            format: DIR_FORMAT,
            name_hex: hex(name.as_bytes()),
            name: name.as_str().map(str::to_owned),
            kind: ty.kind.name().to_owned(),
            key: ty.key.name().to_owned(),
            value: ty.value.map(|v| v.name().to_owned()),
        };
        let json = serde_json::to_vec_pretty(&meta)
            .map_err(|e| ReplicaError::Config(format!("replica.json: {e}")))?;
        write_atomic(dir, &meta_path, &json)?;
        // Keep the lock: releasing it and taking it again in `open` would race with any
        // process another thread forks meanwhile (the child holds a copy of the locked
        // descriptor until it execs, and the second `try_lock` would see it as a holder).
        Self::open_locked(dir.to_path_buf(), _lock, opts)
    }

    /// Opens the replica in `dir`: the newest snapshot plus the logs after it, under a fresh
    /// incarnation. A torn tail of the last log is cut.
    ///
    /// # Errors
    /// [`ReplicaError::Locked`] when another handle has it open,
    /// [`ReplicaError::NotAReplica`], [`ReplicaError::Corrupt`] naming the file and offset of
    /// a damaged record or snapshot, or [`ReplicaError::Io`].
    pub fn open(dir: impl AsRef<Path>, opts: Options) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        let not = |why: String| ReplicaError::NotAReplica {
            dir: dir.clone(),
            why,
        };
        if !dir.join(META).exists() {
            return Err(not(format!("no {META}")));
        }
        let lock = lock(&dir)?;
        Self::open_locked(dir, lock, opts)
    }

    /// [`Replica::open`] once the directory's lock is held.
    fn open_locked(dir: PathBuf, _lock: File, opts: Options) -> Result<Self> {
        let not = |why: String| ReplicaError::NotAReplica {
            dir: dir.clone(),
            why,
        };
        let meta_path = dir.join(META);
        let meta_bytes = fs::read(&meta_path).map_err(io(&meta_path, "read"))?;
        let meta: Meta =
            serde_json::from_slice(&meta_bytes).map_err(|e| not(format!("{META}: {e}")))?;
        if meta.format != DIR_FORMAT && meta.format != 1 {
            return Err(not(format!(
                "directory format {} (this build reads 1 and {DIR_FORMAT})",
                meta.format
            )));
        }
        let name =
            ReplicaId::from(unhex(&meta.name_hex).ok_or_else(|| not("bad name_hex".into()))?);
        let ty = StateType::new(
            meta.kind.parse::<Kind>().map_err(|e| not(e.to_string()))?,
            meta.key
                .parse::<KeyType>()
                .map_err(|e| not(e.to_string()))?,
            meta.value
                .as_deref()
                .map(str::parse::<ValueType>)
                .transpose()
                .map_err(|e| not(e.to_string()))?,
        )
        .map_err(|e| not(e.to_string()))?;
        if meta.format == 1 {
            // format 2 reads every format-1 file as it is; an older build must not meet
            // the records format 2 adds, so the directory says its format first
            let up = Meta {
                format: DIR_FORMAT,
                ..meta
            };
            let json = serde_json::to_vec_pretty(&up)
                .map_err(|e| ReplicaError::Config(format!("replica.json: {e}")))?;
            write_atomic(&dir, &meta_path, &json)?;
        }
        let writer = fresh_incarnation(&name);

        // what is there
        let mut snapshots = Vec::new();
        let mut logs = Vec::new();
        for e in fs::read_dir(&dir).map_err(io(&dir, "list"))? {
            let e = e.map_err(io(&dir, "list"))?;
            let fname = e.file_name();
            let Some(f) = fname.to_str() else { continue };
            if let Some(seq) = f
                .strip_prefix("snapshot-")
                .and_then(|s| s.strip_suffix(".arrow"))
            {
                if let Ok(seq) = seq.parse::<u64>() {
                    snapshots.push(seq);
                }
            } else if let Some(seq) = f.strip_prefix("log-") {
                if let Ok(seq) = seq.parse::<u64>() {
                    logs.push(seq);
                }
            }
        }
        let base = snapshots.iter().copied().max();
        let from = base.unwrap_or(0);
        let mut snapshot_len = 0;
        let mut state = match base {
            Some(seq) => {
                let p = dir.join(snapshot_name(seq));
                let bytes = read_bounded(&p, opts.limits.max_bytes)?;
                snapshot_len = bytes.len() as u64;
                let s = AnyState::from_bytes_with_limits(&bytes, writer.clone(), &opts.limits)
                    .map_err(|e| ReplicaError::Corrupt {
                        file: p.clone(),
                        offset: 0,
                        why: e.to_string(),
                    })?;
                if s.state_type() != ty {
                    return Err(ReplicaError::Corrupt {
                        file: p,
                        offset: 0,
                        why: format!("snapshot holds {}, the replica is {ty}", s.state_type()),
                    });
                }
                s
            }
            None => AnyState::new(ty, writer.clone()),
        };
        logs.retain(|&s| s >= from);
        logs.sort_unstable();
        let last = logs.last().copied();
        let mut log_len = 0;
        for &seq in &logs {
            let p = dir.join(log_name(seq));
            let bytes = read_bounded(&p, usize::MAX)?;
            let scan = log::scan(&bytes).map_err(|d| ReplicaError::Corrupt {
                file: p.clone(),
                offset: d.offset as u64,
                why: d.why,
            })?;
            if scan.torn && Some(seq) != last {
                return Err(ReplicaError::Corrupt {
                    file: p,
                    offset: scan.end as u64,
                    why: "a log that is not the last ends in a torn record".into(),
                });
            }
            for r in &scan.records {
                let d = if r.tag == TAG_COMPACT {
                    AnyState::from_compact_with_limits(ty, r.payload, writer.clone(), &opts.limits)
                } else {
                    debug_assert_eq!(r.tag, TAG_DELTA);
                    AnyState::from_bytes_with_limits(r.payload, writer.clone(), &opts.limits)
                };
                let d = d.and_then(|d| {
                    state.join(&d)?;
                    Ok(())
                });
                if let Err(e) = d {
                    return Err(ReplicaError::Corrupt {
                        file: p,
                        offset: r.offset as u64,
                        why: format!("a log record that passed its checksum does not join: {e}"),
                    });
                }
            }
            if scan.torn {
                let f = OpenOptions::new()
                    .write(true)
                    .open(&p)
                    .map_err(io(&p, "open"))?;
                f.set_len(scan.end as u64)
                    .map_err(io(&p, "cut the torn tail of"))?;
                f.sync_all().map_err(io(&p, "fsync"))?;
            }
            log_len = scan.end as u64;
        }
        // the earlier incarnations with no live entry become retired records (the open
        // paid O(state) already; the state itself does not change)
        state.retire_idle();
        let log_seq = last.unwrap_or(from);
        let log_path = dir.join(log_name(log_seq));
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(io(&log_path, "open"))?;
        if last.is_none() {
            sync_dir(&dir)?;
        }
        let mut r = Self {
            dir,
            _lock,
            name,
            writer,
            state,
            opts,
            log,
            log_path,
            log_seq,
            log_len,
            snapshot_seq: from,
            snapshot_len,
            unsynced: false,
            poisoned: false,
            changes: 0,
            pending: None,
        };
        remove_stale(&r.dir, r.snapshot_seq)?;
        // a log left longer than the rule allows (by an older build, or a crash before
        // the fold) is folded now, so that the next open replays little
        r.maybe_fold()?;
        Ok(r)
    }

    /// The replica's name (what `create` was given).
    pub fn name(&self) -> &ReplicaId {
        &self.name
    }

    /// The incarnation this handle writes as: `name#<16 hex digits>`, fresh at every open.
    pub fn writer(&self) -> &ReplicaId {
        &self.writer
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The state (read it; change it through [`Replica::write`] and [`Replica::apply`]).
    pub fn state(&self) -> &AnyState {
        &self.state
    }

    /// The options it was opened with.
    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// The highest counter the current incarnation has issued (0 before its first write).
    pub fn issued(&self) -> u64 {
        issued(&self.state, &self.writer)
    }

    /// Bytes in the current log.
    pub fn log_bytes(&self) -> u64 {
        self.log_len
    }

    /// A local write: `f` runs one mutator on the state (written as [`Replica::writer`]) and
    /// returns its delta; the delta goes to the log before this returns, and is what to ship
    /// to peers.
    ///
    /// # Errors
    /// What `f` returns (the state is then unchanged), [`ReplicaError::Poisoned`], or
    /// [`ReplicaError::Io`] when the log cannot be written (the handle is then poisoned: the
    /// state in memory holds a write the log may not have).
    pub fn write(
        &mut self,
        f: impl FnOnce(&mut AnyState) -> pluriverse_any::Result<AnyState>,
    ) -> Result<Written> {
        if self.poisoned {
            return Err(ReplicaError::Poisoned);
        }
        let before = self.issued();
        let delta = f(&mut self.state)?;
        self.changes += 1;
        let after = self.issued();
        let durable = self.log_delta(&delta, self.opts.durability == Durability::Synced)?;
        let written = Written {
            writer: self.writer.clone(),
            dots: (after > before).then_some((before + 1, after)),
            delta,
            durable,
        };
        self.maybe_fold()?;
        Ok(written)
    }

    /// Joins a delta (or state) received from a peer and logs it (buffered: a received
    /// delta lost to a power loss is fetched again by anti-entropy).
    ///
    /// # Errors
    /// [`ReplicaError::ForeignClaim`] when the delta claims dots of this incarnation beyond
    /// what it issued; a type mismatch as [`ReplicaError::State`]; I/O as for
    /// [`Replica::write`]. The state is unchanged on every error but I/O.
    pub fn apply(&mut self, delta: &AnyState) -> Result<()> {
        self.join_received(delta)?;
        self.log_delta(delta, false)?;
        self.maybe_fold_received()
    }

    /// Checks a received delta's claim on our dots and joins it into the state (not
    /// logged).
    fn join_received(&mut self, delta: &AnyState) -> Result<()> {
        if self.poisoned {
            return Err(ReplicaError::Poisoned);
        }
        let claimed = issued(delta, &self.writer);
        let mine = self.issued();
        if claimed > mine {
            return Err(ReplicaError::ForeignClaim {
                replica: self.writer.to_string(),
                claimed,
                issued: mine,
            });
        }
        self.state.join(delta)?;
        self.changes += 1;
        Ok(())
    }

    /// [`Replica::apply_many`] for deltas received with the compact bytes each was decoded
    /// from (`compact[i]` for `deltas[i]`, as
    /// [`Peer::handle_compact`](crate::sync::Peer::handle_compact) returns them): the log
    /// takes those bytes as they are ([`log::TAG_COMPACT`] records, written at once), so
    /// nothing is encoded again. Each delta's bytes must be its compact encoding in the
    /// replica's type (an open replays the bytes, not the delta); a delta refused is not
    /// logged, and slices with unequal lengths refuse every delta.
    ///
    /// # Example
    /// ```
    /// use pluriverse_any::{AnyState, Kind, KeyType, Scalar, StateType};
    /// use pluriverse_replica::{Options, Replica};
    /// let t = StateType::new(Kind::AWSet, KeyType::Int64, None).unwrap();
    /// let mut a = AnyState::new(t, "a");
    /// for i in 0..100 {
    ///     a.add(Scalar::Int64(i)).unwrap();
    /// }
    /// let me = "a".into();
    /// let parts: Vec<AnyState> = a
    ///     .split_range(&me, 1, u64::MAX, 10)
    ///     .into_iter()
    ///     .map(|(lo, hi)| a.slice(&me, lo, hi))
    ///     .collect();
    /// let bytes: Vec<Vec<u8>> = parts.iter().map(AnyState::to_compact).collect();
    /// let dir = std::env::temp_dir().join(format!("plv-doc-compact-{}", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// let mut b = Replica::create(&dir, "b", t, Options::default()).unwrap();
    /// assert!(b.apply_many_compact(&parts, &bytes).iter().all(Result::is_ok));
    /// drop(b);
    /// let b = Replica::open(&dir, Options::default()).unwrap(); // replays the bytes
    /// assert_eq!(b.state().digest(), a.digest());
    /// # drop(b); std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn apply_many_compact(
        &mut self,
        deltas: &[AnyState],
        compact: &[Vec<u8>],
    ) -> Vec<Result<()>> {
        if deltas.len() != compact.len() {
            let why = format!("{} deltas with {} encodings", deltas.len(), compact.len());
            return deltas
                .iter()
                .map(|_| Err(ReplicaError::Config(why.clone())))
                .collect();
        }
        let mut results: Vec<Result<()>> = Vec::with_capacity(deltas.len());
        let mut joined_all = false;
        if let [first, rest @ ..] = deltas {
            if !rest.is_empty() && !self.poisoned {
                if let Ok(all) = first.join_all(rest) {
                    joined_all = self.join_received(&all).is_ok();
                }
            }
        }
        if joined_all {
            results.extend(deltas.iter().map(|_| Ok(())));
        } else {
            for d in deltas {
                results.push(self.join_received(d));
            }
        }
        let kept = || compact.iter().zip(&results).filter(|(_, r)| r.is_ok());
        let mut rec = Vec::with_capacity(kept().map(|(b, _)| log::HEADER + b.len()).sum());
        for (bytes, _) in kept() {
            log::encode_into(&mut rec, TAG_COMPACT, bytes);
        }
        if let Err(e) = self
            .append(&rec, false)
            .and_then(|_| self.maybe_fold_received())
        {
            // the handle is poisoned: the first delta carries the cause
            let mut e = Some(e);
            return deltas
                .iter()
                .map(|_| Err(e.take().unwrap_or(ReplicaError::Poisoned)))
                .collect();
        }
        results
    }

    /// [`Replica::apply`] for deltas received together (the slices of a stream, say): they
    /// are joined with each other first ([`AnyState::join_all`]: disjoint slices by one
    /// sort of their rows), then into the state at once, and logged as one record. Returns
    /// one result per delta; when the batch is refused as a whole (a delta of another type,
    /// a foreign claim, an equivocation), each delta is applied alone, so the good ones are
    /// kept and each refusal names its delta.
    ///
    /// # Example
    /// ```
    /// use pluriverse_any::{AnyState, Kind, KeyType, Scalar, StateType};
    /// use pluriverse_replica::{Options, Replica};
    /// let t = StateType::new(Kind::AWSet, KeyType::Int64, None).unwrap();
    /// let mut a = AnyState::new(t, "a");
    /// for i in 0..100 {
    ///     a.add(Scalar::Int64(i)).unwrap();
    /// }
    /// let me = "a".into();
    /// let parts: Vec<AnyState> = a
    ///     .split_range(&me, 1, u64::MAX, 10)
    ///     .into_iter()
    ///     .map(|(lo, hi)| a.slice(&me, lo, hi))
    ///     .collect();
    /// let dir = std::env::temp_dir().join(format!("plv-doc-many-{}", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// let mut b = Replica::create(&dir, "b", t, Options::default()).unwrap();
    /// assert!(b.apply_many(&parts).iter().all(Result::is_ok));
    /// assert_eq!(b.state().digest(), a.digest());
    /// # drop(b); std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn apply_many(&mut self, deltas: &[AnyState]) -> Vec<Result<()>> {
        if let [first, rest @ ..] = deltas {
            if !rest.is_empty() && !self.poisoned {
                if let Ok(all) = first.join_all(rest) {
                    if self.apply(&all).is_ok() {
                        return deltas.iter().map(|_| Ok(())).collect();
                    }
                }
            }
        }
        deltas.iter().map(|d| self.apply(d)).collect()
    }

    /// [`Replica::apply`] for a delta's bytes, decoded within the replica's [`Limits`].
    ///
    /// # Errors
    /// A decode error as [`ReplicaError::State`], or as [`Replica::apply`].
    pub fn apply_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        let d = AnyState::from_bytes_with_limits(bytes, self.writer.clone(), &self.opts.limits)?;
        self.apply(&d)
    }

    /// [`Replica::apply`] for a state or delta decoded with the bytes it came in
    /// ([`Encoded`]: a peer's snapshot file, say): the log takes those bytes as they are (one
    /// [`TAG_DELTA`] record), so nothing is encoded again, and the decode may run on another
    /// thread than the replica's owner.
    ///
    /// # Example
    /// ```
    /// use pluriverse_any::{AnyState, Kind, KeyType, Scalar, StateType};
    /// use pluriverse_replica::{dir::Encoded, Options, Replica};
    /// let t = StateType::new(Kind::AWSet, KeyType::Int64, None).unwrap();
    /// let mut a = AnyState::new(t, "a");
    /// for i in 0..100 {
    ///     a.add(Scalar::Int64(i)).unwrap();
    /// }
    /// let dir = std::env::temp_dir().join(format!("plv-doc-encoded-{}", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// let mut b = Replica::create(&dir, "b", t, Options::default()).unwrap();
    /// let e = Encoded::decode(a.to_bytes().unwrap(), b.writer().clone(), &b.options().limits).unwrap();
    /// b.apply_encoded(&e).unwrap();
    /// assert_eq!(b.state().digest(), a.digest());
    /// drop(b);
    /// let b = Replica::open(&dir, Options::default()).unwrap(); // replays the bytes
    /// assert_eq!(b.state().digest(), a.digest());
    /// # drop(b); std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`ReplicaError::Config`] when the bytes are more than one log record holds
    /// ([`log::MAX_RECORD`]); otherwise as [`Replica::apply`]. The state is unchanged on
    /// every error but I/O.
    pub fn apply_encoded(&mut self, e: &Encoded) -> Result<()> {
        if e.bytes.len() > log::MAX_RECORD {
            return Err(ReplicaError::Config(format!(
                "a {}-byte state is over the {}-byte bound of one log record",
                e.bytes.len(),
                log::MAX_RECORD
            )));
        }
        self.join_received(&e.state)?;
        let head = log::header(TAG_DELTA, &e.bytes);
        self.append_parts(&[&head, &e.bytes], false)?;
        self.maybe_fold_received()
    }

    /// The newest snapshot file's path: a copy of the state as of the last fold (what a
    /// peer starting empty can take in one transfer before the sync protocol ships the
    /// rest). `None` when the directory has no snapshot yet. A fold finishing on its own
    /// thread removes the file the moment its successor is in place; a reader that finds it
    /// gone asks again.
    ///
    /// # Example
    /// ```
    /// use pluriverse_any::{Kind, KeyType, Scalar, StateType};
    /// use pluriverse_replica::{Options, Replica};
    /// let dir = std::env::temp_dir().join(format!("plv-doc-snapfile-{}", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// let t = StateType::new(Kind::AWSet, KeyType::Int64, None).unwrap();
    /// let mut r = Replica::create(&dir, "r", t, Options::default()).unwrap();
    /// assert_eq!(r.snapshot_path(), None);
    /// r.write(|s| s.add(Scalar::Int64(7))).unwrap();
    /// r.fold().unwrap();
    /// let p = r.snapshot_path().expect("a fold wrote one");
    /// assert!(std::fs::metadata(&p).unwrap().len() > 0);
    /// # drop(r); std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn snapshot_path(&self) -> Option<PathBuf> {
        (self.snapshot_seq > 0).then(|| self.dir.join(snapshot_name(self.snapshot_seq)))
    }

    /// Appends a delta to the log; returns whether it is durable against power loss.
    fn log_delta(&mut self, delta: &AnyState, sync: bool) -> Result<bool> {
        if delta.entry_count() == 0
            && delta
                .context()
                .dots()
                .replicas()
                .iter()
                .all(|d| d.is_empty())
        {
            return Ok(!self.unsynced);
        }
        let bytes = match delta.to_bytes() {
            Ok(b) => b,
            Err(e) => {
                self.poisoned = true;
                return Err(e.into());
            }
        };
        self.append(&log::encode(TAG_DELTA, &bytes), sync)
    }

    /// Appends encoded records to the log (nothing for none); returns whether they are
    /// durable against power loss. The handle is poisoned on an error.
    fn append(&mut self, rec: &[u8], sync: bool) -> Result<bool> {
        self.append_parts(&[rec], sync)
    }

    /// [`Replica::append`] of the bytes of `parts`, one after the other.
    fn append_parts(&mut self, parts: &[&[u8]], sync: bool) -> Result<bool> {
        if parts.iter().all(|p| p.is_empty()) {
            return Ok(!self.unsynced);
        }
        let res = (|| {
            for rec in parts {
                self.log
                    .write_all(rec)
                    .map_err(io(&self.log_path, "append to"))?;
                self.log_len += rec.len() as u64;
            }
            self.unsynced = true;
            if sync {
                self.sync()?;
            }
            Ok(!self.unsynced)
        })();
        if res.is_err() {
            self.poisoned = true;
        }
        res
    }

    /// Makes every write so far durable against power loss (`fdatasync` of the log).
    ///
    /// # Errors
    /// [`ReplicaError::Io`]; the handle is then poisoned.
    pub fn sync(&mut self) -> Result<()> {
        if !self.unsynced {
            return Ok(());
        }
        if let Err(e) = self.log.sync_data() {
            self.poisoned = true;
            return Err(io(&self.log_path, "fdatasync")(e));
        }
        self.unsynced = false;
        Ok(())
    }

    /// The log size past which [`Replica::fold`] runs (see [`Options::fold_bytes`]).
    fn fold_threshold(&self) -> u64 {
        self.opts.fold_bytes.min(self.snapshot_len.max(FOLD_FLOOR))
    }

    fn maybe_fold(&mut self) -> Result<()> {
        if self.fold_due() {
            self.fold()?;
        }
        Ok(())
    }

    /// After received deltas: folds only past [`RECEIVED_FOLD_FACTOR`] times
    /// [`Options::fold_bytes`] (not the snapshot-relative rule: a catch-up into an empty
    /// replica would fold at every doubling of its state), with the snapshot written off
    /// this thread ([`Replica::start_fold`]). A fold still being written when the log
    /// passes the bound again is waited for, so the log never holds more than the bound
    /// (and a stream faster than the disk is slowed to it).
    fn maybe_fold_received(&mut self) -> Result<()> {
        self.finish_fold(false)?;
        if self.log_len > self.opts.fold_bytes.saturating_mul(RECEIVED_FOLD_FACTOR) {
            self.start_fold()?;
        }
        Ok(())
    }

    /// Whether the log has outgrown [`Options::fold_bytes`]' rule (received deltas leave
    /// it so until [`Replica::fold_if_due`] or [`RECEIVED_FOLD_FACTOR`] times `fold_bytes`).
    pub fn fold_due(&self) -> bool {
        self.log_len > self.fold_threshold()
    }

    /// Folds the log when it has outgrown [`Options::fold_bytes`]' rule ([`Replica::fold_due`]);
    /// returns whether it did. A caller receiving a stream calls it once the stream pauses,
    /// so a catch-up writes one snapshot at its end rather than one per rule's worth.
    ///
    /// # Errors
    /// As [`Replica::fold`].
    pub fn fold_if_due(&mut self) -> Result<bool> {
        if !self.fold_due() || self.poisoned {
            return Ok(false);
        }
        self.fold()?;
        Ok(true)
    }

    /// [`Replica::fold_if_due`] with the snapshot written off this thread
    /// ([`Replica::start_fold`]); returns whether a fold started. None starts while one is
    /// still being written.
    ///
    /// # Errors
    /// As [`Replica::start_fold`], or the error of the fold before it
    /// ([`Replica::finish_fold`]).
    pub fn start_fold_if_due(&mut self) -> Result<bool> {
        self.finish_fold(false)?;
        if self.pending.is_some() || !self.fold_due() || self.poisoned {
            return Ok(false);
        }
        self.start_fold()?;
        Ok(true)
    }

    /// Starts a fold whose snapshot is encoded and written by another thread, so that the
    /// caller goes on writing and joining meanwhile: syncs the log, starts the next one
    /// (every record from now on goes there), and hands a copy of the state as of the cut
    /// to a thread that writes it as the next snapshot atomically and only then deletes the
    /// older files. Until then the directory opens as before the fold (the old snapshot and
    /// both logs); [`Replica::finish_fold`] reaps the thread (and [`Replica::fold`],
    /// [`Replica::close`] and dropping the handle wait for it). A fold still being written is
    /// waited for first.
    ///
    /// The copy is a clone that shares the state's runs (no rows are copied; a run changed
    /// here while the fold holds it is copied at that change); the encoding (Arrow,
    /// compressed) is what leaves this thread.
    ///
    /// # Example
    /// ```
    /// use pluriverse_any::{Kind, KeyType, Scalar, StateType, ValueType};
    /// use pluriverse_replica::{Options, Replica};
    /// let dir = std::env::temp_dir().join(format!("plv-doc-bgfold-{}", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// let t = StateType::new(Kind::MVMap, KeyType::Utf8, Some(ValueType::Int64)).unwrap();
    /// let mut r = Replica::create(&dir, "r", t, Options::default()).unwrap();
    /// r.write(|s| s.set(Scalar::Utf8("k".into()), Scalar::Int64(1))).unwrap();
    /// r.start_fold().unwrap();
    /// // writes go on while the snapshot is written
    /// r.write(|s| s.set(Scalar::Utf8("j".into()), Scalar::Int64(2))).unwrap();
    /// r.finish_fold(true).unwrap();
    /// assert!(!r.fold_pending());
    /// let digest = r.state().digest();
    /// r.close().unwrap();
    /// assert_eq!(Replica::open(&dir, Options::default()).unwrap().state().digest(), digest);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`ReplicaError::Poisoned`], or [`ReplicaError::Io`] starting the next log (the handle
    /// is then poisoned; the directory still opens to the same state).
    pub fn start_fold(&mut self) -> Result<()> {
        self.finish_fold(true)?;
        if self.poisoned {
            return Err(ReplicaError::Poisoned);
        }
        let res = (|| {
            let next = self.cut_log()?;
            let state = self.state.clone();
            let dir = self.dir.clone();
            let thread = std::thread::Builder::new()
                .name("pluriverse-fold".into())
                .spawn(move || write_snapshot(&dir, next, &state))
                .map_err(io(&self.dir, "start a fold thread for"))?;
            self.pending = Some(PendingFold { seq: next, thread });
            Ok(())
        })();
        if res.is_err() {
            self.poisoned = true;
        }
        res
    }

    /// Whether a fold's snapshot is still being written ([`Replica::start_fold`]).
    pub fn fold_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Reaps a fold started by [`Replica::start_fold`]: when its thread has finished (or,
    /// with `wait`, once it has), takes the new snapshot as the replica's. Returns whether a
    /// fold finished now.
    ///
    /// # Errors
    /// The fold's [`ReplicaError::Io`] (or an encoding error): the handle is then poisoned,
    /// and the directory still opens to the same state (the old snapshot and both logs).
    pub fn finish_fold(&mut self, wait: bool) -> Result<bool> {
        if self
            .pending
            .as_ref()
            .is_none_or(|p| !wait && !p.thread.is_finished())
        {
            return Ok(false);
        }
        let Some(p) = self.pending.take() else {
            return Ok(false);
        };
        let res = p.thread.join().unwrap_or_else(|_| {
            Err(ReplicaError::Config(format!(
                "the thread writing snapshot {} panicked",
                p.seq
            )))
        });
        match res {
            Ok(len) => {
                self.snapshot_seq = p.seq;
                self.snapshot_len = len;
                Ok(true)
            }
            Err(e) => {
                self.poisoned = true;
                Err(e)
            }
        }
    }

    /// Syncs the log and starts the next one (created, the directory synced), so that every
    /// record from now on goes there; the state retires its idle incarnations. Returns the
    /// next log's number, which the snapshot of the state as of now takes.
    fn cut_log(&mut self) -> Result<u64> {
        self.sync()?;
        let next = self.log_seq + 1;
        let log_path = self.dir.join(log_name(next));
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(io(&log_path, "create"))?;
        sync_dir(&self.dir)?;
        self.log = log;
        self.log_path = log_path;
        self.log_seq = next;
        self.log_len = 0;
        self.state.retire_idle();
        self.changes += 1;
        Ok(next)
    }

    /// Folds the log into a new snapshot now: starts the next log, writes the state as the
    /// next snapshot atomically, then deletes the older files. A fold started by
    /// [`Replica::start_fold`] is waited for first.
    ///
    /// # Errors
    /// [`ReplicaError::Io`]; the handle is then poisoned (the directory still opens to the
    /// same state).
    pub fn fold(&mut self) -> Result<()> {
        self.finish_fold(true)?;
        if self.poisoned {
            return Err(ReplicaError::Poisoned);
        }
        let res = (|| {
            let next = self.cut_log()?;
            let len = write_snapshot(&self.dir, next, &self.state)?;
            self.snapshot_seq = next;
            self.snapshot_len = len;
            Ok(())
        })();
        if res.is_err() {
            self.poisoned = true;
        }
        res
    }

    /// How many times the state has changed since the handle opened: bumped by every
    /// write, every received delta joined and every fold (which may retire idle
    /// incarnations), so a reader can cache what it computes from the state (a digest)
    /// until this moves. Equal counts mean an unchanged state; a changed count does not
    /// promise a changed digest.
    ///
    /// # Example
    /// ```
    /// use pluriverse_any::{Kind, KeyType, Scalar, StateType, ValueType};
    /// use pluriverse_replica::{Options, Replica};
    /// let dir = std::env::temp_dir().join(format!("plv-doc-changes-{}", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// let t = StateType::new(Kind::MVMap, KeyType::Utf8, Some(ValueType::Int64)).unwrap();
    /// let mut r = Replica::create(&dir, "r", t, Options::default()).unwrap();
    /// let before = r.changes();
    /// r.write(|s| s.set(Scalar::Utf8("k".into()), Scalar::Int64(1))).unwrap();
    /// assert!(r.changes() > before);
    /// # drop(r); std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// Waits for a fold being written, syncs the log and closes the replica (dropping it
    /// closes without the sync, and waits for the fold too).
    ///
    /// # Errors
    /// As [`Replica::finish_fold`] and [`Replica::sync`].
    pub fn close(mut self) -> Result<()> {
        self.finish_fold(true)?;
        self.sync()
    }
}

impl Drop for Replica {
    /// Waits for a fold's thread: it writes and deletes files in the directory, which the
    /// next holder of the lock must find settled.
    fn drop(&mut self) {
        if let Some(p) = self.pending.take() {
            let _ = p.thread.join();
        }
    }
}

/// The highest counter of `writer` in `state`'s context.
fn issued(state: &AnyState, writer: &ReplicaId) -> u64 {
    let ctx = state.context();
    ctx.table()
        .get(writer)
        .and_then(|i| ctx.dots().get(i))
        .map_or(0, |d| d.max())
}

fn read_bounded(p: &Path, max: usize) -> Result<Vec<u8>> {
    let len = fs::metadata(p).map_err(io(p, "stat"))?.len();
    if len > max as u64 {
        return Err(ReplicaError::Corrupt {
            file: p.into(),
            offset: 0,
            why: format!("{len} bytes exceed the limit of {max}"),
        });
    }
    fs::read(p).map_err(io(p, "read"))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}
