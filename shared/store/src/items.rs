use async_trait::async_trait;
use serde_json::Value;

/// An item's attributes other than its key. Values are JSON; backends map them to their own types.
pub type Attrs = serde_json::Map<String, Value>;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub key: Key,
    pub attrs: Attrs,
}

/// A condition on the item currently stored at a write's key.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Exists,
    NotExists,
    /// The attribute exists and equals this value.
    Equals(String, Value),
    /// The attribute is a number strictly below this one.
    Below(String, i64),
    /// The attribute is a number at least this one.
    AtLeast(String, i64),
    /// The item exists without this attribute (a record written before the attribute existed).
    Lacks(String),
    All(Vec<Condition>),
    Any(Vec<Condition>),
}

impl Condition {
    /// Whether the condition holds for `current` (None: no item at the key). Backends without
    /// native conditions evaluate them with this; DynamoDB translates them to expressions.
    pub fn holds(&self, current: Option<&Attrs>) -> bool {
        match self {
            Condition::Exists => current.is_some(),
            Condition::NotExists => current.is_none(),
            Condition::Equals(name, value) => current
                .and_then(|a| a.get(name))
                .is_some_and(|v| v == value),
            Condition::Below(name, n) => current
                .and_then(|a| a.get(name))
                .and_then(Value::as_i64)
                .is_some_and(|v| v < *n),
            Condition::AtLeast(name, n) => current
                .and_then(|a| a.get(name))
                .and_then(Value::as_i64)
                .is_some_and(|v| v >= *n),
            Condition::Lacks(name) => current.is_some_and(|a| !a.contains_key(name)),
            Condition::All(cs) => cs.iter().all(|c| c.holds(current)),
            Condition::Any(cs) => cs.iter().any(|c| c.holds(current)),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    Put {
        item: Item,
        condition: Option<Condition>,
    },
    Delete {
        key: Key,
        condition: Option<Condition>,
    },
    /// Writes nothing; only its condition must hold.
    Check { key: Key, condition: Condition },
    /// Changes an item in place, creating it when absent: adds to numeric attributes (an absent
    /// one counts as 0) and sets others. Concurrent updates never overwrite each other's
    /// additions, so a counter needs no read first (DynamoDB's `UpdateItem` with `ADD`).
    Update {
        key: Key,
        add: Vec<(String, i64)>,
        set: Attrs,
        condition: Option<Condition>,
    },
}

/// `current` changed as an [`Write::Update`] says. For backends without native updates.
pub fn updated(current: Option<Attrs>, add: &[(String, i64)], set: &Attrs) -> Attrs {
    let mut attrs = current.unwrap_or_default();
    for (name, delta) in add {
        let before = attrs.get(name).and_then(Value::as_i64).unwrap_or(0);
        attrs.insert(name.clone(), Value::from(before.saturating_add(*delta)));
    }
    for (name, value) in set {
        attrs.insert(name.clone(), value.clone());
    }
    attrs
}

impl Write {
    pub fn key(&self) -> &Key {
        match self {
            Write::Put { item, .. } => &item.key,
            Write::Delete { key, .. } | Write::Check { key, .. } | Write::Update { key, .. } => key,
        }
    }

    pub fn condition(&self) -> Option<&Condition> {
        match self {
            Write::Put { condition, .. }
            | Write::Delete { condition, .. }
            | Write::Update { condition, .. } => condition.as_ref(),
            Write::Check { condition, .. } => Some(condition),
        }
    }
}

/// The table's secondary indexes. An item is in partition `P` of an index when it has the
/// index's attribute ([`Index::attribute`]) with the value `P`; within the partition items are
/// ordered by their own sort key, which must be unique there (a page continues after a sort key).
/// An index is kept by the store itself in the same write as its items, but reading it may lag
/// the latest writes slightly (DynamoDB's global secondary indexes are eventually consistent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Index {
    First,
    Second,
}

impl Index {
    pub const ALL: [Index; 2] = [Index::First, Index::Second];

    /// The attribute that places an item in the index.
    pub fn attribute(self) -> &'static str {
        match self {
            Index::First => "gsi1pk",
            Index::Second => "gsi2pk",
        }
    }

    /// The index's name (DynamoDB's `IndexName`).
    pub fn name(self) -> &'static str {
        match self {
            Index::First => "gsi1",
            Index::Second => "gsi2",
        }
    }
}

/// Items of one partition whose sort key starts with a prefix, in sort-key order.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// Read a partition of this index rather than of the table (no sort-key prefix then).
    pub index: Option<Index>,
    pub pk: String,
    pub sk_prefix: String,
    /// Continue after this sort key (exclusive).
    pub after: Option<String>,
    pub limit: usize,
    pub descending: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueryPage {
    pub items: Vec<Item>,
    /// Set when more items may follow: pass it as `after` to continue.
    pub last_sk: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ItemError {
    /// The condition of the write at this index (in the batch given) did not hold; nothing was written.
    #[error("the condition of write #{index} did not hold")]
    ConditionFailed { index: usize },
    /// Another transaction touched the same items at the same moment (DynamoDB's
    /// TransactionConflict); nothing was written and retrying may succeed.
    #[error("a concurrent transaction conflicted")]
    Conflict,
    #[error("storage backend failed")]
    Backend(#[source] gatehouse_domain::Cause),
}

/// The primitive every storage backend implements.
#[async_trait]
pub trait ItemStore: Send + Sync {
    async fn get(&self, key: &Key) -> Result<Option<Item>, ItemError>;
    /// The items at these keys, in order (a key may appear more than once), in as few round
    /// trips as the backend allows (one DynamoDB `BatchGetItem` for up to 100 keys).
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, ItemError> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            out.push(self.get(key).await?);
        }
        Ok(out)
    }
    async fn query(&self, query: &Query) -> Result<QueryPage, ItemError>;
    /// Applies every write or none (at most 100, each to a different key). When a condition
    /// fails, answers [`ItemError::ConditionFailed`] with the first failing write's index.
    async fn write(&self, writes: Vec<Write>) -> Result<(), ItemError>;

    /// Puts many items unconditionally, in batches: each item is written whole, but the call as
    /// a whole is not atomic (a failure may leave some written). For loading records that are
    /// already known to be consistent, such as a backfill or a test's fixture, never for a
    /// change that needs a condition.
    async fn put_many(&self, items: Vec<Item>) -> Result<(), ItemError> {
        let mut items = items.into_iter().peekable();
        while items.peek().is_some() {
            let batch: Vec<Write> = items
                .by_ref()
                .take(25)
                .map(|item| Write::Put {
                    item,
                    condition: None,
                })
                .collect();
            self.write(batch).await?;
        }
        Ok(())
    }
}
