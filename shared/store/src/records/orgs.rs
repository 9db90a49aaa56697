//! The organisations: created once, listed in domain order.

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl OrgStore for Records {
    async fn create_org(
        &self,
        org: &Org,
        groups: &[Group],
        admin: &User,
        events: &ChangeEvents,
    ) -> Result<(), WriteError> {
        let mut writes = vec![put(
            keys::org(&org.domain),
            encode(org),
            Some(Condition::NotExists),
        )];
        writes.push(put(
            keys::org_entry(&org.domain),
            encode(&OrgEntry {
                domain: org.domain.clone(),
                created_at: org.created_at,
            }),
            Some(Condition::NotExists),
        ));
        for g in groups {
            writes.push(put(
                keys::group(&org.domain, &g.id),
                encode(g),
                Some(Condition::NotExists),
            ));
            writes.push(put(
                keys::group_name(&org.domain, &g.name),
                group_name_claim(g),
                Some(Condition::NotExists),
            ));
            writes.push(put(
                keys::group_look(&org.domain, &g.name),
                group_name_claim(g),
                Some(Condition::NotExists),
            ));
        }
        writes.extend(user_writes(None, admin));
        for claim in user_claims(admin) {
            writes.push(put(
                claim,
                user_claim_attrs(admin),
                Some(Condition::NotExists),
            ));
        }
        match self.write(with_events(writes, events)).await {
            Ok(()) => Ok(()),
            Err(ItemError::ConditionFailed { index: 0 }) => Err(WriteError::AlreadyExists),
            Err(e) => Err(write_error(e)),
        }
    }

    async fn org(&self, domain: &OrgDomain) -> Result<Option<Org>, StoreError> {
        self.get(&keys::org(domain)).await
    }

    async fn update_org(&self, org: &Org, events: &ChangeEvents) -> Result<(), WriteError> {
        let (attrs, unchanged) = versioned(org, org.version);
        let writes = vec![put(keys::org(&org.domain), attrs, Some(unchanged))];
        self.write(with_events(writes, events))
            .await
            .map_err(write_error)
    }

    async fn orgs(&self, page: &PageRequest) -> Result<Page<OrgEntry>, StoreError> {
        self.page_of(keys::ORGS_PK.into(), page, false, |sk| {
            OrgDomain::parse(sk).is_ok()
        })
        .await
    }
}
