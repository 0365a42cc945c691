//! How the command shows things to people: names and keys escaped so that no byte can
//! move the cursor or fake a line, numbers with thousands separators, and English that
//! agrees with its numbers.

use std::fmt::Write;
use std::path::Path;

/// `bytes` in double quotes, `{:?}`-style: printable UTF-8 as it is, control characters,
/// quotes and backslashes escaped, and bytes that are not UTF-8 as `\xNN`.
///
/// # Example
/// ```
/// use pluriverse_cli::show::quoted;
/// assert_eq!(quoted(b"paris"), "\"paris\"");
/// assert_eq!(quoted("東京".as_bytes()), "\"東京\"");
/// assert_eq!(quoted(b"evil\x1b[2J\nfake line"), r#""evil\u{1b}[2J\nfake line""#);
/// assert_eq!(quoted(b"\xff\xfe"), r#""\xff\xfe""#);
/// ```
pub fn quoted(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            let _ = write!(out, "{}", c.escape_debug());
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out.push('"');
    out
}

/// A path as it is when it is plain printable UTF-8, else [`quoted`].
///
/// # Example
/// ```
/// use pluriverse_cli::show::path;
/// use std::path::Path;
/// assert_eq!(path(Path::new("a/b.arrow")), "a/b.arrow");
/// assert_eq!(path(Path::new("a\nb")), r#""a\nb""#);
/// ```
pub fn path(p: &Path) -> String {
    let bytes = p.as_os_str().as_encoded_bytes();
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.chars().any(|c| c.is_control() || c == '"') => s.to_string(),
        _ => quoted(bytes),
    }
}

/// `n` with a comma every three digits.
///
/// # Example
/// ```
/// assert_eq!(pluriverse_cli::show::thousands(1234567), "1,234,567");
/// ```
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `n` and the noun, singular for one: `count(1, "replica", "replicas")` is `1 replica`.
///
/// # Example
/// ```
/// use pluriverse_cli::show::count;
/// assert_eq!(count(1, "key", "keys"), "1 key");
/// assert_eq!(count(1500, "key", "keys"), "1,500 keys");
/// ```
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// The indefinite article for a word as it is read aloud: `an` before a vowel sound,
/// which includes initialisms such as `MVMap` ("em-vee") and `LWWMap`.
///
/// # Example
/// ```
/// use pluriverse_cli::show::a_or_an;
/// assert_eq!(a_or_an("AWSet<utf8>"), "an");
/// assert_eq!(a_or_an("MVMap<u64, int64>"), "an");
/// assert_eq!(a_or_an("PNCounterMap<utf8>"), "a");
/// ```
pub fn a_or_an(word: &str) -> &'static str {
    let mut chars = word.chars();
    let first = chars.next().unwrap_or('x');
    let second = chars.next().unwrap_or('a');
    // an initialism (two capitals) is read letter by letter
    let initialism = first.is_ascii_uppercase() && second.is_ascii_uppercase();
    let vowel_sound = if initialism {
        "AEFHILMNORSX".contains(first)
    } else {
        "aeiouAEIOU".contains(first)
    };
    if vowel_sound {
        "an"
    } else {
        "a"
    }
}

/// Bytes as lowercase hex.
pub fn hex(d: &[u8]) -> String {
    d.iter()
        .fold(String::with_capacity(d.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Bytes as MiB (or GiB past 1 GiB), one decimal.
///
/// # Example
/// ```
/// assert_eq!(pluriverse_cli::show::bytes(3 << 30), "3.0 GiB");
/// ```
pub fn bytes(b: u64) -> String {
    if b >= 1 << 30 {
        format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64)
    } else {
        format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64)
    }
}
