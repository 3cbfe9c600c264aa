//! In-process fan-out of appends and presence, per document: the embedded store's stand-in for
//! Redis streams and pub/sub.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use crate::LogEntry;

/// How many appends a watch may fall behind before it reads the rest back from the file. A
/// broadcast ring keeps its last values whether or not anyone reads them, so this bounds memory
/// per document at this many updates (each up to the message-size limit): small, since a
/// watch that falls behind loses nothing, it reads the gap from the file.
const LOG_CAPACITY: usize = 64;
/// How many presence messages a slow subscriber may miss before skipping ahead.
const AWARENESS_CAPACITY: usize = 256;

type Appended = Arc<(u64, LogEntry)>;
type Presence = Arc<(String, Vec<u8>)>;

#[derive(Default)]
pub(super) struct Hubs {
    logs: Mutex<HashMap<String, broadcast::Sender<Appended>>>,
    awareness: Mutex<HashMap<String, broadcast::Sender<Presence>>>,
}

impl Hubs {
    pub(super) fn subscribe_log(&self, doc: &str) -> broadcast::Receiver<Appended> {
        subscribe(&self.logs, doc, LOG_CAPACITY)
    }

    pub(super) fn subscribe_awareness(&self, doc: &str) -> broadcast::Receiver<Presence> {
        subscribe(&self.awareness, doc, AWARENESS_CAPACITY)
    }

    /// Called by the writer thread in sequence order, after the commit.
    pub(super) fn publish_entry(&self, doc: &str, seq: u64, entry: LogEntry) {
        if let Ok(logs) = self.logs.lock()
            && let Some(sender) = logs.get(doc)
        {
            let _ = sender.send(Arc::new((seq, entry)));
        }
    }

    pub(super) fn publish_awareness(&self, doc: &str, node: &str, bytes: &[u8]) {
        if let Ok(awareness) = self.awareness.lock()
            && let Some(sender) = awareness.get(doc)
        {
            let _ = sender.send(Arc::new((node.to_owned(), bytes.to_vec())));
        }
    }

    /// Forgets a document's channels once nobody listens, so unloaded documents cost nothing.
    pub(super) fn prune(&self, doc: &str) {
        if let Ok(mut logs) = self.logs.lock()
            && logs.get(doc).is_some_and(|s| s.receiver_count() == 0)
        {
            logs.remove(doc);
        }
        if let Ok(mut awareness) = self.awareness.lock()
            && awareness.get(doc).is_some_and(|s| s.receiver_count() == 0)
        {
            awareness.remove(doc);
        }
    }
}

fn subscribe<T: Clone>(
    map: &Mutex<HashMap<String, broadcast::Sender<T>>>,
    doc: &str,
    capacity: usize,
) -> broadcast::Receiver<T> {
    match map.lock() {
        Ok(mut map) => map
            .entry(doc.to_owned())
            .or_insert_with(|| broadcast::channel(capacity).0)
            .subscribe(),
        // A poisoned map means a panic elsewhere; hand out a receiver that simply ends.
        Err(_) => broadcast::channel(1).1,
    }
}
