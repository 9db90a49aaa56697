//! Imports: moved forward by conditional writes, with their batches of invitations and deliveries.

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl ImportStore for Records {
    async fn create_import(&self, import: &Import) -> Result<(), WriteError> {
        let mut attrs = encode(import);
        attrs.insert(VERSION.into(), json!(0));
        match self
            .write(vec![put(
                keys::import(&import.org, &import.id),
                attrs,
                Some(Condition::NotExists),
            )])
            .await
        {
            Ok(()) => Ok(()),
            Err(ItemError::ConditionFailed { .. }) => Err(WriteError::AlreadyExists),
            Err(e) => Err(write_error(e)),
        }
    }

    async fn import(&self, org: &OrgDomain, id: &ImportId) -> Result<Option<Import>, StoreError> {
        self.get(&keys::import(org, id)).await
    }

    async fn imports(
        &self,
        org: &OrgDomain,
        page: &PageRequest,
    ) -> Result<Page<Import>, StoreError> {
        self.page_of(keys::imports_pk(org), page, true, |sk| {
            ImportId::parse(sk).is_ok()
        })
        .await
    }

    async fn update_import(
        &self,
        progress: ImportProgress<'_>,
        events: &ChangeEvents,
    ) -> Result<(), WriteError> {
        self.write(with_events(vec![import_write(progress)], events))
            .await
            .map_err(write_error)
    }

    async fn create_invitations(
        &self,
        invitations: &[Invitation],
        progress: ImportProgress<'_>,
        events: &ChangeEvents,
    ) -> Result<Vec<Result<(), WriteError>>, WriteError> {
        self.write_each(
            invitations,
            progress,
            |invitation, index| {
                let writes = invitation_writes(invitation, false);
                let refusal = match index {
                    Some(0) => taken(&invitation.invitee),
                    _ => WriteError::AlreadyExists,
                };
                (writes, refusal)
            },
            batch_pointer,
            events,
        )
        .await
    }

    async fn record_deliveries(
        &self,
        changes: &[DeliveryChange],
        progress: ImportProgress<'_>,
        events: &ChangeEvents,
    ) -> Result<Vec<Result<(), WriteError>>, WriteError> {
        self.write_each(
            changes,
            progress,
            |change, _| {
                let DeliveryChange { before, after } = change;
                let (attrs, unchanged) = versioned(after, before.version);
                let mut writes = vec![invitation_put(after, &attrs, Some(unchanged))];
                // The batch's due pointer stays: the email's retry time, which the cleanup's visit
                // then finds sent and points to its reminders.
                writes.extend(copy_writes(Some(before), after, &attrs));
                (writes, WriteError::Stale)
            },
            |_| Vec::new(),
            events,
        )
        .await
    }
}
