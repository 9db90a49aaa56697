//! The event log: events of many seconds written to every shard, in any order, are read back
//! oldest first, page by page, each once; an event is not shown before the bound asked, nor to
//! another organisation; writing one again makes no second.

use crate::fixtures::*;
#[allow(unused_imports)]
use crate::*;

use gatehouse_domain::events::{Event, EventActor, EventId, EventLog, EventType, SHARDS};
use gatehouse_store::{Item, ItemError, Query, QueryPage, Write};
use serde_json::json;

/// A store whose queries answer at most two items at a time, saying more may follow (as
/// DynamoDB does when a page reaches its size limit before the count asked).
struct Stingy(Arc<dyn ItemStore>);

#[async_trait::async_trait]
impl ItemStore for Stingy {
    async fn get(&self, key: &gatehouse_store::Key) -> Result<Option<Item>, ItemError> {
        self.0.get(key).await
    }
    async fn query(&self, query: &Query) -> Result<QueryPage, ItemError> {
        let mut page = self.0.query(query).await?;
        if page.items.len() > 2 {
            page.items.truncate(2);
            page.last_sk = page.items.last().map(|i| i.key.sk.clone());
        }
        Ok(page)
    }
    async fn write(&self, writes: Vec<Write>) -> Result<(), ItemError> {
        self.0.write(writes).await
    }
}

/// The whole log of `org`, page by page, each page at most `limit`.
async fn read_all(records: &Records, org: &OrgDomain, end: &EventId, limit: usize) -> Vec<Event> {
    let mut read = Vec::new();
    let mut cursor: Option<EventId> = None;
    loop {
        let page = records
            .read_log(org, cursor.as_ref(), end, limit)
            .await
            .unwrap();
        assert!(page.len() <= limit);
        let Some(last) = page.last() else { break };
        cursor = Some(last.id.clone());
        read.extend(page);
    }
    read
}

/// A change of `org` at `second` making `count` events, numbered from `first`.
fn change(org: &OrgDomain, second: i64, first: usize, count: usize) -> ChangeEvents {
    let mut events = ChangeEvents::new(random(), Timestamp::from_unix_seconds(second));
    for n in first..first + count {
        events.push(
            org,
            EventType::InvitationCreated,
            EventActor::default(),
            json!({ "n": n }),
        );
    }
    events
}

pub async fn events_are_read_oldest_first_across_shards_each_once(store: Arc<dyn ItemStore>) {
    let records = Records::new(store.clone());
    let org = org_domain();
    let other = org_domain();
    // 60 changes over 6 seconds making 1 to 4 events each (so 150 events), written newest
    // second first, so that the order read back owes nothing to the order written; changes of
    // one second interleave their ids with nobody's.
    let changes: Vec<ChangeEvents> = (0..60)
        .map(|n| change(&org, 1_000 + (n as i64 % 6), n * 10, 1 + n % 4))
        .rev()
        .collect();
    for c in &changes {
        records.append_events(c).await.unwrap();
    }
    records
        .append_events(&change(&other, 1_002, 0, 1))
        .await
        .unwrap();
    // Again: nothing more.
    records.append_events(&changes[3]).await.unwrap();
    let mut events: Vec<Event> = changes.iter().flat_map(|c| c.events().to_vec()).collect();
    events.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(events.len(), 150);
    let shards: std::collections::HashSet<u8> = events.iter().map(|e| e.id.shard()).collect();
    assert!(
        shards.len() > usize::from(SHARDS) / 2,
        "written across the shards"
    );
    for c in &changes {
        let ids: Vec<&EventId> = c.events().iter().map(|e| &e.id).collect();
        let at = events.iter().position(|e| &e.id == ids[0]).unwrap();
        let run: Vec<&EventId> = events[at..at + ids.len()].iter().map(|e| &e.id).collect();
        assert_eq!(
            run, ids,
            "a change's events are next to each other in the log"
        );
    }

    let end = EventId::first_of(Timestamp::from_unix_seconds(2_000));
    for limit in [1, 3, 7, 500] {
        let read = read_all(&records, &org, &end, limit).await;
        assert_eq!(read.len(), 150, "each once (pages of {limit})");
        assert_eq!(read, events, "oldest first, exactly as written");
    }
    // Shards that answer less than asked (pages cut short) hold the merge back: nothing skipped.
    let stingy = Records::new(Arc::new(Stingy(store)));
    assert_eq!(read_all(&stingy, &org, &end, 7).await, events);
    assert_eq!(read_all(&stingy, &org, &end, 1).await, events);

    // Not before the bound: the last two seconds are not shown yet.
    let bound = EventId::first_of(Timestamp::from_unix_seconds(1_004));
    let settled = records.read_log(&org, None, &bound, 500).await.unwrap();
    assert_eq!(settled.len(), 100);
    assert!(settled.iter().all(|e| e.occurred_at.unix_seconds() < 1_004));
    // Another organisation's log is its own.
    let theirs = records.read_log(&other, None, &end, 500).await.unwrap();
    assert_eq!(theirs.len(), 1);
}

/// A change's events are written in the change's own write: a refused change leaves none, a
/// change that lands leaves all of them.
pub async fn a_change_and_its_events_are_written_together(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let org = org_domain();
    let end = EventId::first_of(Timestamp::from_unix_seconds(4_000_000_000));
    let first = invitation(
        &org,
        "taken@example.com",
        1_000,
        &SecretToken::generate(random()),
    );
    records
        .create_invitation(&first, &change(&org, 1_000, 0, 1))
        .await
        .unwrap();
    // The same address again: refused, and so are its events.
    let again = invitation(
        &org,
        "TAKEN@example.com",
        1_001,
        &SecretToken::generate(random()),
    );
    let refused = records
        .create_invitation(&again, &change(&org, 1_001, 10, 2))
        .await;
    assert!(
        matches!(refused, Err(WriteError::EmailTaken)),
        "{refused:?}"
    );
    let log = records.read_log(&org, None, &end, 100).await.unwrap();
    assert_eq!(log.len(), 1, "the refused change left no event");
    assert_eq!(log[0].data, json!({ "n": 0 }));
    // A stale update: no events either; the fresh one brings its own.
    let mut revoked = first.clone();
    revoked.state = InvitationState::Revoked {
        at: Timestamp::from_unix_seconds(1_002),
    };
    let mut stale = first.clone();
    stale.version += 1;
    let refused = records
        .update_invitation(&revoked, &stale, &change(&org, 1_002, 20, 1))
        .await;
    assert!(matches!(refused, Err(WriteError::Stale)), "{refused:?}");
    records
        .update_invitation(&revoked, &first, &change(&org, 1_003, 30, 3))
        .await
        .unwrap();
    let log = records.read_log(&org, None, &end, 100).await.unwrap();
    let numbers: Vec<&Value> = log.iter().map(|e| &e.data["n"]).collect();
    assert_eq!(numbers, [0, 30, 31, 32]);
}
