//! One batched read of independent records (claims, credentials, group names, imports), as the use cases need it.

#[allow(unused_imports)]
use super::*;

use gatehouse_domain::oidc::grant::{AuthorizationCode, RefreshToken};

pub(super) fn credential_item_key(credential: &Credential) -> Key {
    match credential {
        Credential::LinkToken(token) => keys::link_token(token),
        Credential::AccessCode(code) => keys::access_code(code),
    }
}

/// The invitation a credential item points to, if the item is there and of `org`.
pub(super) fn credential_target(org: &OrgDomain, item: Option<Item>) -> Option<InvitationId> {
    let item = item?;
    if item.attrs.get("org").and_then(Value::as_str) != Some(org.as_str()) {
        return None;
    }
    item.attrs
        .get("invitation_id")
        .and_then(Value::as_str)
        .and_then(|s| InvitationId::parse(s).ok())
}

/// The id of the account holding a claim item, if an account holds it.
pub(super) fn claimant(claim: Option<Item>) -> Result<Option<UserId>, StoreError> {
    let Some(claim) = claim else {
        return Ok(None);
    };
    if claim.attrs.get("owner").and_then(Value::as_str) != Some("user") {
        return Ok(None);
    }
    claim
        .attrs
        .get("owner_id")
        .and_then(Value::as_str)
        .and_then(|s| UserId::parse(s).ok())
        .map(Some)
        .ok_or_else(|| StoreError::Unavailable("corrupt claim".into()))
}

/// Who holds a claim item.
pub(super) fn claim_of(claim: Option<Item>) -> Result<Claim, StoreError> {
    let Some(claim) = claim else {
        return Ok(Claim::Free);
    };
    let corrupt = || StoreError::Unavailable("corrupt claim".into());
    let owner_id = claim.attrs.get("owner_id").and_then(Value::as_str);
    match claim.attrs.get("owner").and_then(Value::as_str) {
        Some("user") => owner_id
            .and_then(|s| UserId::parse(s).ok())
            .map(Claim::Account)
            .ok_or_else(corrupt),
        Some("invitation") => {
            let id = owner_id
                .and_then(|s| InvitationId::parse(s).ok())
                .ok_or_else(corrupt)?;
            let expires_at = claim
                .attrs
                .get("expires_at")
                .cloned()
                .map(serde_json::from_value)
                .transpose()
                .map_err(|_| corrupt())?
                .ok_or_else(corrupt)?;
            Ok(Claim::Invitation { id, expires_at })
        }
        _ => Err(corrupt()),
    }
}

#[async_trait]
impl LookupStore for Records {
    async fn look_up(&self, org: &OrgDomain, lookup: &Lookup) -> Result<Found, StoreError> {
        let mut keys = Vec::new();
        if lookup.org {
            keys.push(keys::org(org));
        }
        if let Some((user, token)) = &lookup.session {
            keys.push(keys::session(org, user, token));
        }
        if let Some(user) = &lookup.user {
            keys.push(keys::user(org, user));
        }
        match &lookup.account {
            Some(AccountKey::Email(email)) => keys.push(keys::email_claim(org, email)),
            Some(AccountKey::Uid(uid)) => keys.push(keys::uid_claim(org, uid)),
            None => {}
        }
        keys.extend(lookup.attempts.iter().map(|k| attempts_key(k)));
        keys.extend(lookup.groups.iter().map(|g| keys::group(org, g)));
        if let Some(credential) = &lookup.credential {
            keys.push(credential_item_key(credential));
        }
        if let Some(id) = &lookup.import {
            keys.push(keys::import(org, id));
        }
        keys.extend(lookup.group_names.iter().map(|n| keys::group_name(org, n)));
        keys.extend(lookup.claims.iter().map(|c| match c {
            AccountKey::Email(email) => keys::email_claim(org, email),
            AccountKey::Uid(uid) => keys::uid_claim(org, uid),
        }));
        keys.extend(lookup.invitations.iter().map(|i| keys::invitation(org, i)));
        keys.extend(lookup.client.iter().map(|c| keys::client(org, c)));
        keys.extend(lookup.code.iter().map(keys::authorization_code));
        keys.extend(lookup.refresh_token.iter().map(keys::refresh_token));
        keys.extend(lookup.grant.iter().map(|(u, g)| keys::grant(org, u, g)));
        keys.extend(lookup.challenge.iter().map(|h| keys::challenge(org, h)));
        let mut items = self
            .items
            .get_many(&keys)
            .await
            .map_err(unavailable)?
            .into_iter();
        let mut next = || items.next().flatten();
        let mut found = Found::default();
        if lookup.org {
            found.org = next().map(|i| decode(i.attrs)).transpose()?;
        }
        if lookup.session.is_some() {
            found.session = next()
                .map(|i| decode::<Session>(i.attrs))
                .transpose()?
                .filter(|s| &s.org == org);
        }
        if lookup.user.is_some() {
            found.user = next().map(|i| decode(i.attrs)).transpose()?;
        }
        if lookup.account.is_some() {
            found.account = claimant(next())?;
        }
        for _ in &lookup.attempts {
            found
                .attempts
                .push(next().map(|i| decode(i.attrs)).transpose()?);
        }
        for _ in &lookup.groups {
            found
                .groups
                .push(next().map(|i| decode(i.attrs)).transpose()?);
        }
        if lookup.credential.is_some() {
            found.credential_of = credential_target(org, next());
        }
        if lookup.import.is_some() {
            found.import = next()
                .map(|i| decode::<Import>(i.attrs))
                .transpose()?
                .filter(|i| &i.org == org);
        }
        for _ in &lookup.group_names {
            found.group_ids.push(
                next()
                    .and_then(|i| i.attrs.get("owner_id").cloned())
                    .map(serde_json::from_value)
                    .transpose()
                    .map_err(super::corrupt("group name"))?,
            );
        }
        for _ in &lookup.claims {
            found.claims.push(claim_of(next())?);
        }
        for _ in &lookup.invitations {
            found
                .invitations
                .push(next().map(|i| decode(i.attrs)).transpose()?);
        }
        if lookup.client.is_some() {
            found.client = next().map(|i| decode(i.attrs)).transpose()?;
        }
        if lookup.code.is_some() {
            found.code = next()
                .map(|i| decode::<AuthorizationCode>(i.attrs))
                .transpose()?
                .filter(|c| &c.org == org);
        }
        if lookup.refresh_token.is_some() {
            found.refresh_token = next()
                .map(|i| decode::<RefreshToken>(i.attrs))
                .transpose()?
                .filter(|r| &r.org == org);
        }
        if lookup.grant.is_some() {
            found.grant = next().map(|i| decode(i.attrs)).transpose()?;
        }
        if lookup.challenge.is_some() {
            found.challenge = next()
                .map(|i| decode::<gatehouse_domain::challenge::Challenge>(i.attrs))
                .transpose()?
                .filter(|c| &c.org == org);
        }
        Ok(found)
    }
}

impl Records {
    /// The account holding a claim (email or uid), if an account holds it.
    pub(super) async fn user_by_claim(
        &self,
        org: &OrgDomain,
        claim: &Key,
    ) -> Result<Option<User>, StoreError> {
        match claimant(self.items.get(claim).await.map_err(unavailable)?)? {
            Some(id) => self.user(org, &id).await,
            None => Ok(None),
        }
    }
}
