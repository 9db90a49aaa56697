//! Sessions and password resets.

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl SessionStore for Records {
    async fn create_session(&self, session: &Session) -> Result<(), WriteError> {
        self.write(vec![session_put(session)])
            .await
            .map_err(write_error)
    }

    async fn open_session(
        &self,
        session: &Session,
        attempts: &[AttemptsChange],
        events: &ChangeEvents,
    ) -> Result<(), WriteError> {
        // Noted on the account in place (its version unchanged), on condition that it is still
        // active: a deactivation that landed since the password was checked wins.
        let mut signed_in = Attrs::new();
        signed_in.insert("last_sign_in_at".into(), json!(session.created_at));
        let mut writes = vec![
            session_put(session),
            Write::Update {
                key: keys::user(&session.org, &session.user_id),
                add: Vec::new(),
                set: signed_in,
                condition: Some(Condition::Any(vec![
                    Condition::Lacks("status".into()),
                    Condition::Equals("status".into(), json!("active")),
                ])),
            },
        ];
        writes.extend(attempts.iter().map(attempts_write));
        self.write(with_events(writes, events))
            .await
            .map_err(write_error)
    }

    async fn session(
        &self,
        org: &OrgDomain,
        user: &UserId,
        token: &TokenHash,
    ) -> Result<Option<Session>, StoreError> {
        Ok(self
            .get::<Session>(&keys::session(org, user, token))
            .await?
            .filter(|s| &s.org == org && &s.user_id == user))
    }

    async fn end_session(
        &self,
        org: &OrgDomain,
        user: &UserId,
        token: &TokenHash,
    ) -> Result<(), StoreError> {
        self.items
            .write(vec![Write::Delete {
                key: keys::session(org, user, token),
                condition: None,
            }])
            .await
            .map_err(unavailable)
    }

    async fn end_sessions(
        &self,
        org: &OrgDomain,
        user: &UserId,
        keep: Option<&TokenHash>,
    ) -> Result<usize, StoreError> {
        let mut ended = 0;
        loop {
            // Always from the start: what was deleted is gone, what was kept is skipped.
            let page = self
                .items
                .query(&Query {
                    index: None,
                    pk: keys::sessions_pk(org, user),
                    sk_prefix: String::new(),
                    after: None,
                    limit: 100,
                    descending: false,
                })
                .await
                .map_err(unavailable)?;
            let doomed: Vec<Write> = page
                .items
                .iter()
                .filter(|i| keep.is_none_or(|k| i.key.sk != k.as_str()))
                .map(|i| Write::Delete {
                    key: i.key.clone(),
                    condition: None,
                })
                .collect();
            if doomed.is_empty() {
                return Ok(ended);
            }
            ended += doomed.len();
            for chunk in doomed.chunks(25) {
                self.write(chunk.to_vec()).await.map_err(unavailable)?;
            }
        }
    }
}
