//! The console's Activity page: the organisation's audit trail (who invited whom, who changed
//! which setting, failed sign-ins and lockouts), filtered by type, actor and person, a page at
//! a time, and the same filtered log downloaded as Excel.

use std::collections::HashMap;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse_domain::events::{Event, EventId, EventType};
use gatehouse_domain::model::Org;
use gatehouse_domain::types::{OrgDomain, UserId};
use gatehouse_domain::usecase::events::{list_events, EventFilter};
use minijinja::context;
use serde::Serialize;

use crate::invitations::{refused, session};
use crate::{date_of, Page, Visit};

pub(crate) const WORDS: &[(&str, &str, &str)] = &[
    ("nav_activity", "Activity", "Activité"),
    ("activity_title", "Activity", "Activité"),
    ("activity_intro", "Everything that changed in the organisation, oldest first, with who did it. Events appear here about ten seconds after they happen.", "Tout ce qui a changé dans l'organisation, du plus ancien au plus récent, avec qui l'a fait. Les événements apparaissent ici une dizaine de secondes après."),
    ("a_type", "What", "Quoi"),
    ("a_any_type", "Anything", "Tout"),
    ("a_actor", "Done by (user id)", "Fait par (identifiant d'utilisateur)"),
    ("a_person", "About (email, identifier or user id)", "Concernant (e-mail, identifiant ou id d'utilisateur)"),
    ("a_filter", "Show", "Afficher"),
    ("a_when", "When", "Quand"),
    ("a_who", "Who", "Qui"),
    ("a_about", "About", "Concernant"),
    ("a_from", "From", "Depuis"),
    ("a_themselves", "themselves", "elle-même"),
    ("a_gatehouse", "Gatehouse", "Gatehouse"),
    ("a_none", "Nothing yet.", "Rien pour l'instant."),
    ("a_more", "More", "Suite"),
    ("a_export", "Download as Excel", "Télécharger en Excel"),
];

/// How many events one page shows; the download holds at most [`EXPORT_MAX`].
const PAGE: usize = 50;
const EXPORT_MAX: usize = 10_000;

#[derive(Serialize)]
struct EventRow {
    when: String,
    what: &'static str,
    who: String,
    about: String,
    from: String,
}

/// The filter the page's query asks for (unknown types are ignored: a link from an older page).
fn filter_of(visit: &Visit) -> EventFilter {
    let text = |name: &str| {
        visit
            .param(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    EventFilter {
        types: text("type")
            .and_then(|t| EventType::parse(&t))
            .into_iter()
            .collect(),
        actor: text("actor"),
        person: text("person"),
    }
}

/// What an event is about, in a few words: the person, group, setting or endpoint.
fn about(event: &Event) -> String {
    let data = &event.data;
    let text = |field: &str| data[field].as_str().unwrap_or_default().to_string();
    let person = || {
        let name = format!("{} {}", text("first_name"), text("last_name"));
        let address = data["email"]
            .as_str()
            .or(data["sign_in_identifier"].as_str())
            .or(data["uid"].as_str())
            .unwrap_or_default();
        format!("{} <{address}>", name.trim())
    };
    match event.kind.as_str().split('.').next() {
        Some("invitation" | "user") => person(),
        Some("group") => text("name"),
        Some("webhook") => text("url"),
        Some("import") => text("import_id"),
        Some("export") => text("export_id"),
        Some("invitation_link") => text("role"),
        _ => String::new(),
    }
}

/// The names of the people who made these events (one read each, once).
async fn actor_names(
    visit: &Visit,
    domain: &OrgDomain,
    events: &[Event],
) -> HashMap<UserId, String> {
    let mut names = HashMap::new();
    for id in events.iter().filter_map(|e| e.actor.user_id.as_ref()) {
        if names.contains_key(id) {
            continue;
        }
        let name = match visit.services.store.user(domain, id).await {
            Ok(Some(u)) => format!("{} {}", u.first_name, u.last_name),
            _ => id.to_string(),
        };
        names.insert(id.clone(), name);
    }
    names
}

fn rows(visit: &Visit, events: &[Event], names: &HashMap<UserId, String>) -> Vec<EventRow> {
    events
        .iter()
        .map(|e| EventRow {
            when: date_of(visit, e.occurred_at),
            what: e.kind.as_str(),
            who: match &e.actor.user_id {
                Some(id) => names.get(id).cloned().unwrap_or_else(|| id.to_string()),
                None if e.kind.as_str().starts_with("user.")
                    || e.kind == EventType::InvitationAccepted =>
                {
                    visit.say("a_themselves", &[])
                }
                None => visit.say("a_gatehouse", &[]),
            },
            about: about(e),
            from: e.actor.client_address.clone().unwrap_or_default(),
        })
        .collect()
}

pub(crate) async fn activity_page(visit: Visit) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let filter = filter_of(&visit);
        let after = visit.param("after").and_then(|a| EventId::parse(a).ok());
        let page =
            match list_events(&visit.services, &domain, Some(&token), after, PAGE, &filter).await {
                Ok(page) => page,
                Err(e) => return Ok(refused(&visit, &org, &e)),
            };
        let names = actor_names(&visit, &domain, &page.items).await;
        let query = |after: Option<&str>| {
            let mut pairs: Vec<(&str, String)> = Vec::new();
            if let Some(kind) = filter.types.first() {
                pairs.push(("type", kind.as_str().to_string()));
            }
            if let Some(actor) = &filter.actor {
                pairs.push(("actor", actor.clone()));
            }
            if let Some(person) = &filter.person {
                pairs.push(("person", person.clone()));
            }
            if let Some(after) = after {
                pairs.push(("after", after.to_string()));
            }
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        };
        let more = page
            .next_cursor
            .as_ref()
            .filter(|_| page.has_more)
            .map(|c| format!("/{}/admin/activity?{}", visit.slug, query(Some(c.as_str()))));
        render(
            &visit,
            &org,
            &filter,
            rows(&visit, &page.items, &names),
            more,
            query(None),
        )
    })
}

fn render(
    visit: &Visit,
    org: &Org,
    filter: &EventFilter,
    rows: Vec<EventRow>,
    more: Option<String>,
    query: String,
) -> Response {
    let types: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
    visit.render(
        StatusCode::OK,
        "admin_activity.html",
        org.name(),
        &visit.say("activity_title", &[]),
        context! {
            wide => true,
            nav => "activity",
            rows => rows,
            more => more,
            types => types,
            chosen => filter.types.first().map(|t| t.as_str()),
            actor => filter.actor,
            person => filter.person,
            query => query,
        },
    )
}

/// The filtered log as an Excel file (at most [`EXPORT_MAX`] events, oldest first).
pub(crate) async fn activity_download(visit: Visit) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let filter = filter_of(&visit);
        let mut events = Vec::new();
        let mut after = None;
        loop {
            let page = match list_events(
                &visit.services,
                &domain,
                Some(&token),
                after,
                500,
                &filter,
            )
            .await
            {
                Ok(page) => page,
                Err(e) => return Ok(refused(&visit, &org, &e)),
            };
            events.extend(page.items);
            after = page.next_cursor;
            if !page.has_more || events.len() >= EXPORT_MAX {
                break;
            }
        }
        events.truncate(EXPORT_MAX);
        let names = actor_names(&visit, &domain, &events).await;
        let headers = [
            "When (UTC)",
            "Type",
            "Who",
            "Who (user id)",
            "About",
            "From (address)",
            "Event id",
        ];
        let workbook = (|| {
            let mut table = gatehouse_sheets::StreamedTable::new("Activity", &headers)?;
            for (row, event) in rows(&visit, &events, &names).into_iter().zip(&events) {
                table.row(&[
                    event.occurred_at.to_rfc3339(),
                    row.what.to_string(),
                    row.who,
                    event
                        .actor
                        .user_id
                        .as_ref()
                        .map(|u| u.to_string())
                        .unwrap_or_default(),
                    row.about,
                    row.from,
                    event.id.to_string(),
                ])?;
            }
            table.finish()
        })();
        match workbook {
            Ok(bytes) => (
                [
                    (
                        header::CONTENT_TYPE,
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"gatehouse-activity.xlsx\"",
                    ),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                bytes,
            )
                .into_response(),
            Err(e) => visit.trouble(&e),
        }
    })
}
