//! The storage conformance suite on the embedded store, each test on its own file.

use std::sync::Arc;

use gatehouse_embedded::EmbeddedItems;
use gatehouse_store::ItemStore;

async fn fresh_store() -> Arc<dyn ItemStore> {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedItems::open(&dir.path().join("gatehouse.redb")).expect("open store");
    // The file stays open in the store; the folder is removed when the process ends.
    std::mem::forget(dir);
    Arc::new(store)
}

gatehouse_store_conformance::conformance_suite!(fresh_store);

#[tokio::test]
async fn data_survives_a_restart() {
    use gatehouse_store::{Item, Key, Write};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gatehouse.redb");
    let item = Item {
        key: Key::new("P", "S"),
        attrs: serde_json::json!({"kept": true})
            .as_object()
            .unwrap()
            .clone(),
    };
    {
        let store = EmbeddedItems::open(&path).unwrap();
        store
            .write(vec![Write::Put {
                item: item.clone(),
                condition: None,
            }])
            .await
            .unwrap();
    }
    let reopened = EmbeddedItems::open(&path).unwrap();
    assert_eq!(reopened.get(&item.key).await.unwrap(), Some(item));
}

#[tokio::test]
async fn the_outbox_writes_rfc5322_files() {
    use gatehouse_domain::ports::{Mailer, OutgoingEmail};
    let dir = tempfile::tempdir().unwrap();
    let outbox = gatehouse_embedded::FileOutbox::new(
        dir.path(),
        "Gatehouse <no-reply@gatehouse.test>",
        false,
    )
    .unwrap();
    let mail = OutgoingEmail {
        to: gatehouse_domain::types::EmailAddress::parse("zoe@example.com").unwrap(),
        sender_name: None,
        reply_to: None,
        subject: "Welcome, Zoë".into(),
        text: "plain body".into(),
        html: "<p>html body</p>".into(),
        action_link: None,
        about: None,
    };
    outbox.send(&mail).await.unwrap();
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].extension().unwrap(), "eml");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(text.contains("To: zoe@example.com"), "{text}");
    assert!(text.contains("From: Gatehouse <no-reply@gatehouse.test>"));
    assert!(text.contains("multipart/alternative"));
    assert!(text.contains("plain body"));
    assert!(text.contains("<p>html body</p>"));

    // In the organisation's name, from the same address, replies to the inviter.
    let named = OutgoingEmail {
        sender_name: Some("Acme Corp".into()),
        reply_to: Some(gatehouse_domain::types::EmailAddress::parse("ada@acme.test").unwrap()),
        ..mail
    };
    outbox.send(&named).await.unwrap();
    let newest = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .max()
        .unwrap();
    let text = std::fs::read_to_string(newest).unwrap();
    assert!(
        text.contains("From: \"Acme Corp\" <no-reply@gatehouse.test>")
            || text.contains("From: Acme Corp <no-reply@gatehouse.test>"),
        "{text}"
    );
    assert!(text.contains("Reply-To: ada@acme.test"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn filtered_lists_cost_one_page_among_5000_invitations() {
    gatehouse_store_conformance::filtered_lists_cost_one_page_among_5000_invitations(
        fresh_store().await,
    )
    .await;
}
