use gatehouse_domain::model::{Group, User};
use gatehouse_domain::usecase::SignedIn;
use serde::Serialize;
use utoipa::ToSchema;

/// An account as clients see it (never its password digest).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub org: String,
    pub email: Option<String>,
    /// For users without email: their identifier…
    pub uid: Option<String>,
    /// …and what they sign in with (`uid:domain`).
    pub sign_in_identifier: Option<String>,
    pub first_name: String,
    pub last_name: String,
    /// `admin`, `member` or `guest`.
    pub role: String,
    pub groups: Vec<String>,
    pub created_at: String,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            org: u.org.to_string(),
            email: u.email.as_ref().map(|e| e.to_string()),
            uid: u.uid.as_ref().map(|x| x.to_string()),
            sign_in_identifier: u.uid.as_ref().map(|x| x.sign_in_identifier(&u.org)),
            first_name: u.first_name.to_string(),
            last_name: u.last_name.to_string(),
            role: u.role.as_str().to_string(),
            groups: u.groups.iter().map(|g| g.to_string()).collect(),
            created_at: u.created_at.to_rfc3339(),
        }
    }
}

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

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupView {
    pub id: String,
    pub name: String,
    pub created_at: String,
}

impl From<&Group> for GroupView {
    fn from(g: &Group) -> Self {
        Self {
            id: g.id.to_string(),
            name: g.name.to_string(),
            created_at: g.created_at.to_rfc3339(),
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

/// A language Gatehouse writes emails in: `en` or `fr`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LanguageName {
    En,
    Fr,
}
