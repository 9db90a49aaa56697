//! Invitation lists: by partition or through an index, in pages with opaque cursors.

#[allow(unused_imports)]
use super::*;

/// Index chunks a filtered page reads at most before it answers what it found (maybe less than
/// a page, with a cursor to go on).
pub(super) const INDEX_CHUNKS: usize = 4;

impl Records {
    /// The invitations of one inviter (`gsi2`) or of one role (`gsi1`), newest first, with the
    /// other filters applied to what the index partition holds.
    pub(super) async fn invitations_by_index(
        &self,
        index: Index,
        pk: String,
        query: &InvitationQuery,
        page: &PageRequest,
    ) -> Result<Page<Invitation>, StoreError> {
        let mut after = match &page.cursor {
            Some(c) => Some(decode_cursor(c, |sk| InvitationId::parse(sk).is_ok())?),
            None => None,
        };
        let limit = page.limit.max(1);
        let wanted = |i: &Invitation| {
            query.role.is_none_or(|r| i.role == r)
                && query.kind.is_none_or(|k| i.invitee.kind() == k)
                && query.status.is_none_or(|s| i.status_at(query.now) == s)
        };
        let mut items = Vec::with_capacity(limit);
        for _ in 0..INDEX_CHUNKS {
            let chunk = self
                .items
                .query(&Query {
                    index: Some(index),
                    pk: pk.clone(),
                    sk_prefix: String::new(),
                    after: after.clone(),
                    limit,
                    descending: true,
                })
                .await
                .map_err(unavailable)?;
            let mut unread = chunk.items.into_iter();
            for item in unread.by_ref() {
                let sk = item.key.sk.clone();
                let invitation: Invitation = decode(item.attrs)?;
                if wanted(&invitation) {
                    items.push(invitation);
                }
                after = Some(sk);
                if items.len() == limit {
                    break;
                }
            }
            if chunk.last_sk.is_none() && unread.next().is_none() {
                // The partition ended.
                return Ok(Page {
                    items,
                    next_cursor: None,
                });
            }
            if items.len() == limit {
                break;
            }
        }
        Ok(Page {
            items,
            next_cursor: after.as_deref().map(encode_cursor),
        })
    }
}

pub(super) fn encode_cursor(sk: &str) -> String {
    URL_SAFE_NO_PAD.encode(sk.as_bytes())
}

/// The sort key a cursor continues after, if it is one `valid` accepts.
impl Records {
    /// A page of the records of partition `pk`, in sort-key order (`descending`: reversed),
    /// after the cursor, whose sort key must be `valid`.
    pub(super) async fn page_of<T: DeserializeOwned>(
        &self,
        pk: String,
        page: &PageRequest,
        descending: bool,
        valid: impl Fn(&str) -> bool,
    ) -> Result<Page<T>, StoreError> {
        let after = match &page.cursor {
            Some(c) => Some(decode_cursor(c, valid)?),
            None => None,
        };
        let chunk = self
            .items
            .query(&Query {
                index: None,
                pk,
                sk_prefix: String::new(),
                after,
                limit: page.limit.max(1),
                descending,
            })
            .await
            .map_err(unavailable)?;
        let items = chunk
            .items
            .into_iter()
            .map(|i| decode(i.attrs))
            .collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            next_cursor: chunk.last_sk.as_deref().map(encode_cursor),
        })
    }
}

pub(super) fn decode_cursor(
    cursor: &str,
    valid: impl Fn(&str) -> bool,
) -> Result<String, StoreError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|s| valid(s))
        .ok_or(StoreError::BadCursor)
}
