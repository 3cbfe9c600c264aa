//! Which paragraph (and footnote) of one text is which paragraph of
//! another: the one pairing shared by the tracked-changes export, the
//! history's compare and `plenary diff`.
//!
//! Two states of one document's history are paired by id (ids survive
//! moves and edits and are never reused). Two separately imported texts
//! have unrelated ids, so their paragraphs are paired by the similarity of
//! their *content words*: lower-cased words without a small list of stop
//! words and without the opening (the italic verb or participle, or else
//! the first word), so that "*Requests* the Secretary-General to …" still
//! pairs with "*Recalling also* its request to the Secretary-General to …"
//! after it became a preambular paragraph. Similarity is the Dice
//! coefficient of the two word multisets; pairs at least
//! [`PAIR_THRESHOLD`] similar are taken greedily, best first (ties: same
//! kind, then nearer in relative position).
//!
//! On the pairs, a paragraph is *moved* when it left the longest run of
//! pairs that kept their relative order, or when its kind changed
//! (preambular ↔ operative).

use std::collections::HashMap;

use crate::model::{Footnote, Paragraph, Run};

/// Below this, two paragraphs (or footnotes) are an addition and a
/// deletion, not one edited paragraph.
pub const PAIR_THRESHOLD: f64 = 0.5;

/// How to tell which paragraph is which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PairBy {
    /// Two states of one document: by id.
    Id,
    /// Two separately imported texts: by the similarity of content words.
    #[default]
    Similarity,
}

/// A paragraph found on both sides (indices into the two slices).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pair {
    pub old: usize,
    pub new: usize,
    /// Content-word similarity, 1.0 for the same words.
    pub similarity: f64,
    /// Out of order relative to the other pairs, or of another kind now.
    pub moved: bool,
    /// Preambular ↔ operative.
    pub kind_changed: bool,
}

/// The pairing of two paragraph lists.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pairing {
    /// In the new text's order.
    pub pairs: Vec<Pair>,
    /// New paragraphs with no pair, in order.
    pub added: Vec<usize>,
    /// Old paragraphs with no pair, in order.
    pub deleted: Vec<usize>,
}

impl Pairing {
    /// The pair of old paragraph `old`, if it has one.
    pub fn of_old(&self, old: usize) -> Option<&Pair> {
        self.pairs.iter().find(|p| p.old == old)
    }

    /// The pair of new paragraph `new`, if it has one.
    pub fn of_new(&self, new: usize) -> Option<&Pair> {
        self.pairs.iter().find(|p| p.new == new)
    }
}

const STOP_WORDS: &[&str] = &[
    "a", "also", "an", "and", "are", "as", "at", "be", "by", "for", "from", "further", "in",
    "into", "is", "it", "its", "of", "on", "or", "that", "the", "their", "these", "this", "those",
    "to", "which", "with",
];

fn words_of(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .map(|w| w.trim_matches('-').to_lowercase())
        .filter(|w| !w.is_empty())
}

/// A paragraph's content words: lower-cased, without stop words, footnote
/// markers and the opening (leading italic runs, or else the first word).
pub fn content_words(runs: &[Run]) -> Vec<String> {
    let text: Vec<&Run> = runs.iter().filter(|r| r.footnote.is_none()).collect();
    let italic_opening = text
        .first()
        .is_some_and(|r| r.italic && !r.text.trim().is_empty());
    let mut words: Vec<String> = Vec::new();
    let mut skip_first = !italic_opening;
    let mut in_opening = italic_opening;
    for run in text {
        if in_opening && !run.italic {
            in_opening = false;
        }
        if in_opening {
            continue;
        }
        for w in words_of(&run.text) {
            if skip_first {
                skip_first = false;
                continue;
            }
            words.push(w);
        }
    }
    words.retain(|w| !STOP_WORDS.contains(&w.as_str()));
    words
}

/// Every lower-cased word of a text (footnotes are short: nothing dropped).
fn all_words(runs: &[Run]) -> Vec<String> {
    runs.iter()
        .filter(|r| r.footnote.is_none())
        .flat_map(|r| words_of(&r.text))
        .collect()
}

/// Dice coefficient of two word multisets: 2·common / (|a| + |b|).
pub fn similarity(a: &[String], b: &[String]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let mut counts: HashMap<&str, i64> = HashMap::new();
    for w in a {
        *counts.entry(w.as_str()).or_default() += 1;
    }
    let mut common = 0usize;
    for w in b {
        if let Some(c) = counts.get_mut(w.as_str())
            && *c > 0
        {
            *c -= 1;
            common += 1;
        }
    }
    2.0 * common as f64 / (a.len() + b.len()) as f64
}

/// Pairs `old` with `new`.
pub fn pair_paragraphs(old: &[Paragraph], new: &[Paragraph], by: PairBy) -> Pairing {
    let wa: Vec<Vec<String>> = old.iter().map(|p| content_words(&p.text)).collect();
    let wb: Vec<Vec<String>> = new.iter().map(|p| content_words(&p.text)).collect();
    let raw: Vec<(usize, usize, f64)> = match by {
        PairBy::Id => {
            let at: HashMap<&str, usize> = new
                .iter()
                .enumerate()
                .map(|(j, p)| (p.id.as_str(), j))
                .collect();
            old.iter()
                .enumerate()
                .filter_map(|(i, p)| at.get(p.id.as_str()).map(|&j| (i, j)))
                .map(|(i, j)| (i, j, similarity(&wa[i], &wb[j])))
                .collect()
        }
        PairBy::Similarity => {
            let same_text = |i: usize, j: usize| {
                let t = |p: &Paragraph| -> String {
                    p.text
                        .iter()
                        .filter(|r| r.footnote.is_none())
                        .map(|r| r.text.to_lowercase())
                        .collect()
                };
                t(&old[i]) == t(&new[j])
            };
            let kinds = |i: usize, j: usize| old[i].kind == new[j].kind;
            greedy(
                old.len(),
                new.len(),
                |i, j| {
                    if wa[i].is_empty() && wb[j].is_empty() {
                        // Nothing but an opening: only the same text pairs.
                        return if same_text(i, j) { 1.0 } else { 0.0 };
                    }
                    similarity(&wa[i], &wb[j])
                },
                kinds,
            )
        }
    };
    finish(old, new, raw)
}

/// Greedy best-first matching of everything at least [`PAIR_THRESHOLD`]
/// similar; ties go to the same kind, then to the nearer relative place.
fn greedy(
    n: usize,
    m: usize,
    sim: impl Fn(usize, usize) -> f64,
    same_kind: impl Fn(usize, usize) -> bool,
) -> Vec<(usize, usize, f64)> {
    let rel = |k: usize, len: usize| {
        if len <= 1 {
            0.0
        } else {
            k as f64 / (len - 1) as f64
        }
    };
    let mut candidates: Vec<(f64, bool, f64, usize, usize)> = Vec::new();
    for i in 0..n {
        for j in 0..m {
            let s = sim(i, j);
            if s >= PAIR_THRESHOLD {
                let distance = (rel(i, n) - rel(j, m)).abs();
                candidates.push((s, same_kind(i, j), distance, i, j));
            }
        }
    }
    candidates.sort_by(|x, y| {
        y.0.total_cmp(&x.0)
            .then(y.1.cmp(&x.1))
            .then(x.2.total_cmp(&y.2))
            .then(x.3.cmp(&y.3))
            .then(x.4.cmp(&y.4))
    });
    let (mut used_a, mut used_b) = (vec![false; n], vec![false; m]);
    let mut out = Vec::new();
    for (s, _, _, i, j) in candidates {
        if used_a[i] || used_b[j] {
            continue;
        }
        used_a[i] = true;
        used_b[j] = true;
        out.push((i, j, s));
    }
    out
}

fn finish(old: &[Paragraph], new: &[Paragraph], mut raw: Vec<(usize, usize, f64)>) -> Pairing {
    raw.sort_by_key(|&(i, _, _)| i);
    // A change of kind is a move anyway: order is judged on the others, so
    // that it is that paragraph, not its neighbours, that counts as moved.
    let same_kind: Vec<(usize, usize, f64)> = raw
        .iter()
        .copied()
        .filter(|&(i, j, _)| old[i].kind == new[j].kind)
        .collect();
    let in_order = longest_increasing(&same_kind.iter().map(|&(_, j, _)| j).collect::<Vec<_>>());
    let stayed: std::collections::HashSet<usize> = same_kind
        .iter()
        .zip(&in_order)
        .filter(|(_, keep)| **keep)
        .map(|(&(i, _, _), _)| i)
        .collect();
    let mut pairs: Vec<Pair> = raw
        .iter()
        .map(|&(i, j, s)| {
            let kind_changed = old[i].kind != new[j].kind;
            Pair {
                old: i,
                new: j,
                similarity: s,
                moved: !stayed.contains(&i),
                kind_changed,
            }
        })
        .collect();
    pairs.sort_by_key(|p| p.new);
    let mut paired_old = vec![false; old.len()];
    let mut paired_new = vec![false; new.len()];
    for p in &pairs {
        paired_old[p.old] = true;
        paired_new[p.new] = true;
    }
    Pairing {
        pairs,
        added: (0..new.len()).filter(|&j| !paired_new[j]).collect(),
        deleted: (0..old.len()).filter(|&i| !paired_old[i]).collect(),
    }
}

/// Which elements belong to a longest strictly increasing subsequence
/// (patience sorting, O(n log n)).
fn longest_increasing(xs: &[usize]) -> Vec<bool> {
    let mut tails: Vec<usize> = Vec::new();
    let mut prev: Vec<Option<usize>> = vec![None; xs.len()];
    for (k, &x) in xs.iter().enumerate() {
        let at = tails.partition_point(|&t| xs[t] < x);
        prev[k] = at.checked_sub(1).map(|a| tails[a]);
        if at == tails.len() {
            tails.push(k);
        } else {
            tails[at] = k;
        }
    }
    let mut keep = vec![false; xs.len()];
    let mut cur = tails.last().copied();
    while let Some(k) = cur {
        keep[k] = true;
        cur = prev[k];
    }
    keep
}

/// A footnote found on both sides (indices into the two slices).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FootnotePair {
    pub old: usize,
    pub new: usize,
    /// Not the same text.
    pub text_changed: bool,
    /// Its reference now stands in another paragraph, or after other words,
    /// than where it stood (renumbering alone is not a move).
    pub marker_moved: bool,
}

/// The pairing of two footnote lists.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FootnotePairing {
    pub pairs: Vec<FootnotePair>,
    pub added: Vec<usize>,
    pub deleted: Vec<usize>,
}

/// Where a footnote is referenced: the paragraph and the last word before
/// the marker.
fn anchor(paragraphs: &[Paragraph], id: &str) -> Option<(usize, String)> {
    for (k, p) in paragraphs.iter().enumerate() {
        let mut last = String::new();
        for run in &p.text {
            match run.footnote.as_deref() {
                Some(f) if f == id => return Some((k, last)),
                Some(_) => {}
                None => {
                    if let Some(w) = words_of(&run.text).last() {
                        last = w;
                    }
                }
            }
        }
    }
    None
}

/// Pairs footnotes by id or by the similarity of their words, and tells
/// which changed text and which have a marker that moved (given the
/// paragraphs of each side and their pairing).
pub fn pair_footnotes(
    old: &[Footnote],
    new: &[Footnote],
    by: PairBy,
    old_paragraphs: &[Paragraph],
    new_paragraphs: &[Paragraph],
    paragraphs: &Pairing,
) -> FootnotePairing {
    let wa: Vec<Vec<String>> = old.iter().map(|f| all_words(&f.text)).collect();
    let wb: Vec<Vec<String>> = new.iter().map(|f| all_words(&f.text)).collect();
    let mut raw: Vec<(usize, usize, f64)> = match by {
        PairBy::Id => {
            let at: HashMap<&str, usize> = new
                .iter()
                .enumerate()
                .map(|(j, f)| (f.id.as_str(), j))
                .collect();
            old.iter()
                .enumerate()
                .filter_map(|(i, f)| at.get(f.id.as_str()).map(|&j| (i, j, 1.0)))
                .collect()
        }
        PairBy::Similarity => {
            // A note whose marker stands at the same place (after the same
            // word of paired paragraphs) pairs even when reworded.
            let aa: Vec<Option<(usize, String)>> =
                old.iter().map(|f| anchor(old_paragraphs, &f.id)).collect();
            let ab: Vec<Option<(usize, String)>> =
                new.iter().map(|f| anchor(new_paragraphs, &f.id)).collect();
            let same_place = |i: usize, j: usize| match (&aa[i], &ab[j]) {
                (Some((pa, wa)), Some((pb, wb))) => {
                    paragraphs.of_old(*pa).map(|p| p.new) == Some(*pb) && wa == wb
                }
                _ => false,
            };
            greedy(
                old.len(),
                new.len(),
                |i, j| {
                    let s = similarity(&wa[i], &wb[j]);
                    if same_place(i, j) { 0.5 + s / 2.0 } else { s }
                },
                same_place,
            )
        }
    };
    raw.sort_by_key(|&(_, j, _)| j);
    let text = |runs: &[Run]| -> String {
        runs.iter()
            .filter(|r| r.footnote.is_none())
            .map(|r| r.text.as_str())
            .collect::<String>()
            .trim()
            .to_owned()
    };
    let pairs: Vec<FootnotePair> = raw
        .iter()
        .map(|&(i, j, _)| {
            let a = anchor(old_paragraphs, &old[i].id);
            let b = anchor(new_paragraphs, &new[j].id);
            let marker_moved = match (a, b) {
                (Some((pa, wa)), Some((pb, wb))) => {
                    paragraphs.of_old(pa).map(|p| p.new) != Some(pb) || wa != wb
                }
                (None, None) => false,
                _ => true,
            };
            FootnotePair {
                old: i,
                new: j,
                text_changed: text(&old[i].text) != text(&new[j].text),
                marker_moved,
            }
        })
        .collect();
    let mut paired_old = vec![false; old.len()];
    let mut paired_new = vec![false; new.len()];
    for p in &pairs {
        paired_old[p.old] = true;
        paired_new[p.new] = true;
    }
    FootnotePairing {
        pairs,
        added: (0..new.len()).filter(|&j| !paired_new[j]).collect(),
        deleted: (0..old.len()).filter(|&i| !paired_old[i]).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ParagraphKind, Status};

    fn para(id: &str, kind: ParagraphKind, opening: &str, rest: &str) -> Paragraph {
        Paragraph {
            id: id.into(),
            kind,
            level: 0,
            status: Status::Open,
            text: vec![
                Run {
                    text: opening.into(),
                    italic: true,
                    footnote: None,
                },
                Run::plain(rest),
            ],
            number: String::new(),
            label: String::new(),
        }
    }

    #[test]
    fn an_operative_request_that_became_a_preambular_recalling_pairs_as_moved() {
        use ParagraphKind::*;
        let old = vec![
            para(
                "p1",
                Preambular,
                "Recalling",
                " its resolution 70/175 on prisons,",
            ),
            para(
                "p2",
                Operative,
                "Decides",
                " to hold a meeting of experts in 2022;",
            ),
            para(
                "p3",
                Operative,
                "Requests",
                " the Secretary-General to report to the Commission at its thirty-second session on the implementation of the present resolution;",
            ),
        ];
        let new = vec![
            para(
                "p1",
                Preambular,
                "Recalling",
                " its resolution 70/175 on prisons,",
            ),
            para(
                "p2",
                Preambular,
                "Recalling also",
                " its request to the Secretary-General to report to the Commission at its thirty-second session on the implementation of the present resolution,",
            ),
            para(
                "p3",
                Operative,
                "Decides",
                " to hold a meeting of experts in 2023;",
            ),
        ];
        let p = pair_paragraphs(&old, &new, PairBy::Similarity);
        assert!(p.added.is_empty() && p.deleted.is_empty(), "{p:?}");
        let moved = p.of_old(2).unwrap();
        assert_eq!(moved.new, 1);
        assert!(moved.moved && moved.kind_changed);
        assert!(!p.of_old(1).unwrap().moved);
        assert!(!p.of_old(0).unwrap().moved);
        // by id, p2/p3 are the same ids in other places: trusted as given
        let by_id = pair_paragraphs(&old, &new, PairBy::Id);
        assert_eq!(by_id.pairs.len(), 3);
    }
}
