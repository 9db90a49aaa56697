//! Sign-ins half done (`KEYS.md`, "Sign-in challenges").

#[allow(unused_imports)]
use super::*;
use gatehouse_domain::challenge::{Challenge, ChallengeStore};

#[async_trait]
impl ChallengeStore for Records {
    async fn save_challenge(
        &self,
        challenge: &Challenge,
        attempts: &[AttemptsChange],
    ) -> Result<(), WriteError> {
        let mut attrs = encode(challenge);
        attrs.insert(TTL_ATTRIBUTE.into(), json!(challenge.expires_at));
        let key = keys::challenge(&challenge.org, &challenge.token_hash);
        let mut writes = vec![put(key, attrs, Some(Condition::NotExists))];
        writes.extend(attempts.iter().map(attempts_write));
        self.write(writes).await.map_err(write_error)
    }

    async fn challenge(
        &self,
        org: &OrgDomain,
        hash: &TokenHash,
    ) -> Result<Option<Challenge>, StoreError> {
        Ok(self
            .get::<Challenge>(&keys::challenge(org, hash))
            .await?
            .filter(|c| &c.org == org))
    }

    async fn open_session_after(
        &self,
        challenge: &Challenge,
        change: &UserUpdate<'_>,
        session: &Session,
        attempts: &[AttemptsChange],
        events: &ChangeEvents,
    ) -> Result<(), WriteError> {
        let mut also = vec![
            Write::Delete {
                key: keys::challenge(&challenge.org, &challenge.token_hash),
                condition: Some(Condition::Exists),
            },
            session_put(session),
        ];
        also.extend(attempts.iter().map(attempts_write));
        self.write_user_update(change, also, events).await
    }

    async fn spend_challenge(
        &self,
        challenge: &Challenge,
        change: &UserUpdate<'_>,
        events: &ChangeEvents,
    ) -> Result<(), WriteError> {
        let spent = Write::Delete {
            key: keys::challenge(&challenge.org, &challenge.token_hash),
            condition: Some(Condition::Exists),
        };
        self.write_user_update(change, vec![spent], events).await
    }
}
