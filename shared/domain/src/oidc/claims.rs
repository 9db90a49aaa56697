//! What Gatehouse says about a person in ID tokens, access tokens (RFC 9068) and userinfo.

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::clock::Timestamp;
use crate::model::{Org, User};

/// How long an ID token is valid.
pub const ID_TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// How long an access token is valid (RFC 9068 tokens are verified offline: kept short).
pub const ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// The claims about the person that the scopes allow: `profile` (names, locale,
/// `preferred_username`), `email` (for people with one), and always the organisation, role and
/// groups the platform needs.
pub fn person(org: &Org, user: &User, scopes: &[String]) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(user.id));
    if scopes.iter().any(|s| s == "profile") {
        claims.insert("given_name".into(), json!(user.first_name));
        claims.insert("family_name".into(), json!(user.last_name));
        claims.insert(
            "name".into(),
            json!(format!("{} {}", user.first_name, user.last_name)),
        );
        claims.insert("locale".into(), json!(org.settings.language.as_str()));
        claims.insert(
            "preferred_username".into(),
            json!(preferred_username(org, user)),
        );
    }
    if let (true, Some(email)) = (scopes.iter().any(|s| s == "email"), &user.email) {
        claims.insert("email".into(), json!(email));
        // Every address was proven by a link sent to it (invitation, registration, change).
        claims.insert("email_verified".into(), json!(true));
    }
    claims.insert("org".into(), json!(org.domain));
    claims.insert("role".into(), json!(user.role.as_str()));
    claims.insert("groups".into(), json!(user.groups));
    claims
}

/// The email, or `uid:domain` for people without one.
pub fn preferred_username(org: &Org, user: &User) -> String {
    match (&user.email, &user.uid) {
        (Some(email), _) => email.to_string(),
        (None, Some(uid)) => uid.sign_in_identifier(&org.domain),
        (None, None) => user.id.to_string(),
    }
}

/// What an ID or access token says of its issuing, beside the person.
pub struct Issued<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub now: Timestamp,
    pub auth_time: Timestamp,
    /// How the person proved who they are (RFC 8176); empty: a password, before it was kept.
    pub amr: &'a [String],
    /// The grant's id (`sid`): userinfo and introspection find it alive or not.
    pub grant_id: &'a str,
}

pub fn id_token(issued: &Issued, person: &Map<String, Value>, nonce: Option<&str>) -> Value {
    let mut claims = person.clone();
    claims.insert("iss".into(), json!(issued.issuer));
    claims.insert("aud".into(), json!(issued.client_id));
    claims.insert("azp".into(), json!(issued.client_id));
    claims.insert("iat".into(), json!(issued.now.unix_seconds()));
    claims.insert(
        "exp".into(),
        json!(issued.now.plus(ID_TOKEN_LIFETIME).unix_seconds()),
    );
    claims.insert("auth_time".into(), json!(issued.auth_time.unix_seconds()));
    let amr: Vec<&str> = match issued.amr {
        [] => vec!["pwd"],
        methods => methods.iter().map(String::as_str).collect(),
    };
    // NIST SP 800-63B's assurance levels: a second factor makes AAL2.
    let acr = if amr.contains(&"mfa") { "aal2" } else { "aal1" };
    claims.insert("amr".into(), json!(amr));
    claims.insert("acr".into(), json!(acr));
    claims.insert("sid".into(), json!(issued.grant_id));
    if let Some(nonce) = nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    Value::Object(claims)
}

pub fn access_token(issued: &Issued, person: &Map<String, Value>, scope: &str, jti: &str) -> Value {
    let mut claims = person.clone();
    claims.insert("iss".into(), json!(issued.issuer));
    claims.insert("aud".into(), json!(issued.client_id));
    claims.insert("client_id".into(), json!(issued.client_id));
    claims.insert("scope".into(), json!(scope));
    claims.insert("iat".into(), json!(issued.now.unix_seconds()));
    claims.insert(
        "exp".into(),
        json!(issued.now.plus(ACCESS_TOKEN_LIFETIME).unix_seconds()),
    );
    claims.insert("auth_time".into(), json!(issued.auth_time.unix_seconds()));
    claims.insert("jti".into(), json!(jti));
    claims.insert("sid".into(), json!(issued.grant_id));
    Value::Object(claims)
}
