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

/// Why something failed on our side or a dependency's, kept whole with its own sources so that
/// the log shows the chain down to the SDK's error. Clients never see it.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error and every source under it, `outer: inner: innermost`, for one log line.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(e) = source {
            write!(f, ": {e}")?;
            source = e.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Cause);

    #[test]
    fn a_chain_shows_every_source_once_in_order() {
        let io = std::io::Error::other("disk on fire");
        let inner: Cause = Box::new(crate::ports::StoreError::Unavailable(Box::new(io)));
        let outer = Outer(inner);
        assert_eq!(
            Chain(&outer).to_string(),
            "outer: storage unavailable: disk on fire"
        );
    }
}
