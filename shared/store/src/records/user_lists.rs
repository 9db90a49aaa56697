//! The filtered list of users: one partition read, the one the most selective filter names (a
//! search's entries, a group's members, the index by role or of deactivated accounts), and the
//! other filters applied to what it holds, a bounded number of chunks at a time.

#[allow(unused_imports)]
use super::*;

use gatehouse_domain::model::UserStatus;
use gatehouse_domain::ports::UserQuery;

/// Chunks of one page read before answering what was found, with a cursor to go on.
const CHUNKS: usize = 4;

/// Where a query's users are read from.
enum Source {
    /// Search entries `{term}#{user id}` beginning with the search.
    Search(String),
    /// A group's member items (sort key: the user id).
    Members(GroupId),
    /// An index partition holding the users' records themselves.
    Index(Index, String),
    /// The users' own partition.
    All,
}

impl Source {
    fn of(org: &OrgDomain, query: &UserQuery) -> Self {
        if let Some(q) = &query.q {
            return Self::Search(q.clone());
        }
        if let Some(group) = &query.group {
            return Self::Members(group.clone());
        }
        if let Some(role) = query.role {
            return Self::Index(Index::First, keys::users_by_role_pk(org, role));
        }
        if query.status == Some(UserStatus::Deactivated) {
            return Self::Index(Index::Second, keys::deactivated_users_pk(org));
        }
        Self::All
    }

    fn query(&self, org: &OrgDomain, after: Option<String>, limit: usize) -> Query {
        let (index, pk, sk_prefix) = match self {
            Self::Search(q) => (None, keys::user_search_pk(org), q.clone()),
            Self::Members(group) => (None, keys::members_pk(org, group), String::new()),
            Self::Index(index, pk) => (Some(*index), pk.clone(), String::new()),
            Self::All => (None, keys::users_pk(org), String::new()),
        };
        Query {
            index,
            pk,
            sk_prefix,
            after,
            limit,
            descending: false,
        }
    }

    /// Whether a cursor's sort key is one this source hands out.
    fn valid(&self, sk: &str) -> bool {
        match self {
            Self::Search(q) => sk.rsplit_once('#').is_some_and(|(term, id)| {
                term.starts_with(q.as_str()) && UserId::parse(id).is_ok()
            }),
            _ => UserId::parse(sk).is_ok(),
        }
    }

    /// The user an item of this source names.
    fn user_id(&self, item: &Item) -> Option<UserId> {
        let id = match self {
            Self::Search(_) => item.key.sk.rsplit_once('#')?.1,
            _ => item.key.sk.as_str(),
        };
        UserId::parse(id).ok()
    }
}

impl Records {
    pub(super) async fn find_users_in(
        &self,
        org: &OrgDomain,
        query: &UserQuery,
        page: &PageRequest,
    ) -> Result<Page<User>, StoreError> {
        let source = Source::of(org, query);
        let mut after = match &page.cursor {
            Some(c) => Some(decode_cursor(c, |sk| source.valid(sk))?),
            None => None,
        };
        let limit = page.limit.max(1);
        let mut found = Vec::new();
        for _ in 0..CHUNKS {
            let chunk = self
                .items
                .query(&source.query(org, after.clone(), limit))
                .await
                .map_err(unavailable)?;
            let users = self.users_of(&source, org, &chunk.items).await?;
            for (item, user) in chunk.items.iter().zip(users) {
                after = Some(item.key.sk.clone());
                let picked = user.filter(|u| {
                    query.picks(u)
                        && match &source {
                            // Each person once: at the first of their terms the search begins.
                            Source::Search(q) => {
                                let term = item.key.sk.rsplit_once('#').map(|(t, _)| t);
                                u.search_terms()
                                    .iter()
                                    .find(|t| t.starts_with(q.as_str()))
                                    .map(String::as_str)
                                    == term
                            }
                            _ => true,
                        }
                });
                found.extend(picked);
                if found.len() == limit {
                    // More may follow this item, in this chunk or the next.
                    return Ok(Page {
                        items: found,
                        next_cursor: after.as_deref().map(encode_cursor),
                    });
                }
            }
            if chunk.last_sk.is_none() {
                return Ok(Page {
                    items: found,
                    next_cursor: None,
                });
            }
        }
        Ok(Page {
            items: found,
            next_cursor: after.as_deref().map(encode_cursor),
        })
    }

    /// The users the items of a chunk name, in order (`None` for one that is gone): read from
    /// the items themselves where they are the records (the index and the users' partition),
    /// by key otherwise.
    async fn users_of(
        &self,
        source: &Source,
        org: &OrgDomain,
        items: &[Item],
    ) -> Result<Vec<Option<User>>, StoreError> {
        match source {
            Source::Index(..) | Source::All => items
                .iter()
                .map(|i| decode(i.attrs.clone()).map(Some))
                .collect(),
            Source::Search(_) | Source::Members(_) => {
                let keys: Vec<Key> = items
                    .iter()
                    .map(|i| {
                        let id = source.user_id(i).ok_or(StoreError::Unavailable(
                            "a user list entry names no user".into(),
                        ))?;
                        Ok(keys::user(org, &id))
                    })
                    .collect::<Result<_, StoreError>>()?;
                let mut users = Vec::with_capacity(keys.len());
                for chunk in keys.chunks(100) {
                    for item in self.items.get_many(chunk).await.map_err(unavailable)? {
                        users.push(item.map(|i| decode(i.attrs)).transpose()?);
                    }
                }
                Ok(users)
            }
        }
    }
}
