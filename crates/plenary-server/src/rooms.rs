//! The registry of loaded rooms: one per document, created on first join,
//! removed by the room itself when it unloads.
//!
//! Architecture invariant: at most one room per document name is registered
//! at a time. A join that races with an unloading room gets an error from
//! that room (or a closed channel) and retries with a fresh room, so no
//! connection is ever attached to a room that is going away.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use plenary_auth::Principal;
use tokio::sync::{mpsc, oneshot};

use crate::room::{ConnHandle, Room, RoomCmd};
use crate::state::ServerState;

#[derive(Default)]
pub(crate) struct Rooms {
    map: Mutex<HashMap<String, (mpsc::Sender<RoomCmd>, u64)>>,
    generation: AtomicU64,
}

/// Why a connection could not join its document.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct JoinError(pub String);

impl Rooms {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (mpsc::Sender<RoomCmd>, u64)>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get_or_spawn(&self, state: &Arc<ServerState>, doc: &str) -> (mpsc::Sender<RoomCmd>, u64) {
        let mut map = self.lock();
        if let Some(entry) = map.get(doc) {
            return entry.clone();
        }
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        let tx = Room::spawn(doc.to_string(), state.clone(), generation);
        map.insert(doc.to_string(), (tx.clone(), generation));
        (tx, generation)
    }

    /// Attaches a connection to its document's room, loading it if needed.
    pub(crate) async fn join(
        &self,
        state: &Arc<ServerState>,
        doc: &str,
        conn: ConnHandle,
    ) -> Result<mpsc::Sender<RoomCmd>, JoinError> {
        self.ask(state, doc, |ready| RoomCmd::Join {
            conn: conn.clone(),
            ready,
        })
        .await
    }

    /// Sends `doc`'s room (loading it if needed) the command `make` builds around an answer
    /// channel and waits for the answer, retrying past a room that is going away or asks to
    /// retry. Returns the room's channel.
    async fn ask(
        &self,
        state: &Arc<ServerState>,
        doc: &str,
        make: impl Fn(oneshot::Sender<Result<(), String>>) -> RoomCmd,
    ) -> Result<mpsc::Sender<RoomCmd>, JoinError> {
        for _ in 0..8 {
            let (tx, generation) = self.get_or_spawn(state, doc);
            let (ready, answer) = oneshot::channel();
            if tx.send(make(ready)).await.is_err() {
                self.forget(doc, generation);
                continue;
            }
            match answer.await {
                Ok(Ok(())) => return Ok(tx),
                Ok(Err(e)) if e.ends_with("retry") => continue,
                Ok(Err(e)) => return Err(JoinError(e)),
                Err(_) => {
                    self.forget(doc, generation);
                    continue;
                }
            }
        }
        Err(JoinError("document busy; try again".into()))
    }

    /// Sends a command to `doc`'s room (loading it if needed; the caller
    /// has checked that the document exists), retrying past a room that is
    /// going away. Gives the command back when no room would take it.
    pub(crate) async fn command(
        &self,
        state: &Arc<ServerState>,
        doc: &str,
        mut cmd: RoomCmd,
    ) -> Result<(), RoomCmd> {
        for _ in 0..8 {
            let (tx, generation) = self.get_or_spawn(state, doc);
            match tx.send(cmd).await {
                Ok(()) => return Ok(()),
                Err(mpsc::error::SendError(back)) => {
                    self.forget(doc, generation);
                    cmd = back;
                }
            }
        }
        Err(cmd)
    }

    /// Has `doc`'s room (loading it if needed) write meta `revision` = `name`
    /// as `by`'s change: a version was named (see `Room::write_revision`).
    pub(crate) async fn write_revision(
        &self,
        state: &Arc<ServerState>,
        doc: &str,
        by: &Principal,
        name: &str,
    ) -> Result<(), JoinError> {
        self.ask(state, doc, |done| RoomCmd::Revision {
            by: Box::new(by.clone()),
            name: name.to_owned(),
            done,
        })
        .await
        .map(|_| ())
    }

    /// Removes the registration of `doc` if it is still this generation's.
    pub(crate) fn forget(&self, doc: &str, generation: u64) {
        let mut map = self.lock();
        if map.get(doc).is_some_and(|(_, g)| *g == generation) {
            map.remove(doc);
        }
    }

    /// Whether `doc` has a room now (then it exists: rooms are only opened for documents that do).
    pub(crate) fn is_loaded(&self, doc: &str) -> bool {
        self.lock().contains_key(doc)
    }

    /// Whether any room is still registered (used while shutting down).
    pub(crate) fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}
