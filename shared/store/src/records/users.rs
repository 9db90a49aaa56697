//! Accounts and their passwords.

#[allow(unused_imports)]
use super::*;

pub(super) fn session_put(session: &Session) -> Write {
    let mut attrs = encode(session);
    attrs.insert(TTL_ATTRIBUTE.into(), json!(session.expires_at));
    put(
        keys::session(&session.org, &session.user_id, &session.token_hash),
        attrs,
        Some(Condition::NotExists),
    )
}

#[async_trait]
impl UserStore for Records {
    async fn user(&self, org: &OrgDomain, id: &UserId) -> Result<Option<User>, StoreError> {
        self.get(&keys::user(org, id)).await
    }

    async fn user_by_email(
        &self,
        org: &OrgDomain,
        email: &EmailAddress,
    ) -> Result<Option<User>, StoreError> {
        self.user_by_claim(org, &keys::email_claim(org, email))
            .await
    }

    async fn update_user(&self, user: &User, events: &ChangeEvents) -> Result<(), WriteError> {
        let (attrs, unchanged) = versioned(user, user.version);
        let writes = vec![put(keys::user(&user.org, &user.id), attrs, Some(unchanged))];
        self.write(with_events(writes, events))
            .await
            .map_err(write_error)
    }

    async fn save_password_reset(&self, reset: &PasswordReset) -> Result<(), WriteError> {
        let mut attrs = encode(reset);
        attrs.insert(TTL_ATTRIBUTE.into(), json!(reset.expires_at));
        self.write(vec![put(
            keys::password_reset(&reset.token_hash),
            attrs,
            Some(Condition::NotExists),
        )])
        .await
        .map_err(write_error)
    }

    async fn password_reset(&self, token: &TokenHash) -> Result<Option<PasswordReset>, StoreError> {
        self.get(&keys::password_reset(token)).await
    }

    async fn change_password(
        &self,
        user: &User,
        reset: Option<&TokenHash>,
        events: &ChangeEvents,
    ) -> Result<(), WriteError> {
        let (attrs, unchanged) = versioned(user, user.version);
        let mut writes = vec![put(keys::user(&user.org, &user.id), attrs, Some(unchanged))];
        if let Some(token) = reset {
            writes.push(Write::Delete {
                key: keys::password_reset(token),
                condition: Some(Condition::Equals("user_id".into(), json!(user.id))),
            });
        }
        self.write(with_events(writes, events))
            .await
            .map_err(write_error)
    }

    async fn users(&self, org: &OrgDomain, page: &PageRequest) -> Result<Page<User>, StoreError> {
        let after = match &page.cursor {
            Some(c) => Some(decode_cursor(c, |sk| UserId::parse(sk).is_ok())?),
            None => None,
        };
        let chunk = self
            .items
            .query(&Query {
                index: None,
                pk: keys::users_pk(org),
                sk_prefix: String::new(),
                after,
                limit: page.limit.max(1),
                descending: false,
            })
            .await
            .map_err(unavailable)?;
        let items = chunk
            .items
            .into_iter()
            .map(|i| decode(i.attrs))
            .collect::<Result<Vec<User>, _>>()?;
        Ok(Page {
            items,
            next_cursor: chunk.last_sk.as_deref().map(encode_cursor),
        })
    }
}
