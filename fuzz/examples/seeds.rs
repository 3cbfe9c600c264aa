//! Writes the seed corpus: `cargo run --example seeds` (from fuzz/). Deterministic, so the
//! committed `corpus/` can be regenerated and compared.
//!
//! - `corpus/frame/`: whole binary frames as a stock client sends them: sync step 1 (empty and
//!   the seed's state vector), a sync step 2 holding the seeded resolution's whole state, an
//!   update per edit, an awareness update, an awareness query, an auth message, and a frame of
//!   several messages.
//! - `corpus/effect/`: the raw v1 updates (each a single edit of the seeded document).
//! - `corpus/policy/`: a role byte (0 chair, 1 secretariat, 2 delegate of the proposal's
//!   delegation, 3 observer, 6 delegate of another delegation) followed by an update.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use plenary_fuzz::{seed_doc, seed_state, seed_updates};
use yrs::sync::awareness::AwarenessUpdateEntry;
use yrs::sync::{AwarenessUpdate, Message, SyncMessage};
use yrs::updates::encoder::Encode;
use yrs::{ClientID, ReadTxn, StateVector, Transact};

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::create_dir_all(dir).expect("corpus dir");
    fs::write(dir.join(name), bytes).expect("seed written");
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let state = seed_state();
    let sv = seed_doc().doc().transact().state_vector();
    let updates = seed_updates();

    let frame = root.join("frame");
    let step1 = |sv: StateVector| Message::Sync(SyncMessage::SyncStep1(sv)).encode_v1();
    write(&frame, "sync-step1-empty", &step1(StateVector::default()));
    write(&frame, "sync-step1-seed", &step1(sv));
    write(
        &frame,
        "sync-step2-seed",
        &Message::Sync(SyncMessage::SyncStep2(state.clone())).encode_v1(),
    );
    for (name, u) in &updates {
        let m = Message::Sync(SyncMessage::Update(u.clone())).encode_v1();
        write(&frame, &format!("update-{name}"), &m);
    }
    let mut clients = HashMap::new();
    clients.insert(
        ClientID::new(7),
        AwarenessUpdateEntry {
            clock: 3,
            json: r##"{"user":{"name":"Delegate of Japan","color":"#ff0000"},"cursor":null}"##
                .into(),
        },
    );
    let awareness = Message::Awareness(AwarenessUpdate { clients }).encode_v1();
    write(&frame, "awareness", &awareness);
    write(
        &frame,
        "awareness-query",
        &Message::AwarenessQuery.encode_v1(),
    );
    write(
        &frame,
        "auth",
        &Message::Auth(Some("permission denied".into())).encode_v1(),
    );
    let mut several = step1(StateVector::default());
    several.extend_from_slice(&awareness);
    several
        .extend_from_slice(&Message::Sync(SyncMessage::Update(updates[0].1.clone())).encode_v1());
    write(&frame, "several", &several);

    let effect = root.join("effect");
    for (name, u) in &updates {
        write(&effect, name, u);
    }

    let policy = root.join("policy");
    for (name, u) in &updates {
        for (role, label) in [
            (0u8, "chair"),
            (1, "secretariat"),
            (2, "delegate"),
            (3, "observer"),
            (6, "delegate-other"),
        ] {
            let mut bytes = vec![role];
            bytes.extend_from_slice(u);
            write(&policy, &format!("{label}-{name}"), &bytes);
        }
    }
    println!("seeds written under {}", root.display());
}
