//! Webhook endpoints change only from the version read; a delivery is made once per event and
//! endpoint, found due in time order across organisations, taken by one worker only, and listed
//! newest first.

use crate::fixtures::*;
#[allow(unused_imports)]
use crate::*;

use gatehouse_domain::access_code::SealedCode;
use gatehouse_domain::events::{ChangeEvents, Event, EventActor, EventType};
use gatehouse_domain::webhooks::{
    Delivery, DeliveryState, DeliveryStore, Webhook, WebhookStore, WebhookUrl,
};

pub(crate) fn webhook(org: &OrgDomain, n: i64) -> Webhook {
    Webhook {
        id: random().webhook_id(Timestamp::from_unix_seconds(1_000 + n)),
        org: org.clone(),
        url: WebhookUrl::parse("https://93.184.216.34/in", false).unwrap(),
        types: vec![],
        description: None,
        secret: SealedCode {
            nonce: "n".into(),
            ciphertext: "c".into(),
        },
        previous_secret: None,
        disabled_at: None,
        failing_since: None,
        created_by: random().user_id(),
        created_at: Timestamp::from_unix_seconds(1_000 + n),
        version: 0,
    }
}

pub(crate) fn event(org: &OrgDomain, second: i64) -> Event {
    ChangeEvents::new(random(), Timestamp::from_unix_seconds(second))
        .with(
            org,
            EventType::UserSignedIn,
            EventActor::default(),
            json!({ "at": second }),
        )
        .events()[0]
        .clone()
}

pub async fn webhooks_change_only_from_the_version_read(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let org = org_domain();
    let none = ChangeEvents::none();
    let (first, second) = (webhook(&org, 1), webhook(&org, 2));
    records.create_webhook(&first, &none).await.unwrap();
    records.create_webhook(&second, &none).await.unwrap();
    assert!(matches!(
        records.create_webhook(&first, &none).await,
        Err(WriteError::AlreadyExists)
    ));
    let listed = records.webhooks(&org).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].id, first.id, "oldest first");
    assert!(records.webhooks(&org_domain()).await.unwrap().is_empty());

    let mut disabled = first.clone();
    disabled.disabled_at = Some(Timestamp::from_unix_seconds(2_000));
    records.update_webhook(&disabled, &none).await.unwrap();
    // A second change from the same read is stale; so is a delete from it.
    assert!(matches!(
        records.update_webhook(&disabled, &none).await,
        Err(WriteError::Stale)
    ));
    assert!(matches!(
        records.delete_webhook(&first, &none).await,
        Err(WriteError::Stale)
    ));
    let read = records.webhook(&org, &first.id).await.unwrap().unwrap();
    assert_eq!(read.version, 1);
    assert!(read.disabled_at.is_some());
    records.delete_webhook(&read, &none).await.unwrap();
    assert!(records.webhook(&org, &first.id).await.unwrap().is_none());
    assert_eq!(records.webhooks(&org).await.unwrap().len(), 1);
}

pub async fn deliveries_are_made_once_due_in_order_and_taken_once(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (a, b) = (org_domain(), org_domain());
    let (to_a, to_b) = (webhook(&a, 1), webhook(&b, 1));
    let at = |s: i64| Timestamp::from_unix_seconds(s);
    // Due at 30, 10 and 20 (across organisations), and one not due before 1,000.
    let mut late = Delivery::new(&to_a, &event(&a, 5), at(1_000));
    let mut first = Delivery::new(&to_b, &event(&b, 2), at(10));
    let mut second = Delivery::new(&to_a, &event(&a, 3), at(20));
    let mut third = Delivery::new(&to_a, &event(&a, 4), at(30));
    let made = records
        .create_deliveries(&[third.clone(), first.clone(), second.clone(), late.clone()])
        .await
        .unwrap();
    assert_eq!(made, [true, true, true, true]);
    // The same events again (a stream delivering a batch twice): nothing new.
    let again = records
        .create_deliveries(&[first.clone(), third.clone()])
        .await
        .unwrap();
    assert_eq!(again, [false, false]);

    let due = records.due_deliveries(at(100), 10).await.unwrap();
    let ids: Vec<_> = due.iter().map(|d| d.id().clone()).collect();
    assert_eq!(
        ids,
        [first.id().clone(), second.id().clone(), third.id().clone()],
        "earliest first, each once, none before its time"
    );
    assert_eq!(records.due_deliveries(at(15), 10).await.unwrap().len(), 1);
    assert_eq!(records.due_deliveries(at(100), 2).await.unwrap().len(), 2);

    // Two workers take the same due delivery: one wins.
    let read = due[0].clone();
    let mut mine = read.clone();
    mine.next_attempt_at = Some(at(160));
    let mut theirs = read.clone();
    theirs.next_attempt_at = Some(at(170));
    records.update_delivery(&mine, &read).await.unwrap();
    assert!(matches!(
        records.update_delivery(&theirs, &read).await,
        Err(WriteError::Stale)
    ));
    // Leased: not due until the lease ends; delivered: never again.
    assert_eq!(records.due_deliveries(at(100), 10).await.unwrap().len(), 2);
    mine.version = read.version + 1;
    let mut delivered = mine.clone();
    delivered.state = DeliveryState::Delivered;
    delivered.next_attempt_at = None;
    records.update_delivery(&delivered, &mine).await.unwrap();
    let later = records.due_deliveries(at(5_000), 10).await.unwrap();
    assert_eq!(later.len(), 3, "{later:?}");
    assert!(later.iter().all(|d| d.id() != first.id()));
    let stored = records
        .delivery(&b, &to_b.id, first.id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state, DeliveryState::Delivered);

    // An endpoint's deliveries, newest first, in pages.
    late.version = 0;
    first.version = 0;
    second.version = 0;
    third.version = 0;
    let page = records
        .deliveries(
            &a,
            &to_a.id,
            &PageRequest {
                cursor: None,
                limit: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        page.items
            .iter()
            .map(|d| d.id().clone())
            .collect::<Vec<_>>(),
        [late.id().clone(), third.id().clone()]
    );
    let rest = records
        .deliveries(
            &a,
            &to_a.id,
            &PageRequest {
                cursor: page.next_cursor,
                limit: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.items[0].id(), second.id());
}
