//! A passkey for the Rust tests: webauthn-authenticator-rs's `SoftPasskey` (ES256, user
//! verified: an authenticator nobody here wrote) answers the options Gatehouse gives, at the
//! tests' public origin. It keeps no discoverable credentials, so it is shown the options as a
//! security key that ignores `residentKey` would read them, and is told which credential to use
//! (`allowCredentials`), as a discoverable authenticator finds it itself; and it answers without
//! a user handle, so the handle it was registered with is added to its answer. None of these is
//! part of what is signed or checked. The browser stories use Chromium's own virtual
//! authenticator, which keeps discoverable credentials.

use serde_json::{json, Value};
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url, WebauthnAuthenticator,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

/// A person's authenticator holding one passkey.
pub struct SoftKey {
    authenticator: SoftPasskey,
    user_handle: String,
    credential_id: String,
}

impl SoftKey {
    /// A passkey registered for `who` through the API, as a browser does it.
    pub async fn registered(b: &crate::Bundle, who: &crate::Account, name: &str) -> Self {
        let path = format!("/v1/orgs/demo/users/{}/passkeys", who.id);
        let started = b
            .gateway
            .post(&format!("{path}/registration"), Some(&who.token), json!({}))
            .await;
        assert_eq!(started.status, 200, "{started:?}");
        let user_handle = started.json["publicKey"]["user"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let mut public_key = started.json["publicKey"].clone();
        public_key["authenticatorSelection"]["requireResidentKey"] = json!(false);
        public_key["authenticatorSelection"]["residentKey"] = json!("discouraged");
        let options: CreationChallengeResponse =
            serde_json::from_value(json!({ "publicKey": public_key })).unwrap();
        let mut authenticator = SoftPasskey::new(true);
        let created = authenticator
            .do_registration(origin(), options)
            .expect("the soft authenticator registers");
        let added = b
            .gateway
            .post(
                &path,
                Some(&who.token),
                json!({ "flow": started.json["flow"], "credential": created, "name": name }),
            )
            .await;
        assert_eq!(added.status, 201, "{added:?}");
        Self {
            authenticator,
            user_handle,
            credential_id: added.json["id"].as_str().unwrap().to_string(),
        }
    }

    /// The assertion for a sign-in's options (`publicKey` as Gatehouse answered it).
    pub fn assert(&mut self, public_key: &Value) -> Value {
        let mut public_key = public_key.clone();
        public_key["allowCredentials"] =
            json!([{ "type": "public-key", "id": self.credential_id }]);
        let options: RequestChallengeResponse =
            serde_json::from_value(json!({ "publicKey": public_key })).unwrap();
        let asserted = self
            .authenticator
            .do_authentication(origin(), options)
            .expect("the soft authenticator signs");
        let mut assertion = serde_json::to_value(asserted).unwrap();
        assertion["response"]["userHandle"] = json!(self.user_handle);
        assertion
    }
}

fn origin() -> Url {
    Url::parse(crate::PUBLIC_URL).unwrap()
}
