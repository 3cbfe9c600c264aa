//! The sizes a server caps (SPEC §3): a paragraph's text, a footnote's text,
//! the number of paragraphs and of proposals. Each is read in O(1) from the
//! document (yrs keeps a text's and an array's length on its branch) and
//! combined with an update's [`Effect`], so judging an update against the
//! caps costs O(update), never O(document).
//!
//! Lengths are in UTF-16 code units: what Yjs clocks count and what a
//! browser's `text.length` says.
//!
//! A text's length after an update is its length now, plus the units the
//! update inserts there, minus those it deletes (its [`Footprint`]). The
//! deleted units count the formatting marks an update takes off as well, so
//! an update that removes marks and adds as many characters may end that
//! many characters over a cap: a handful, never a paste.
//!
//! [`Footprint`]: crate::Footprint

use yrs::{Array, Map, Out, Text, Transact};

use crate::document::ResolutionDoc;
use crate::effect::{Effect, Target, utf16_len};
use crate::schema::text_of;

/// Which kind of text a [`TextSize`] measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    Paragraph,
    Footnote,
}

/// A text's length now and after an update (UTF-16 code units).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextSize {
    pub kind: TextKind,
    pub now: u64,
    pub after: u64,
}

impl TextSize {
    /// Whether the update lengthens the text. A cap refuses only that:
    /// a text over a cap (lowered since) may always shrink.
    pub fn grows(&self) -> bool {
        self.after > self.now
    }

    /// Whether the update makes the text longer than `cap` allows.
    pub fn exceeds(&self, cap: usize) -> bool {
        self.grows() && self.after > cap as u64
    }
}

impl ResolutionDoc {
    /// Paragraphs in the document: O(1).
    pub fn paragraph_count(&self) -> u32 {
        self.roots().paragraphs.len(&self.doc().transact())
    }

    /// Proposals in the document, open and decided: O(1).
    pub fn proposal_count(&self) -> u32 {
        self.roots().proposals.len(&self.doc().transact())
    }

    /// The length of paragraph `id`'s text: O(1) (a lookup by id and the
    /// text's cached length).
    pub fn paragraph_len(&self, id: &str) -> Option<u32> {
        let txn = self.doc().transact();
        let m = self.paragraph_map_in(&txn, id)?;
        text_of(&txn, &m, "text").map(|t| t.len(&txn))
    }

    /// The length of footnote `id`'s text: O(1).
    pub fn footnote_len(&self, id: &str) -> Option<u32> {
        let txn = self.doc().transact();
        match self.roots().footnotes.get(&txn, id) {
            Some(Out::YText(t)) => Some(t.len(&txn)),
            _ => None,
        }
    }

    /// How long the text `target` holds would be after the update of
    /// `effect`, for the targets that hold one: a paragraph's text, a
    /// paragraph inserted or moved with its text, a footnote. `None` for
    /// other targets, and for a paragraph deleted without being re-inserted.
    /// O(size of the target's footprint).
    pub fn text_size_after(&self, effect: &Effect, target: &Target) -> Option<TextSize> {
        let fp = effect.footprints.get(target)?;
        let edited =
            |now: u64| now + fp.inserted_len() - fp.deleted_len().min(now + fp.inserted_len());
        match target {
            Target::ParagraphText(pid) => {
                let now = u64::from(self.paragraph_len(pid).unwrap_or(0));
                Some(TextSize {
                    kind: TextKind::Paragraph,
                    now,
                    after: edited(now),
                })
            }
            Target::Paragraph(pid) => {
                let pe = effect.paragraphs.get(pid)?;
                pe.inserted.as_ref()?;
                // A new paragraph starts at nothing; a move re-inserts the
                // text as the mover saw it, in place of the current one.
                let now = if pe.deleted {
                    u64::from(self.paragraph_len(pid).unwrap_or(0))
                } else {
                    0
                };
                let after = pe.inserted_runs.as_deref().map_or(0, utf16_len);
                Some(TextSize {
                    kind: TextKind::Paragraph,
                    now,
                    after: u64::from(after),
                })
            }
            Target::Footnote(fid) => {
                let fe = effect.footnotes.get(fid)?;
                let now = u64::from(self.footnote_len(fid).unwrap_or(0));
                let after = if fe.added {
                    // A new text at the key replaces the current one.
                    u64::from(fe.added_len)
                } else if fe.deleted {
                    0
                } else {
                    edited(now)
                };
                Some(TextSize {
                    kind: TextKind::Footnote,
                    now,
                    after,
                })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ParagraphKind, Position, Run};
    use yrs::{GetString, ReadTxn, TextRef};

    fn para(d: &mut ResolutionDoc, text: &str) -> String {
        let (id, _) = d
            .insert_paragraph(
                Position::End,
                ParagraphKind::Operative,
                0,
                &[Run::plain(text)],
            )
            .unwrap();
        id
    }

    /// A server document and a client replica that start from the same state.
    fn pair(text: &str) -> (ResolutionDoc, ResolutionDoc, String) {
        let mut server = ResolutionDoc::with_client_id(1);
        let id = para(&mut server, text);
        let client = ResolutionDoc::from_update_with_client_id(2, &server.encode_state()).unwrap();
        (server, client, id)
    }

    fn text_of_para(d: &ResolutionDoc, id: &str) -> TextRef {
        let txn = d.doc().transact();
        let m = d.paragraph_map_in(&txn, id).unwrap();
        text_of(&txn, &m, "text").unwrap()
    }

    /// Runs `f` in one transaction of the client and returns its update.
    fn client_update(client: &ResolutionDoc, f: impl FnOnce(&mut yrs::TransactionMut)) -> Vec<u8> {
        let doc = client.doc();
        let before = doc.transact().state_vector();
        {
            let mut txn = doc.transact_mut();
            f(&mut txn);
        }
        doc.transact().encode_state_as_update_v1(&before)
    }

    fn size(server: &ResolutionDoc, update: &[u8], target: Target) -> TextSize {
        let effect = server.effect(update).unwrap();
        server.text_size_after(&effect, &target).unwrap()
    }

    #[test]
    fn lengths_and_counts_are_read_in_utf16() {
        let mut d = ResolutionDoc::with_client_id(1);
        let a = para(&mut d, "Décide 𝔸");
        para(&mut d, "");
        assert_eq!(d.paragraph_len(&a), Some(9)); // 𝔸 is two UTF-16 units
        assert_eq!(d.paragraph_count(), 2);
        assert_eq!(d.proposal_count(), 0);
        assert_eq!(d.paragraph_len("nope"), None);
        let (fid, _) = d.add_footnote(&a, 1, &[Run::plain("See A/RES/1")]).unwrap();
        assert_eq!(d.footnote_len(&fid), Some(11));
        assert_eq!(d.paragraph_len(&a), Some(10)); // and its marker
    }

    #[test]
    fn typing_adds_and_deleting_removes() {
        let (server, client, id) = pair("Requests the Secretary-General");
        let t = text_of_para(&client, &id);
        let u = client_update(&client, |txn| t.insert(txn, 0, "Further "));
        let s = size(&server, &u, Target::ParagraphText(id.clone()));
        assert_eq!((s.now, s.after), (30, 38));
        assert!(s.grows() && s.exceeds(37) && !s.exceeds(38));

        // select all, paste something shorter: shrinks, so no cap refuses it
        let u = client_update(&client, |txn| {
            let n = t.len(txn);
            t.remove_range(txn, 0, n);
            t.insert(txn, 0, "Notes");
        });
        let s = size(&server, &u, Target::ParagraphText(id.clone()));
        assert_eq!((s.now, s.after), (30, 5));
        assert!(!s.grows() && !s.exceeds(1));
    }

    #[test]
    fn what_an_update_inserts_and_deletes_again_counts_for_nothing() {
        let (server, client, id) = pair("abc");
        let t = text_of_para(&client, &id);
        let u = client_update(&client, |txn| {
            t.insert(txn, 3, "defghij");
            t.remove_range(txn, 5, 4);
        });
        assert_eq!(t.get_string(&client.doc().transact()), "abcdej");
        let s = size(&server, &u, Target::ParagraphText(id));
        assert_eq!((s.now, s.after), (3, 6));
    }

    #[test]
    fn new_and_moved_paragraphs_count_their_text() {
        let (server, mut client, id) = pair("first");
        let (new, u) = client
            .insert_paragraph(
                Position::End,
                ParagraphKind::Operative,
                0,
                &[Run::plain("a new paragraph")],
            )
            .unwrap();
        let s = size(&server, &u, Target::Paragraph(new));
        assert_eq!((s.now, s.after), (0, 15));

        let u = client.move_paragraph(&id, Position::Start).unwrap();
        let s = size(&server, &u, Target::Paragraph(id.clone()));
        assert_eq!((s.now, s.after), (5, 5));
        assert!(!s.grows());

        let u = client.delete_paragraph(&id).unwrap();
        let e = server.effect(&u).unwrap();
        assert_eq!(server.text_size_after(&e, &Target::Paragraph(id)), None);
    }

    #[test]
    fn footnotes_new_edited_and_replaced() {
        let (mut server, mut client, id) = pair("text");
        let (fid, u) = client.add_footnote(&id, 4, &[Run::plain("short")]).unwrap();
        let s = size(&server, &u, Target::Footnote(fid.clone()));
        assert_eq!((s.kind, s.now, s.after), (TextKind::Footnote, 0, 5));
        server.apply(&u).unwrap();

        let t = match client.roots().footnotes.get(&client.doc().transact(), &fid) {
            Some(Out::YText(t)) => t,
            _ => panic!("no footnote"),
        };
        let u = client_update(&client, |txn| t.insert(txn, 5, " note"));
        let s = size(&server, &u, Target::Footnote(fid.clone()));
        assert_eq!((s.now, s.after), (5, 10));
        server.apply(&u).unwrap();

        // a new text written at the key replaces the old one
        let footnotes = client.roots().footnotes.clone();
        let u = client_update(&client, |txn| {
            footnotes.insert(
                txn,
                fid.as_str(),
                yrs::TextPrelim::new("a much longer footnote"),
            );
        });
        let s = size(&server, &u, Target::Footnote(fid.clone()));
        assert_eq!((s.now, s.after), (10, 22));
        server.apply(&u).unwrap();

        let u = client_update(&client, |txn| {
            footnotes.remove(txn, &fid);
        });
        let s = size(&server, &u, Target::Footnote(fid.clone()));
        assert_eq!((s.now, s.after), (22, 0));
        assert!(!s.exceeds(1));
    }
}
