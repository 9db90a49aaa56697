//! Bulk invitations, end to end on both backends. So far: the template an admin downloads.

use gatehouse_e2e::{on_both_backends, Backend, Bundle};
use serde_json::json;

on_both_backends!(
    an_admin_downloads_a_template_that_reads_back,
    only_this_organisations_admins_get_the_template,
);

const TEMPLATE: &str = "/v1/orgs/demo/imports/template";

async fn an_admin_downloads_a_template_that_reads_back(backend: Backend) {
    let b = Bundle::start(backend).await;
    b.group("Engineering").await;
    b.update_org(|org| {
        org.settings.display_name =
            Some(gatehouse_domain::types::OrgName::parse("Acme Corporation").unwrap())
    })
    .await;
    let reply = b.gateway.get(TEMPLATE, Some(&b.admin_token)).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.content_type.as_deref(), Some(gatehouse_imports::XLSX));
    assert!(reply.binary, "sent base64-encoded through API Gateway");
    assert!(reply
        .header("content-disposition")
        .is_some_and(|d| d.starts_with("attachment;")));
    assert_eq!(reply.header("cache-control"), Some("private, no-store"));
    let read = gatehouse_sheets::read_rows(&reply.bytes).expect("the template reads back");
    assert_eq!(read.rows.len(), 2, "one example row per kind");
    assert_eq!(read.rows[1].uid.as_ref().unwrap().text, "00123");
    // The help sheet names the organisation and its groups.
    let text = String::from_utf8_lossy(&unzipped_strings(&reply.bytes)).into_owned();
    assert!(text.contains("Acme Corporation"), "{text}");
    assert!(text.contains("Engineering"), "{text}");
}

/// The shared strings of an xlsx (where its text cells live).
fn unzipped_strings(xlsx: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).unwrap();
    let mut out = Vec::new();
    archive
        .by_name("xl/sharedStrings.xml")
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    out
}

async fn only_this_organisations_admins_get_the_template(backend: Backend) {
    let b = Bundle::start(backend).await;
    b.gateway
        .get(TEMPLATE, None)
        .await
        .assert_problem(401, "unauthenticated");
    let member_email = b.email("member");
    assert_eq!(b.invite(&member_email, "member", &[]).await.status, 201);
    let token = b.sign_up_token(&member_email).await;
    let member = b.sign_up(&token, "the cat sat on the mat").await;
    let member_token = member.json["token"].as_str().unwrap().to_string();
    b.gateway
        .get(TEMPLATE, Some(&member_token))
        .await
        .assert_problem(403, "forbidden");
    b.gateway
        .get("/v1/orgs/nowhere/imports/template", Some(&b.admin_token))
        .await
        .assert_problem(404, "org_not_found");
    // Another organisation's admin: demo's session means nothing there, and theirs nothing here.
    let root = b.email("root");
    gatehouse_domain::usecase::bootstrap::bootstrap_org(
        &b.services,
        gatehouse_domain::usecase::bootstrap::BootstrapRequest {
            domain: gatehouse_domain::types::OrgDomain::parse("other").unwrap(),
            admin_email: gatehouse_domain::types::EmailAddress::parse(&root).unwrap(),
            admin_password: "a wholly different passphrase".into(),
            first_name: gatehouse_domain::types::PersonName::parse("Other").unwrap(),
            last_name: gatehouse_domain::types::PersonName::parse("Admin").unwrap(),
        },
    )
    .await
    .unwrap();
    let other = b
        .gateway
        .post(
            "/v1/orgs/other/sign-in",
            None,
            json!({"identifier": root, "password": "a wholly different passphrase"}),
        )
        .await;
    let other_token = other.json["token"].as_str().unwrap().to_string();
    b.gateway
        .get(TEMPLATE, Some(&other_token))
        .await
        .assert_problem(401, "unauthenticated");
    assert_eq!(
        b.gateway
            .get("/v1/orgs/other/imports/template", Some(&other_token))
            .await
            .status,
        200
    );
}
