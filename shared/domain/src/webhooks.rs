//! Webhooks as the Standard Webhooks specification has them (the scheme Svix and others
//! implement): a per-endpoint secret `whsec_…`, and each delivery signed with HMAC-SHA256 over
//! `{webhook-id}.{webhook-timestamp}.{body}`, sent as `webhook-signature: v1,<base64>` (several,
//! space-separated, while a rotated secret still signs).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret::Randomness;
use crate::types::ParseError;

/// An endpoint's signing secret: 24 random bytes, shown to the admin once as `whsec_` and their
/// base64.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    const PREFIX: &'static str = "whsec_";
    const BYTES: usize = 24;

    pub fn generate(random: &dyn Randomness) -> Self {
        let mut bytes = vec![0u8; Self::BYTES];
        random.fill(&mut bytes);
        Self(bytes)
    }

    /// `whsec_` and standard base64 of 24 to 64 bytes.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::new("invalid_webhook_secret", "not a webhook secret (whsec_…)");
        let encoded = raw.trim().strip_prefix(Self::PREFIX).ok_or_else(bad)?;
        let bytes = STANDARD.decode(encoded).map_err(|_| bad())?;
        if (Self::BYTES..=64).contains(&bytes.len()) {
            Ok(Self(bytes))
        } else {
            Err(bad())
        }
    }

    /// The secret as the admin copies it (shown once).
    pub fn expose(&self) -> String {
        format!("{}{}", Self::PREFIX, STANDARD.encode(&self.0))
    }

    /// The `v1,` signature of one delivery: `id` is the event's id (`webhook-id`), `timestamp`
    /// the delivery attempt's time in seconds (`webhook-timestamp`), `body` the exact bytes sent.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

/// The `webhook-signature` header of a delivery: one signature per secret that signs now (the
/// current one, and the previous one for a day after a rotation).
pub fn signature_header(
    secrets: &[&WebhookSecret],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|s| s.sign(id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_reads_back_and_never_shows_in_debug() {
        let secret = WebhookSecret::generate(&crate::secret::OsRandomness);
        let shown = secret.expose();
        assert!(shown.starts_with("whsec_"));
        assert_eq!(WebhookSecret::parse(&shown), Ok(secret.clone()));
        assert_eq!(format!("{secret:?}"), "WebhookSecret(***)");
        for bad in ["", "whsec_", "whsec_%%%", "sk_abc", "whsec_c2hvcnQ="] {
            assert!(WebhookSecret::parse(bad).is_err(), "{bad}");
        }
    }
}
