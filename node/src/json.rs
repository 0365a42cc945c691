//! Keys and values between the HTTP API's text and JSON and [`Scalar`]s.
//!
//! | type | key in a path | value in JSON |
//! |---|---|---|
//! | `utf8` | the text (percent-encoded as URLs need) | a string |
//! | `binary` | hex digits | a string of hex digits |
//! | `int64` | decimal | an integer |
//! | `uint64` | decimal | (keys only) |
//! | `float64` | (values only) | a number (`"NaN"`, `"inf"`, `"-inf"` as strings) |
//! | `bool` | (values only) | `true` or `false` |

use pluriverse::ReplicaId;
use pluriverse_any::{KeyType, Scalar, ValueType};
use serde_json::{json, Value};

use crate::identity::{hex, unhex};

/// The longest key taken, in bytes.
pub const MAX_KEY: usize = 4096;

/// A key from a path segment (already percent-decoded).
///
/// # Errors
/// A message for the client.
pub fn parse_key(text: &str, t: KeyType) -> Result<Scalar, String> {
    if text.len() > MAX_KEY {
        return Err(format!("key of {} bytes: at most {MAX_KEY}", text.len()));
    }
    match t {
        KeyType::Binary => unhex(text)
            .map(Scalar::Binary)
            .ok_or_else(|| format!("key {text:?}: binary keys are written in hex")),
        KeyType::Int64 | KeyType::UInt64 | KeyType::Utf8 => Scalar::parse_key(text, t)
            .map_err(|_| format!("key {text:?} is not a {} (decimal)", t.name())),
    }
}

/// A value from JSON.
///
/// # Errors
/// A message for the client.
pub fn parse_value(v: &Value, t: ValueType) -> Result<Scalar, String> {
    let bad = || format!("value {v}: expected {}", describe(t));
    Ok(match t {
        ValueType::Utf8 => Scalar::Utf8(v.as_str().ok_or_else(bad)?.to_owned()),
        ValueType::Binary => Scalar::Binary(v.as_str().and_then(unhex).ok_or_else(bad)?),
        ValueType::Int64 => Scalar::Int64(v.as_i64().ok_or_else(bad)?),
        ValueType::Float64 => match v {
            Value::Number(n) => Scalar::Float64(n.as_f64().ok_or_else(bad)?),
            Value::String(s) => match s.as_str() {
                "NaN" => Scalar::Float64(f64::NAN),
                "inf" => Scalar::Float64(f64::INFINITY),
                "-inf" => Scalar::Float64(f64::NEG_INFINITY),
                _ => return Err(bad()),
            },
            _ => return Err(bad()),
        },
        ValueType::Bool => Scalar::Bool(v.as_bool().ok_or_else(bad)?),
    })
}

fn describe(t: ValueType) -> &'static str {
    match t {
        ValueType::Utf8 => "a string",
        ValueType::Binary => "a string of hex digits",
        ValueType::Int64 => "an integer that fits 64 bits",
        ValueType::Float64 => "a number",
        ValueType::Bool => "true or false",
    }
}

/// A key or value as JSON (the inverse of [`parse_value`]; keys as their type's JSON too).
pub fn scalar_json(s: &Scalar) -> Value {
    match s {
        Scalar::Utf8(s) => json!(s),
        Scalar::Binary(b) => json!(hex(b)),
        Scalar::Int64(v) => json!(v),
        Scalar::UInt64(v) => json!(v),
        Scalar::Float64(v) => serde_json::Number::from_f64(*v).map_or_else(
            || {
                json!(if v.is_nan() {
                    "NaN"
                } else if *v > 0.0 {
                    "inf"
                } else {
                    "-inf"
                })
            },
            Value::Number,
        ),
        Scalar::Bool(v) => json!(v),
    }
}

/// A replica name as text (lossy for names that are not UTF-8).
pub fn show_id(r: &ReplicaId) -> String {
    String::from_utf8_lossy(r.as_bytes()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_wrong_types_are_refused() {
        for (v, t) in [
            (json!("x"), ValueType::Utf8),
            (json!("00ff"), ValueType::Binary),
            (json!(-5), ValueType::Int64),
            (json!(1.5), ValueType::Float64),
            (json!("NaN"), ValueType::Float64),
            (json!(true), ValueType::Bool),
        ] {
            let s = parse_value(&v, t).unwrap();
            assert_eq!(scalar_json(&s), v);
        }
        assert!(parse_value(&json!("x"), ValueType::Int64).is_err());
        assert!(parse_value(&json!(1.5), ValueType::Int64).is_err());
        assert!(parse_value(&json!("0g"), ValueType::Binary).is_err());
        assert!(parse_value(&json!(null), ValueType::Bool).is_err());
    }

    #[test]
    fn keys_parse_by_type() {
        assert_eq!(parse_key("12", KeyType::Int64).unwrap(), Scalar::Int64(12));
        assert_eq!(
            parse_key("0a0b", KeyType::Binary).unwrap(),
            Scalar::Binary(vec![10, 11])
        );
        assert!(parse_key("-1", KeyType::UInt64).is_err());
        assert!(parse_key("x", KeyType::Int64).is_err());
        assert!(parse_key(&"k".repeat(MAX_KEY + 1), KeyType::Utf8).is_err());
    }
}
