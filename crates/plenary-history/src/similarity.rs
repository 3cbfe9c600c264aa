//! Two texts with no shared history (two circulated revisions, each imported on its own):
//! paragraphs are paired by similarity, not id, through the pairing shared with the history's
//! compare and the tracked-changes export ([`plenary_doc::pairing`]).
//!
//! Similarity is the overlap of *content words* (lower-cased, without stop words, footnote
//! markers and the opening verb or participle), so that an operative request that became a
//! "*Recalling also* its request …" preambular paragraph is found as that paragraph, moved
//! across kinds. Pairs are taken greedily, best first, at least
//! [`plenary_doc::pairing::PAIR_THRESHOLD`] similar; a pair out of order (relative to the
//! longest run of pairs that kept their order) or of another kind now is *moved*. Footnotes
//! are paired by text (or by the place of their marker) and reported added, deleted, reworded
//! or with a marker that moved; header fields that changed are reported too.

use plenary_doc::pairing::{PairBy, pair_paragraphs};
use plenary_doc::{Paragraph, Resolution, numbering};
use serde::{Deserialize, Serialize};

use crate::compare::{FootnoteChange, MetaChange, ParagraphRef, footnote_changes, meta_changes};
use crate::words::{WordOp, word_diff};

/// A paragraph found on both sides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MatchedParagraph {
    pub old_label: String,
    pub new_label: String,
    /// Content-word similarity, 1.0 for the same words.
    pub similarity: f64,
    /// Word diff, empty when the texts are identical.
    pub ops: Vec<WordOp>,
    /// Preambular ↔ operative.
    #[serde(default)]
    pub kind_changed: bool,
}

/// The comparison of two separately imported texts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TextDiff {
    /// Same text, same relative place.
    pub unchanged: Vec<MatchedParagraph>,
    /// Same relative place, text edited.
    pub changed: Vec<MatchedParagraph>,
    /// Found out of order or of another kind (possibly also edited).
    pub moved: Vec<MatchedParagraph>,
    pub added: Vec<ParagraphRef>,
    pub deleted: Vec<ParagraphRef>,
    /// Footnotes added, deleted, reworded, or whose marker moved.
    #[serde(default)]
    pub footnotes: Vec<FootnoteChange>,
    /// Header fields (symbol, date, title …) that changed.
    #[serde(default)]
    pub meta: Vec<MetaChange>,
}

/// The paragraph's words without footnote markers: markers are numbered by order of reference,
/// so moving one paragraph would otherwise change the text of every paragraph citing a note.
fn text(p: &Paragraph) -> String {
    p.text
        .iter()
        .filter(|r| r.footnote.is_none())
        .map(|r| r.text.as_str())
        .collect()
}

fn matched(o: &Paragraph, n: &Paragraph, sim: f64, kind_changed: bool) -> MatchedParagraph {
    let (ot, nt) = (text(o), text(n));
    MatchedParagraph {
        old_label: o.label.clone(),
        new_label: n.label.clone(),
        similarity: (sim * 1000.0).round() / 1000.0,
        ops: if ot == nt {
            Vec::new()
        } else {
            word_diff(&ot, &nt)
        },
        kind_changed,
    }
}

fn reference(p: &Paragraph) -> ParagraphRef {
    ParagraphRef {
        id: p.id.clone(),
        label: p.label.clone(),
        text: text(p),
    }
}

/// Compares two texts paragraph by paragraph (labels are each text's own plain numbering).
pub fn diff_texts(old: &Resolution, new: &Resolution) -> TextDiff {
    let mut a = old.clone();
    let mut b = new.clone();
    numbering::number_paragraphs(&mut a.paragraphs, None);
    numbering::number_paragraphs(&mut b.paragraphs, None);
    let pairing = pair_paragraphs(&a.paragraphs, &b.paragraphs, PairBy::Similarity);
    let mut out = TextDiff::default();
    for pair in &pairing.pairs {
        let mp = matched(
            &a.paragraphs[pair.old],
            &b.paragraphs[pair.new],
            pair.similarity,
            pair.kind_changed,
        );
        if pair.moved {
            out.moved.push(mp);
        } else if mp.ops.is_empty() {
            out.unchanged.push(mp);
        } else {
            out.changed.push(mp);
        }
    }
    out.added = pairing
        .added
        .iter()
        .map(|&j| reference(&b.paragraphs[j]))
        .collect();
    out.deleted = pairing
        .deleted
        .iter()
        .map(|&i| reference(&a.paragraphs[i]))
        .collect();
    out.footnotes = footnote_changes(&a, &b, PairBy::Similarity, &pairing);
    out.meta = meta_changes(&a, &b);
    out
}
