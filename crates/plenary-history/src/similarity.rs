//! Two texts with no shared history (two circulated revisions, each imported on its own):
//! paragraphs are matched by similarity, not id.
//!
//! Similarity is the Dice coefficient of the two word sequences' longest common subsequence
//! (2·common / (len a + len b)), so word order counts. Matching is order-aware: a dynamic
//! programme pairs paragraphs of the same kind in document order maximising total similarity
//! (pairs below [`MATCH_THRESHOLD`] are not pairs). Paragraphs left over on both sides are then
//! paired greedily, best first, as *moved* when at least [`MOVE_THRESHOLD`] similar; what
//! remains is added or deleted. Footnote markers are left out of the texts compared.

use plenary_doc::{Paragraph, Resolution, numbering};
use serde::{Deserialize, Serialize};

use crate::compare::ParagraphRef;
use crate::words::{WordOp, word_diff};

/// Below this, two paragraphs in the same place are a deletion and an addition, not an edit.
pub const MATCH_THRESHOLD: f64 = 0.5;
/// A paragraph found elsewhere must be this similar to count as moved.
pub const MOVE_THRESHOLD: f64 = 0.6;

/// A paragraph found on both sides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MatchedParagraph {
    pub old_label: String,
    pub new_label: String,
    /// 1.0 for identical words.
    pub similarity: f64,
    /// Word diff, empty when the texts are identical.
    pub ops: Vec<WordOp>,
}

/// The comparison of two separately imported texts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TextDiff {
    /// Same text, same relative place.
    pub unchanged: Vec<MatchedParagraph>,
    /// Same relative place, text edited.
    pub changed: Vec<MatchedParagraph>,
    /// Found out of order (possibly also edited).
    pub moved: Vec<MatchedParagraph>,
    pub added: Vec<ParagraphRef>,
    pub deleted: Vec<ParagraphRef>,
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

fn words(p: &Paragraph) -> Vec<String> {
    text(p).split_whitespace().map(str::to_lowercase).collect()
}

fn similarity(a: &[String], b: &[String]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let common: usize = similar::capture_diff_slices(similar::Algorithm::Myers, a, b)
        .iter()
        .map(|op| match op {
            similar::DiffOp::Equal { len, .. } => *len,
            _ => 0,
        })
        .sum();
    2.0 * common as f64 / (a.len() + b.len()) as f64
}

fn matched(o: &Paragraph, n: &Paragraph, sim: f64) -> MatchedParagraph {
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
    let mut a = old.paragraphs.clone();
    let mut b = new.paragraphs.clone();
    numbering::number_paragraphs(&mut a, None);
    numbering::number_paragraphs(&mut b, None);
    let (wa, wb): (Vec<_>, Vec<_>) = (a.iter().map(words).collect(), b.iter().map(words).collect());
    let (n, m) = (a.len(), b.len());
    let sim = |i: usize, j: usize| -> f64 {
        if a[i].kind != b[j].kind {
            return 0.0;
        }
        similarity(&wa[i], &wb[j])
    };
    let sims: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..m).map(|j| sim(i, j)).collect())
        .collect();
    // best[i][j]: best total similarity aligning a[..i] with b[..j] in order.
    let mut best = vec![vec![0.0f64; m + 1]; n + 1];
    for i in 1..=n {
        for j in 1..=m {
            let mut v = best[i - 1][j].max(best[i][j - 1]);
            let s = sims[i - 1][j - 1];
            if s >= MATCH_THRESHOLD {
                v = v.max(best[i - 1][j - 1] + s);
            }
            best[i][j] = v;
        }
    }
    let mut pairs = Vec::new();
    let (mut i, mut j) = (n, m);
    while i > 0 && j > 0 {
        let s = sims[i - 1][j - 1];
        if s >= MATCH_THRESHOLD && (best[i][j] - (best[i - 1][j - 1] + s)).abs() < 1e-9 {
            pairs.push((i - 1, j - 1));
            i -= 1;
            j -= 1;
        } else if (best[i][j] - best[i - 1][j]).abs() < 1e-9 {
            i -= 1;
        } else {
            j -= 1;
        }
    }
    pairs.reverse();
    let mut used_a = vec![false; n];
    let mut used_b = vec![false; m];
    let mut out = TextDiff::default();
    for &(i, j) in &pairs {
        used_a[i] = true;
        used_b[j] = true;
        let mp = matched(&a[i], &b[j], sims[i][j]);
        if mp.ops.is_empty() {
            out.unchanged.push(mp);
        } else {
            out.changed.push(mp);
        }
    }
    // Out-of-order matches among the leftovers, best first.
    let mut candidates: Vec<(f64, usize, usize)> = (0..n)
        .filter(|&i| !used_a[i])
        .flat_map(|i| (0..m).filter(|&j| !used_b[j]).map(move |j| (i, j)))
        .map(|(i, j)| (sims[i][j], i, j))
        .filter(|(s, _, _)| *s >= MOVE_THRESHOLD)
        .collect();
    candidates.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
    for (s, i, j) in candidates {
        if used_a[i] || used_b[j] {
            continue;
        }
        used_a[i] = true;
        used_b[j] = true;
        out.moved.push(matched(&a[i], &b[j], s));
    }
    out.moved.sort_by_key(|mp| {
        b.iter()
            .position(|p| p.label == mp.new_label)
            .unwrap_or(usize::MAX)
    });
    out.added = (0..m)
        .filter(|&j| !used_b[j])
        .map(|j| reference(&b[j]))
        .collect();
    out.deleted = (0..n)
        .filter(|&i| !used_a[i])
        .map(|i| reference(&a[i]))
        .collect();
    out
}
