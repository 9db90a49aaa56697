//! An [`ItemStore`] that counts the calls made to the one it wraps: how tests hold the key design
//! to its promised cost (requests per operation) on every backend.

use async_trait::async_trait;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::items::{Item, ItemError, ItemStore, Key, Query, QueryPage, Write};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Calls {
    pub gets: usize,
    /// Batched reads (`get_many`), each one round trip.
    pub batch_gets: usize,
    pub queries: usize,
    pub writes: usize,
    /// Items returned by queries.
    pub items_read: usize,
}

pub struct CountingItems {
    inner: Arc<dyn ItemStore>,
    gets: AtomicUsize,
    batch_gets: AtomicUsize,
    queries: AtomicUsize,
    writes: AtomicUsize,
    items_read: AtomicUsize,
}

impl CountingItems {
    pub fn new(inner: Arc<dyn ItemStore>) -> Self {
        Self {
            inner,
            gets: AtomicUsize::new(0),
            batch_gets: AtomicUsize::new(0),
            queries: AtomicUsize::new(0),
            writes: AtomicUsize::new(0),
            items_read: AtomicUsize::new(0),
        }
    }

    /// The calls counted since the last `take`, and a fresh count.
    pub fn take(&self) -> Calls {
        Calls {
            gets: self.gets.swap(0, Ordering::SeqCst),
            batch_gets: self.batch_gets.swap(0, Ordering::SeqCst),
            queries: self.queries.swap(0, Ordering::SeqCst),
            writes: self.writes.swap(0, Ordering::SeqCst),
            items_read: self.items_read.swap(0, Ordering::SeqCst),
        }
    }
}

#[async_trait]
impl ItemStore for CountingItems {
    async fn get(&self, key: &Key) -> Result<Option<Item>, ItemError> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        self.inner.get(key).await
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, ItemError> {
        self.batch_gets.fetch_add(1, Ordering::SeqCst);
        self.inner.get_many(keys).await
    }

    async fn query(&self, query: &Query) -> Result<QueryPage, ItemError> {
        self.queries.fetch_add(1, Ordering::SeqCst);
        let page = self.inner.query(query).await?;
        self.items_read
            .fetch_add(page.items.len(), Ordering::SeqCst);
        Ok(page)
    }

    async fn write(&self, writes: Vec<Write>) -> Result<(), ItemError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.write(writes).await
    }

    async fn put_many(&self, items: Vec<Item>) -> Result<(), ItemError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.put_many(items).await
    }
}

/// Applies nothing: keeps every write it is given, as the items they would leave. Lets a test
/// learn exactly what the records would store, to load it in bulk with [`ItemStore::put_many`].
#[derive(Default)]
pub struct RecordingItems {
    written: std::sync::Mutex<Vec<Item>>,
}

impl RecordingItems {
    /// The items put so far (deletes and checks are not kept), and a fresh record.
    pub fn take(&self) -> Vec<Item> {
        std::mem::take(&mut *self.written.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[async_trait]
impl ItemStore for RecordingItems {
    async fn get(&self, _key: &Key) -> Result<Option<Item>, ItemError> {
        Ok(None)
    }

    async fn query(&self, _query: &Query) -> Result<QueryPage, ItemError> {
        Ok(QueryPage {
            items: Vec::new(),
            last_sk: None,
        })
    }

    async fn write(&self, writes: Vec<Write>) -> Result<(), ItemError> {
        let mut written = self.written.lock().unwrap_or_else(|e| e.into_inner());
        for w in writes {
            match w {
                Write::Put { item, .. } => written.push(item),
                Write::Update { key, add, set, .. } => written.push(Item {
                    key,
                    attrs: crate::items::updated(None, &add, &set),
                }),
                Write::Delete { .. } | Write::Check { .. } => {}
            }
        }
        Ok(())
    }
}
