//! Invitations: claims of an email or uid, credentials, acceptance, revocation, lists.

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl InvitationStore for Records {
    async fn create_invitation_charged(
        &self,
        invitation: &Invitation,
        charges: &[AttemptsChange],
        events: &ChangeEvents,
    ) -> Result<(), WriteError> {
        let mut writes = invitation_writes(invitation, true);
        let first_charge = writes.len();
        writes.extend(charges.iter().map(attempts_write));
        match self.write(with_events(writes, events)).await {
            Ok(()) => Ok(()),
            Err(ItemError::ConditionFailed { index: 0 }) => Err(taken(&invitation.invitee)),
            Err(ItemError::ConditionFailed { index }) if index >= first_charge => {
                Err(WriteError::QuotaSpent(index - first_charge))
            }
            Err(ItemError::ConditionFailed { .. }) => Err(WriteError::AlreadyExists),
            Err(e) => Err(write_error(e)),
        }
    }

    async fn invitation(
        &self,
        org: &OrgDomain,
        id: &InvitationId,
    ) -> Result<Option<Invitation>, StoreError> {
        self.get(&keys::invitation(org, id)).await
    }

    async fn invitation_holding(
        &self,
        org: &OrgDomain,
        id: &InvitationId,
        credential: &Credential,
    ) -> Result<Option<Invitation>, StoreError> {
        let holds = |invitee: &Invitee| match (invitee, credential) {
            (Invitee::Email { token_hash, .. }, Credential::LinkToken(t)) => token_hash == t,
            (Invitee::Uid { code_hash, .. }, Credential::AccessCode(c)) => code_hash == c,
            _ => false,
        };
        Ok(self
            .invitation(org, id)
            .await?
            .filter(|inv| holds(&inv.invitee)))
    }

    async fn update_invitation_charged(
        &self,
        invitation: &Invitation,
        previous: &Invitation,
        charges: &[AttemptsChange],
        events: &ChangeEvents,
    ) -> Result<(), WriteError> {
        let (attrs, unchanged) = versioned(invitation, previous.version);
        let mut writes = vec![invitation_put(invitation, &attrs, Some(unchanged))];
        writes.extend(list_writes(Some(previous), invitation, &attrs));
        let old_credential = credential_key(&previous.invitee);
        let new_credential = credential_key(&invitation.invitee);
        let revoked = matches!(invitation.state, InvitationState::Revoked { .. })
            && !matches!(previous.state, InvitationState::Revoked { .. });
        // A revoked link keeps pointing at its invitation, so that following it says "revoked"
        // (the invitation's state stops it); a revoked access code is forgotten, so that guessing
        // learns nothing.
        let forget_code = revoked && matches!(previous.invitee, Invitee::Uid { .. });
        if forget_code || old_credential != new_credential {
            writes.push(Write::Delete {
                key: old_credential,
                condition: None,
            });
        }
        if !revoked && credential_key(&previous.invitee) != new_credential {
            writes.push(Write::Put {
                item: credential_item(invitation),
                condition: Some(Condition::NotExists),
            });
        } else if !revoked && previous.expires_at != invitation.expires_at {
            // Same credential, new deadline (a resend): keep the credential item in step.
            writes.push(Write::Put {
                item: credential_item(invitation),
                condition: Some(Condition::Equals(
                    "invitation_id".into(),
                    json!(invitation.id),
                )),
            });
        }
        let mut claim_index = None;
        if !revoked && previous.expires_at != invitation.expires_at {
            // A new deadline (a resend) renews the claim on the email or uid: still this
            // invitation's, or free again (nobody else's).
            claim_index = Some(writes.len());
            writes.push(put(
                invitation_claim(invitation),
                invitation_claim_attrs(invitation),
                Some(Condition::Any(vec![
                    Condition::NotExists,
                    owned_by(&invitation.id),
                ])),
            ));
        }
        if revoked {
            writes.extend(self.claim_release(invitation).await?);
        }
        let first_charge = writes.len();
        writes.extend(charges.iter().map(attempts_write));
        match self.write(with_events(writes, events)).await {
            Ok(()) => Ok(()),
            Err(ItemError::ConditionFailed { index }) if Some(index) == claim_index => {
                Err(taken(&invitation.invitee))
            }
            Err(ItemError::ConditionFailed { index }) if index >= first_charge => {
                Err(WriteError::QuotaSpent(index - first_charge))
            }
            Err(e) => Err(write_error(e)),
        }
    }

    async fn invitations(
        &self,
        org: &OrgDomain,
        query: &InvitationQuery,
        page: &PageRequest,
    ) -> Result<Page<Invitation>, StoreError> {
        let by_index = match (&query.invited_by, query.role) {
            (Some(inviter), _) => {
                Some((Index::Second, keys::invitations_by_inviter_pk(org, inviter)))
            }
            (None, Some(role)) => Some((Index::First, keys::invitations_by_role_pk(org, role))),
            (None, None) => None,
        };
        if let Some((index, pk)) = by_index {
            return self.invitations_by_index(index, pk, query, page).await;
        }
        let kind = query.kind.map(|k| k.as_str());
        let state = query.status.map(|s| match s {
            InvitationStatus::Pending | InvitationStatus::Expired => "pending",
            InvitationStatus::Accepted => "accepted",
            InvitationStatus::Revoked => "revoked",
        });
        let by_deadline = state == Some("pending");
        let pk = keys::invitation_list_pk(org, state, kind);
        let after = match &page.cursor {
            Some(c) => Some(decode_cursor(c, |sk| {
                if by_deadline {
                    is_deadline_sk(sk)
                } else {
                    InvitationId::parse(sk).is_ok()
                }
            })?),
            None => None,
        };
        // Live invitations have the latest deadlines: newest deadline first, until the first
        // expired one. Expired ones have the earliest: earliest first, until the first live one.
        let expired_wanted = query.status == Some(InvitationStatus::Expired);
        let chunk = self
            .items
            .query(&Query {
                index: None,
                pk,
                sk_prefix: String::new(),
                after,
                limit: page.limit.max(1),
                descending: !expired_wanted,
            })
            .await
            .map_err(unavailable)?;
        let mut items = Vec::with_capacity(chunk.items.len());
        for item in chunk.items {
            let invitation: Invitation = decode(item.attrs)?;
            if let Some(wanted) = query.status.filter(|_| by_deadline) {
                if invitation.status_at(query.now) != wanted {
                    // Past the boundary between live and expired: nothing more to list.
                    return Ok(Page {
                        items,
                        next_cursor: None,
                    });
                }
            }
            items.push(invitation);
        }
        Ok(Page {
            items,
            next_cursor: chunk.last_sk.as_deref().map(encode_cursor),
        })
    }

    async fn accept_invitation(&self, acceptance: &Acceptance) -> Result<(), WriteError> {
        let Acceptance {
            invitation,
            user,
            session,
            events,
        } = acceptance;
        let InvitationState::Accepted { .. } = invitation.state else {
            return Err(WriteError::Stale);
        };
        let (inv_attrs, unchanged) = versioned(invitation, invitation.version);
        let mut as_read = invitation.clone();
        as_read.state = InvitationState::Pending;
        let copies = list_writes(Some(&as_read), invitation, &inv_attrs);
        // The credential must still be this invitation's. A link token keeps pointing at it
        // (until the deadline's TTL), so that following the link again says it was used; an
        // access code is forgotten, so that guessing learns nothing.
        let still_ours = Some(Condition::Equals(
            "invitation_id".into(),
            json!(invitation.id),
        ));
        let credential = match invitation.invitee {
            Invitee::Email { .. } => Write::Put {
                item: credential_item(invitation),
                condition: still_ours,
            },
            Invitee::Uid { .. } => Write::Delete {
                key: credential_key(&invitation.invitee),
                condition: still_ours,
            },
        };
        let mut writes = vec![
            credential,
            invitation_put(invitation, &inv_attrs, Some(unchanged)),
            session_put(session),
        ];
        writes.extend(user_writes(None, user));
        writes.extend(copies);
        // The account takes over the invitation's claim; any other claim of the account must be free.
        let handed_over = invitation_claim(invitation);
        let first_claim = writes.len();
        for claim in user_claims(user) {
            let condition = if claim == handed_over {
                Condition::All(vec![
                    Condition::Equals("owner".into(), json!("invitation")),
                    owned_by(&invitation.id),
                ])
            } else {
                Condition::NotExists
            };
            writes.push(put(claim, user_claim_attrs(user), Some(condition)));
        }
        match self.write(with_events(writes, events)).await {
            Ok(()) => Ok(()),
            Err(ItemError::ConditionFailed { index }) if index >= first_claim => {
                Err(taken(&invitation.invitee))
            }
            Err(e) => Err(write_error(e)),
        }
    }
}

impl Records {
    /// Releases an invitation's email or uid in the same write, if it still holds it. If it had
    /// expired and moved on to another invitation, it is left alone; should it move on between
    /// this read and the write, the write fails as stale and is retried.
    pub(super) async fn claim_release(
        &self,
        invitation: &Invitation,
    ) -> Result<Option<Write>, WriteError> {
        let claim = invitation_claim(invitation);
        let held = self
            .items
            .get(&claim)
            .await
            .map_err(write_error)?
            .is_some_and(|c| c.attrs.get("owner_id") == Some(&json!(invitation.id)));
        Ok(held.then(|| Write::Delete {
            key: claim,
            condition: Some(owned_by(&invitation.id)),
        }))
    }

    /// Writes every record's writes and the import's progress in one batch; when a record's
    /// condition fails, that record is answered with the refusal `writes_of` gives for the failing
    /// write's index within it, and the batch is tried again without it. The import's own
    /// condition failing stops everything (`Stale`).
    pub(super) async fn write_each<T>(
        &self,
        records: &[T],
        progress: ImportProgress<'_>,
        writes_of: impl Fn(&T, Option<usize>) -> (Vec<Write>, WriteError),
        shared: impl Fn(&[&T]) -> Vec<Write>,
        events: &ChangeEvents,
    ) -> Result<Vec<Result<(), WriteError>>, WriteError> {
        let mut refused: Vec<Option<WriteError>> = records.iter().map(|_| None).collect();
        loop {
            let mut writes = vec![import_write(progress)];
            // For each write after the first: whose it is, and its index among that record's.
            let mut owners = vec![(usize::MAX, 0)];
            let mut written = Vec::with_capacity(records.len());
            for (i, record) in records.iter().enumerate() {
                if refused[i].is_some() {
                    continue;
                }
                let (own, _) = writes_of(record, None);
                owners.extend((0..own.len()).map(|j| (i, j)));
                writes.extend(own);
                written.push(record);
            }
            // Writes of the batch as a whole come last, owned by nobody.
            writes.extend(shared(&written));
            // The events of the records written (each by its record's place), and the batch's
            // own (placed after every record).
            let kept = events.only(|n, _| refused.get(n).is_none_or(|r| r.is_none()));
            match self.write(with_events(writes, &kept)).await {
                Ok(()) => break,
                Err(ItemError::ConditionFailed { index: 0 }) => return Err(WriteError::Stale),
                Err(ItemError::ConditionFailed { index }) => match owners.get(index) {
                    Some(&(i, j)) if i < records.len() => {
                        refused[i] = Some(writes_of(&records[i], Some(j)).1);
                    }
                    _ => return Err(WriteError::Stale),
                },
                Err(e) => return Err(write_error(e)),
            }
        }
        Ok(refused
            .into_iter()
            .map(|r| match r {
                None => Ok(()),
                Some(e) => Err(e),
            })
            .collect())
    }
}
