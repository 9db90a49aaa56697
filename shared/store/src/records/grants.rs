//! Authorization codes, grants and refresh tokens (OpenID Connect). A grant lives in its user's
//! session partition, so that ending every session of a user ends their grants too.

#[allow(unused_imports)]
use super::*;

use gatehouse_domain::oidc::grant::{AuthorizationCode, Grant, Redemption, RefreshToken, Rotation};

/// A spent code is kept this long past its expiry, so that a replay still ends its grant.
const SPENT_CODE_KEPT: i64 = 3600;

fn with_ttl<T: Serialize>(record: &T, ttl: Timestamp) -> Attrs {
    let mut attrs = encode(record);
    attrs.insert(TTL_ATTRIBUTE.into(), json!(ttl));
    attrs
}

fn code_attrs(code: &AuthorizationCode) -> Attrs {
    with_ttl(
        code,
        Timestamp::from_unix_seconds(code.expires_at.unix_seconds() + SPENT_CODE_KEPT),
    )
}

fn refresh_put(token: &RefreshToken) -> Write {
    put(
        keys::refresh_token(&token.token_hash),
        with_ttl(token, token.expires_at),
        Some(Condition::NotExists),
    )
}

fn grant_attrs(grant: &Grant) -> Attrs {
    with_ttl(grant, grant.expires_at)
}

#[async_trait]
impl GrantStore for Records {
    async fn save_code(&self, code: &AuthorizationCode) -> Result<(), WriteError> {
        match self
            .write(vec![put(
                keys::authorization_code(&code.code_hash),
                code_attrs(code),
                Some(Condition::NotExists),
            )])
            .await
        {
            Err(ItemError::ConditionFailed { .. }) => Err(WriteError::AlreadyExists),
            other => other.map_err(write_error),
        }
    }

    async fn code(&self, hash: &TokenHash) -> Result<Option<AuthorizationCode>, StoreError> {
        self.get(&keys::authorization_code(hash)).await
    }

    async fn redeem_code(
        &self,
        code: &AuthorizationCode,
        grant: &Grant,
        refresh: Option<&RefreshToken>,
    ) -> Result<Redemption, StoreError> {
        let mut spent = code.clone();
        spent.spent_for = Some(grant.id.clone());
        let mut writes = vec![
            put(
                keys::authorization_code(&code.code_hash),
                code_attrs(&spent),
                // Still there and unspent.
                Some(Condition::Lacks("spent_for".into())),
            ),
            put(
                keys::grant(&grant.org, &grant.user_id, &grant.id),
                grant_attrs(grant),
                Some(Condition::NotExists),
            ),
        ];
        writes.extend(refresh.map(refresh_put));
        match self.write(writes).await {
            Ok(()) => Ok(Redemption::Redeemed),
            Err(ItemError::ConditionFailed { index: 0 }) => {
                let Some(now) = self.code(&code.code_hash).await? else {
                    return Ok(Redemption::Unknown);
                };
                if let Some(made) = &now.spent_for {
                    self.end_grant(&now.org, &now.user_id, made).await?;
                }
                Ok(Redemption::Replayed)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn grant(
        &self,
        org: &OrgDomain,
        user: &UserId,
        id: &str,
    ) -> Result<Option<Grant>, StoreError> {
        Ok(self
            .get::<Grant>(&keys::grant(org, user, id))
            .await?
            .filter(|g| &g.org == org && &g.user_id == user))
    }

    async fn refresh_token(&self, hash: &TokenHash) -> Result<Option<RefreshToken>, StoreError> {
        self.get(&keys::refresh_token(hash)).await
    }

    async fn rotate_refresh(
        &self,
        grant: &Grant,
        used: &TokenHash,
        next: &RefreshToken,
    ) -> Result<Rotation, StoreError> {
        let mut moved = grant.clone();
        moved.current_refresh = Some(next.token_hash.clone());
        let (attrs, unchanged) = versioned(&moved, grant.version);
        let attrs = {
            let mut a = attrs;
            a.insert(TTL_ATTRIBUTE.into(), json!(grant.expires_at));
            a
        };
        let still_current = Condition::All(vec![
            unchanged,
            Condition::Equals("current_refresh".into(), json!(used)),
        ]);
        match self
            .write(vec![
                put(
                    keys::grant(&grant.org, &grant.user_id, &grant.id),
                    attrs,
                    Some(still_current),
                ),
                refresh_put(next),
            ])
            .await
        {
            Ok(()) => Ok(Rotation::Rotated),
            Err(ItemError::ConditionFailed { index: 0 }) => {
                self.end_grant(&grant.org, &grant.user_id, &grant.id)
                    .await?;
                Ok(Rotation::Reused)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn end_grant(&self, org: &OrgDomain, user: &UserId, id: &str) -> Result<(), StoreError> {
        self.items
            .write(vec![Write::Delete {
                key: keys::grant(org, user, id),
                condition: None,
            }])
            .await
            .map_err(unavailable)
    }
}
