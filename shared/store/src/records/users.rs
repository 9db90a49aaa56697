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

/// A user's record, placed in the index by role (`gsi1`) and, while deactivated, in the index of
/// deactivated users (`gsi2`).
pub(super) fn user_put(user: &User, mut attrs: Attrs, condition: Option<Condition>) -> Write {
    attrs.insert(
        Index::First.attribute().into(),
        json!(keys::users_by_role_pk(&user.org, user.role)),
    );
    if !user.is_active() {
        attrs.insert(
            Index::Second.attribute().into(),
            json!(keys::deactivated_users_pk(&user.org)),
        );
    }
    put(keys::user(&user.org, &user.id), attrs, condition)
}

/// What a user's record derives, besides itself: a membership item per group and a search entry
/// per term.
fn derived(user: &User) -> Vec<Key> {
    let mut keys: Vec<Key> = user
        .groups
        .iter()
        .map(|g| keys::member(&user.org, g, &user.id))
        .collect();
    keys.extend(
        user.search_terms()
            .iter()
            .map(|t| keys::user_search(&user.org, t, &user.id)),
    );
    keys
}

/// The writes of a new user (`before` none: on condition that it is absent) or of a change from
/// `before` as read (on condition that its version is unchanged): the record, and what it
/// derives that changed (items no longer derived deleted, new ones made).
pub(super) fn user_writes(before: Option<&User>, after: &User) -> Vec<Write> {
    let (attrs, condition) = match before {
        Some(before) => versioned(after, before.version),
        None => (encode(after), Condition::NotExists),
    };
    let mut writes = vec![user_put(after, attrs, Some(condition))];
    let old = before.map(derived).unwrap_or_default();
    let new = derived(after);
    writes.extend(
        old.iter()
            .filter(|k| !new.contains(k))
            .map(|k| Write::Delete {
                key: k.clone(),
                condition: None,
            }),
    );
    writes.extend(
        new.into_iter()
            .filter(|k| !old.contains(k))
            .map(|key| derived_put(key, after)),
    );
    writes
}

fn derived_put(key: Key, user: &User) -> Write {
    let mut attrs = Attrs::new();
    attrs.insert("user_id".into(), json!(user.id));
    put(key, attrs, None)
}

/// The claims a change of email or uid moves: the old one released (on condition that it is the
/// account's), the new one taken (on condition that it is free), each with what its condition
/// failing means.
fn claim_moves(before: &User, after: &User, at: Option<Timestamp>) -> Vec<(Write, WriteError)> {
    let (old, new) = (user_claims(before), user_claims(after));
    let mut moves: Vec<(Write, WriteError)> = old
        .iter()
        .filter(|k| !new.contains(k))
        .map(|k| {
            let release = Write::Delete {
                key: k.clone(),
                condition: Some(owned_by(&before.id)),
            };
            (release, WriteError::Stale)
        })
        .collect();
    for key in new.into_iter().filter(|k| !old.contains(k)) {
        let taken = if after
            .email
            .as_ref()
            .is_some_and(|e| key == keys::email_claim(&after.org, e))
        {
            WriteError::EmailTaken
        } else {
            WriteError::UidTaken
        };
        let free = match at {
            Some(at) => Condition::Any(vec![
                Condition::NotExists,
                Condition::All(vec![
                    Condition::Equals("owner".into(), json!("invitation")),
                    Condition::Below("expires_at".into(), at.unix_seconds() + 1),
                ]),
            ]),
            None => Condition::NotExists,
        };
        let claim = put(key, user_claim_attrs(after), Some(free));
        moves.push((claim, taken));
    }
    moves
}

/// Nothing is written unless `admin` is still the active admin it was read as.
fn still_admin(admin: &User) -> Write {
    Write::Check {
        key: keys::user(&admin.org, &admin.id),
        condition: Condition::Equals(VERSION.into(), json!(admin.version)),
    }
}

impl Records {
    /// A change of an account, with `also` (a token spent with it) in the same write.
    pub(super) async fn write_user_update(
        &self,
        change: &UserUpdate<'_>,
        also: Vec<Write>,
        events: &ChangeEvents,
    ) -> Result<(), WriteError> {
        let mut writes = user_writes(Some(change.before), change.after);
        writes.extend(change.other_admin.map(still_admin));
        writes.extend(also);
        let first_claim = writes.len();
        let (claims, refusals): (Vec<Write>, Vec<WriteError>) =
            claim_moves(change.before, change.after, change.at)
                .into_iter()
                .unzip();
        writes.extend(claims);
        match self.write(with_events(writes, events)).await {
            Ok(()) => Ok(()),
            Err(ItemError::ConditionFailed { index }) if index >= first_claim => Err(refusals
                .into_iter()
                .nth(index - first_claim)
                .unwrap_or(WriteError::Stale)),
            Err(e) => Err(write_error(e)),
        }
    }

    /// The users at these ids (in order; gone ones left out), read by key.
    async fn users_at(&self, org: &OrgDomain, ids: &[UserId]) -> Result<Vec<User>, StoreError> {
        let keys: Vec<Key> = ids.iter().map(|id| keys::user(org, id)).collect();
        let mut users = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(100) {
            for item in self
                .items
                .get_many(chunk)
                .await
                .map_err(unavailable)?
                .into_iter()
                .flatten()
            {
                users.push(decode(item.attrs)?);
            }
        }
        Ok(users)
    }
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

    async fn update_user(
        &self,
        change: &UserUpdate<'_>,
        events: &ChangeEvents,
    ) -> Result<(), WriteError> {
        self.write_user_update(change, Vec::new(), events).await
    }

    async fn erase_account(
        &self,
        user: &User,
        other_admin: Option<&User>,
        job: &gatehouse_domain::model::ErasureJob,
        events: &ChangeEvents,
    ) -> Result<(), WriteError> {
        let mut writes = vec![Write::Delete {
            key: keys::user(&user.org, &user.id),
            condition: Some(Condition::Equals(VERSION.into(), json!(user.version))),
        }];
        writes.extend(user_claims(user).into_iter().map(|key| Write::Delete {
            key,
            condition: Some(owned_by(&user.id)),
        }));
        writes.extend(other_admin.map(still_admin));
        writes.push(erasure_put(job));
        // What the record derives goes with it, as much as one write holds; the rest (a person in
        // some 90 groups) right after, by then pointing at nobody.
        let mut derived = derived(user).into_iter().map(|key| Write::Delete {
            key,
            condition: None,
        });
        writes.extend(derived.by_ref().take(80));
        self.write(with_events(writes, events))
            .await
            .map_err(write_error)?;
        let rest: Vec<Write> = derived.collect();
        for chunk in rest.chunks(25) {
            self.write(chunk.to_vec()).await.map_err(write_error)?;
        }
        Ok(())
    }

    async fn save_email_change(&self, change: &EmailChange) -> Result<(), WriteError> {
        let mut attrs = encode(change);
        attrs.insert(TTL_ATTRIBUTE.into(), json!(change.expires_at));
        let key = keys::email_change(&change.token_hash);
        self.write(vec![put(key, attrs, Some(Condition::NotExists))])
            .await
            .map_err(write_error)
    }

    async fn email_change(&self, token: &TokenHash) -> Result<Option<EmailChange>, StoreError> {
        self.get(&keys::email_change(token)).await
    }

    async fn confirm_email_change(
        &self,
        change: &UserUpdate<'_>,
        token: &TokenHash,
        events: &ChangeEvents,
    ) -> Result<(), WriteError> {
        let spend = Write::Delete {
            key: keys::email_change(token),
            condition: Some(Condition::Equals("user_id".into(), json!(change.after.id))),
        };
        self.write_user_update(change, vec![spend], events).await
    }

    async fn rewrite_user(&self, user: &User) -> Result<(), WriteError> {
        let mut writes = user_writes(Some(user), user);
        writes.extend(derived(user).into_iter().map(|key| derived_put(key, user)));
        self.write(writes).await.map_err(write_error)
    }

    async fn active_admins(&self, org: &OrgDomain) -> Result<Vec<User>, StoreError> {
        let mut ids = Vec::new();
        let mut after = None;
        loop {
            let chunk = self
                .items
                .query(&Query {
                    index: Some(Index::First),
                    pk: keys::users_by_role_pk(org, Role::Admin),
                    sk_prefix: String::new(),
                    after,
                    limit: 100,
                    descending: false,
                })
                .await
                .map_err(unavailable)?;
            ids.extend(
                chunk
                    .items
                    .iter()
                    .filter_map(|i| UserId::parse(&i.key.sk).ok()),
            );
            match chunk.last_sk {
                Some(last) => after = Some(last),
                None => break,
            }
        }
        // The index may lag: each is read again by key, and kept only if it is one still.
        let mut admins = self.users_at(org, &ids).await?;
        admins.retain(|u| u.role == Role::Admin && u.is_active());
        Ok(admins)
    }

    async fn find_users(
        &self,
        org: &OrgDomain,
        query: &gatehouse_domain::ports::UserQuery,
        page: &PageRequest,
    ) -> Result<Page<User>, StoreError> {
        self.find_users_in(org, query, page).await
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
        let mut writes = vec![user_put(user, attrs, Some(unchanged))];
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
