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

pub(super) fn versions(doc: &str) -> String {
    format!("plenary:{{{doc}}}:versions")
}

pub(super) fn awareness(doc: &str) -> String {
    format!("plenary:{{{doc}}}:awareness")
}
