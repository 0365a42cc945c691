//! The status codes every function returns, the thread-local last-error message, and the
//! guard that turns errors and panics into a status at the boundary.

use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What a call did. The values are part of the ABI and never change; new codes are only
/// ever appended.
///
/// Every failing call also leaves a message for `pv_last_error()`.
#[allow(
    non_camel_case_types,
    reason = "C naming: the header spells it pv_status"
)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum pv_status {
    /// Success.
    PV_OK = 0,
    /// An argument is invalid: a NULL pointer, a zero width, a length that is too large,
    /// a misaligned or overlapping buffer, an unknown type code, a string that is not
    /// UTF-8 where UTF-8 is required.
    PV_INVALID_ARGUMENT = 1,
    /// Bytes could not be decoded into a state, delta or context (truncated, corrupted,
    /// hostile). The target is unchanged.
    PV_DECODE_ERROR = 2,
    /// The kind or the key/value types do not match: bytes of another kind or types, a key
    /// or value of the wrong type.
    PV_TYPE_MISMATCH = 3,
    /// A number does not fit: `rows * width` overflows, a counter would pass `UINT64_MAX`,
    /// a counter's value does not fit `int64_t`.
    PV_OVERFLOW = 4,
    /// The library panicked (a bug). The handle the call was given must only be freed.
    PV_PANIC = 5,
    /// Any other error (the message says what).
    PV_ERROR = 6,
    /// A replica directory is open in another process or through another handle: a
    /// directory has one writer at a time.
    PV_LOCKED = 7,
    /// A file of a replica directory is damaged (a log record in the middle of a log fails
    /// its checksum, a snapshot does not decode); the message names the file and the byte
    /// offset. Nothing is skipped silently.
    PV_CORRUPT = 8,
    /// The directory holds no replica (no `replica.json`), or one of a format this build
    /// does not read.
    PV_NOT_A_REPLICA = 9,
    /// `pv_replica_create` found a replica already in the directory.
    PV_ALREADY_EXISTS = 10,
    /// A file operation failed (the message names the file, the operation and the
    /// operating system's error).
    PV_IO = 11,
    /// A delta claims events of this replica's own incarnation that it never issued (a
    /// forgery, or a copy of the directory writing under the same incarnation); refused,
    /// nothing changed.
    PV_FOREIGN_CLAIM = 12,
    /// An earlier write to a replica's log failed; the handle refuses everything until the
    /// directory is opened again (which replays what the log holds).
    PV_POISONED = 13,
    /// One event (dot) is bound to two contents: the bytes or state joined hold another key
    /// or value for a dot this state holds (proof that a replica equivocated, or that the
    /// bytes were forged); refused, nothing changed.
    PV_EQUIVOCATION = 14,
}

/// An error on its way to the boundary: the status to return and the message to keep.
#[derive(Debug)]
pub(crate) struct Fail {
    pub(crate) status: pv_status,
    pub(crate) message: String,
}

impl Fail {
    /// A failure with `status` and `message`.
    pub(crate) fn new(status: pv_status, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// [`pv_status::PV_INVALID_ARGUMENT`] with `message`.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(pv_status::PV_INVALID_ARGUMENT, message)
    }
}

/// The result type of the code behind each exported function.
pub(crate) type FfiResult<T> = Result<T, Fail>;

thread_local! {
    /// The message of the last failing call on this thread; `None` after a success.
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

fn set_last_error(message: String) {
    let mut bytes = message.into_bytes();
    bytes.retain(|&b| b != 0);
    // No interior NUL is left, so this cannot fail.
    let c = CString::new(bytes).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = Some(c));
}

fn clear_last_error() {
    LAST_ERROR.with(|e| *e.borrow_mut() = None);
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_owned()
    }
}

/// Runs the body of an exported function: clears the last error, catches panics, and turns
/// the outcome into a status (keeping the message of a failure).
pub(crate) fn guard(name: &str, body: impl FnOnce() -> FfiResult<()>) -> pv_status {
    clear_last_error();
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => pv_status::PV_OK,
        Ok(Err(fail)) => {
            set_last_error(format!("{name}: {}", fail.message));
            fail.status
        }
        Err(payload) => {
            set_last_error(format!(
                "{name}: panic: {}",
                panic_message(payload.as_ref())
            ));
            pv_status::PV_PANIC
        }
    }
}

/// Runs the body of an exported function that returns nothing (the `_free` functions):
/// a panic is caught and only leaves its message for `pv_last_error()`.
pub(crate) fn guard_void(name: &str, body: impl FnOnce()) {
    let _ = guard(name, || {
        body();
        Ok(())
    });
}

/// The message of the last failing call on this thread, as a NUL-terminated UTF-8 string;
/// the empty string `""` when the last call succeeded or no call was made yet.
///
/// Every function of this library except `pv_last_error`, `pv_status_str` and `pv_version`
/// resets the message when it starts. The pointer stays valid until the next call into
/// this library on the same thread; copy the text to keep it. Never free it. Messages are
/// per thread: a failure on one thread is invisible to the others.
#[no_mangle]
pub extern "C" fn pv_last_error() -> *const c_char {
    static EMPTY: &std::ffi::CStr = c"";
    catch_unwind(|| {
        LAST_ERROR.with(|e| match &*e.borrow() {
            Some(c) => c.as_ptr(),
            None => EMPTY.as_ptr(),
        })
    })
    .unwrap_or(EMPTY.as_ptr())
}

/// The name of a status code as a static NUL-terminated string (`"PV_OK"`,
/// `"PV_INVALID_ARGUMENT"`, ...), or `"PV_UNKNOWN_STATUS"` for a value that is not a
/// status. Never free it.
#[no_mangle]
pub extern "C" fn pv_status_str(status: u32) -> *const c_char {
    let s: &'static std::ffi::CStr = match status {
        0 => c"PV_OK",
        1 => c"PV_INVALID_ARGUMENT",
        2 => c"PV_DECODE_ERROR",
        3 => c"PV_TYPE_MISMATCH",
        4 => c"PV_OVERFLOW",
        5 => c"PV_PANIC",
        6 => c"PV_ERROR",
        7 => c"PV_LOCKED",
        8 => c"PV_CORRUPT",
        9 => c"PV_NOT_A_REPLICA",
        10 => c"PV_ALREADY_EXISTS",
        11 => c"PV_IO",
        12 => c"PV_FOREIGN_CLAIM",
        13 => c"PV_POISONED",
        14 => c"PV_EQUIVOCATION",
        _ => c"PV_UNKNOWN_STATUS",
    };
    s.as_ptr()
}

/// The library's version (`"0.1.0"`) as a static NUL-terminated string. Never free it.
#[no_mangle]
pub extern "C" fn pv_version() -> *const c_char {
    static VERSION: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
    ) {
        Ok(c) => c,
        Err(_) => c"unknown",
    };
    VERSION.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn last() -> String {
        // SAFETY: pv_last_error returns a valid NUL-terminated string.
        unsafe { CStr::from_ptr(pv_last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn panics_become_a_status_with_a_message() {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let s = guard("pv_test", || panic!("boom {}", 7));
        std::panic::set_hook(prev);
        assert_eq!(s, pv_status::PV_PANIC);
        assert_eq!(last(), "pv_test: panic: boom 7");
        let s = guard("pv_test", || Ok(()));
        assert_eq!(s, pv_status::PV_OK);
        assert_eq!(last(), "");
    }

    #[test]
    fn failures_keep_their_message_without_nul() {
        let s = guard("pv_test", || Err(Fail::invalid("a\0b")));
        assert_eq!(s, pv_status::PV_INVALID_ARGUMENT);
        assert_eq!(last(), "pv_test: ab");
    }

    #[test]
    fn status_names() {
        let name = |s| {
            // SAFETY: pv_status_str returns static NUL-terminated strings.
            let c = unsafe { CStr::from_ptr(pv_status_str(s)) };
            c.to_str().unwrap()
        };
        assert_eq!(name(0), "PV_OK");
        assert_eq!(name(pv_status::PV_ERROR as u32), "PV_ERROR");
        assert_eq!(name(pv_status::PV_LOCKED as u32), "PV_LOCKED");
        assert_eq!(name(pv_status::PV_POISONED as u32), "PV_POISONED");
        assert_eq!(name(pv_status::PV_EQUIVOCATION as u32), "PV_EQUIVOCATION");
        assert_eq!(name(15), "PV_UNKNOWN_STATUS");
        assert_eq!(name(99), "PV_UNKNOWN_STATUS");
        // SAFETY: as above.
        let v = unsafe { CStr::from_ptr(pv_version()) }.to_str().unwrap();
        assert_eq!(v, env!("CARGO_PKG_VERSION"));
    }
}
