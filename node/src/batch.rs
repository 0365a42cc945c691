//! `POST /batch`: many keys in one write, from an Arrow IPC stream.
//!
//! The body is an Arrow IPC *stream* (one schema, any number of record batches) whose
//! columns are found by name:
//!
//! | kind | `?op=` (default first) | columns |
//! |---|---|---|
//! | `MVMap` | `set`, `remove` | `key`, `value` (set) |
//! | `AWSet` | `add`, `remove` | `key` |
//! | `PNCounterMap` | `increment`, `decrement` | `key`, `by` (`uint64`, optional: 1 each) |
//! | `LWWMap` | `set`, `remove` | `key`, `value` (set), `timestamp` (`uint64`, optional: now in µs) |
//!
//! `key` and `value` have the replica's key and value types (Arrow `Utf8`, `Binary`,
//! `Int64`, `UInt64`, `Float64`, `Boolean`), without nulls; other columns are refused so
//! that a misspelt name is not silently ignored. The batches are concatenated and written
//! as one write: one contiguous range of dots, one log record, acknowledged as a whole.

use std::sync::Arc;
use std::time::SystemTime;

use arrow_array::{Array, ArrayRef, RecordBatch, UInt64Array};
use arrow_schema::DataType;
use pluriverse_any::{AnyState, Kind, StateType};

/// The largest batch body taken.
pub const MAX_BATCH_BODY: usize = 64 << 20;

/// What to do with the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Set,
    Add,
    Increment,
    Decrement,
    Remove,
}

/// A decoded batch, checked against the replica's type, ready to write.
#[derive(Debug, Clone)]
pub struct Columns {
    op: Op,
    kind: Kind,
    key: ArrayRef,
    value: Option<ArrayRef>,
    /// `by` or `timestamp`.
    aux: Option<ArrayRef>,
}

/// A refusal: status and message.
#[derive(Debug)]
pub struct BatchError {
    /// The HTTP status (400, 405).
    pub status: u16,
    /// What is wrong.
    pub message: String,
}

fn bad(m: impl Into<String>) -> BatchError {
    BatchError {
        status: 400,
        message: m.into(),
    }
}

impl Columns {
    /// Decodes and checks a batch for a replica of type `ty`.
    ///
    /// # Errors
    /// 405 for an operation the kind does not have, 400 for a body that is not an Arrow
    /// IPC stream, a missing, unknown or mistyped column, nulls, or no rows.
    pub fn from_ipc(ty: StateType, op: Option<&str>, body: &[u8]) -> Result<Self, BatchError> {
        let op = match (ty.kind, op) {
            (Kind::MVMap | Kind::LWWMap, None | Some("set")) => Op::Set,
            (Kind::AWSet, None | Some("add")) => Op::Add,
            (Kind::PNCounterMap, None | Some("increment")) => Op::Increment,
            (Kind::PNCounterMap, Some("decrement")) => Op::Decrement,
            (Kind::MVMap | Kind::AWSet | Kind::LWWMap, Some("remove")) => Op::Remove,
            (k, Some(o)) => {
                return Err(BatchError {
                    status: 405,
                    message: format!(
                        "a {k} has no batch op {o:?} (it takes {})",
                        match k {
                            Kind::MVMap | Kind::LWWMap => "set, remove",
                            Kind::AWSet => "add, remove",
                            Kind::PNCounterMap => "increment, decrement",
                        }
                    ),
                })
            }
        };
        let reader = arrow_ipc::reader::StreamReader::try_new(body, None)
            .map_err(|e| bad(format!("body is not an Arrow IPC stream: {e}")))?;
        let schema = reader.schema();
        let batches: Vec<RecordBatch> = reader
            .collect::<Result<_, _>>()
            .map_err(|e| bad(format!("body: a damaged Arrow IPC stream: {e}")))?;
        let wants_value = op == Op::Set;
        let aux_name = match (ty.kind, op) {
            (Kind::PNCounterMap, _) => Some("by"),
            (Kind::LWWMap, _) => Some("timestamp"),
            _ => None,
        };
        let mut allowed = vec!["key"];
        if wants_value {
            allowed.push("value");
        }
        allowed.extend(aux_name);
        if let Some(f) = schema
            .fields()
            .iter()
            .find(|f| !allowed.contains(&f.name().as_str()))
        {
            return Err(bad(format!(
                "unknown column {:?} (this batch takes {})",
                f.name(),
                allowed.join(", ")
            )));
        }
        let column =
            |name: &str, t: &DataType, required: bool| -> Result<Option<ArrayRef>, BatchError> {
                let Ok(i) = schema.index_of(name) else {
                    return if required {
                        Err(bad(format!("missing column {name:?} ({t})")))
                    } else {
                        Ok(None)
                    };
                };
                let found = schema.field(i).data_type();
                if found != t {
                    return Err(bad(format!("column {name:?}: expected {t}, found {found}")));
                }
                let parts: Vec<&dyn Array> = batches.iter().map(|b| b.column(i).as_ref()).collect();
                let a = if parts.is_empty() {
                    arrow_array::new_empty_array(t)
                } else {
                    arrow_select::concat::concat(&parts)
                        .map_err(|e| bad(format!("column {name:?}: {e}")))?
                };
                if a.null_count() > 0 {
                    return Err(bad(format!("column {name:?} has {} nulls", a.null_count())));
                }
                Ok(Some(a))
            };
        let key = column("key", &ty.key.data_type(), true)?.ok_or_else(|| bad("no key column"))?;
        if key.is_empty() {
            return Err(bad("the batch has no rows"));
        }
        let value = match (wants_value, ty.value) {
            (true, Some(v)) => column("value", &v.data_type(), true)?,
            _ => None,
        };
        let aux = match aux_name {
            Some(n) => column(n, &DataType::UInt64, false)?,
            None => None,
        };
        // absent: 1 each (counters), now (timestamps)
        let aux = match (ty.kind, aux) {
            (Kind::PNCounterMap, None) => {
                Some(Arc::new(UInt64Array::from(vec![1u64; key.len()])) as ArrayRef)
            }
            (Kind::LWWMap, None) => {
                let now = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_micros() as u64);
                Some(Arc::new(UInt64Array::from(vec![now; key.len()])) as ArrayRef)
            }
            (_, a) => a,
        };
        Ok(Self {
            op,
            kind: ty.kind,
            key,
            value,
            aux,
        })
    }

    /// Rows in the batch.
    pub fn rows(&self) -> usize {
        self.key.len()
    }

    /// Writes the batch into `s` (as [`pluriverse_replica::Replica::write`]'s mutator).
    ///
    /// # Errors
    /// What the state refuses (lengths that differ, counter overflow).
    pub fn apply(&self, s: &mut AnyState) -> pluriverse_any::Result<AnyState> {
        let k = self.key.as_ref();
        let missing = || pluriverse_any::AnyError::UnknownType("a batch column is missing".into());
        let v = || self.value.as_deref().ok_or_else(missing);
        let x = || self.aux.as_deref().ok_or_else(missing);
        match (self.kind, self.op) {
            (Kind::LWWMap, Op::Set) => s.set_many_at(k, v()?, x()?),
            (Kind::LWWMap, Op::Remove) => s.remove_many_at(k, x()?),
            (_, Op::Set) => s.set_many(k, v()?),
            (_, Op::Add) => s.add_many(k),
            (_, Op::Remove) => s.remove_many(k),
            (_, Op::Increment) => s.increment_many(k, x()?),
            (_, Op::Decrement) => s.decrement_many(k, x()?),
        }
    }
}
