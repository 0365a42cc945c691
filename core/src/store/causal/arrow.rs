//! The bridge to the Arrow wire format ([`crate::wire`]): IPC stream bytes, the compact
//! encoding, record batches.

use super::CausalStore;

impl<K: crate::wire::ArrowItem, V: crate::wire::Cells> CausalStore<K, V> {
    /// The state as Arrow IPC stream bytes in the documented format ([`crate::wire`]):
    /// equal states give identical bytes.
    ///
    /// # Errors
    /// [`crate::Error::Encode`] only if Arrow refuses the arrays (a bug).
    pub fn to_bytes(&self) -> crate::Result<Vec<u8>> {
        crate::wire::encode_store(self)
    }

    /// A state from bytes written by [`CausalStore::to_bytes`] for the same kind and types.
    ///
    /// # Errors
    /// [`crate::Error::Decode`] naming what is wrong with the bytes.
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        Ok(crate::wire::decode_store(bytes)?)
    }

    /// [`CausalStore::from_bytes`] within caller-chosen [`crate::wire::Limits`].
    ///
    /// # Errors
    /// As [`CausalStore::from_bytes`]; a breached limit is
    /// [`crate::wire::DecodeError::Limit`].
    pub fn from_bytes_with_limits(
        bytes: &[u8],
        limits: &crate::wire::Limits,
    ) -> crate::Result<Self> {
        Ok(crate::wire::decode_store_with_limits(bytes, limits)?)
    }

    /// The state in the compact encoding of the sync protocol's payloads
    /// ([`crate::wire::encode_compact`]): the content without a schema, for peers that
    /// know the type.
    pub fn to_compact(&self) -> Vec<u8> {
        crate::wire::encode_compact(self)
    }

    /// A state from [`CausalStore::to_compact`] bytes of the same kind and types, within
    /// `limits`.
    ///
    /// # Errors
    /// [`crate::Error::Decode`] naming what is wrong with the bytes (see
    /// [`crate::wire::decode_compact_with_limits`]).
    pub fn from_compact_with_limits(
        bytes: &[u8],
        limits: &crate::wire::Limits,
    ) -> crate::Result<Self> {
        Ok(crate::wire::decode_compact_with_limits(bytes, limits)?)
    }

    /// The state as Arrow record batches (schema and rows as in [`crate::wire`]).
    ///
    /// # Errors
    /// As [`CausalStore::to_bytes`].
    pub fn to_record_batches(
        &self,
    ) -> crate::Result<(arrow_schema::SchemaRef, Vec<arrow_array::RecordBatch>)> {
        crate::wire::to_record_batches(self)
    }
}
