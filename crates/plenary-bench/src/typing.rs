//! What a typist does: realistic small edits into the SPEC §2 structure
//! (`paragraphs`: Y.Array of Y.Map with a `text` Y.Text), and cursor moves.

use rand::Rng;
use rand::rngs::SmallRng;
use yrs::block::ClientID;
use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};
use yrs::updates::encoder::Encode;
use yrs::{
    Array, Doc, Map, MapPrelim, OffsetKind, Options, Out, ReadTxn, Text, TextPrelim, Transact,
};

/// Paragraphs a seeded document starts with.
const SEED_PARAGRAPHS: u32 = 12;
const WORDS: &[&str] = &[
    "the",
    "Member",
    "States",
    "to",
    "ensure",
    "that",
    "measures",
    "reoffending",
    "Commission",
    "invites",
    "further",
    "requests",
    "Secretariat",
    "report",
    "its",
    "session",
    "and",
    "of",
];

/// A document of the kind a browser editor would hold (UTF-16 offsets, as Yjs).
pub(crate) fn new_doc(client_id: u64) -> Doc {
    let mut options = Options::with_client_id(ClientID::new(client_id));
    options.offset_kind = OffsetKind::Utf16;
    Doc::with_options(options)
}

/// Gives an empty document its paragraphs; returns the update, or `None` if it had some.
pub(crate) fn seed(doc: &Doc) -> Option<Vec<u8>> {
    let paragraphs = doc.get_or_insert_array("paragraphs");
    let mut txn = doc.transact_mut();
    if paragraphs.len(&txn) > 0 {
        return None;
    }
    for i in 0..SEED_PARAGRAPHS {
        let map = paragraphs.insert(&mut txn, i, MapPrelim::default());
        map.insert(&mut txn, "id", format!("bench-p{i}"));
        map.insert(
            &mut txn,
            "kind",
            if i < 4 { "preambular" } else { "operative" },
        );
        map.insert(&mut txn, "level", 0.0);
        map.insert(&mut txn, "status", "open");
        let text = map.insert(&mut txn, "text", TextPrelim::new(""));
        text.insert(
            &mut txn,
            0,
            "Recalling the relevant resolutions on crime prevention,",
        );
    }
    Some(txn.encode_update_v1())
}

/// One edit made: its update, the clock the typist's history ends at after
/// it, and the cursor (paragraph, offset) to announce.
pub(crate) struct Edit {
    pub update: Vec<u8>,
    pub end_clock: u32,
    pub cursor: (u32, u32),
    pub moved: bool,
}

/// A typist's habits: it types at a cursor, sometimes moves to another paragraph.
pub(crate) struct Typist {
    pub client_id: u64,
    paragraph: u32,
    offset: u32,
    awareness_clock: u32,
    name: String,
}

impl Typist {
    pub(crate) fn new(client_id: u64, name: String) -> Self {
        Typist {
            client_id,
            paragraph: 0,
            offset: 0,
            awareness_clock: 0,
            name,
        }
    }

    /// Makes one edit: 70 % a character, 25 % a word, 5 % a paste; `None`
    /// while the document has no paragraphs yet.
    pub(crate) fn edit(&mut self, doc: &Doc, rng: &mut SmallRng) -> Option<Edit> {
        let paragraphs = doc.get_or_insert_array("paragraphs");
        let mut txn = doc.transact_mut();
        let count = paragraphs.len(&txn);
        if count == 0 {
            return None;
        }
        let moved = self.paragraph >= count || rng.random_bool(0.08);
        if moved {
            self.paragraph = rng.random_range(0..count);
        }
        let Some(Out::YMap(map)) = paragraphs.get(&txn, self.paragraph) else {
            return None;
        };
        let Some(Out::YText(text)) = map.get(&txn, "text") else {
            return None;
        };
        let len = text.len(&txn);
        if moved || self.offset > len {
            self.offset = rng.random_range(0..=len);
        }
        let roll: f64 = rng.random();
        let insert = if roll < 0.70 {
            char::from(b'a' + rng.random_range(0..26u8)).to_string()
        } else if roll < 0.95 {
            format!("{} ", WORDS[rng.random_range(0..WORDS.len())])
        } else {
            let n = rng.random_range(8..30);
            (0..n)
                .map(|_| WORDS[rng.random_range(0..WORDS.len())])
                .collect::<Vec<_>>()
                .join(" ")
        };
        text.insert(&mut txn, self.offset, &insert);
        self.offset += insert.len() as u32;
        let update = txn.encode_update_v1();
        drop(txn);
        let end_clock = doc
            .transact()
            .state_vector()
            .get(&ClientID::new(self.client_id));
        Some(Edit {
            update,
            end_clock,
            cursor: (self.paragraph, self.offset),
            moved,
        })
    }

    /// An encoded awareness update announcing the cursor, as an editor would.
    pub(crate) fn awareness(&mut self, cursor: (u32, u32)) -> Vec<u8> {
        self.awareness_clock += 1;
        let json = serde_json::json!({
            "user": { "name": self.name, "color": "#3366cc" },
            "cursor": { "paragraph": cursor.0, "offset": cursor.1 },
        })
        .to_string();
        let mut update = AwarenessUpdate {
            clients: Default::default(),
        };
        update.clients.insert(
            ClientID::new(self.client_id),
            AwarenessUpdateEntry {
                clock: self.awareness_clock,
                json: json.into(),
            },
        );
        update.encode_v1()
    }
}

/// Text of every paragraph, in order.
pub(crate) fn texts(doc: &Doc) -> Vec<String> {
    let paragraphs = doc.get_or_insert_array("paragraphs");
    let txn = doc.transact();
    paragraphs
        .iter(&txn)
        .filter_map(|p| match p {
            Out::YMap(m) => match m.get(&txn, "text") {
                Some(Out::YText(t)) => Some(yrs::GetString::get_string(&t, &txn)),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use rand::SeedableRng;
    use yrs::Update;
    use yrs::updates::decoder::Decode;

    use super::*;

    #[test]
    fn edits_reach_another_replica_and_clocks_grow() {
        let a = new_doc(11);
        let seed_update = seed(&a).unwrap();
        assert!(seed(&a).is_none(), "a seeded document is not seeded twice");
        let b = new_doc(22);
        b.transact_mut()
            .apply_update(Update::decode_v1(&seed_update).unwrap())
            .unwrap();
        let mut typist = Typist::new(22, "t".into());
        let mut rng = SmallRng::seed_from_u64(1);
        let mut last = 0;
        for _ in 0..50 {
            let edit = typist.edit(&b, &mut rng).unwrap();
            assert!(edit.end_clock > last);
            last = edit.end_clock;
            a.transact_mut()
                .apply_update(Update::decode_v1(&edit.update).unwrap())
                .unwrap();
        }
        assert_eq!(texts(&a), texts(&b));
        assert_ne!(texts(&a), texts(&new_doc(3)));
    }
}
