//! Dots: the name of one event, `(replica, counter)`.

use std::fmt;

use crate::replica::ReplicaId;

/// One event: the `counter`-th event issued by `replica` (counters start at 1).
///
/// # Example
/// ```
/// use pluriverse::Dot;
/// let d = Dot::new("paris", 3);
/// assert_eq!(d.to_string(), "(paris, 3)");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Dot {
    /// The replica that issued the event.
    pub replica: ReplicaId,
    /// Its position in that replica's sequence of events, from 1.
    pub counter: u64,
}

impl Dot {
    /// The dot `(replica, counter)`.
    pub fn new(replica: impl Into<ReplicaId>, counter: u64) -> Self {
        Self {
            replica: replica.into(),
            counter,
        }
    }
}

impl fmt::Display for Dot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.replica, self.counter)
    }
}
