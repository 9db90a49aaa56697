//! Bulk invitations, end to end on both backends: the template, an upload through the URL the
//! API hands out (the local server's file routes, or presigned S3 on moto followed by the S3
//! event to `bulk-import`), the report, the mails, and repeated or concurrent deliveries.

use gatehouse_e2e::{on_both_backends, Backend, Bundle, FileHost};
use serde_json::{json, Value};

on_both_backends!(
    an_admin_downloads_a_template_that_reads_back,
    only_this_organisations_admins_get_the_template,
    an_admin_imports_a_file_and_reads_the_report,
    a_dry_run_reports_and_invites_nobody,
    a_file_that_cannot_be_read_is_refused_whole,
    the_same_upload_delivered_again_invites_and_mails_once,
    concurrent_deliveries_invite_and_mail_once,
    only_this_organisations_admins_import,
    an_upload_url_stops_working_when_it_expires,
    an_import_that_died_half_way_is_finished_by_a_later_delivery,
    files_saved_by_other_tools_import_alike,
    the_template_uploaded_as_it_is_invites_nobody,
);

/// An xlsx with the template's header row and these rows (email, identifier, first name, last
/// name, groups), every cell text.
fn xlsx(rows: &[[&str; 5]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, header) in ["Email", "Identifier", "First name", "Last name", "Groups"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, col as u16, *header).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (col, value) in row.iter().enumerate() {
            if !value.is_empty() {
                sheet
                    .write_string(r as u32 + 1, col as u16, *value)
                    .unwrap();
            }
        }
    }
    book.save_to_buffer().unwrap()
}

/// The report's lines: (row, result, reason, access code), by the report's own headers.
fn report_lines(bytes: &[u8]) -> Vec<(u32, String, String, String)> {
    use calamine::{Data, Reader};
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes.to_vec()))
        .expect("the report opens");
    let range = book.worksheet_range("Report").expect("a Report sheet");
    let mut rows = range.rows();
    let headers: Vec<String> = rows.next().unwrap().iter().map(|c| c.to_string()).collect();
    assert_eq!(headers, gatehouse_sheets::REPORT_HEADERS);
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (result, reason, code) = (col("Result"), col("Reason"), col("Access code"));
    rows.map(|r| {
        let number = match &r[0] {
            Data::Float(f) => *f as u32,
            Data::Int(i) => *i as u32,
            other => panic!("row number {other:?}"),
        };
        (
            number,
            r[result].to_string(),
            r[reason].to_string(),
            r[code].to_string(),
        )
    })
    .collect()
}

async fn uploaded(b: &Bundle, dry_run: bool, bytes: Vec<u8>) -> Value {
    let (id, url) = b.start_import(dry_run).await;
    let (put, delivered) = b.upload(&url, bytes).await;
    assert_eq!(put.status, 200, "{put:?}");
    if let Some(outcome) = delivered {
        outcome.expect("the bulk-import function ran");
    }
    b.finished_import(&id).await.json
}

async fn an_admin_imports_a_file_and_reads_the_report(backend: Backend) {
    let b = Bundle::start(backend).await;
    b.group("Sales").await;
    b.set_without_email(true).await;
    let (ada, bob, cy) = (b.email("ada"), b.email("bob"), b.email("cy"));
    let earlier = b.email("earlier");
    assert_eq!(b.invite(&earlier, "member", &[]).await.status, 201);
    let admin = b.admin_email.clone();
    let file = xlsx(&[
        [&ada, "", "Ada", "Lovelace", "sales"],
        [&bob, "", "Bob", "Builder", ""],
        ["", "E00123", "Erin", "Employee", "Sales"],
        ["not an address", "", "Nobody", "Here", ""],
        [&ada.to_uppercase(), "", "Ada", "Again", ""],
        [&cy, "", "Cy", "Clone", "Marketing"],
        [&earlier, "", "Early", "Bird", ""],
        [&admin, "", "Ada", "Admin", ""],
        [&cy, "", "Cy", "Valid", ""],
    ]);
    let done = uploaded(&b, false, file).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["rows"], 9);
    assert_eq!(done["rows_done"], 9);
    assert_eq!(
        done["counts"],
        json!({"valid": 4, "created": 4, "failed": 0, "skipped": 5}),
        "{done}"
    );
    // The skipped rows and their reasons are in the answer too (row numbers and codes only).
    assert_eq!(
        done["problems"],
        json!([
            {"row": 5, "result": "skipped", "code": "invalid_email"},
            {"row": 6, "result": "skipped", "code": "duplicate_in_file"},
            {"row": 7, "result": "skipped", "code": "unknown_group"},
            {"row": 8, "result": "skipped", "code": "already_invited"},
            {"row": 9, "result": "skipped", "code": "already_registered"},
        ]),
        "{done}"
    );
    let report = b
        .download(done["report_url"].as_str().expect("a report URL"))
        .await;
    assert_eq!(report.status, 200, "{report:?}");
    let lines = report_lines(&report.bytes);
    let summary: Vec<(u32, &str, &str)> = lines
        .iter()
        .map(|(n, r, c, _)| (*n, r.as_str(), c.as_str()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (2, "created", ""),
            (3, "created", ""),
            (4, "created", ""),
            (5, "skipped", "invalid_email"),
            (6, "skipped", "duplicate_in_file"),
            (7, "skipped", "unknown_group"),
            (8, "skipped", "already_invited"),
            (9, "skipped", "already_registered"),
            (10, "created", ""),
        ]
    );
    // The identifier row's access code is in the report, and it signs the employee up.
    let code = &lines[2].3;
    assert!(
        gatehouse_domain::access_code::AccessCode::parse(code).is_ok(),
        "an access code: {code}"
    );
    let signed_up = b
        .gateway
        .post(
            "/v1/orgs/demo/sign-up/access-code",
            None,
            json!({"access_code": code, "password": "orchards bloom in april rain"}),
        )
        .await;
    assert_eq!(signed_up.status, 201, "{signed_up:?}");
    // Each invitee got one invitation email, and its link works.
    for email in [&ada, &bob, &cy] {
        assert_eq!(b.mailbox.messages_to(email).await.len(), 1, "{email}");
    }
    let token = b.sign_up_token(&ada).await;
    let ada_account = b.sign_up(&token, "the analytical engine weaves").await;
    assert_eq!(ada_account.status, 201, "{ada_account:?}");
    assert_eq!(
        ada_account.json["user"]["groups"]
            .as_array()
            .map(|g| g.len()),
        Some(b.default_groups().await.len() + 1),
        "joined Sales and the default groups: {ada_account:?}"
    );
    // The import is listed.
    let listed = b
        .gateway
        .get("/v1/orgs/demo/imports", Some(&b.admin_token))
        .await;
    assert_eq!(listed.status, 200, "{listed:?}");
    assert_eq!(listed.json["items"][0]["import_id"], done["import_id"]);
    assert_eq!(listed.json["items"][0]["status"], "completed");
}

async fn a_dry_run_reports_and_invites_nobody(backend: Backend) {
    let b = Bundle::start(backend).await;
    let ada = b.email("ada");
    let before = b.invitation_count().await;
    let done = uploaded(
        &b,
        true,
        xlsx(&[
            [&ada, "", "Ada", "Lovelace", ""],
            ["", "E1", "No", "Setting", ""],
        ]),
    )
    .await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["dry_run"], true);
    assert_eq!(
        done["counts"],
        json!({"valid": 1, "created": 0, "failed": 0, "skipped": 1})
    );
    let report = b.download(done["report_url"].as_str().unwrap()).await;
    let lines = report_lines(&report.bytes);
    assert_eq!(lines[0].1, "valid");
    assert_eq!(lines[1].2, "sign_up_without_email_disabled");
    assert_eq!(b.invitation_count().await, before);
    assert!(b.mailbox.messages_to(&ada).await.is_empty());
}

async fn a_file_that_cannot_be_read_is_refused_whole(backend: Backend) {
    let b = Bundle::start(backend).await;
    let before = b.invitation_count().await;
    let done = uploaded(&b, false, b"just some text, no spreadsheet".to_vec()).await;
    assert_eq!(done["status"], "refused", "{done}");
    assert_eq!(done["refusal"]["code"], "not_a_spreadsheet");
    assert!(done["report_url"].is_null());
    let many: Vec<String> = (0..501).map(|n| format!("p{n}@example.com")).collect();
    let rows: Vec<[&str; 5]> = many
        .iter()
        .map(|e| [e.as_str(), "", "A", "B", ""])
        .collect();
    let done = uploaded(&b, false, xlsx(&rows)).await;
    assert_eq!(done["status"], "refused", "{done}");
    assert_eq!(done["refusal"]["code"], "too_many_rows");
    assert_eq!(b.invitation_count().await, before, "nothing created");
}

async fn the_same_upload_delivered_again_invites_and_mails_once(backend: Backend) {
    let b = Bundle::start(backend).await;
    let (ada, bob) = (b.email("ada"), b.email("bob"));
    let file = xlsx(&[[&ada, "", "Ada", "L", ""], [&bob, "", "Bob", "B", ""]]);
    let (id, url) = b.start_import(false).await;
    let (put, _) = b.upload(&url, file.clone()).await;
    assert_eq!(put.status, 200);
    let first = b.finished_import(&id).await.json;
    assert_eq!(first["counts"]["created"], 2, "{first}");
    // The same file through the same URL again (S3 sends another event), and the event again.
    let (put, again) = b.upload(&url, file).await;
    assert_eq!(put.status, 200);
    if let Some(outcome) = again {
        let outcome = outcome.expect("ran");
        assert!(matches!(
            outcome[..],
            [gatehouse_bulk_import::Outcome::Ran(
                gatehouse_domain::usecase::bulk_import::Ran::AlreadyFinished(_)
            )]
        ));
    }
    let after = b.finished_import(&id).await.json;
    assert_eq!(after["counts"], first["counts"]);
    for email in [&ada, &bob] {
        assert_eq!(b.mailbox.messages_to(email).await.len(), 1, "{email}");
    }
    // Counted once, by the delivery that completed the import.
    use gatehouse_domain::metrics::Metric;
    assert_eq!(b.metrics.get(Metric::ImportRowsCreated), 2);
    assert_eq!(b.metrics.get(Metric::InvitationsCreated), 2);
    assert_eq!(b.metrics.get(Metric::EmailsSent), 2);
    // A new import of the same file creates nothing more.
    let second = uploaded(
        &b,
        false,
        xlsx(&[[&ada, "", "Ada", "L", ""], [&bob, "", "Bob", "B", ""]]),
    )
    .await;
    assert_eq!(
        second["counts"],
        json!({"valid": 0, "created": 0, "failed": 0, "skipped": 2})
    );
    assert_eq!(b.metrics.get(Metric::ImportRowsSkipped), 2);
    assert_eq!(b.metrics.get(Metric::ImportRowsCreated), 2);
    assert_eq!(b.metrics.get(Metric::InvitationsCreated), 2);
}

async fn concurrent_deliveries_invite_and_mail_once(backend: Backend) {
    let b = Bundle::start(backend).await;
    let emails: Vec<String> = (0..40).map(|n| b.email(&format!("c{n}"))).collect();
    let rows: Vec<[&str; 5]> = emails
        .iter()
        .map(|e| [e.as_str(), "", "C", "D", ""])
        .collect();
    let file = xlsx(&rows);
    let (id, url) = b.start_import(false).await;
    match backend {
        Backend::Aws => {
            let put = b.files.send("PUT", &url, file.clone()).await;
            assert_eq!(put.status, 200);
            let FileHost::S3 { bucket } = &b.files else {
                unreachable!()
            };
            let key = gatehouse_e2e::s3_key(&url, bucket);
            let (one, two) = tokio::join!(
                b.deliver_upload_event(&key, file.len()),
                b.deliver_upload_event(&key, file.len())
            );
            // One ran it; the other found it running (and is retried by Lambda) or finished.
            assert!(one.is_ok() || two.is_ok(), "{one:?} {two:?}");
            for outcome in [one, two] {
                if let Err(e) = outcome {
                    assert!(e.contains("another worker"), "{e}");
                }
            }
        }
        Backend::Embedded => {
            let (one, two) = tokio::join!(
                b.files.send("PUT", &url, file.clone()),
                b.files.send("PUT", &url, file.clone())
            );
            assert_eq!((one.status, two.status), (200, 200));
        }
    }
    let done = b.finished_import(&id).await.json;
    assert_eq!(done["counts"]["created"], 40, "{done}");
    for email in &emails {
        assert_eq!(b.mailbox.messages_to(email).await.len(), 1, "{email}");
    }
    // Two deliveries, one count.
    use gatehouse_domain::metrics::Metric;
    assert_eq!(b.metrics.get(Metric::ImportRowsCreated), 40);
    assert_eq!(b.metrics.get(Metric::EmailsSent), 40);
}

async fn only_this_organisations_admins_import(backend: Backend) {
    let b = Bundle::start(backend).await;
    let (id, _) = b.start_import(false).await;
    let member_email = b.email("member");
    assert_eq!(b.invite(&member_email, "member", &[]).await.status, 201);
    let token = b.sign_up_token(&member_email).await;
    let member = b.sign_up(&token, "the cat sat on the mat").await;
    let member_token = member.json["token"].as_str().unwrap().to_string();
    b.gateway
        .post("/v1/orgs/demo/imports", Some(&member_token), json!({}))
        .await
        .assert_problem(403, "forbidden");
    b.gateway
        .get("/v1/orgs/demo/imports", Some(&member_token))
        .await
        .assert_problem(403, "forbidden");
    b.gateway
        .get(&format!("/v1/orgs/demo/imports/{id}"), Some(&member_token))
        .await
        .assert_problem(403, "forbidden");
    b.gateway
        .post("/v1/orgs/demo/imports", None, json!({}))
        .await
        .assert_problem(401, "unauthenticated");
    b.gateway
        .post(
            "/v1/orgs/demo/imports",
            Some(&b.admin_token),
            json!({"dry_run": "yes"}),
        )
        .await
        .assert_problem(422, "invalid_body");
    b.gateway
        .get("/v1/orgs/demo/imports/not-an-id", Some(&b.admin_token))
        .await
        .assert_problem(404, "import_not_found");
    b.gateway
        .get("/v1/orgs/demo/imports?limit=0", Some(&b.admin_token))
        .await
        .assert_problem(422, "invalid_limit");
    // Another organisation's admin sees no import of demo's from there.
    let root = b.email("root");
    gatehouse_domain::usecase::bootstrap::bootstrap_org(
        &b.services,
        gatehouse_domain::usecase::bootstrap::BootstrapRequest {
            domain: gatehouse_domain::types::OrgDomain::parse("other").unwrap(),
            admin_email: gatehouse_domain::types::EmailAddress::parse(&root).unwrap(),
            admin_password: "a wholly different passphrase".into(),
            first_name: gatehouse_domain::types::PersonName::parse("Other").unwrap(),
            last_name: gatehouse_domain::types::PersonName::parse("Admin").unwrap(),
            display_name: None,
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
        .get(&format!("/v1/orgs/other/imports/{id}"), Some(&other_token))
        .await
        .assert_problem(404, "import_not_found");
    let theirs = b
        .gateway
        .get("/v1/orgs/other/imports", Some(&other_token))
        .await;
    assert_eq!(theirs.json["items"], json!([]));
}

async fn an_upload_url_stops_working_when_it_expires(backend: Backend) {
    let b = Bundle::start(backend).await;
    let (id, url) = b.start_import(false).await;
    let ada = b.email("ada");
    match backend {
        Backend::Embedded => {
            b.advance(std::time::Duration::from_secs(16 * 60));
            let (put, _) = b.upload(&url, xlsx(&[[&ada, "", "A", "L", ""]])).await;
            assert_eq!(put.status, 403, "{put:?}");
            let mut tampered = url.replace("op=put", "op=get");
            let put = b.files.send("PUT", &tampered, vec![1]).await;
            assert_eq!(put.status, 403);
            tampered = url.replace(&id, "0190aaaaaaaa7aaa8aaaaaaaaaaaaaaa");
            assert_eq!(b.files.send("PUT", &tampered, vec![1]).await.status, 403);
        }
        Backend::Aws => {
            // S3 checks presigned URLs itself; what Gatehouse decides is the event: a key outside
            // the uploads prefix or naming no import is ignored.
            let outcome = b
                .deliver_upload_event("reports/demo/whatever.xlsx", 10)
                .await
                .unwrap();
            assert!(matches!(
                outcome[..],
                [gatehouse_bulk_import::Outcome::NotAnUpload(_)]
            ));
            let outcome = b
                .deliver_upload_event("uploads/demo/0190aaaaaaaa7aaa8aaaaaaaaaaaaaaa", 10)
                .await
                .unwrap();
            assert!(matches!(
                outcome[..],
                [gatehouse_bulk_import::Outcome::Ran(
                    gatehouse_domain::usecase::bulk_import::Ran::NoFile
                )]
            ));
        }
    }
    let waiting = b
        .gateway
        .get(&format!("/v1/orgs/demo/imports/{id}"), Some(&b.admin_token))
        .await;
    assert_eq!(waiting.json["status"], "waiting_upload");
    assert!(b.mailbox.messages_to(&ada).await.is_empty());
}

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
        // demo's session is no session in another organisation, existing or not.
        .assert_problem(401, "unauthenticated");
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
            display_name: None,
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

async fn an_import_that_died_half_way_is_finished_by_a_later_delivery(backend: Backend) {
    let mut dying = None;
    let b = Bundle::start_wrapped(
        backend,
        |mailer| mailer,
        |items| {
            let d = std::sync::Arc::new(gatehouse_e2e::DyingItems::new(items));
            dying = Some(d.clone());
            d
        },
    )
    .await;
    let dying = dying.unwrap();
    let emails: Vec<String> = (0..40).map(|n| b.email(&format!("d{n}"))).collect();
    let rows: Vec<[&str; 5]> = emails
        .iter()
        .map(|e| [e.as_str(), "", "D", "E", ""])
        .collect();
    let file = xlsx(&rows);
    let (id, url) = b.start_import(false).await;
    // The worker takes the import and saves two batches of invitations, then dies: none mailed.
    dying.die_after(3);
    let (put, delivered) = b.upload(&url, file.clone()).await;
    assert_eq!(put.status, 200);
    if let Some(outcome) = delivered {
        assert!(outcome.is_err(), "the dying worker failed: {outcome:?}");
    }
    for _ in 0..100 {
        if dying.failed_writes() > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(dying.failed_writes() > 0, "the worker died");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    dying.revive();
    let stuck = b
        .gateway
        .get(&format!("/v1/orgs/demo/imports/{id}"), Some(&b.admin_token))
        .await;
    assert_eq!(stuck.json["status"], "processing", "{stuck:?}");
    assert_eq!(
        b.invitation_count().await,
        32,
        "two batches of 16 were saved"
    );
    for email in &emails {
        assert!(b.mailbox.messages_to(email).await.is_empty());
    }
    // Another delivery while the dead worker's lease lasts leaves it alone (and is retried).
    let org = gatehouse_domain::types::OrgDomain::parse("demo").unwrap();
    let import_id = gatehouse_domain::types::ImportId::parse(&id).unwrap();
    let busy = gatehouse_domain::usecase::bulk_import::run_import(
        &b.services,
        &gatehouse_sheets::Sheets,
        &org,
        &import_id,
    )
    .await;
    assert!(
        matches!(
            busy,
            Err(gatehouse_domain::usecase::bulk_import::RunError::Busy)
        ),
        "{busy:?}"
    );
    // After the lease, the next delivery takes over: the saved invitations are mailed with the
    // link they were saved with, the rest are created; everyone is mailed once.
    b.advance(gatehouse_domain::usecase::bulk_import::LEASE + std::time::Duration::from_secs(1));
    let (put, delivered) = b.upload(&url, file).await;
    assert_eq!(put.status, 200);
    if let Some(outcome) = delivered {
        outcome.expect("the later delivery ran");
    }
    let done = b.finished_import(&id).await.json;
    assert_eq!(
        done["counts"],
        json!({"valid": 40, "created": 40, "failed": 0, "skipped": 0}),
        "{done}"
    );
    assert_eq!(b.invitation_count().await, 40);
    for email in &emails {
        assert_eq!(b.mailbox.messages_to(email).await.len(), 1, "{email}");
    }
    // The links mailed work.
    let token = b.sign_up_token(&emails[0]).await;
    assert_eq!(
        b.sign_up(&token, "resumed imports still invite")
            .await
            .status,
        201
    );
}

/// Files written by `scripts/spreadsheet_fixtures.py` (openpyxl, xlwt, odfpy; the test script
/// installs them): French headers in another order, a hidden sheet, a merged title row, an extra
/// sheet, unicode names, an identifier as text and one as a number, a date and a boolean where
/// names belong, an empty row and a formula.
async fn files_saved_by_other_tools_import_alike(backend: Backend) {
    let python = std::env::var("GATEHOUSE_TEST_PYTHON").expect(
        "GATEHOUSE_TEST_PYTHON is not set: run the tests with ./scripts/test, which installs openpyxl, xlwt and odfpy",
    );
    let b = Bundle::start(backend).await;
    b.group("Sales").await;
    b.group("Support").await;
    b.set_without_email(true).await;
    let dir = tempfile::tempdir().unwrap();
    for (file, formula) in [
        ("openpyxl.xlsx", "skipped missing_first_name"),
        ("xlwt.xls", "skipped missing_first_name"),
        ("odfpy.ods", "created "),
    ] {
        let suffix = gatehouse_e2e::unique("fx");
        let out = dir.path().join(&suffix);
        // Identifiers are unique in the organisation: each file's is its own (leading zeros kept).
        let uid = format!("00{}", &suffix[2..8]);
        let status = std::process::Command::new(&python)
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../scripts/spreadsheet_fixtures.py"
            ))
            .arg(&out)
            .arg(&suffix)
            .arg(&uid)
            .status()
            .expect("python runs");
        assert!(status.success(), "the fixture script failed");
        let bytes = std::fs::read(out.join(file)).unwrap();
        let done = uploaded(&b, false, bytes).await;
        assert_eq!(done["status"], "completed", "{file}: {done}");
        let report = b.download(done["report_url"].as_str().unwrap()).await;
        let lines = report_lines(&report.bytes);
        let got: Vec<String> = lines
            .iter()
            .map(|(_, result, code, _)| format!("{result} {code}"))
            .collect();
        assert_eq!(
            got,
            vec![
                "created ",
                "created ",
                "created ",
                "skipped uid_not_text",
                "skipped cell_not_text",
                "skipped cell_not_text",
                formula,
            ],
            "{file}"
        );
        let ada = format!("ada.{suffix}@example.com");
        assert_eq!(b.mailbox.messages_to(&ada).await.len(), 1, "{file}");
        // The identifier kept its zeros: its invitation signs up as `{uid}:demo`.
        let code = &lines[2].3;
        let signed_up = b
            .gateway
            .post(
                "/v1/orgs/demo/sign-up/access-code",
                None,
                json!({"access_code": code, "password": "orchards bloom in april rain"}),
            )
            .await;
        assert_eq!(signed_up.status, 201, "{file}: {signed_up:?}");
        assert_eq!(
            b.sign_in(&format!("{uid}:demo"), "orchards bloom in april rain")
                .await
                .status,
            200,
            "{file}"
        );
    }
}

async fn the_template_uploaded_as_it_is_invites_nobody(backend: Backend) {
    let b = Bundle::start(backend).await;
    b.set_without_email(true).await;
    let template = b.gateway.get(TEMPLATE, Some(&b.admin_token)).await;
    assert_eq!(template.status, 200);
    let done = uploaded(&b, false, template.bytes.clone()).await;
    assert_eq!(
        done["counts"],
        json!({"valid": 0, "created": 0, "failed": 0, "skipped": 2}),
        "{done}"
    );
    let report = b.download(done["report_url"].as_str().unwrap()).await;
    let codes: Vec<String> = report_lines(&report.bytes)
        .into_iter()
        .map(|(_, _, code, _)| code)
        .collect();
    assert_eq!(codes, vec!["template_example", "template_example"]);
}
