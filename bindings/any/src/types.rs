//! The run-time names of kinds, key types and value types, and [`Scalar`] values.

use std::fmt;
use std::str::FromStr;

use arrow_schema::DataType;

use crate::AnyError;

/// A record kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// [`pluriverse::MVMap`]: a multi-value register per key.
    MVMap,
    /// [`pluriverse::AWSet`]: an add-wins set.
    AWSet,
    /// [`pluriverse::PNCounterMap`]: a counter per key.
    PNCounterMap,
    /// [`pluriverse::LWWMap`]: last writer wins per key.
    LWWMap,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 4] = [Kind::MVMap, Kind::AWSet, Kind::PNCounterMap, Kind::LWWMap];

    /// The name written in the state format's `pluriverse.kind` metadata.
    pub fn name(self) -> &'static str {
        match self {
            Kind::MVMap => <pluriverse::MVMapKind<u64, u64> as pluriverse::Kind>::NAME,
            Kind::AWSet => <pluriverse::AWSetKind<u64> as pluriverse::Kind>::NAME,
            Kind::PNCounterMap => <pluriverse::PNCounterKind<u64> as pluriverse::Kind>::NAME,
            Kind::LWWMap => <pluriverse::LWWMapKind<u64, u64> as pluriverse::Kind>::NAME,
        }
    }

    /// Whether states of this kind carry values (and so a value type).
    pub fn has_values(self) -> bool {
        matches!(self, Kind::MVMap | Kind::LWWMap)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Kind {
    type Err = AnyError;
    /// Case-insensitive: `mvmap`, `awset`, `pncounter`/`pncountermap`, `lww`/`lwwmap`.
    fn from_str(s: &str) -> Result<Self, AnyError> {
        match s.to_ascii_lowercase().as_str() {
            "mvmap" => Ok(Kind::MVMap),
            "awset" => Ok(Kind::AWSet),
            "pncounter" | "pncountermap" => Ok(Kind::PNCounterMap),
            "lww" | "lwwmap" => Ok(Kind::LWWMap),
            _ => Err(AnyError::UnknownType(format!(
                "unknown kind {s:?} (expected mvmap, awset, pncounter or lww)"
            ))),
        }
    }
}

/// The type of keys (of elements, for [`Kind::AWSet`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// UTF-8 text (`String`, Arrow `Utf8`).
    Utf8,
    /// Bytes (`Vec<u8>`, Arrow `Binary`).
    Binary,
    /// `i64` (Arrow `Int64`).
    Int64,
    /// `u64` (Arrow `UInt64`).
    UInt64,
}

impl KeyType {
    /// Every key type.
    pub const ALL: [KeyType; 4] = [
        KeyType::Utf8,
        KeyType::Binary,
        KeyType::Int64,
        KeyType::UInt64,
    ];

    /// `utf8`, `binary`, `int64` or `uint64`.
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Utf8 => "utf8",
            KeyType::Binary => "binary",
            KeyType::Int64 => "int64",
            KeyType::UInt64 => "uint64",
        }
    }

    /// The Arrow type of the `key` column.
    pub fn data_type(self) -> DataType {
        match self {
            KeyType::Utf8 => DataType::Utf8,
            KeyType::Binary => DataType::Binary,
            KeyType::Int64 => DataType::Int64,
            KeyType::UInt64 => DataType::UInt64,
        }
    }

    /// The key type of an Arrow type, if it is one.
    pub fn of_data_type(t: &DataType) -> Option<Self> {
        KeyType::ALL.into_iter().find(|k| k.data_type() == *t)
    }
}

impl FromStr for KeyType {
    type Err = AnyError;
    /// `utf8` (or `str`, `string`), `binary` (or `bytes`), `int64` (or `i64`, `int`),
    /// `uint64` (or `u64`).
    fn from_str(s: &str) -> Result<Self, AnyError> {
        match s.to_ascii_lowercase().as_str() {
            "utf8" | "str" | "string" => Ok(KeyType::Utf8),
            "binary" | "bytes" => Ok(KeyType::Binary),
            "int64" | "i64" | "int" => Ok(KeyType::Int64),
            "uint64" | "u64" => Ok(KeyType::UInt64),
            _ => Err(AnyError::UnknownType(format!(
                "unknown key type {s:?} (expected utf8, binary, int64 or uint64)"
            ))),
        }
    }
}

/// The type of values ([`Kind::MVMap`], [`Kind::LWWMap`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// UTF-8 text.
    Utf8,
    /// Bytes.
    Binary,
    /// `i64`.
    Int64,
    /// `f64`.
    Float64,
    /// `bool`.
    Bool,
}

impl ValueType {
    /// Every value type.
    pub const ALL: [ValueType; 5] = [
        ValueType::Utf8,
        ValueType::Binary,
        ValueType::Int64,
        ValueType::Float64,
        ValueType::Bool,
    ];

    /// `utf8`, `binary`, `int64`, `float64` or `bool`.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Utf8 => "utf8",
            ValueType::Binary => "binary",
            ValueType::Int64 => "int64",
            ValueType::Float64 => "float64",
            ValueType::Bool => "bool",
        }
    }

    /// The Arrow type of the `value` column.
    pub fn data_type(self) -> DataType {
        match self {
            ValueType::Utf8 => DataType::Utf8,
            ValueType::Binary => DataType::Binary,
            ValueType::Int64 => DataType::Int64,
            ValueType::Float64 => DataType::Float64,
            ValueType::Bool => DataType::Boolean,
        }
    }

    /// The value type of an Arrow type, if it is one.
    pub fn of_data_type(t: &DataType) -> Option<Self> {
        ValueType::ALL.into_iter().find(|v| v.data_type() == *t)
    }
}

impl FromStr for ValueType {
    type Err = AnyError;
    /// `utf8` (or `str`, `string`), `binary` (or `bytes`), `int64` (or `i64`, `int`),
    /// `float64` (or `f64`, `float`), `bool` (or `boolean`).
    fn from_str(s: &str) -> Result<Self, AnyError> {
        match s.to_ascii_lowercase().as_str() {
            "utf8" | "str" | "string" => Ok(ValueType::Utf8),
            "binary" | "bytes" => Ok(ValueType::Binary),
            "int64" | "i64" | "int" => Ok(ValueType::Int64),
            "float64" | "f64" | "float" => Ok(ValueType::Float64),
            "bool" | "boolean" => Ok(ValueType::Bool),
            _ => Err(AnyError::UnknownType(format!(
                "unknown value type {s:?} (expected utf8, binary, int64, float64 or bool)"
            ))),
        }
    }
}

/// A kind with its key and value types: what a state file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StateType {
    /// The record kind.
    pub kind: Kind,
    /// The key (element) type.
    pub key: KeyType,
    /// The value type: `Some` exactly for kinds with values.
    pub value: Option<ValueType>,
}

impl StateType {
    /// Checks that `value` is given exactly when `kind` has values.
    ///
    /// # Errors
    /// [`AnyError::UnknownType`] otherwise.
    ///
    /// # Example
    /// ```
    /// use pluriverse_any::{Kind, KeyType, StateType, ValueType};
    /// let t = StateType::new(Kind::MVMap, KeyType::Utf8, Some(ValueType::Int64)).unwrap();
    /// assert_eq!(t.to_string(), "MVMap<utf8, int64>");
    /// assert!(StateType::new(Kind::AWSet, KeyType::Utf8, Some(ValueType::Int64)).is_err());
    /// ```
    pub fn new(kind: Kind, key: KeyType, value: Option<ValueType>) -> Result<Self, AnyError> {
        match (kind.has_values(), value) {
            (true, None) => Err(AnyError::UnknownType(format!("{kind} needs a value type"))),
            (false, Some(v)) => Err(AnyError::UnknownType(format!(
                "{kind} has no values (value type {} given)",
                v.name()
            ))),
            _ => Ok(Self { kind, key, value }),
        }
    }

    /// Every state type: each kind with each key type, and for the kinds with values each
    /// value type (48 in all), in the order of [`Kind::ALL`], [`KeyType::ALL`] and
    /// [`ValueType::ALL`].
    ///
    /// # Example
    /// ```
    /// use pluriverse_any::{Kind, StateType};
    /// let all = StateType::all();
    /// assert_eq!(all.len(), 48);
    /// assert_eq!(all.iter().filter(|t| t.kind == Kind::AWSet).count(), 4);
    /// ```
    pub fn all() -> Vec<Self> {
        let mut out = vec![];
        for kind in Kind::ALL {
            for key in KeyType::ALL {
                if kind.has_values() {
                    out.extend(ValueType::ALL.map(|v| Self {
                        kind,
                        key,
                        value: Some(v),
                    }));
                } else {
                    out.push(Self {
                        kind,
                        key,
                        value: None,
                    });
                }
            }
        }
        out
    }

    /// Reads the kind and types from state bytes (the schema at the start of the Arrow IPC
    /// stream); the rest is checked when the bytes are decoded.
    ///
    /// # Errors
    /// [`AnyError::Core`] with a decode error when the bytes hold no readable pluriverse
    /// schema.
    pub fn of_bytes(bytes: &[u8]) -> Result<Self, AnyError> {
        let schema = pluriverse::wire::read_schema(bytes)?;
        Self::of_schema(&schema)
    }

    /// The kind and types of a state schema.
    ///
    /// # Errors
    /// As [`StateType::of_bytes`].
    pub fn of_schema(schema: &arrow_schema::Schema) -> Result<Self, AnyError> {
        use pluriverse::wire::DecodeError;
        let bad = |m: String| AnyError::Core(pluriverse::Error::Decode(DecodeError::Schema(m)));
        let kind_name = schema
            .metadata()
            .get(pluriverse::wire::META_KIND)
            .ok_or_else(|| bad("no pluriverse.kind metadata".into()))?;
        let kind = Kind::ALL
            .into_iter()
            .find(|k| k.name() == kind_name)
            .ok_or_else(|| bad(format!("unknown kind {kind_name:?}")))?;
        let key_field = schema
            .fields()
            .first()
            .ok_or_else(|| bad("no key column".into()))?;
        let key = KeyType::of_data_type(key_field.data_type())
            .ok_or_else(|| bad(format!("unsupported key type {}", key_field.data_type())))?;
        let value = if kind.has_values() {
            let f = schema
                .fields()
                .iter()
                .find(|f| f.name() == "value")
                .ok_or_else(|| bad("no value column".into()))?;
            Some(
                ValueType::of_data_type(f.data_type())
                    .ok_or_else(|| bad(format!("unsupported value type {}", f.data_type())))?,
            )
        } else {
            None
        };
        Self::new(kind, key, value)
    }
}

impl fmt::Display for StateType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value {
            Some(v) => write!(f, "{}<{}, {}>", self.kind, self.key.name(), v.name()),
            None => write!(f, "{}<{}>", self.kind, self.key.name()),
        }
    }
}

/// One key or value whose type is known at run time.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub enum Scalar {
    /// UTF-8 text.
    Utf8(String),
    /// Bytes.
    Binary(Vec<u8>),
    /// A signed integer.
    Int64(i64),
    /// An unsigned integer.
    UInt64(u64),
    /// A float.
    Float64(f64),
    /// A boolean.
    Bool(bool),
}

impl Scalar {
    /// The type's name: `utf8`, `binary`, `int64`, `uint64`, `float64` or `bool`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Scalar::Utf8(_) => "utf8",
            Scalar::Binary(_) => "binary",
            Scalar::Int64(_) => "int64",
            Scalar::UInt64(_) => "uint64",
            Scalar::Float64(_) => "float64",
            Scalar::Bool(_) => "bool",
        }
    }

    /// Parses `text` as a key of type `t` (numbers in decimal; binary as the text's bytes).
    ///
    /// # Errors
    /// [`AnyError::ScalarType`] when `text` is not a number of the type.
    pub fn parse_key(text: &str, t: KeyType) -> Result<Self, AnyError> {
        let bad = || AnyError::ScalarType {
            what: "key",
            expected: t.name().into(),
            found: format!("{text:?}"),
        };
        Ok(match t {
            KeyType::Utf8 => Scalar::Utf8(text.into()),
            KeyType::Binary => Scalar::Binary(text.as_bytes().to_vec()),
            KeyType::Int64 => Scalar::Int64(text.parse().map_err(|_| bad())?),
            KeyType::UInt64 => Scalar::UInt64(text.parse().map_err(|_| bad())?),
        })
    }

    /// Parses `text` as a value of type `t` (`true`/`false` for booleans).
    ///
    /// # Errors
    /// [`AnyError::ScalarType`] when `text` does not parse as the type.
    pub fn parse_value(text: &str, t: ValueType) -> Result<Self, AnyError> {
        let bad = || AnyError::ScalarType {
            what: "value",
            expected: t.name().into(),
            found: format!("{text:?}"),
        };
        Ok(match t {
            ValueType::Utf8 => Scalar::Utf8(text.into()),
            ValueType::Binary => Scalar::Binary(text.as_bytes().to_vec()),
            ValueType::Int64 => Scalar::Int64(text.parse().map_err(|_| bad())?),
            ValueType::Float64 => Scalar::Float64(text.parse().map_err(|_| bad())?),
            ValueType::Bool => Scalar::Bool(text.parse().map_err(|_| bad())?),
        })
    }
}

impl fmt::Display for Scalar {
    /// Text as is, bytes as lossy UTF-8, numbers in their shortest round-trip form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Utf8(s) => f.write_str(s),
            Scalar::Binary(b) => f.write_str(&String::from_utf8_lossy(b)),
            Scalar::Int64(v) => write!(f, "{v}"),
            Scalar::UInt64(v) => write!(f, "{v}"),
            Scalar::Float64(v) => write!(f, "{v}"),
            Scalar::Bool(v) => write!(f, "{v}"),
        }
    }
}
