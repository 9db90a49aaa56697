//! Erasures: the account, its memberships, search entries and claims go in one write with the
//! erasure's record, which then moves on only from the version read; the log's records are read
//! shard by shard and redacted in place (and not told again); webhook deliveries of redacted
//! events are rewritten where they exist.

use crate::fixtures::*;
#[allow(unused_imports)]
use crate::*;

use gatehouse_domain::events::{ChangeEvents, Event, EventActor, EventLog, EventType};
use gatehouse_domain::model::ErasureJob;
use gatehouse_domain::ports::ErasureStore;
use gatehouse_domain::webhooks::{Delivery, DeliveryStore};

fn job(user: &User) -> ErasureJob {
    ErasureJob {
        org: user.org.clone(),
        user_id: user.id.clone(),
        hashes: vec!["ab".repeat(32)],
        started_at: Timestamp::from_unix_seconds(3_000),
        invitations: None,
        log_after: vec![None; 16],
        log_done: vec![false; 16],
        version: 0,
    }
}

pub async fn an_erased_account_leaves_its_claims_free_and_a_record_of_what_is_left(
    store: Arc<dyn ItemStore>,
) {
    let records = Records::new(store);
    let (domain, admin) = new_org(&records).await;
    let inv = invitation(
        &domain,
        "ivy@example.com",
        1_500,
        &SecretToken::generate(random()),
    );
    records
        .create_invitation(&inv, &ChangeEvents::none())
        .await
        .unwrap();
    let accepted = acceptance(&inv);
    records.accept_invitation(&accepted).await.unwrap();
    let ivy = records
        .user(&domain, &accepted.user.id)
        .await
        .unwrap()
        .unwrap();
    let mut stale = ivy.clone();
    stale.version += 1;
    assert!(
        matches!(
            records
                .erase_account(&stale, None, &job(&ivy), &ChangeEvents::none())
                .await,
            Err(WriteError::Stale)
        ),
        "only from the version read"
    );
    records
        .erase_account(&ivy, None, &job(&ivy), &ChangeEvents::none())
        .await
        .unwrap();
    assert_eq!(records.user(&domain, &ivy.id).await.unwrap(), None);
    let lookup = Lookup {
        claims: vec![AccountKey::Email(
            EmailAddress::parse("ivy@example.com").unwrap(),
        )],
        ..Lookup::default()
    };
    assert_eq!(
        records.look_up(&domain, &lookup).await.unwrap().claims,
        vec![Claim::Free]
    );
    let search = UserQuery {
        q: Some("ivy".into()),
        ..Default::default()
    };
    let page = PageRequest {
        cursor: None,
        limit: 10,
    };
    assert!(records
        .find_users(&domain, &search, &page)
        .await
        .unwrap()
        .items
        .is_empty());
    // The record of what is left moves on from the version read, once.
    let pending = records.erasures(100).await.unwrap();
    let mine = pending
        .iter()
        .find(|j| j.user_id == ivy.id)
        .unwrap()
        .clone();
    assert_eq!(mine, job(&ivy));
    let mut next = mine.clone();
    next.invitations = Some(vec![inv.id.clone()]);
    records.save_erasure(&next).await.unwrap();
    assert!(matches!(
        records.save_erasure(&next).await,
        Err(WriteError::Stale)
    ));
    let saved = records.erasures(100).await.unwrap();
    let saved = saved.iter().find(|j| j.user_id == ivy.id).unwrap();
    assert_eq!(
        (saved.version, &saved.invitations),
        (1, &Some(vec![inv.id.clone()]))
    );
    records.finish_erasure(saved).await.unwrap();
    assert!(!records
        .erasures(10)
        .await
        .unwrap()
        .iter()
        .any(|j| j.user_id == ivy.id));
    assert!(records.user(&domain, &admin.id).await.unwrap().is_some());
}

pub async fn a_redacted_log_record_is_rewritten_in_place_and_not_told_again(
    store: Arc<dyn ItemStore>,
) {
    let records = Records::new(store.clone());
    let (domain, _admin) = new_org(&records).await;
    let change = ChangeEvents::new(random(), Timestamp::from_unix_seconds(4_000)).with(
        &domain,
        EventType::UserSignedIn,
        EventActor {
            user_id: None,
            client_address: Some("198.51.100.7".into()),
        },
        json!({ "id": "someone", "email": "ivy@example.com" }),
    );
    records.append_events(&change).await.unwrap();
    let event = change.events()[0].clone();
    let shard = event.id.shard();
    let (found, _) = records.log_records(&domain, shard, None, 10).await.unwrap();
    let (sk, events) = found
        .iter()
        .find(|(_, events)| events.iter().any(|e| e.id == event.id))
        .unwrap()
        .clone();
    assert_eq!(events, vec![event.clone()]);
    let mut redacted = event.clone();
    redacted.data = json!({ "id": "someone" });
    redacted.actor.client_address = None;
    records
        .redact_log_record(&domain, shard, &sk, std::slice::from_ref(&redacted))
        .await
        .unwrap();
    let (after, _) = records.log_records(&domain, shard, None, 10).await.unwrap();
    assert!(after.contains(&(sk.clone(), vec![redacted.clone()])));
    // The stream's and the local feed's reader passes it by.
    let item = store
        .get(&Key::new(format!("EVENTS#{domain}#{shard:02}"), sk.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        gatehouse_store::events_in(&item.key, &item.attrs).unwrap(),
        None
    );
    // Gone meanwhile (its time was up): nothing to do, no error.
    records
        .redact_log_record(&domain, shard, "0000", &[redacted])
        .await
        .unwrap();
}

pub async fn deliveries_of_redacted_events_are_rewritten_where_they_exist(
    store: Arc<dyn ItemStore>,
) {
    let records = Records::new(store);
    let (domain, _admin) = new_org(&records).await;
    let hook = crate::webhooks::webhook(&domain, 1);
    let other = crate::webhooks::webhook(&domain, 2);
    let event: Event = crate::webhooks::event(&domain, 5);
    let delivery = Delivery::new(&hook, &event, Timestamp::from_unix_seconds(10));
    records
        .create_deliveries(std::slice::from_ref(&delivery))
        .await
        .unwrap();
    let mut redacted = event.clone();
    redacted.data = json!({ "id": null });
    let rewritten = records
        .redact_deliveries(
            &domain,
            &[hook.id.clone(), other.id.clone()],
            &[redacted.clone()],
        )
        .await
        .unwrap();
    assert_eq!(rewritten, 1, "the one that exists");
    let read = records
        .delivery(&domain, &hook.id, &event.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.event, redacted);
    assert_eq!(
        read.version, delivery.version,
        "an attempt under way still lands"
    );
    assert_eq!(
        records
            .delivery(&domain, &other.id, &event.id)
            .await
            .unwrap(),
        None
    );
}
