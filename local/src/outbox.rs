//! What the local run mailed last to each address, for `GET /_local/outbox?to=`: the README's
//! walkthrough (and anyone scripting against the local run) picks a mailed link up with `curl`
//! instead of copying it from the console. Only in the local run, only to a client on the same
//! machine; deployed, links reach people by mail alone.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use gatehouse_domain::ports::{MailError, Mailer, OutgoingEmail};
use gatehouse_domain::types::EmailAddress;

/// The newest message to one address.
#[derive(Debug, Clone)]
struct Mailed {
    subject: String,
    from: Option<String>,
    reply_to: Option<String>,
    link: Option<String>,
    html: String,
}

/// A mailer that sends through `inner` and remembers, per address, the newest message sent.
pub struct RememberedMail {
    inner: Arc<dyn Mailer>,
    last: Mutex<HashMap<String, Mailed>>,
}

/// How many addresses are remembered; past it the memory starts again (a local run, not a mail
/// archive: the outbox folder keeps every message).
const REMEMBERED: usize = 10_000;

impl RememberedMail {
    pub fn new(inner: Arc<dyn Mailer>) -> Self {
        Self {
            inner,
            last: Mutex::default(),
        }
    }

    fn last_to(&self, to: &EmailAddress) -> Option<Mailed> {
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        last.get(to.as_str()).cloned()
    }
}

#[async_trait]
impl Mailer for RememberedMail {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        self.inner.send(email).await?;
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.len() >= REMEMBERED {
            last.clear();
        }
        last.insert(
            email.to.as_str().to_string(),
            Mailed {
                subject: email.subject.clone(),
                from: email.sender_name.clone(),
                reply_to: email.reply_to.as_ref().map(|r| r.as_str().to_string()),
                link: email.action_link.clone(),
                html: email.html.clone(),
            },
        );
        Ok(())
    }
}

#[derive(serde::Deserialize)]
struct Asked {
    to: String,
}

/// `GET /_local/outbox?to=` → `{to, subject, from, reply_to, link, token, html}` of the newest
/// message to that address (`from`: the sender's name; null when none), `404 no_mail` when none went there since the run
/// started; `404` to anyone not on this machine.
pub fn outbox_routes(mail: Arc<RememberedMail>) -> Router {
    Router::new()
        .route("/_local/outbox", axum::routing::get(newest_to))
        .with_state(mail)
}

async fn newest_to(
    State(mail): State<Arc<RememberedMail>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(asked): Query<Asked>,
) -> Response {
    let not_found = |code, detail| {
        gatehouse_http::ApiError::new(StatusCode::NOT_FOUND, code, detail).into_response()
    };
    if !peer.ip().is_loopback() {
        return not_found("not_found", "No such route.");
    }
    let Ok(to) = EmailAddress::parse(&asked.to) else {
        return gatehouse_http::ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_email",
            "`to` is not an email address.",
        )
        .into_response();
    };
    let Some(mailed) = mail.last_to(&to) else {
        return not_found(
            "no_mail",
            "Nothing was mailed to this address since the run started.",
        );
    };
    let token = mailed.link.as_deref().and_then(token_of);
    axum::Json(serde_json::json!({
        "to": to.as_str(),
        "subject": mailed.subject,
        "from": mailed.from,
        "reply_to": mailed.reply_to,
        "link": mailed.link,
        "token": token,
        "html": mailed.html,
    }))
    .into_response()
}

/// The `token` parameter of a link's query.
fn token_of(link: &str) -> Option<String> {
    let query = link.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        (name == "token").then(|| value.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::token_of;

    #[test]
    fn the_token_is_read_from_a_links_query() {
        assert_eq!(
            token_of("http://127.0.0.1:3000/demo/sign-up?token=Abc-_1").as_deref(),
            Some("Abc-_1")
        );
        assert_eq!(
            token_of("http://x/demo/email-change?lang=fr&token=T").as_deref(),
            Some("T")
        );
        assert_eq!(token_of("http://x/demo/sign-in"), None);
        assert_eq!(token_of("http://x/demo/sign-in?tokens=1"), None);
    }
}
