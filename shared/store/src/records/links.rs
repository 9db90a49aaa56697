//! The organisation's invitation link.

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl LinkStore for Records {
    async fn invitation_link(&self, org: &OrgDomain) -> Result<Option<InvitationLink>, StoreError> {
        self.get(&keys::invitation_link(org)).await
    }

    async fn save_invitation_link(
        &self,
        link: &InvitationLink,
        read_version: Option<u64>,
        events: &ChangeEvents,
    ) -> Result<(), WriteError> {
        let (attrs, condition) = match read_version {
            None => {
                let mut attrs = encode(link);
                attrs.insert(VERSION.into(), json!(0));
                (attrs, Condition::NotExists)
            }
            Some(v) => versioned(link, v),
        };
        let writes = vec![put(
            keys::invitation_link(&link.org),
            attrs,
            Some(condition),
        )];
        self.write(with_events(writes, events))
            .await
            .map_err(write_error)
    }

    async fn register_through_link(
        &self,
        link: &InvitationLink,
        invitation: &Invitation,
        events: &ChangeEvents,
    ) -> Result<(), WriteError> {
        let mut writes = invitation_writes(invitation, true);
        let mut still = vec![
            Condition::Equals("token_hash".into(), json!(link.token_hash)),
            Condition::Equals("active".into(), json!(true)),
        ];
        if let Some(max) = link.max_uses {
            still.push(Condition::Below("uses".into(), i64::from(max)));
        }
        writes.push(Write::Update {
            key: keys::invitation_link(&link.org),
            add: vec![("uses".into(), 1), (VERSION.into(), 1)],
            set: Attrs::new(),
            condition: Some(Condition::All(still)),
        });
        let last = writes.len() - 1;
        match self.write(with_events(writes, events)).await {
            Ok(()) => Ok(()),
            Err(ItemError::ConditionFailed { index: 0 }) => Err(taken(&invitation.invitee)),
            Err(ItemError::ConditionFailed { index }) if index == last => Err(WriteError::Stale),
            Err(ItemError::ConditionFailed { .. }) => Err(WriteError::AlreadyExists),
            Err(e) => Err(write_error(e)),
        }
    }
}
