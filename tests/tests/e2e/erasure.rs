//! Erasure (GDPR art. 17), end to end on both backends: an admin erases a person who was invited
//! twice (once withdrawn) with a personal message, signed up and joined a group; afterwards they
//! cannot sign in, their address is free, their invitations hold nothing of them, no list or
//! group finds them, and the audit trail keeps their id alone. A person erases themselves with
//! their password; nobody else may, and the last admin stays.

use gatehouse_e2e::{import_sheet, on_both_backends, Backend, Bundle, ADMIN_PASSWORD, PASSWORD};
use gatehouse_store::{ItemError, ItemStore, Key, Query, QueryPage, Write};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The item store, noting the key of every item ever written: the items of the test's
/// organisation are among them, whatever the backend (neither has a scan in production code).
struct KeyLog {
    inner: Arc<dyn ItemStore>,
    keys: Mutex<BTreeSet<(String, String)>>,
}

#[async_trait::async_trait]
impl ItemStore for KeyLog {
    async fn get(&self, key: &Key) -> Result<Option<gatehouse_store::Item>, ItemError> {
        self.inner.get(key).await
    }
    async fn get_many(
        &self,
        keys: &[Key],
    ) -> Result<Vec<Option<gatehouse_store::Item>>, ItemError> {
        self.inner.get_many(keys).await
    }
    async fn query(&self, query: &Query) -> Result<QueryPage, ItemError> {
        self.inner.query(query).await
    }
    async fn write(&self, writes: Vec<Write>) -> Result<(), ItemError> {
        let keys: Vec<(String, String)> = writes
            .iter()
            .filter_map(|w| match w {
                Write::Put { item, .. } => Some(&item.key),
                Write::Update { key, .. } => Some(key),
                _ => None,
            })
            .map(|k| (k.pk.clone(), k.sk.clone()))
            .collect();
        self.keys.lock().unwrap().extend(keys);
        self.inner.write(writes).await
    }
}

/// Every item the test wrote that is still there: its key and attributes, as lowercase text.
async fn stored(log: &KeyLog) -> Vec<String> {
    let all: Vec<Key> = log
        .keys
        .lock()
        .unwrap()
        .iter()
        .map(|(pk, sk)| Key::new(pk.clone(), sk.clone()))
        .collect();
    let mut text = Vec::new();
    for chunk in all.chunks(100) {
        let items = log.inner.get_many(chunk).await.unwrap();
        for (key, item) in chunk.iter().zip(items) {
            if let Some(item) = item {
                let json = serde_json::to_string(&item.attrs).unwrap();
                text.push(format!("{} {} {json}", key.pk, key.sk).to_lowercase());
            }
        }
    }
    text
}

/// Every cell of a spreadsheet, as text.
fn cells(bytes: &[u8]) -> String {
    use calamine::Reader;
    let Ok(mut book) = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes.to_vec()))
    else {
        return String::from_utf8_lossy(bytes).into_owned();
    };
    let mut text = String::new();
    for name in book.sheet_names() {
        if let Ok(range) = book.worksheet_range(&name) {
            for row in range.rows() {
                for cell in row {
                    text.push_str(&cell.to_string());
                    text.push('\n');
                }
            }
        }
    }
    text
}

on_both_backends!(
    an_admin_erases_a_person_and_nothing_of_them_is_left_in_the_lists,
    a_person_erases_themselves_with_their_password,
    after_a_whole_story_no_item_and_no_file_holds_anything_of_the_person,
);

fn user_path(id: &str) -> String {
    format!("/v1/orgs/demo/users/{id}")
}

async fn an_admin_erases_a_person_and_nothing_of_them_is_left_in_the_lists(backend: Backend) {
    let b = Bundle::start(backend).await;
    let red = b.group("Red").await;
    let email = b.email("dora");
    let invite = || {
        b.gateway.post(
            "/v1/orgs/demo/invitations",
            Some(&b.admin_token),
            json!({"email": email, "role": "member", "first_name": "Dora", "last_name": "Explorer",
                   "message": "Hola Dora, bienvenida"}),
        )
    };
    let first = invite().await;
    assert_eq!(first.status, 201, "{first:?}");
    assert_eq!(
        b.revoke(first.json["id"].as_str().unwrap()).await.status,
        200
    );
    assert_eq!(invite().await.status, 201);
    let signed_up = b.sign_up(&b.sign_up_token(&email).await, PASSWORD).await;
    assert_eq!(signed_up.status, 201, "{signed_up:?}");
    let dora_token = signed_up.json["token"].as_str().unwrap().to_string();
    let dora = signed_up.json["user"]["id"].as_str().unwrap().to_string();
    let joined = b
        .gateway
        .send(
            "PUT",
            &format!("/v1/orgs/demo/groups/{red}/members/{dora}"),
            Some(&b.admin_token),
            None,
        )
        .await;
    assert_eq!(joined.status, 200, "{joined:?}");

    let erased = b
        .gateway
        .send("DELETE", &user_path(&dora), Some(&b.admin_token), None)
        .await;
    assert_eq!(erased.status, 200, "{erased:?}");
    assert_eq!(erased.json["user_id"], dora);
    assert_eq!(
        erased.json["invitations"], 2,
        "the withdrawn one and the accepted one"
    );
    assert!(erased.json["exports_expire_by"].is_string());

    b.sign_in(&email, PASSWORD)
        .await
        .assert_problem(401, "invalid_credentials");
    b.gateway
        .get("/v1/orgs/demo/session", Some(&dora_token))
        .await
        .assert_problem(401, "unauthenticated");
    b.gateway
        .get(&user_path(&dora), Some(&b.admin_token))
        .await
        .assert_problem(404, "user_not_found");
    // Lists find nothing of her.
    for path in [
        "/v1/orgs/demo/users?q=dora".to_string(),
        format!("/v1/orgs/demo/users?q={email}"),
        format!("/v1/orgs/demo/groups/{red}/members"),
    ] {
        let listed = b.gateway.get(&path, Some(&b.admin_token)).await;
        assert_eq!(listed.json["items"], json!([]), "{path}: {listed:?}");
    }
    let invitations = b
        .gateway
        .get("/v1/orgs/demo/invitations?limit=100", Some(&b.admin_token))
        .await;
    let text = invitations.text.to_lowercase();
    for trace in ["dora", "explorer", "hola", email.as_str()] {
        assert!(!text.contains(trace), "{trace} in {}", invitations.text);
    }
    assert_eq!(
        invitations.json["items"].as_array().unwrap().len(),
        2,
        "kept, redacted"
    );
    // Her address is free again.
    assert_eq!(invite().await.status, 201);
    b.advance(Duration::from_secs(11));
    let log = b
        .gateway
        .get(
            "/v1/orgs/demo/events?type=user.deleted",
            Some(&b.admin_token),
        )
        .await;
    let items = log.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{log:?}");
    assert_eq!(
        items[0]["data"],
        json!({ "id": dora }),
        "the id, nothing else"
    );
    assert!(items[0]["actor"]["user_id"].is_string(), "an admin did it");
}

async fn a_person_erases_themselves_with_their_password(backend: Backend) {
    let b = Bundle::start(backend).await;
    let eli = b.account("eli", "member").await;
    let fox = b.account("fox", "member").await;
    let erase = |token: &str, body: Option<serde_json::Value>| {
        let b = &b;
        let path = user_path(&eli.id);
        let token = token.to_string();
        async move {
            b.gateway
                .send("DELETE", &path, Some(&token), body.map(|v| v.to_string()))
                .await
        }
    };
    erase(&fox.token, None)
        .await
        .assert_problem(403, "forbidden");
    erase(&eli.token, None)
        .await
        .assert_problem(422, "missing_current_password");
    erase(
        &eli.token,
        Some(json!({"current_password": "not it at all"})),
    )
    .await
    .assert_problem(422, "wrong_current_password");
    erase(&eli.token, Some(json!({"password": PASSWORD})))
        .await
        .assert_problem(422, "invalid_body");
    let gone = erase(&eli.token, Some(json!({"current_password": PASSWORD}))).await;
    assert_eq!(gone.status, 200, "{gone:?}");
    b.sign_in(&eli.email, PASSWORD)
        .await
        .assert_problem(401, "invalid_credentials");
    // The organisation's only admin cannot be erased, by themselves or anyone.
    let root = b
        .gateway
        .get("/v1/orgs/demo/session", Some(&b.admin_token))
        .await;
    let root = root.json["user"]["id"].as_str().unwrap().to_string();
    let own = json!({ "current_password": ADMIN_PASSWORD }).to_string();
    b.gateway
        .send("DELETE", &user_path(&root), Some(&b.admin_token), Some(own))
        .await
        .assert_problem(409, "last_admin");
}

/// The proof: invited with a personal message (withdrawn), imported, exported, accepted
/// with their own names, grouped, signed in; erased; then no item the test ever wrote, and no
/// file in the bucket, holds their email, names or message.
async fn after_a_whole_story_no_item_and_no_file_holds_anything_of_the_person(backend: Backend) {
    let log = Arc::new(Mutex::new(None::<Arc<KeyLog>>));
    let keep = log.clone();
    let b = Bundle::start_wrapped(
        backend,
        |m| m,
        move |items| {
            let logged = Arc::new(KeyLog {
                inner: items,
                keys: Mutex::new(BTreeSet::new()),
            });
            *keep.lock().unwrap() = Some(logged.clone());
            logged
        },
    )
    .await;
    let keys = log.lock().unwrap().clone().unwrap();
    let red = b.group("Red").await;
    let zara = b.email("zara");
    let traces = [
        zara.to_lowercase(),
        "zara".into(),
        "zephyr".into(),
        "secret handshake".into(),
    ];
    let personal = b
        .gateway
        .post(
            "/v1/orgs/demo/invitations",
            Some(&b.admin_token),
            json!({"email": zara, "role": "member", "first_name": "Zara", "last_name": "Zephyr",
                   "message": "Secret handshake"}),
        )
        .await;
    assert_eq!(personal.status, 201, "{personal:?}");
    assert_eq!(
        b.revoke(personal.json["id"].as_str().unwrap()).await.status,
        200
    );
    // Imported with someone else, in one sheet.
    let other = b.email("other");
    let (import_id, url) = b.start_import(false).await;
    let (put, _) = b
        .upload(&url, import_sheet(&[zara.clone(), other.clone()]))
        .await;
    assert_eq!(put.status, 200, "{put:?}");
    let finished = b.finished_import(&import_id).await;
    assert_eq!(finished.json["counts"]["created"], 2, "{finished:?}");
    let exported = b
        .gateway
        .post("/v1/orgs/demo/exports", Some(&b.admin_token), json!({}))
        .await;
    assert_eq!(exported.status, 201, "{exported:?}");
    let token = b.sign_up_token(&zara).await;
    let joined = b
        .gateway
        .post(
            "/v1/orgs/demo/sign-up/email",
            None,
            json!({"token": token, "password": PASSWORD, "first_name": "Zara", "last_name": "Zephyr"}),
        )
        .await;
    assert_eq!(joined.status, 201, "{joined:?}");
    let id = joined.json["user"]["id"].as_str().unwrap().to_string();
    let grouped = b
        .gateway
        .send(
            "PUT",
            &format!("/v1/orgs/demo/groups/{red}/members/{id}"),
            Some(&b.admin_token),
            None,
        )
        .await;
    assert_eq!(grouped.status, 200, "{grouped:?}");
    let session = b.sign_in(&zara, PASSWORD).await;
    assert_eq!(session.status, 200);
    // She invites a friend: the invitation names her as its inviter (for its emails and replies).
    let allowed = b
        .gateway
        .send(
            "PATCH",
            "/v1/orgs/demo/settings",
            Some(&b.admin_token),
            Some(json!({"members_can_invite": true}).to_string()),
        )
        .await;
    assert_eq!(allowed.status, 200, "{allowed:?}");
    let friend = b.email("friend");
    let invited = b
        .gateway
        .post(
            "/v1/orgs/demo/invitations",
            session.json["token"].as_str(),
            json!({"email": friend, "role": "member", "first_name": "Fran", "last_name": "Friend"}),
        )
        .await;
    assert_eq!(invited.status, 201, "{invited:?}");
    // The story left traces, as it should, before the erasure.
    assert!(stored(&keys)
        .await
        .iter()
        .any(|t| t.contains("secret handshake")));
    let erased = b
        .gateway
        .send("DELETE", &user_path(&id), Some(&b.admin_token), None)
        .await;
    assert_eq!(erased.status, 200, "{erased:?}");
    assert_eq!(
        erased.json["deleted_files"],
        json!([import_id]),
        "{erased:?}"
    );
    if erased.json["complete"] != true {
        let report = gatehouse_cleanup::run(&b.services, Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(report.erasures_completed, 1, "{report:?}");
    }
    for item in stored(&keys).await {
        for trace in &traces {
            assert!(!item.contains(trace.as_str()), "{trace} left in {item}");
        }
    }
    for (key, bytes) in b.stored_files().await {
        let text = cells(&bytes).to_lowercase();
        for trace in &traces {
            assert!(
                !text.contains(trace.as_str()),
                "{trace} left in the file {key}"
            );
        }
    }
    // The other invitee is untouched: still invited, by name.
    let listed = b
        .gateway
        .get("/v1/orgs/demo/invitations?limit=100", Some(&b.admin_token))
        .await;
    assert!(listed.text.contains(&other), "{listed:?}");
    // Her friend's invitation stands, sent by her id, no longer by her name.
    assert!(listed.text.contains(&friend), "{listed:?}");
}
