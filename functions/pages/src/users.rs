//! The console's Users page: the organisation's people, filtered by a name's or an email's
//! beginning, status, role and group, each linking to their page; and "set password" for those
//! without email.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use gatehouse_domain::error::Rejection;
use gatehouse_domain::model::Org;
use gatehouse_domain::model::{search_prefix, UserStatus};
use gatehouse_domain::ports::{PageRequest, UserQuery};
use gatehouse_domain::secret::SessionToken;
use gatehouse_domain::types::{GroupId, Role};
use gatehouse_domain::types::{OrgDomain, UserId};
use gatehouse_domain::usecase::groups::list_groups;
use gatehouse_domain::usecase::password::set_password;
use gatehouse_domain::usecase::users::list_users;
use gatehouse_http::Client;
use minijinja::context;
use serde::Serialize;

use crate::invitations::{refused, session};
use crate::people::PersonView;
use crate::{refusal_text, Form, Page, Problems, Visit};

#[derive(Serialize)]
struct UserRow {
    #[serde(flatten)]
    person: PersonView,
    without_email: bool,
}

/// The list's filters as the page's query gives them (unknown values are no filter).
fn filters(visit: &Visit) -> (UserQuery, Vec<(&'static str, String)>) {
    let mut kept = Vec::new();
    let mut keep = |name: &'static str| {
        let value = visit.param(name).unwrap_or("").trim().to_string();
        if !value.is_empty() {
            kept.push((name, value.clone()));
        }
        value
    };
    let q = search_prefix(&keep("q"));
    let status = UserStatus::parse(&keep("status")).ok();
    let role = Role::parse(&keep("role")).ok();
    let group = GroupId::parse(&keep("group")).ok();
    let query = UserQuery {
        status,
        role,
        group,
        q: Some(q).filter(|q| !q.is_empty() && q.chars().count() <= 254),
    };
    (query, kept)
}

// ---------------------------------------------------------------------------------------------
// Users

pub(crate) async fn users_page(visit: Visit) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let cursor = visit.param("cursor").map(str::to_owned);
        users_list(
            &visit,
            &domain,
            &org,
            &token,
            cursor,
            None,
            &Problems::default(),
        )
        .await
    })
}

#[allow(clippy::too_many_arguments)]
async fn users_list(
    visit: &Visit,
    domain: &OrgDomain,
    org: &Org,
    token: &SessionToken,
    cursor: Option<String>,
    notice: Option<String>,
    problems: &Problems,
) -> Response {
    let (query, kept) = filters(visit);
    let page = match list_users(
        &visit.services,
        domain,
        Some(token),
        &query,
        PageRequest { cursor, limit: 50 },
    )
    .await
    {
        Ok(page) => page,
        Err(e) => return refused(visit, org, &e),
    };
    let groups = match list_groups(&visit.services, domain, Some(token), false).await {
        Ok(groups) => groups,
        Err(e) => return refused(visit, org, &e),
    };
    let rows: Vec<UserRow> = page
        .items
        .iter()
        .map(|u| UserRow {
            person: PersonView::of(visit, domain, u),
            without_email: u.email.is_none(),
        })
        .collect();
    let next = page.next_cursor.map(|c| {
        let mut params: Vec<(&str, String)> = kept.clone();
        params.push(("cursor", c));
        format!(
            "/{}/admin/users?{}",
            visit.slug,
            serde_urlencoded::to_string(params).unwrap_or_default()
        )
    });
    let chosen = |name: &str| {
        kept.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let say = |key: String| visit.say(&key, &[]);
    visit.render(
        if problems.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        "admin_users.html",
        org.name(),
        &visit.say("users_title", &[]),
        context! {
            wide => true,
            nav => "users",
            rows => rows,
            next => next,
            q => chosen("q"),
            status => chosen("status"),
            role => chosen("role"),
            group => chosen("group"),
            statuses => ["active", "deactivated"]
                .iter()
                .map(|s| (*s, say(format!("user_status_{s}"))))
                .collect::<Vec<_>>(),
            roles => ["admin", "member", "guest"]
                .iter()
                .map(|r| (*r, say(format!("role_{r}"))))
                .collect::<Vec<_>>(),
            groups => groups
                .iter()
                .map(|g| (g.id.to_string(), g.name.to_string()))
                .collect::<Vec<_>>(),
            notice => notice,
            min => org.settings.password_min_length.to_string(),
            errors => problems.errors(),
            summary => problems.summary(),
        },
    )
}

pub(crate) async fn set_user_password(
    Path((_, id)): Path<(String, String)>,
    Client(client): Client,
    Form { visit, fields, .. }: Form,
) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let Ok(target) = UserId::parse(&id) else {
            return Ok(refused(
                &visit,
                &org,
                &gatehouse_domain::usecase::invitations::InvitationsError::NotFound,
            ));
        };
        let name = fields.get("name").cloned().unwrap_or_default();
        let password = fields.get("password").cloned().unwrap_or_default();
        match set_password(
            &visit.services,
            &domain,
            Some(&token),
            &target,
            &password,
            None,
            &client,
        )
        .await
        {
            Ok(()) => {
                let notice = visit.say("password_set", &[("name", &name)]);
                users_list(
                    &visit,
                    &domain,
                    &org,
                    &token,
                    None,
                    Some(notice),
                    &Problems::default(),
                )
                .await
            }
            Err(e) if e.code().starts_with("password_") => {
                let mut problems = Problems::default();
                problems
                    .general
                    .push(format!("{name}: {}", refusal_text(&visit, &org, &e)));
                users_list(&visit, &domain, &org, &token, None, None, &problems).await
            }
            Err(e) => refused(&visit, &org, &e),
        }
    })
}
