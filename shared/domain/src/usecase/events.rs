//! Admins read the organisation's event log: its audit trail, and the pull side of what webhooks
//! push. Oldest first, from a cursor (the last id read) that never skips or repeats, only events
//! at least [`SETTLE`] old (see [`crate::events`]).

use crate::error::{Rejection, RejectionClass};
use crate::events::{Event, EventId, EventType, SETTLE};
use crate::permissions::Action;
use crate::ports::StoreError;
use crate::secret::SessionToken;
use crate::services::Services;
use crate::types::OrgDomain;
use crate::usecase::session::AuthError;
use crate::usecase::{admin_of, OrgLookupError};

/// The most events one page holds.
pub const MAX_LIMIT: usize = 500;
/// The most events one request looks through for a filtered page: a rare type answers a short
/// (or empty) page and a cursor to go on from, rather than a request that reads the whole log.
pub const SCAN_LIMIT: usize = 2_000;

#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("only admins can read the event log")]
    Forbidden,
    #[error("reading the event log failed")]
    Internal(#[from] StoreError),
}

impl Rejection for EventsError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::Auth(e) => e.code(),
            Self::Forbidden => "forbidden",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::Auth(e) => e.class(),
            Self::Forbidden => RejectionClass::Forbidden,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
}

/// Which events a page shows, each filter optional.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only these types (any of them); empty: every type.
    pub types: Vec<EventType>,
    /// Only changes made by this person (a user id).
    pub actor: Option<String>,
    /// Only events about this person: their user id, email or identifier (uid), whatever the
    /// case.
    pub person: Option<String>,
}

impl EventFilter {
    pub fn admits(&self, event: &Event) -> bool {
        (self.types.is_empty() || self.types.contains(&event.kind))
            && self.actor.as_ref().is_none_or(|a| {
                event
                    .actor
                    .user_id
                    .as_ref()
                    .is_some_and(|u| u.as_str() == a)
            })
            && self.person.as_ref().is_none_or(|p| is_about(event, p))
    }
}

/// Whether `event` is about the person `who` names (a user id, email or uid).
fn is_about(event: &Event, who: &str) -> bool {
    let who = who.trim().to_lowercase();
    let names = |field: &str| {
        event.data[field]
            .as_str()
            .is_some_and(|v| v.to_lowercase() == who)
    };
    let user_event = event.kind.as_str().starts_with("user.");
    (user_event && names("id"))
        || ["user_id", "accepted_user_id", "email", "uid"]
            .into_iter()
            .any(names)
}

/// A page of the log.
#[derive(Debug, Clone)]
pub struct EventPage {
    pub items: Vec<Event>,
    /// Where the next page starts: the last event looked at (past the filter too), or the
    /// cursor given when nothing new was found. Always there: the log goes on.
    pub next_cursor: Option<EventId>,
    /// Whether more events are there already (else: poll again later).
    pub has_more: bool,
}

/// Up to `limit` (1 to [`MAX_LIMIT`]) events `filter` admits, after `after` (from the start of
/// the log when `None`).
pub async fn list_events(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    after: Option<EventId>,
    limit: usize,
    filter: &EventFilter,
) -> Result<EventPage, EventsError> {
    admin_of(
        services,
        org,
        token,
        Action::ReadEvents,
        EventsError::Forbidden,
    )
    .await?;
    let limit = limit.clamp(1, MAX_LIMIT);
    let now = services.clock.now();
    let settled = EventId::first_of(now.minus(SETTLE));
    let mut cursor = after;
    let mut items = Vec::new();
    let mut looked = 0;
    let filtered = !filter.types.is_empty() || filter.actor.is_some() || filter.person.is_some();
    loop {
        // Unfiltered, a page is exactly what is wanted; filtered, read in larger pages.
        let want = if filtered {
            MAX_LIMIT
        } else {
            limit - items.len()
        };
        let read = services
            .store
            .read_log(org, cursor.as_ref(), &settled, want)
            .await?;
        let got = read.len();
        let mut unread = 0;
        for (n, event) in read.into_iter().enumerate() {
            looked += 1;
            cursor = Some(event.id.clone());
            if filter.admits(&event) {
                items.push(event);
                if items.len() == limit {
                    unread = got - n - 1;
                    break;
                }
            }
        }
        let exhausted = got < want;
        if items.len() == limit || exhausted || looked >= SCAN_LIMIT {
            let has_more = !exhausted || unread > 0;
            return Ok(EventPage {
                items,
                next_cursor: cursor,
                has_more,
            });
        }
    }
}
