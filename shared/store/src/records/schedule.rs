//! The due index the cleanup walks.

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl ScheduleStore for Records {
    async fn due_invitations(
        &self,
        now: Timestamp,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DueEntry>, StoreError> {
        let chunk = self
            .items
            .query(&Query {
                index: None,
                pk: keys::DUE_PK.into(),
                sk_prefix: String::new(),
                after: after.map(str::to_string),
                limit: limit.max(1),
                descending: false,
            })
            .await
            .map_err(unavailable)?;
        let mut pointers = Vec::with_capacity(chunk.items.len());
        for item in chunk.items {
            let due = item
                .key
                .sk
                .split_once('#')
                .and_then(|(t, _)| t.parse::<i64>().ok());
            if due.is_none_or(|t| t > now.unix_seconds()) {
                break;
            }
            let org: OrgDomain =
                serde_json::from_value(item.attrs.get("org").cloned().unwrap_or(Value::Null))
                    .map_err(super::corrupt("due entry"))?;
            let ids: Vec<InvitationId> = serde_json::from_value(
                item.attrs
                    .get("invitations")
                    .cloned()
                    .unwrap_or(Value::Null),
            )
            .map_err(super::corrupt("due entry"))?;
            pointers.push((item.key.sk, org, ids));
        }
        let keys: Vec<Key> = pointers
            .iter()
            .flat_map(|(_, org, ids)| ids.iter().map(|id| keys::invitation(org, id)))
            .collect();
        let mut found = Vec::with_capacity(keys.len());
        for part in keys.chunks(100) {
            found.extend(self.items.get_many(part).await.map_err(unavailable)?);
        }
        let mut found = found.into_iter();
        let mut due = Vec::with_capacity(pointers.len());
        for (entry, org, ids) in pointers {
            let mut invitations = Vec::with_capacity(ids.len());
            for id in ids {
                let invitation = match found.next().flatten() {
                    Some(item) => Some(decode::<Invitation>(item.attrs)?),
                    None => None,
                };
                invitations.push((id, invitation));
            }
            due.push(DueEntry {
                entry,
                org,
                invitations,
            });
        }
        Ok(due)
    }

    async fn settle_due_entry(
        &self,
        entry: &DueEntry,
        current: &[&Invitation],
    ) -> Result<(), StoreError> {
        let key = Key::new(keys::DUE_PK, entry.entry.as_str());
        let mut writes = Vec::new();
        let mut kept = false;
        for invitation in current {
            if let Some(own) = due_key(invitation) {
                kept |= own == key;
                writes.push(due_pointer(own, &invitation.org, &[&invitation.id]));
            }
        }
        if !kept {
            writes.push(Write::Delete {
                key,
                condition: None,
            });
        }
        for part in writes.chunks(100) {
            self.write(part.to_vec()).await.map_err(unavailable)?;
        }
        Ok(())
    }

    async fn remove_invitation(&self, invitation: &Invitation) -> Result<(), WriteError> {
        let mut writes = vec![Write::Delete {
            key: keys::invitation(&invitation.org, &invitation.id),
            condition: Some(Condition::Equals(VERSION.into(), json!(invitation.version))),
        }];
        writes.extend(
            list_keys(invitation)
                .into_iter()
                .chain(due_key(invitation))
                .map(|key| Write::Delete {
                    key,
                    condition: None,
                }),
        );
        writes.push(Write::Delete {
            key: credential_key(&invitation.invitee),
            condition: None,
        });
        writes.extend(self.claim_release(invitation).await?);
        self.write(writes).await.map_err(write_error)
    }
}
