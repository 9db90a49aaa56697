//! The console's Users page: the organisation's people, and "set password" for those without
//! email.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use gatehouse_domain::error::Rejection;
use gatehouse_domain::model::Org;
use gatehouse_domain::ports::PageRequest;
use gatehouse_domain::secret::SessionToken;
use gatehouse_domain::types::{OrgDomain, UserId};
use gatehouse_domain::usecase::password::set_password;
use gatehouse_domain::usecase::users::list_users;
use gatehouse_http::Client;
use minijinja::context;
use serde::Serialize;

use crate::invitations::{refused, session};
use crate::{date_of, refusal_text, Form, Page, Problems, Visit};

#[derive(Serialize)]
struct UserRow {
    id: String,
    name: String,
    identifier: String,
    role: String,
    without_email: bool,
    since: String,
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
    let page = match list_users(
        &visit.services,
        domain,
        Some(token),
        &Default::default(),
        PageRequest { cursor, limit: 50 },
    )
    .await
    {
        Ok(page) => page,
        Err(e) => return refused(visit, org, &e),
    };
    let rows: Vec<UserRow> = page
        .items
        .iter()
        .map(|u| UserRow {
            id: u.id.to_string(),
            name: format!("{} {}", u.first_name, u.last_name),
            identifier: match (&u.email, &u.uid) {
                (Some(email), _) => email.to_string(),
                (None, Some(uid)) => uid.sign_in_identifier(domain),
                (None, None) => String::new(),
            },
            role: u.role.as_str().to_string(),
            without_email: u.email.is_none(),
            since: date_of(visit, u.created_at),
        })
        .collect();
    let next = page.next_cursor.map(|c| {
        format!(
            "/{}/admin/users?{}",
            visit.slug,
            serde_urlencoded::to_string([("cursor", c)]).unwrap_or_default()
        )
    });
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
