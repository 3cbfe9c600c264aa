//! Key names. Every key of one document carries the hash tag `{<doc>}` so Redis Cluster puts
//! them in one slot (the Lua scripts touch several of them atomically). The suffixes are chosen so
//! that no two documents' keys can coincide, whatever characters the names hold.

pub(super) const DOCS: &str = "plenary:docs";

pub(super) fn log(doc: &str) -> String {
    format!("plenary:{{{doc}}}:log")
}

pub(super) fn seq(doc: &str) -> String {
    format!("plenary:{{{doc}}}:seq")
}

pub(super) fn snapshot_index(doc: &str) -> String {
    format!("plenary:{{{doc}}}:snaps")
}

pub(super) fn snapshot(doc: &str, seq: u64) -> String {
    format!("plenary:{{{doc}}}:snap:{seq}")
}

/// The sorted set indexing a document's checkpoints of one kind (kinds are letters, digits,
/// `-` and `_`, so `:ckpt:<kind>:` cannot meet another key's suffix).
pub(super) fn checkpoint_index(doc: &str, kind: &str) -> String {
    format!("plenary:{{{doc}}}:ckpts:{kind}")
}

pub(super) fn checkpoint(doc: &str, kind: &str, seq: u64) -> String {
    format!("plenary:{{{doc}}}:ckpt:{kind}:{seq}")
}

pub(super) fn versions(doc: &str) -> String {
    format!("plenary:{{{doc}}}:versions")
}

/// The channel on which each append to `doc`'s log is announced (`watches.rs`).
pub(super) fn appended(doc: &str) -> String {
    format!("plenary:{{{doc}}}:appended")
}

pub(super) fn awareness(doc: &str) -> String {
    format!("plenary:{{{doc}}}:awareness")
}

/// A claim ([`crate::Store::claim`]); the key is hex-encoded, so any string is safe and no claim
/// can meet another key's suffix.
pub(super) fn claim(doc: &str, key: &str) -> String {
    let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
    format!("plenary:{{{doc}}}:claim:{hex}")
}
