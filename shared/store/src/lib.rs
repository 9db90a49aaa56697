//! The storage contract.
//!
//! Backends implement one small primitive, [`ItemStore`]: items addressed by a partition key and a
//! sort key, read one at a time or by sort-key prefix, and written in all-or-nothing batches whose
//! every write may carry a [`Condition`]. DynamoDB provides exactly this (GetItem, Query,
//! TransactWriteItems with condition expressions); the embedded store provides it with one
//! serialised write transaction.
//!
//! [`Records`] implements the domain's store ports once, over any [`ItemStore`], with the key design
//! documented in `KEYS.md`. Uniqueness and single use are conditions on writes, never a read
//! followed by a write. The suite every backend runs is `gatehouse-store-conformance` (tests only).

mod counting;
mod items;
mod records;

pub use counting::{Calls, CountingItems, RecordingItems};
pub use items::{
    updated, Attrs, Condition, Index, Item, ItemError, ItemStore, Key, Query, QueryPage, Write,
};
pub use records::{events_in, keys, Records, EVENTS_PK_PREFIX};
