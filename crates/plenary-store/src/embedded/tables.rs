//! The redb tables of the embedded store.

use redb::{Database, TableDefinition};

use crate::StoreError;

/// (document, sequence number) → encoded [`LogEntry`](crate::LogEntry).
pub(super) const LOG: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("log");
/// document → last sequence number (0 for a document with a snapshot or version but no log
/// yet). Its keys are the list of documents.
pub(super) const HEADS: TableDefinition<&str, u64> = TableDefinition::new("heads");
/// (document, sequence number) → snapshot state.
pub(super) const SNAPSHOTS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("snapshots");
/// (document, kind, sequence number) → checkpoint data.
pub(super) const CHECKPOINTS: TableDefinition<(&str, &str, u64), &[u8]> =
    TableDefinition::new("checkpoints");
/// (document, version name) → JSON-encoded [`Version`](crate::Version).
pub(super) const VERSIONS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("versions");

/// Creates the tables up front so readers never meet a missing table.
pub(super) fn create_all(db: &Database) -> Result<(), StoreError> {
    let txn = db.begin_write().map_err(backend)?;
    txn.open_table(LOG).map_err(backend)?;
    txn.open_table(HEADS).map_err(backend)?;
    txn.open_table(SNAPSHOTS).map_err(backend)?;
    txn.open_table(VERSIONS).map_err(backend)?;
    txn.open_table(CHECKPOINTS).map_err(backend)?;
    txn.commit().map_err(backend)
}

/// redb failures (I/O, a damaged file) are the backend failing.
pub(super) fn backend(error: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("embedded database: {error}"))
}
