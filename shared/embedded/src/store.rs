use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::collections::HashSet;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use gatehouse_store::{
    updated, Attrs, Index, Item, ItemError, ItemStore, Key, Query, QueryPage, Write,
};

/// Items keyed by (partition key, sort key); values are the attributes as JSON.
pub(crate) const ITEMS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("items");

/// A secondary index: (index partition, the item's sort key, the item's partition key), kept in
/// the same write transaction as the items.
pub(crate) type IndexTable =
    TableDefinition<'static, (&'static str, &'static str, &'static str), ()>;
const GSI1: IndexTable = TableDefinition::new("gsi1");
/// The change feed (as DynamoDB Streams is for the table): the new image of every item put under
/// the partition-key prefix the feed follows, by a sequence number, kept until acknowledged.
const FEED: TableDefinition<u64, &[u8]> = TableDefinition::new("feed");
const GSI2: IndexTable = TableDefinition::new("gsi2");

fn index_table(index: Index) -> IndexTable {
    match index {
        Index::First => GSI1,
        Index::Second => GSI2,
    }
}

/// The index partition `attrs` place an item in.
fn index_pk(index: Index, attrs: Option<&Attrs>) -> Option<&str> {
    attrs?.get(index.attribute())?.as_str()
}

/// The embedded store: ACID and persistent across restarts (one redb file). redb runs one write
/// transaction at a time, so a batch's conditions are checked and its writes applied with no
/// other writer in between: the same all-or-nothing guarantee as DynamoDB's TransactWriteItems.
#[derive(Clone)]
pub struct EmbeddedItems {
    db: Arc<Database>,
    /// The partition-key prefix the change feed follows (none: no feed).
    feed: Option<Arc<Feed>>,
}

struct Feed {
    prefix: String,
    /// Woken after each write that fed it.
    fed: tokio::sync::Notify,
}

pub(crate) fn backend(e: impl Into<gatehouse_domain::Cause>) -> ItemError {
    ItemError::Backend(e.into())
}

/// redb's page cache (its default is 1 GiB, which an export of 100,000 invitations filled to
/// about 100 MiB): pages beyond it are read again from the operating system's file cache.
const CACHE_BYTES: usize = 32 * 1024 * 1024;

impl EmbeddedItems {
    /// Opens the store at `path`, creating it (and its folder) if needed. A file written before
    /// redb 3 is copied into the current format first (see `migrate`).
    pub fn open(path: &Path) -> Result<Self, ItemError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(backend)?;
        }
        let open = || Database::builder().set_cache_size(CACHE_BYTES).create(path);
        let db = match open() {
            Err(redb::DatabaseError::UpgradeRequired(_)) => {
                crate::migrate::from_redb2(path)?;
                open()
            }
            opened => opened,
        }
        .map_err(backend)?;
        let txn = db.begin_write().map_err(backend)?;
        txn.open_table(ITEMS).map_err(backend)?;
        for index in Index::ALL {
            txn.open_table(index_table(index)).map_err(backend)?;
        }
        txn.open_table(FEED).map_err(backend)?;
        txn.commit().map_err(backend)?;
        Ok(Self {
            db: Arc::new(db),
            feed: None,
        })
    }

    /// The store with a change feed of the items put under partition keys starting with
    /// `prefix` (in the write that puts them): what the table's stream is to the AWS backend.
    pub fn with_feed(mut self, prefix: &str) -> Self {
        self.feed = Some(Arc::new(Feed {
            prefix: prefix.to_string(),
            fed: tokio::sync::Notify::new(),
        }));
        self
    }

    /// Waits until a write feeds the change feed (or returns at once if one did since the last
    /// wait).
    pub async fn fed(&self) {
        match &self.feed {
            Some(feed) => feed.fed.notified().await,
            None => std::future::pending().await,
        }
    }

    /// Up to `limit` items of the change feed, oldest first, with their sequence numbers.
    pub async fn feed(&self, limit: usize) -> Result<Vec<(u64, Item)>, ItemError> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(FEED).map_err(backend)?;
            let mut found = Vec::new();
            for entry in table.iter().map_err(backend)?.take(limit) {
                let (seq, bytes) = entry.map_err(backend)?;
                let item: (String, String, Attrs) =
                    serde_json::from_slice(bytes.value()).map_err(backend)?;
                found.push((
                    seq.value(),
                    Item {
                        key: Key::new(item.0, item.1),
                        attrs: item.2,
                    },
                ));
            }
            Ok(found)
        })
        .await
    }

    /// Forgets the change feed's items up to `seq` (handled).
    pub async fn acknowledge(&self, seq: u64) -> Result<(), ItemError> {
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            {
                let mut table = txn.open_table(FEED).map_err(backend)?;
                table.retain_in(..=seq, |_, _| false).map_err(backend)?;
            }
            txn.commit().map_err(backend)
        })
        .await
    }

    /// A page of an index partition: its entries in sort-key order, each read from the items.
    async fn query_index(&self, index: Index, query: &Query) -> Result<QueryPage, ItemError> {
        if !query.sk_prefix.is_empty() {
            return Err(backend("an index query takes no sort-key prefix"));
        }
        let q = query.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let entries = txn.open_table(index_table(index)).map_err(backend)?;
            let items = txn.open_table(ITEMS).map_err(backend)?;
            let ipk = q.pk.as_str();
            let next_pk = format!("{ipk}\0");
            // (P, s, "") sorts before every entry of P whose sort key is s.
            let lower = match (&q.after, q.descending) {
                (Some(after), false) => Bound::Included((ipk, after.as_str(), "")),
                _ => Bound::Included((ipk, "", "")),
            };
            let upper = match (&q.after, q.descending) {
                (Some(after), true) => Bound::Excluded((ipk, after.as_str(), "")),
                _ => Bound::Excluded((next_pk.as_str(), "", "")),
            };
            let range = entries.range((lower, upper)).map_err(backend)?;
            let entries: Box<dyn Iterator<Item = _>> = if q.descending {
                Box::new(range.rev())
            } else {
                Box::new(range)
            };
            let limit = q.limit.max(1);
            let mut found = Vec::new();
            let mut more = false;
            for entry in entries {
                let (k, _) = entry.map_err(backend)?;
                let (_, sk, pk) = k.value();
                if q.after.as_deref() == Some(sk) {
                    continue;
                }
                if found.len() == limit {
                    more = true;
                    break;
                }
                let attrs = items.get((pk, sk)).map_err(backend)?;
                if let Some(attrs) = attrs {
                    found.push(Item {
                        key: Key::new(pk, sk),
                        attrs: decode(attrs.value())?,
                    });
                }
            }
            let last_sk = if more {
                found.last().map(|i| i.key.sk.clone())
            } else {
                None
            };
            Ok(QueryPage {
                items: found,
                last_sk,
            })
        })
        .await
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Database) -> Result<T, ItemError> + Send + 'static,
    ) -> Result<T, ItemError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || work(&db))
            .await
            .map_err(backend)?
    }
}

fn decode(bytes: &[u8]) -> Result<Attrs, ItemError> {
    serde_json::from_slice(bytes).map_err(backend)
}

fn encode(attrs: &Attrs) -> Result<Vec<u8>, ItemError> {
    serde_json::to_vec(attrs).map_err(backend)
}

#[async_trait]
impl ItemStore for EmbeddedItems {
    async fn get(&self, key: &Key) -> Result<Option<Item>, ItemError> {
        let mut found = self.get_many(std::slice::from_ref(key)).await?;
        Ok(found.pop().flatten())
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, ItemError> {
        let keys = keys.to_vec();
        self.blocking(move |db| {
            // One read transaction: the items as they were at one instant.
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(ITEMS).map_err(backend)?;
            keys.into_iter()
                .map(|key| {
                    let value = table
                        .get((key.pk.as_str(), key.sk.as_str()))
                        .map_err(backend)?;
                    match value {
                        Some(v) => Ok(Some(Item {
                            attrs: decode(v.value())?,
                            key,
                        })),
                        None => Ok(None),
                    }
                })
                .collect()
        })
        .await
    }

    async fn query(&self, query: &Query) -> Result<QueryPage, ItemError> {
        if let Some(index) = query.index {
            return self.query_index(index, query).await;
        }
        let q = query.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(ITEMS).map_err(backend)?;
            // Every key of partition P lies in [(P, ""), (P + "\0", "")).
            let next_pk = format!("{}\0", q.pk);
            let lower: Bound<(&str, &str)> = match (&q.after, q.descending) {
                (Some(after), false) => Bound::Excluded((q.pk.as_str(), after.as_str())),
                _ => Bound::Included((q.pk.as_str(), q.sk_prefix.as_str())),
            };
            let upper: Bound<(&str, &str)> = match (&q.after, q.descending) {
                (Some(after), true) => Bound::Excluded((q.pk.as_str(), after.as_str())),
                _ => Bound::Excluded((next_pk.as_str(), "")),
            };
            let range = table.range((lower, upper)).map_err(backend)?;
            let limit = q.limit.max(1);
            let mut items = Vec::new();
            let mut more = false;
            let mut visit = |entry: Result<
                (redb::AccessGuard<(&str, &str)>, redb::AccessGuard<&[u8]>),
                redb::StorageError,
            >|
             -> Result<bool, ItemError> {
                let (k, v) = entry.map_err(backend)?;
                let (pk, sk) = k.value();
                if pk != q.pk {
                    return Ok(true);
                }
                if !sk.starts_with(q.sk_prefix.as_str()) {
                    // Ascending, we are past the prefix; descending, we have not reached it yet
                    // (or are past it, below).
                    return Ok(!q.descending || sk < q.sk_prefix.as_str());
                }
                if items.len() == limit {
                    more = true;
                    return Ok(true);
                }
                items.push(Item {
                    key: Key::new(pk, sk),
                    attrs: decode(v.value())?,
                });
                Ok(false)
            };
            if q.descending {
                for entry in range.rev() {
                    if visit(entry)? {
                        break;
                    }
                }
            } else {
                for entry in range {
                    if visit(entry)? {
                        break;
                    }
                }
            }
            let last_sk = if more {
                items.last().map(|i| i.key.sk.clone())
            } else {
                None
            };
            Ok(QueryPage { items, last_sk })
        })
        .await
    }

    async fn write(&self, writes: Vec<Write>) -> Result<(), ItemError> {
        if writes.is_empty() {
            return Ok(());
        }
        if writes.len() > 100 {
            return Err(ItemError::Backend(
                "a batch holds at most 100 writes".into(),
            ));
        }
        let mut keys = HashSet::new();
        if !writes.iter().all(|w| keys.insert(w.key().clone())) {
            return Err(ItemError::Backend("a batch may touch each key once".into()));
        }
        let feed_prefix = self.feed.as_ref().map(|f| f.prefix.clone());
        let fed = self
            .blocking(move |db| {
                // redb serialises write transactions: nothing else writes until this one ends.
                let txn = db.begin_write().map_err(backend)?;
                let mut fed = false;
                {
                    let mut table = txn.open_table(ITEMS).map_err(backend)?;
                    for (index, w) in writes.iter().enumerate() {
                        let Some(condition) = w.condition() else {
                            continue;
                        };
                        let key = w.key();
                        let current = table
                            .get((key.pk.as_str(), key.sk.as_str()))
                            .map_err(backend)?
                            .map(|v| decode(v.value()))
                            .transpose()?;
                        if !condition.holds(current.as_ref()) {
                            // Dropping the transaction aborts it: nothing is written.
                            return Err(ItemError::ConditionFailed { index });
                        }
                    }
                    let mut indexes = Index::ALL
                        .iter()
                        .map(|index| txn.open_table(index_table(*index)).map_err(backend))
                        .collect::<Result<Vec<_>, _>>()?;
                    for w in &writes {
                        if matches!(w, Write::Check { .. }) {
                            continue;
                        }
                        let key = w.key();
                        let k = (key.pk.as_str(), key.sk.as_str());
                        let current = table
                            .get(k)
                            .map_err(backend)?
                            .map(|v| decode(v.value()))
                            .transpose()?;
                        let next = match w {
                            Write::Put { item, .. } => Some(item.attrs.clone()),
                            Write::Delete { .. } | Write::Check { .. } => None,
                            Write::Update { add, set, .. } => {
                                Some(updated(current.clone(), add, set))
                            }
                        };
                        match &next {
                            Some(attrs) => {
                                table
                                    .insert(k, encode(attrs)?.as_slice())
                                    .map_err(backend)?;
                                if feed_prefix.as_deref().is_some_and(|p| k.0.starts_with(p)) {
                                    let mut feed = txn.open_table(FEED).map_err(backend)?;
                                    let seq = feed
                                        .last()
                                        .map_err(backend)?
                                        .map_or(0, |(s, _)| s.value() + 1);
                                    let image =
                                        serde_json::to_vec(&(k.0, k.1, attrs)).map_err(backend)?;
                                    feed.insert(seq, image.as_slice()).map_err(backend)?;
                                    fed = true;
                                }
                            }
                            None => {
                                table.remove(k).map_err(backend)?;
                            }
                        }
                        for (index, entries) in Index::ALL.into_iter().zip(indexes.iter_mut()) {
                            let old = index_pk(index, current.as_ref());
                            let new = index_pk(index, next.as_ref());
                            if old == new {
                                continue;
                            }
                            if let Some(ipk) = old {
                                entries.remove((ipk, k.1, k.0)).map_err(backend)?;
                            }
                            if let Some(ipk) = new {
                                entries.insert((ipk, k.1, k.0), ()).map_err(backend)?;
                            }
                        }
                    }
                }
                txn.commit().map_err(backend)?;
                Ok(fed)
            })
            .await?;
        if let (true, Some(feed)) = (fed, &self.feed) {
            feed.fed.notify_one();
        }
        Ok(())
    }
}
