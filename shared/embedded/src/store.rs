use async_trait::async_trait;
use redb::{Database, ReadableTable, TableDefinition};
use std::collections::HashSet;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use gatehouse_store::{updated, Attrs, Item, ItemError, ItemStore, Key, Query, QueryPage, Write};

/// Items keyed by (partition key, sort key); values are the attributes as JSON.
const ITEMS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("items");

/// The embedded store: ACID and persistent across restarts (one redb file). redb runs one write
/// transaction at a time, so a batch's conditions are checked and its writes applied with no
/// other writer in between: the same all-or-nothing guarantee as DynamoDB's TransactWriteItems.
#[derive(Clone)]
pub struct EmbeddedItems {
    db: Arc<Database>,
}

fn backend(e: impl std::fmt::Display) -> ItemError {
    ItemError::Backend(e.to_string())
}

/// redb's page cache (its default is 1 GiB, which an export of 100,000 invitations filled to
/// about 100 MiB): pages beyond it are read again from the operating system's file cache.
const CACHE_BYTES: usize = 32 * 1024 * 1024;

impl EmbeddedItems {
    /// Opens the store at `path`, creating it (and its folder) if needed.
    pub fn open(path: &Path) -> Result<Self, ItemError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(backend)?;
        }
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .map_err(backend)?;
        let txn = db.begin_write().map_err(backend)?;
        txn.open_table(ITEMS).map_err(backend)?;
        txn.commit().map_err(backend)?;
        Ok(Self { db: Arc::new(db) })
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
            let range = table
                .range::<(&str, &str)>((lower, upper))
                .map_err(backend)?;
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
        self.blocking(move |db| {
            // redb serialises write transactions: nothing else writes until this one ends.
            let txn = db.begin_write().map_err(backend)?;
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
                for w in &writes {
                    match w {
                        Write::Put { item, .. } => {
                            let bytes = encode(&item.attrs)?;
                            table
                                .insert(
                                    (item.key.pk.as_str(), item.key.sk.as_str()),
                                    bytes.as_slice(),
                                )
                                .map_err(backend)?;
                        }
                        Write::Delete { key, .. } => {
                            table
                                .remove((key.pk.as_str(), key.sk.as_str()))
                                .map_err(backend)?;
                        }
                        Write::Check { .. } => {}
                        Write::Update { key, add, set, .. } => {
                            let current = table
                                .get((key.pk.as_str(), key.sk.as_str()))
                                .map_err(backend)?
                                .map(|v| decode(v.value()))
                                .transpose()?;
                            let bytes = encode(&updated(current, add, set))?;
                            table
                                .insert((key.pk.as_str(), key.sk.as_str()), bytes.as_slice())
                                .map_err(backend)?;
                        }
                    }
                }
            }
            txn.commit().map_err(backend)
        })
        .await
    }
}
