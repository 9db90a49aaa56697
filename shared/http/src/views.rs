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

/// What a person's authenticator app needs: the QR code to scan, or the secret to type.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrolmentView {
    /// The shared secret in base32, for typing into the app.
    pub secret: String,
    /// `otpauth://totp/…` (SHA-1, 6 digits, 30 seconds), what the QR code holds.
    pub otpauth_uri: String,
    /// The QR code of `otpauth_uri`, an SVG image drawn here.
    pub qr_svg: String,
}

impl From<gatehouse_domain::usecase::second_factor::TotpEnrolment> for TotpEnrolmentView {
    fn from(e: gatehouse_domain::usecase::second_factor::TotpEnrolment) -> Self {
        Self {
            secret: e.secret,
            otpauth_uri: e.otpauth_uri,
            qr_svg: e.qr_svg,
        }
    }
}

/// A WebAuthn ceremony begun: the options for the browser and the flow that ends it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyFlowView {
    /// Ends this ceremony, once, within 5 minutes (`expires_at`).
    pub flow: String,
    /// The options in WebAuthn's JSON form: give them to
    /// `PublicKeyCredential.parseCreationOptionsFromJSON` (registration) or
    /// `parseRequestOptionsFromJSON` (sign-in).
    #[serde(rename = "publicKey")]
    #[schema(value_type = Object)]
    pub public_key: serde_json::Value,
    pub expires_at: String,
}

impl From<gatehouse_domain::usecase::passkeys::PasskeyFlow> for PasskeyFlowView {
    fn from(f: gatehouse_domain::usecase::passkeys::PasskeyFlow) -> Self {
        Self {
            flow: f.flow.expose().to_string(),
            public_key: f.public_key,
            expires_at: f.expires_at.to_rfc3339(),
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
