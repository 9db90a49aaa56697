//! The export of every invitation, end to end on both backends: the file downloaded through the
//! URL the API answers, read back with calamine.

use gatehouse_e2e::{on_both_backends, Backend, Bundle};
use serde_json::json;

on_both_backends!(
    an_admin_exports_every_invitation_with_the_access_codes,
    only_admins_export,
);

/// The export's rows as header → cell maps.
fn rows(bytes: &[u8]) -> Vec<std::collections::HashMap<String, String>> {
    use calamine::Reader;
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes.to_vec()))
        .expect("the export opens");
    let range = book
        .worksheet_range("Invitations")
        .expect("an Invitations sheet");
    let mut lines = range.rows();
    let headers: Vec<String> = lines
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(headers, gatehouse_domain::usecase::export::EXPORT_HEADERS);
    lines
        .map(|r| {
            headers
                .iter()
                .cloned()
                .zip(r.iter().map(|c| c.to_string()))
                .collect()
        })
        .collect()
}

async fn an_admin_exports_every_invitation_with_the_access_codes(backend: Backend) {
    let b = Bundle::start(backend).await;
    let sales = b.group("Sales").await;
    b.set_without_email(true).await;
    let (pending, accepted, revoked) =
        (b.email("pending"), b.email("accepted"), b.email("revoked"));
    assert_eq!(b.invite(&pending, "guest", &[sales]).await.status, 201);
    assert_eq!(b.invite(&accepted, "member", &[]).await.status, 201);
    let token = b.sign_up_token(&accepted).await;
    assert_eq!(
        b.sign_up(&token, "an accepted passphrase").await.status,
        201
    );
    let gone = b.invite(&revoked, "member", &[]).await;
    let gone_id = gone.json["id"].as_str().unwrap().to_string();
    let revoke = b
        .gateway
        .send(
            "DELETE",
            &format!("/v1/orgs/demo/invitations/{gone_id}"),
            Some(&b.admin_token),
            None,
        )
        .await;
    assert!(revoke.status < 300, "{revoke:?}");
    let by_uid = b.invite_uid("E0042", "member", &[]).await;
    assert_eq!(by_uid.status, 201, "{by_uid:?}");
    let code = by_uid.json["access_code"].as_str().unwrap().to_string();

    let reply = b
        .gateway
        .post("/v1/orgs/demo/exports", Some(&b.admin_token), json!({}))
        .await;
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.json["invitations"], 4);
    let file = b
        .download(reply.json["download_url"].as_str().unwrap())
        .await;
    assert_eq!(file.status, 200, "{file:?}");
    assert!(file
        .header("content-disposition")
        .is_some_and(|d| d.contains("attachment")));
    let rows = rows(&file.bytes);
    assert_eq!(rows.len(), 4);
    let by = |key: &str, value: &str| {
        rows.iter()
            .find(|r| r[key] == value)
            .unwrap_or_else(|| panic!("no row with {key} {value}: {rows:?}"))
    };
    let guest = by("Email", &pending);
    assert_eq!(guest["Kind"], "email");
    assert_eq!(guest["Role"], "guest");
    assert_eq!(guest["Groups"], "Sales");
    assert_eq!(guest["Status"], "pending");
    assert_eq!(guest["Delivery"], "sent");
    assert_eq!(guest["Access code"], "");
    assert!(guest["Invited by"].contains(&b.admin_email), "{guest:?}");
    let member = by("Email", &accepted);
    assert_eq!(member["Status"], "accepted");
    assert!(!member["Accepted at"].is_empty());
    let revoked_row = by("Email", &revoked);
    assert_eq!(revoked_row["Status"], "revoked");
    assert!(!revoked_row["Revoked at"].is_empty());
    let employee = by("Identifier", "E0042");
    assert_eq!(employee["Kind"], "uid");
    assert_eq!(employee["Sign-in identifier"], "E0042:demo");
    assert_eq!(employee["Access code"], code, "the code an admin hands out");
    assert_eq!(employee["Delivery"], "manual");
}

async fn only_admins_export(backend: Backend) {
    let b = Bundle::start(backend).await;
    let member_email = b.email("member");
    assert_eq!(b.invite(&member_email, "member", &[]).await.status, 201);
    let token = b.sign_up_token(&member_email).await;
    let member = b.sign_up(&token, "the cat sat on the mat").await;
    let member_token = member.json["token"].as_str().unwrap().to_string();
    b.gateway
        .post("/v1/orgs/demo/exports", Some(&member_token), json!({}))
        .await
        .assert_problem(403, "forbidden");
    b.gateway
        .post("/v1/orgs/demo/exports", None, json!({}))
        .await
        .assert_problem(401, "unauthenticated");
    b.gateway
        .post("/v1/orgs/nowhere/exports", Some(&b.admin_token), json!({}))
        .await
        // demo's session is no session in another organisation, existing or not.
        .assert_problem(401, "unauthenticated");
}
