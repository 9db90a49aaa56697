//! The WebAuthn ceremonies behind the domain's [`PasskeyCeremonies`] port, by `webauthn-rs`:
//! the relying party is the host of `GATEHOUSE_PUBLIC_URL` (its RP ID) and the origin is that
//! URL's. Passkeys are discoverable credentials with user verification required; the options
//! and credentials travel in WebAuthn's JSON form (`PublicKeyCredential.toJSON()`).

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatehouse_domain::passkey::{
    AssertionOwner, CeremonyError, CeremonyStart, NoPasskeys, PasskeyCeremonies, PasskeyCredential,
    RegisteredKey,
};
use gatehouse_domain::types::UserId;
use serde_json::Value;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, WebauthnError,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

/// The ceremonies of one relying party.
pub struct WebauthnCeremonies {
    webauthn: Webauthn,
}

/// Why the public URL names no relying party.
#[derive(Debug)]
pub struct NoRelyingParty(String);

impl std::error::Error for NoRelyingParty {}

impl std::fmt::Display for NoRelyingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl WebauthnCeremonies {
    /// The relying party of `public_url`: its host must be a domain name (browsers refuse an IP
    /// address as an RP ID; locally, `http://localhost:…` works).
    pub fn for_public_url(public_url: &str, rp_name: &str) -> Result<Self, NoRelyingParty> {
        let origin = Url::parse(public_url)
            .map_err(|e| NoRelyingParty(format!("{public_url} is no URL: {e}")))?;
        let rp_id = match origin.host() {
            Some(url::Host::Domain(domain)) => domain.to_string(),
            _ => {
                return Err(NoRelyingParty(format!(
                    "{public_url}: a passkey's relying party is a domain name, not an IP address"
                )))
            }
        };
        let origin = Url::parse(&origin.origin().ascii_serialization())
            .map_err(|e| NoRelyingParty(e.to_string()))?;
        let webauthn = WebauthnBuilder::new(&rp_id, &origin)
            .and_then(|b| b.rp_name(rp_name).build())
            .map_err(|e| NoRelyingParty(format!("{public_url}: {e}")))?;
        Ok(Self { webauthn })
    }
}

/// The ceremonies for `public_url`, or none (said once in the log) when it names no relying
/// party: the rest of Gatehouse works the same without passkeys.
pub fn ceremonies_for(public_url: &str) -> Arc<dyn PasskeyCeremonies> {
    match WebauthnCeremonies::for_public_url(public_url, "Gatehouse") {
        Ok(ceremonies) => Arc::new(ceremonies),
        Err(why) => {
            tracing::warn!(%why, "passkeys are not offered");
            Arc::new(NoPasskeys)
        }
    }
}

fn refused(e: WebauthnError) -> CeremonyError {
    match e {
        WebauthnError::CredentialPossibleCompromise => CeremonyError::CounterWentBack,
        other => CeremonyError::Refused(other.to_string()),
    }
}

fn internal(e: impl std::fmt::Display) -> CeremonyError {
    CeremonyError::Internal(e.to_string())
}

fn malformed(e: impl std::fmt::Display) -> CeremonyError {
    CeremonyError::Malformed(e.to_string())
}

fn passkey_of(credential: &PasskeyCredential) -> Result<Passkey, CeremonyError> {
    serde_json::from_str(&credential.key).map_err(internal)
}

/// A user id as the user handle (16 bytes): the id is a UUID's 32 hex digits.
fn handle_of(user: &UserId) -> Result<Uuid, CeremonyError> {
    Uuid::parse_str(user.as_str()).map_err(internal)
}

impl PasskeyCeremonies for WebauthnCeremonies {
    fn creation_options(
        &self,
        user: &UserId,
        user_name: &str,
        display_name: &str,
        exclude: &[&PasskeyCredential],
    ) -> Result<CeremonyStart, CeremonyError> {
        let exclude = exclude
            .iter()
            .map(|p| passkey_of(p).map(|k| k.cred_id().clone()))
            .collect::<Result<Vec<_>, _>>()?;
        let (options, state) = self
            .webauthn
            .start_passkey_registration(handle_of(user)?, user_name, display_name, Some(exclude))
            .map_err(internal)?;
        let mut public_key = serde_json::to_value(&options.public_key).map_err(internal)?;
        // A passkey is found by the authenticator without a user name: discoverable, always.
        public_key["authenticatorSelection"]["residentKey"] = "required".into();
        public_key["authenticatorSelection"]["requireResidentKey"] = true.into();
        Ok(CeremonyStart {
            public_key,
            state: serde_json::to_string(&state).map_err(internal)?,
        })
    }

    fn check_creation(
        &self,
        credential: &Value,
        state: &str,
    ) -> Result<RegisteredKey, CeremonyError> {
        let credential: RegisterPublicKeyCredential =
            serde_json::from_value(credential.clone()).map_err(malformed)?;
        let state: PasskeyRegistration = serde_json::from_str(state).map_err(internal)?;
        let passkey = self
            .webauthn
            .finish_passkey_registration(&credential, &state)
            .map_err(refused)?;
        Ok(RegisteredKey {
            id: URL_SAFE_NO_PAD.encode(passkey.cred_id().as_slice()),
            key: serde_json::to_string(&passkey).map_err(internal)?,
        })
    }

    fn request_options(&self) -> Result<CeremonyStart, CeremonyError> {
        let (options, state) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(internal)?;
        // The options alone: the page asks when the person presses "Sign in with a passkey"
        // (webauthn-rs marks them for autofill, which is the page's choice to make).
        Ok(CeremonyStart {
            public_key: serde_json::to_value(&options.public_key).map_err(internal)?,
            state: serde_json::to_string(&state).map_err(internal)?,
        })
    }

    fn assertion_owner(&self, credential: &Value) -> Result<AssertionOwner, CeremonyError> {
        let credential: PublicKeyCredential =
            serde_json::from_value(credential.clone()).map_err(malformed)?;
        let (user_handle, id) = self
            .webauthn
            .identify_discoverable_authentication(&credential)
            .map_err(|e| malformed(format!("no user handle: {e}")))?;
        Ok(AssertionOwner {
            user_id: UserId::from_uuid(user_handle),
            credential_id: URL_SAFE_NO_PAD.encode(id),
        })
    }

    fn check_assertion(
        &self,
        credential: &Value,
        state: &str,
        passkey: &PasskeyCredential,
    ) -> Result<Option<String>, CeremonyError> {
        let credential: PublicKeyCredential =
            serde_json::from_value(credential.clone()).map_err(malformed)?;
        let state: DiscoverableAuthentication = serde_json::from_str(state).map_err(internal)?;
        let mut key = passkey_of(passkey)?;
        let result = self
            .webauthn
            .finish_discoverable_authentication_v2(&credential, state, &key)
            .map_err(refused)?;
        match key.update_credential(&result) {
            Some(true) => Ok(Some(serde_json::to_string(&key).map_err(internal)?)),
            _ => Ok(None),
        }
    }
}
