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
            .events(org, cursor.as_ref(), end, limit)
            .await
            .unwrap();
        assert!(page.len() <= limit);
        let Some(last) = page.last() else { break };
        cursor = Some(last.id.clone());
        read.extend(page);
    }
    read
}

fn event(org: &OrgDomain, second: i64, n: usize) -> Event {
    Event {
        id: EventId::new(random(), Timestamp::from_unix_seconds(second)),
        org: org.clone(),
        kind: EventType::InvitationCreated,
        occurred_at: Timestamp::from_unix_seconds(second),
        actor: EventActor::default(),
        data: json!({ "n": n }),
    }
}

pub async fn events_are_read_oldest_first_across_shards_each_once(store: Arc<dyn ItemStore>) {
    let records = Records::new(store.clone());
    let org = org_domain();
    let other = org_domain();
    // 120 events over 6 seconds, written newest second first and in two writes, so that the
    // order read back owes nothing to the order written.
    let mut events: Vec<Event> = (0..120)
        .map(|n| event(&org, 1_000 + (n as i64 % 6), n))
        .collect();
    events.reverse();
    let (first, second) = events.split_at(50);
    records.append_events(second).await.unwrap();
    records.append_events(first).await.unwrap();
    records
        .append_events(&[event(&other, 1_002, 0)])
        .await
        .unwrap();
    // Again: nothing more.
    records.append_events(&events[..10]).await.unwrap();
    events.sort_by(|a, b| a.id.cmp(&b.id));
    let shards: std::collections::HashSet<u8> = events.iter().map(|e| e.id.shard()).collect();
    assert!(
        shards.len() > usize::from(SHARDS) / 2,
        "written across the shards"
    );

    let end = EventId::first_of(Timestamp::from_unix_seconds(2_000));
    let read = read_all(&records, &org, &end, 7).await;
    assert_eq!(read.len(), 120, "each once");
    assert_eq!(read, events, "oldest first, exactly as written");
    // Shards that answer less than asked (pages cut short) hold the merge back: nothing skipped.
    let stingy = Records::new(Arc::new(Stingy(store)));
    assert_eq!(read_all(&stingy, &org, &end, 7).await, events);

    // Not before the bound: the last two seconds are not shown yet.
    let bound = EventId::first_of(Timestamp::from_unix_seconds(1_004));
    let settled = records.events(&org, None, &bound, 500).await.unwrap();
    assert_eq!(settled.len(), 80);
    assert!(settled.iter().all(|e| e.occurred_at.unix_seconds() < 1_004));
    // Another organisation's log is its own.
    let theirs = records.events(&other, None, &end, 500).await.unwrap();
    assert_eq!(theirs.len(), 1);
}
