//! How a use case says "no" to a client: a stable, greppable code and a class that the HTTP edge
//! maps to a status. The domain never names HTTP statuses itself.

/// What kind of refusal this is; the edge maps each class to one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionClass {
    /// The input is malformed or breaks a rule (422).
    Invalid,
    /// No credentials, or credentials that do not hold (401).
    Unauthenticated,
    /// Signed in, but not allowed to do this (403).
    Forbidden,
    /// No such thing, or not visible to this caller (404).
    NotFound,
    /// The thing exists already or changed under the caller (409).
    Conflict,
    /// It existed but is no longer usable (410).
    Gone,
    /// Too many attempts; try later (429).
    Throttled,
    /// Our fault or a dependency's; the client should retry later (500/503).
    Internal,
}

/// Implemented by every use-case error.
pub trait Rejection: std::error::Error {
    /// Stable code, part of the API contract (`email_taken`, `invalid_token`, …).
    fn code(&self) -> &'static str;
    fn class(&self) -> RejectionClass;
    /// For throttled requests: how long to wait before trying again.
    fn retry_after(&self) -> Option<std::time::Duration> {
        None
    }
    /// Text safe to show the client. Internal errors must not reveal their cause here.
    fn detail(&self) -> String {
        match self.class() {
            RejectionClass::Internal => "Something went wrong on our side; try again later.".into(),
            _ => self.to_string(),
        }
    }
}
