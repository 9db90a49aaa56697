//! A store file written by Gatehouse before redb 5 (redb 2, file format v2, tuples in the old
//! encoding) cannot be opened by redb 3 or later. Such a file is copied once, table by table, into
//! a new file when the store opens; the old file is kept next to it as `<name>.redb2`.

use std::path::{Path, PathBuf};

use gatehouse_store::ItemError;

use crate::store::backend;

/// The tables as redb 2 knew them: the same names and types as `store.rs`'s.
const ITEMS: redb2::TableDefinition<(&str, &str), &[u8]> = redb2::TableDefinition::new("items");
type IndexTable2 = redb2::TableDefinition<'static, (&'static str, &'static str, &'static str), ()>;
const INDEXES: [&str; 2] = ["gsi1", "gsi2"];

/// Where the old file is kept after it has been copied.
pub fn kept_copy(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".redb2");
    PathBuf::from(name)
}

/// Copies the redb 2 file at `path` into a current one in its place. All or nothing: the new
/// file is written beside it and moved into place only once complete; a crash before that leaves
/// the old file as it was, to be copied again on the next start.
pub(crate) fn from_redb2(path: &Path) -> Result<(), ItemError> {
    let mut name = path.as_os_str().to_owned();
    name.push(".migrating");
    let partial = PathBuf::from(name);
    let _ = std::fs::remove_file(&partial);

    let old = redb2::Database::open(path).map_err(backend)?;
    let new = redb::Database::create(&partial).map_err(backend)?;
    let read = old.begin_read().map_err(backend)?;
    let write = new.begin_write().map_err(backend)?;
    let mut copied = 0usize;
    {
        let mut items = write.open_table(crate::store::ITEMS).map_err(backend)?;
        if let Some(table) = existing(read.open_table(ITEMS))? {
            for row in redb2::ReadableTable::iter(&table).map_err(backend)? {
                let (key, value) = row.map_err(backend)?;
                let (pk, sk) = key.value();
                items.insert((pk, sk), value.value()).map_err(backend)?;
                copied += 1;
            }
        }
    }
    for name in INDEXES {
        let mut entries = write
            .open_table(crate::store::IndexTable::new(name))
            .map_err(backend)?;
        if let Some(table) = existing(read.open_table(IndexTable2::new(name)))? {
            for row in redb2::ReadableTable::iter(&table).map_err(backend)? {
                let (key, _) = row.map_err(backend)?;
                entries.insert(key.value(), ()).map_err(backend)?;
            }
        }
    }
    write.commit().map_err(backend)?;
    drop((read, old, new));

    std::fs::rename(path, kept_copy(path)).map_err(backend)?;
    std::fs::rename(&partial, path).map_err(backend)?;
    tracing::info!(
        items = copied,
        kept = %kept_copy(path).display(),
        "the store file was written by redb 2; copied into the current format"
    );
    Ok(())
}

/// A table, or `None` when the old file never had it.
fn existing<T>(opened: Result<T, redb2::TableError>) -> Result<Option<T>, ItemError> {
    match opened {
        Ok(table) => Ok(Some(table)),
        Err(redb2::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(backend(e)),
    }
}
