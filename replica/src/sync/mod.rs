//! The sync protocol, sans-IO: one [`Peer`] state machine per peer takes and returns bytes
//! and is given the time; it never does I/O, never reads a clock and never changes the
//! state itself (it hands received deltas back to the caller, who joins them, durably
//! through a [`Replica`](crate::Replica) or into a bare state). The simulator, a node on
//! QUIC, a Python program on websockets and a C program on its own transport run this same
//! code.
//!
//! # How it works
//! The unit is the *dot-range slice* ([`pluriverse::store::slice`]): one replica's
//! counters `lo..=hi`, the context within the range and the live entries whose dots fall in
//! it. A slice is a valid delta on its own and lies below the state, so any set of slices
//! can be shipped in any order, lost, duplicated or cut short, and each one that arrives is
//! kept.
//!
//! - **Push.** [`Peer::push`] queues a local write's delta; it goes out in a data message,
//!   or as slices of it when it exceeds the message bound. Small deltas go into one batch
//!   that goes out at the next poll (a writer's in-order deltas are gathered, their rows
//!   copied and sorted once, [`pluriverse_any::AnyBatch`]; any other is joined into the
//!   batch), and deltas and slices queued together
//!   share one data message (their join) up to the bound, so many small writes or many
//!   small differing ranges cost one payload's fixed part, and the receiver one join, not
//!   one each.
//! - **Pull (anti-entropy).** Every round ([`Config::round_interval`]) a peer sends one
//!   fingerprint of the summaries (dots seen, dots live, a 128-bit fingerprint) of every
//!   replica it knows, a *names* message over the whole name space (a few replicas are
//!   listed instead). Where the receiver's fingerprint of the same name interval differs,
//!   it splits the interval at its own names and sends the parts' fingerprints back, and
//!   so on, as negentropy does over ids, until an interval holds few replicas on one
//!   side: that side lists their summaries, with the interval as the cover (a replica of
//!   the receiver in it but not listed is one the sender has seen nothing of). Agreeing
//!   peers thus exchange one item a round however many incarnations they know, and one
//!   differing replica among `n` costs `O(log n)` round trips. The receiver of a listing
//!   compares each summary with its own: an equal range costs nothing more; a range the sender has
//!   nothing of is streamed to it as slices; a differing range small enough is answered
//!   with the receiver's slice (and the sender answers with its own if it still differs
//!   after joining, once per range and round; an answer names no range, so it is never
//!   answered: duplicated or late copies do not restart the exchange); a larger one whose
//!   counters fall in at most a few hundred runs of one state (unseen, live, dead:
//!   [`pluriverse::CausalStore::range_dots`]) is answered with that run list, a *dots*
//!   message, as negentropy answers with id lists. The sender compares it with its own
//!   counter by counter, ships its slices of the counters it knows more of (a dot's states
//!   are ordered unseen < live < dead) and lists its own runs of the counters the receiver
//!   knows more of as a *request*, answered with slices only, so the exchange ends there.
//!   Only a range too fragmented to list is split at the receiver's data and the parts'
//!   summaries go back, recursively (eight parts of about equal live entries). Bytes and round trips
//!   follow what differs, not what the state holds, and so does the work: a range's
//!   summary costs O(log entries) per run of the store (each long run keeps sums over its
//!   dot index, built once and kept in step with the rows later joins delete; see
//!   [`pluriverse::store::slice`]), not a pass over the range.
//! - **Compact.** Data messages carry their delta in the compact encoding
//!   ([`pluriverse::wire::encode_compact`]): no Arrow schema per message (both peers know
//!   the type), so a one-entry delta costs tens of bytes. An answer to summaries goes
//!   ZSTD-compressed and its slices are sized by their compressed bytes (the payload may
//!   reach [`message::MAX_EXPANSION`] times the bound), so a 1,200-byte bound carries about
//!   a hundred entries a message. Every message is checksummed.
//! - **Loss.** Nothing is retransmitted and nothing needs to be: the next round finds what
//!   is still missing. Messages carry no sequence numbers and need no order. A range being
//!   streamed is not streamed again, nor compared, while the peer's summaries show it
//!   landing (its seen dots growing), until they show all of it or two of the sender's
//!   rounds pass without progress: a peer whose rounds are faster than the stream
//!   (summaries of an empty or half-filled replica overtaking it) would otherwise get the
//!   state twice or more; what was lost is found by the rounds after.
//! - **Bounds.** Every message is at most [`Config::max_message`] bytes (a datagram-sized
//!   1,200 works); a peer accepts at most [`Config::max_inbound`] bytes per round and drops
//!   the rest (the sender's next rounds resend what is still missing); the work queued for
//!   a peer is bounded by [`Config::max_queue`].
//!
//! The message format is in [`message`].
//!
//! # Example: two replicas over a channel that loses a third of the messages at random, 2 KiB a message
//! ```
//! use std::time::Duration;
//! use pluriverse_any::{AnyState, Kind, KeyType, Scalar, StateType};
//! use pluriverse_replica::sync::{Config, Peer};
//!
//! let t = StateType::new(Kind::AWSet, KeyType::Int64, None).unwrap();
//! let (mut a, mut b) = (AnyState::new(t, "a"), AnyState::new(t, "b"));
//! for i in 0..300 {
//!     a.add(Scalar::Int64(i)).unwrap();
//! }
//! let cfg = Config { max_message: 2048, ..Config::default() };
//! let (mut pa, mut pb) = (Peer::new(t, cfg).unwrap(), Peer::new(t, cfg).unwrap());
//! let mut seed = 7u64;
//! let mut lost = || { seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); (seed >> 33) % 3 == 0 };
//! for tick in 0..400u64 {
//!     let now = Duration::from_millis(tick * 100);
//!     while let Some(m) = pa.poll_transmit(now, &a) {
//!         if !lost() {
//!             if let Ok(Some(d)) = pb.handle(now, &m) { b.join(&d).unwrap(); }
//!         }
//!     }
//!     while let Some(m) = pb.poll_transmit(now, &b) {
//!         if !lost() {
//!             if let Ok(Some(d)) = pa.handle(now, &m) { a.join(&d).unwrap(); }
//!         }
//!     }
//! }
//! assert_eq!(a.digest(), b.digest());
//! ```

mod columns;
pub mod message;
mod peer;

pub use peer::{Config, Peer, Stats};
