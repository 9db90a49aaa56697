use gatehouse_domain::usecase::SignedIn;
pub use gatehouse_domain::views::{GroupView, LanguageName, UserView};
use serde::Serialize;
use utoipa::ToSchema;

/// A new session: the bearer token for `Authorization: Bearer …`, shown only here.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub token: String,
    pub expires_at: String,
    pub user: UserView,
}

impl From<&SignedIn> for SessionView {
    fn from(s: &SignedIn) -> Self {
        Self {
            token: s.token.expose(),
            expires_at: s.expires_at.to_rfc3339(),
            user: UserView::from(&s.user),
        }
    }
}

/// Every error: RFC 9457 `application/problem+json`. `code` is stable; match on it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemView {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    /// Stable, greppable: `email_taken`, `invalid_token`, `org_not_found`, …
    pub code: String,
    pub detail: String,
}
