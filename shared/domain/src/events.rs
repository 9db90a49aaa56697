//! The organisation's event log: one record per change, written in the same store transaction
//! as the change (a transactional outbox over the item store), kept [`KEPT`], read oldest first
//! by a cursor that never skips or repeats. It is the organisation's audit trail, and what
//! webhooks and EventBridge deliver from.
//!
//! Ordering. An event's id is time-ordered (a UUIDv7 of the second it happened, then random
//! bits), and the log is sharded ([`SHARDS`] partitions, the shard taken from the id's random
//! bits) so that a sign-in storm does not make one hot partition. Readers merge the shards by id.
//! A change's transaction commits within seconds of its event getting its id (the store bounds
//! its retries and requests: `KEYS.md`, "Event log"), and the functions' clocks agree to well
//! within the rest of [`SETTLE`]; so a reader is shown
//! only events at least [`SETTLE`] old, and once it has passed an id no older event can still
//! appear. The price is that the log runs [`SETTLE`] behind the present (webhooks do not: they
//! are delivered from the store's stream).

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::ports::StoreError;
use crate::secret::Randomness;
use crate::types::{OrgDomain, ParseError, UserId};

/// Partitions of one organisation's log: 16 × DynamoDB's 1,000 writes a second per partition.
pub const SHARDS: u8 = 16;
/// How old an event must be before readers see it (see the module's documentation).
pub const SETTLE: Duration = Duration::from_secs(10);
/// How long the log keeps an event.
pub const KEPT: Duration = Duration::from_secs(400 * 24 * 3600);

/// An event's id: 32 lowercase hex digits, a UUIDv7 of the second it happened; ids sort in the
/// order events happened (events of one second in the order of their random bits).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventId(String);

impl EventId {
    pub fn new(random: &dyn Randomness, now: Timestamp) -> Self {
        let mut bytes = [0u8; 10];
        random.fill(&mut bytes);
        Self(
            crate::secret::time_ordered(now, &bytes)
                .simple()
                .to_string(),
        )
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let ok = raw.len() == 32 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err(ParseError::new(
                "invalid_event_id",
                "not an event id (32 lowercase hexadecimal digits)",
            ))
        }
    }

    /// The smallest id of the second `at`: every event of an earlier second sorts before it.
    pub fn first_of(at: Timestamp) -> Self {
        Self(
            crate::secret::time_ordered(at, &[0; 10])
                .simple()
                .to_string(),
        )
    }

    /// Which partition of the log it is written to (from its random bits).
    pub fn shard(&self) -> u8 {
        let last = u8::from_str_radix(&self.0[30..], 16).unwrap_or(0);
        last % SHARDS
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EventId {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, ParseError> {
        Self::parse(&raw)
    }
}

impl From<EventId> for String {
    fn from(id: EventId) -> String {
        id.0
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who made a change: a person (`None` for the person themself signing up or in, and for the
/// schedule), and for security events the client address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventActor {
    pub user_id: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_address: Option<String>,
}

/// One change, as the platform is told of it. `data` is the resource as the API shows it,
/// never a password, token, access code or secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: EventId,
    pub org: OrgDomain,
    #[serde(rename = "type")]
    pub kind: String,
    pub occurred_at: Timestamp,
    pub actor: EventActor,
    pub data: serde_json::Value,
}

/// Where events are kept and read from.
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Appends events that come with no other change of the store (each once: appending an
    /// event already there changes nothing).
    async fn append_events(&self, events: &[Event]) -> Result<(), StoreError>;
    /// Up to `limit` events of `org` after `after` (all when `None`) and before `before`
    /// (exclusive), oldest first, merged from every shard.
    async fn events(
        &self,
        org: &OrgDomain,
        after: Option<&EventId>,
        before: &EventId,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Bytes(u8);
    impl Randomness for Bytes {
        fn fill(&self, buf: &mut [u8]) {
            buf.fill(self.0);
        }
    }

    #[test]
    fn ids_sort_by_second_then_spread_over_the_shards() {
        let t = Timestamp::from_unix_seconds(1_800_000_000);
        let a = EventId::new(&Bytes(0xff), t);
        let b = EventId::new(&Bytes(0x00), t.plus(Duration::from_secs(1)));
        assert!(
            a < b,
            "a later second sorts after, whatever the random bits"
        );
        assert!(EventId::first_of(t) <= EventId::new(&Bytes(0), t));
        assert!(EventId::new(&Bytes(0xff), t) < EventId::first_of(t.plus(Duration::from_secs(1))));
        let shards: std::collections::HashSet<u8> = (0..=255u8)
            .map(|n| EventId::new(&Bytes(n), t).shard())
            .collect();
        assert_eq!(shards.len(), usize::from(SHARDS));
        assert_eq!(EventId::parse(a.as_str()), Ok(a.clone()));
        assert!(EventId::parse("not-an-id").is_err());
    }
}
