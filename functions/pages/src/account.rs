//! One's own password, for everyone signed in.

use axum::http::StatusCode;
use axum::response::Response;
use gatehouse_domain::error::{Rejection, RejectionClass};
use gatehouse_domain::model::Org;
use gatehouse_domain::usecase::pages::signed_in_user;
use gatehouse_domain::usecase::password::set_password;
use gatehouse_http::Client;
use minijinja::context;

use crate::invitations::{refused, session};
use crate::{refusal_text, Form, Page, Problems, Visit};

// ---------------------------------------------------------------------------------------------
// One's own password

pub(crate) async fn own_password_page(visit: Visit) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        if let Err(page) = session(&visit, &domain).await {
            return Ok(*page);
        }
        own_password_form(&visit, &org, None, &Problems::default())
    })
}

fn own_password_form(
    visit: &Visit,
    org: &Org,
    notice: Option<String>,
    problems: &Problems,
) -> Response {
    visit.render(
        if problems.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        "account_password.html",
        org.name(),
        &visit.say("account_password_title", &[]),
        context! {
            notice => notice,
            min => org.settings.password_min_length.to_string(),
            errors => problems.errors(),
            summary => problems.summary(),
        },
    )
}

pub(crate) async fn own_password_submit(
    Client(client): Client,
    Form { visit, fields, .. }: Form,
) -> Result<Response, Page> {
    Ok({
        let (domain, org) = visit.org().await?;
        let token = session(&visit, &domain).await?;
        let user = match signed_in_user(&visit.services, &domain, &token).await {
            Ok(user) => user,
            Err(e) => return Ok(refused(&visit, &org, &e)),
        };
        let current = fields.get("current_password").cloned().unwrap_or_default();
        let new = fields.get("password").cloned().unwrap_or_default();
        let mut problems = Problems::default();
        match set_password(
            &visit.services,
            &domain,
            Some(&token),
            &user.id,
            &new,
            Some(&current),
            &client,
        )
        .await
        {
            Ok(()) => own_password_form(
                &visit,
                &org,
                Some(visit.say("password_changed", &[])),
                &problems,
            ),
            Err(e) if e.code() == "wrong_current_password" => {
                problems.at(
                    "current_password",
                    visit.say("err_wrong_current_password", &[]),
                );
                own_password_form(&visit, &org, None, &problems)
            }
            Err(e) if e.code().starts_with("password_") => {
                problems.at("password", refusal_text(&visit, &org, &e));
                own_password_form(&visit, &org, None, &problems)
            }
            Err(e) if e.class() == RejectionClass::Throttled => {
                problems.general.push(refusal_text(&visit, &org, &e));
                own_password_form(&visit, &org, None, &problems)
            }
            Err(e) => refused(&visit, &org, &e),
        }
    })
}
