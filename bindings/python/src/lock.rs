//! The lock every native handle keeps its Rust value behind, so that Python threads may
//! share a handle: reads run side by side, a write waits for them (and they for it), and
//! nobody sees `RuntimeError: Already borrowed`.
//!
//! Two rules keep it free of deadlocks with the GIL. A thread never *waits* for the lock
//! while holding the GIL: it tries, and if the lock is taken it releases the GIL, waits for
//! the holder to finish, and tries again. And the closures run under the lock do Rust work
//! only (no Python code that could release the GIL and re-enter the same handle); arguments
//! are converted before and results after.

use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError};

use pyo3::prelude::*;

/// A value shared between Python threads behind a read-write lock.
pub struct Shared<T> {
    lock: RwLock<T>,
}

impl<T: Send + Sync> Shared<T> {
    /// Wraps `value`.
    pub fn new(value: T) -> Self {
        Self {
            lock: RwLock::new(value),
        }
    }

    /// A short read with the GIL held (if a writer holds the lock, it waits with the GIL
    /// released).
    pub fn read<R>(&self, py: Python<'_>, f: impl FnOnce(&T) -> R) -> R {
        loop {
            match self.lock.try_read() {
                Ok(g) => return f(&g),
                Err(TryLockError::Poisoned(p)) => return f(&p.into_inner()),
                Err(TryLockError::WouldBlock) => py.detach(|| drop(self.lock.read())),
            }
        }
    }

    /// A short write with the GIL held (waits with the GIL released while others hold the
    /// lock).
    pub fn write<R>(&self, py: Python<'_>, f: impl FnOnce(&mut T) -> R) -> R {
        loop {
            match self.lock.try_write() {
                Ok(mut g) => return f(&mut g),
                Err(TryLockError::Poisoned(p)) => return f(&mut p.into_inner()),
                Err(TryLockError::WouldBlock) => py.detach(|| drop(self.lock.write())),
            }
        }
    }

    /// A long read with the GIL released (other threads run Python meanwhile).
    pub fn read_detached<R: Send>(&self, py: Python<'_>, f: impl FnOnce(&T) -> R + Send) -> R {
        py.detach(|| f(&self.read_blocking()))
    }

    /// A long write with the GIL released.
    pub fn write_detached<R: Send>(&self, py: Python<'_>, f: impl FnOnce(&mut T) -> R + Send) -> R {
        py.detach(|| f(&mut self.write_blocking()))
    }

    /// The read guard, waiting for it; only without the GIL.
    pub fn read_blocking(&self) -> RwLockReadGuard<'_, T> {
        self.lock.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The write guard, waiting for it; only without the GIL.
    pub fn write_blocking(&self) -> RwLockWriteGuard<'_, T> {
        self.lock.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `self` and `other` are one lock, and whether `self` comes first in the order
    /// two locks are taken in (by address, so two threads taking the same pair never wait
    /// for each other in a cycle).
    pub fn first_of<U>(&self, other: &Shared<U>) -> bool {
        (self as *const Self as usize) < (other as *const Shared<U> as usize)
    }
}
