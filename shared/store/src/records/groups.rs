//! Groups, their name claims and look-alike claims.

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl GroupStore for Records {
    async fn create_group(
        &self,
        org: &OrgDomain,
        group: &Group,
        events: &ChangeEvents,
    ) -> Result<(), WriteError> {
        let claims = vec![
            put(
                keys::group(org, &group.id),
                encode(group),
                Some(Condition::NotExists),
            ),
            put(
                keys::group_name(org, &group.name),
                group_name_claim(group),
                Some(Condition::NotExists),
            ),
            put(
                keys::group_look(org, &group.name),
                group_name_claim(group),
                Some(Condition::NotExists),
            ),
        ];
        match self.write(with_events(claims, events)).await {
            Ok(()) => Ok(()),
            Err(ItemError::ConditionFailed { index: 2 }) => Err(WriteError::LookalikeTaken),
            Err(ItemError::ConditionFailed { .. }) => Err(WriteError::AlreadyExists),
            Err(e) => Err(write_error(e)),
        }
    }

    async fn groups(&self, org: &OrgDomain) -> Result<Vec<Group>, StoreError> {
        let mut groups = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .items
                .query(&Query {
                    index: None,
                    pk: keys::groups_pk(org),
                    sk_prefix: String::new(),
                    after,
                    limit: 500,
                    descending: false,
                })
                .await
                .map_err(unavailable)?;
            for item in page.items {
                groups.push(decode(item.attrs)?);
            }
            match page.last_sk {
                Some(sk) => after = Some(sk),
                None => return Ok(groups),
            }
        }
    }

    async fn group(&self, org: &OrgDomain, id: &GroupId) -> Result<Option<Group>, StoreError> {
        self.get(&keys::group(org, id)).await
    }

    async fn rename_group(
        &self,
        org: &OrgDomain,
        group: &Group,
        previous: &GroupName,
        events: &ChangeEvents,
    ) -> Result<(), WriteError> {
        let (attrs, mut unchanged) = versioned(group, group.version);
        if group.version == 0 {
            unchanged = Condition::Any(vec![unchanged, Condition::Lacks(VERSION.into())]);
        }
        let mut writes = vec![put(keys::group(org, &group.id), attrs, Some(unchanged))];
        let (old_claim, new_claim) = (
            keys::group_name(org, previous),
            keys::group_name(org, &group.name),
        );
        // Another case of the same name keeps its claim.
        let renamed_claim = old_claim != new_claim;
        if renamed_claim {
            writes.push(put(
                new_claim,
                group_name_claim(group),
                Some(Condition::NotExists),
            ));
            writes.push(Write::Delete {
                key: old_claim,
                condition: Some(owned_by(&group.id)),
            });
        }
        let (old_look, new_look) = (
            keys::group_look(org, previous),
            keys::group_look(org, &group.name),
        );
        let look_index = writes.len();
        if old_look != new_look {
            writes.push(put(
                new_look,
                group_name_claim(group),
                Some(Condition::NotExists),
            ));
            writes.push(Write::Delete {
                key: old_look,
                condition: Some(own_look(&group.id)),
            });
        }
        match self.write(with_events(writes, events)).await {
            Ok(()) => Ok(()),
            Err(ItemError::ConditionFailed { index: 1 }) if renamed_claim => {
                Err(WriteError::AlreadyExists)
            }
            Err(ItemError::ConditionFailed { index }) if index == look_index => {
                Err(WriteError::LookalikeTaken)
            }
            Err(e) => Err(write_error(e)),
        }
    }

    async fn delete_group(
        &self,
        org: &OrgDomain,
        group: &Group,
        settings: Option<&Org>,
        link: Option<&InvitationLink>,
        events: &ChangeEvents,
    ) -> Result<(), WriteError> {
        let mut unchanged = Condition::Equals(VERSION.into(), json!(group.version));
        if group.version == 0 {
            unchanged = Condition::Any(vec![unchanged, Condition::Lacks(VERSION.into())]);
        }
        let mut writes = vec![
            Write::Delete {
                key: keys::group(org, &group.id),
                condition: Some(unchanged),
            },
            Write::Delete {
                key: keys::group_name(org, &group.name),
                condition: Some(owned_by(&group.id)),
            },
            Write::Delete {
                key: keys::group_look(org, &group.name),
                condition: Some(own_look(&group.id)),
            },
        ];
        if let Some(settings) = settings {
            let (attrs, unchanged) = versioned(settings, settings.version);
            writes.push(put(keys::org(org), attrs, Some(unchanged)));
        }
        if let Some(link) = link {
            let (attrs, unchanged) = versioned(link, link.version);
            writes.push(put(keys::invitation_link(org), attrs, Some(unchanged)));
        }
        self.write(with_events(writes, events))
            .await
            .map_err(write_error)
    }

    async fn update_group(
        &self,
        org: &OrgDomain,
        group: &Group,
        events: &ChangeEvents,
    ) -> Result<(), WriteError> {
        let (attrs, mut unchanged) = versioned(group, group.version);
        if group.version == 0 {
            // Groups written before they had a version read as version 0.
            unchanged = Condition::Any(vec![unchanged, Condition::Lacks(VERSION.into())]);
        }
        let writes = vec![put(keys::group(org, &group.id), attrs, Some(unchanged))];
        self.write(with_events(writes, events))
            .await
            .map_err(write_error)
    }
}
