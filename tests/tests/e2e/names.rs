//! Names that lie are refused wherever a name comes in: bidirectional controls, zero-width and
//! invisible characters, line and paragraph separators in people's, the organisation's and
//! groups' names (by the API and from spreadsheets); names are kept in NFC; a group name that
//! looks like another group's (Unicode TR39 skeletons) is refused. On both backends.

use gatehouse_e2e::{on_both_backends, Backend, Bundle};
use serde_json::json;

on_both_backends!(
    names_with_hidden_characters_are_refused_and_change_nothing,
    a_group_name_that_looks_like_another_is_refused,
    spreadsheet_rows_with_lying_names_are_skipped_with_the_reason,
);

const LIARS: &[&str] = &[
    "Acme\u{202E}gnp.exe",
    "Ad\u{200B}min",
    "Ada\u{2028}Lovelace",
    "\u{2066}Ada\u{2069}",
];

async fn names_with_hidden_characters_are_refused_and_change_nothing(backend: Backend) {
    let b = Bundle::start(backend).await;
    let before = b.org_record().await;
    for liar in LIARS {
        let reply = b
            .gateway
            .send(
                "PATCH",
                "/v1/orgs/demo/settings",
                Some(&b.admin_token),
                Some(json!({ "display_name": liar }).to_string()),
            )
            .await;
        reply.assert_problem(422, "invalid_display_name");
        let invited = b
            .gateway
            .post(
                "/v1/orgs/demo/invitations",
                Some(&b.admin_token),
                json!({"email": b.email("liar"), "role": "member", "first_name": liar, "last_name": "Smith"}),
            )
            .await;
        invited.assert_problem(422, "invalid_name");
        let group = b
            .gateway
            .post(
                "/v1/orgs/demo/groups",
                Some(&b.admin_token),
                json!({ "name": liar }),
            )
            .await;
        group.assert_problem(422, "invalid_group_name");
    }
    assert_eq!(b.org_record().await, before, "nothing changed");
    assert_eq!(b.invitation_count().await, 0);
    // A name typed decomposed (e + combining diaeresis) is kept composed.
    let reply = b
        .gateway
        .post(
            "/v1/orgs/demo/invitations",
            Some(&b.admin_token),
            json!({"email": b.email("zoe"), "role": "member", "first_name": "Zoe\u{0308}", "last_name": "Smith"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.json["first_name"], "Zoë");
}

async fn a_group_name_that_looks_like_another_is_refused(backend: Backend) {
    let b = Bundle::start(backend).await;
    // "Everyone" exists from the start; "Еveryone" starts with a Cyrillic capital Ie.
    let create = |name: &'static str| {
        let b = &b;
        async move {
            b.gateway
                .post(
                    "/v1/orgs/demo/groups",
                    Some(&b.admin_token),
                    json!({ "name": name }),
                )
                .await
        }
    };
    let refused = create("\u{0415}veryone").await;
    refused.assert_problem(409, "group_name_confusable");
    assert!(
        refused.json["detail"]
            .as_str()
            .unwrap()
            .contains("Everyone"),
        "{refused:?}"
    );
    create("everyone")
        .await
        .assert_problem(409, "group_name_taken");
    let sales = b.group("Sales").await;
    create("Sa1es")
        .await
        .assert_problem(409, "group_name_confusable");
    // Renaming into a lookalike is refused too; renaming away frees the look.
    let design = b.group("Design").await;
    let rename = |id: String, name: &'static str| {
        let b = &b;
        async move {
            b.gateway
                .send(
                    "PATCH",
                    &format!("/v1/orgs/demo/groups/{id}"),
                    Some(&b.admin_token),
                    Some(json!({ "name": name }).to_string()),
                )
                .await
        }
    };
    rename(design.clone(), "\u{0405}ales")
        .await
        .assert_problem(409, "group_name_confusable");
    assert_eq!(rename(sales.clone(), "Field sales").await.status, 200);
    assert_eq!(create("Sa1es").await.status, 201, "Sales is free again");
    // Two requests racing for lookalike names: one group is made.
    let (first, second) = tokio::join!(create("Marketing"), create("Markеting"));
    let made = [first.status, second.status]
        .iter()
        .filter(|s| **s == 201)
        .count();
    assert_eq!(made, 1, "{first:?} {second:?}");
    let loser = if first.status == 201 { second } else { first };
    assert_eq!(loser.status, 409, "{loser:?}");
    // A deleted group's look is free again.
    let groups = b
        .gateway
        .get("/v1/orgs/demo/groups", Some(&b.admin_token))
        .await;
    let marketing = groups.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"].as_str().unwrap().starts_with("Mark"))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let deleted = b
        .gateway
        .send(
            "DELETE",
            &format!("/v1/orgs/demo/groups/{marketing}"),
            Some(&b.admin_token),
            None,
        )
        .await;
    assert!(deleted.status < 300, "{deleted:?}");
    assert_eq!(create("Markеting").await.status, 201);
}

async fn spreadsheet_rows_with_lying_names_are_skipped_with_the_reason(backend: Backend) {
    let b = Bundle::start(backend).await;
    let (ada, eve) = (b.email("ada"), b.email("eve"));
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, header) in ["Email", "First name", "Last name"].iter().enumerate() {
        sheet.write_string(0, col as u16, *header).unwrap();
    }
    for (row, (email, first)) in [(&ada, "Ada"), (&eve, "Eve\u{202E}gnp.exe")]
        .iter()
        .enumerate()
    {
        let row = row as u32 + 1;
        sheet.write_string(row, 0, email.as_str()).unwrap();
        sheet.write_string(row, 1, *first).unwrap();
        sheet.write_string(row, 2, "Smith").unwrap();
    }
    let (id, url) = b.start_import(false).await;
    let (put, delivered) = b.upload(&url, book.save_to_buffer().unwrap()).await;
    assert_eq!(put.status, 200, "{put:?}");
    if let Some(outcome) = delivered {
        outcome.expect("the bulk-import function ran");
    }
    let done = b.finished_import(&id).await.json;
    assert_eq!(
        done["counts"],
        json!({"valid": 1, "created": 1, "failed": 0, "skipped": 1}),
        "{done}"
    );
    assert_eq!(b.mailbox.messages_to(&eve).await.len(), 0);
    assert_eq!(b.mailbox.messages_to(&ada).await.len(), 1);
}
