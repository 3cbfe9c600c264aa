//! Two states of one document, paragraph by paragraph, matched by paragraph id (ids survive
//! moves and are never reused, so a paragraph is followed through every edit).
//!
//! Both states carry their labels (computed against the version each point belongs to), so a
//! moved paragraph reports where delegates knew it (`OP4`) and where it is now (`OP2bis`).

use std::collections::{HashMap, HashSet};

use plenary_doc::{Footnote, Paragraph, Resolution, Status};
use serde::{Deserialize, Serialize};

use crate::words::{WordOp, plain_text, word_diff};

/// A paragraph as it stood on one side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ParagraphRef {
    pub id: String,
    pub label: String,
    pub text: String,
}

/// A paragraph that changed place relative to the paragraphs present on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MovedParagraph {
    pub id: String,
    pub old_label: String,
    pub new_label: String,
}

/// A paragraph whose text changed, with the word diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TextChange {
    pub id: String,
    pub old_label: String,
    pub new_label: String,
    pub ops: Vec<WordOp>,
}

/// A paragraph whose status moved (`open` → `agreed`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusChange {
    pub id: String,
    pub label: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub from: Status,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub to: Status,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum FootnoteChangeKind {
    Added,
    Deleted,
    Changed,
}

/// A footnote added, deleted or reworded; `ops` is the word diff of its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FootnoteChange {
    pub id: String,
    pub change: FootnoteChangeKind,
    /// Its number on each side (0 where it does not exist).
    pub old_marker: u32,
    pub new_marker: u32,
    pub ops: Vec<WordOp>,
}

/// A metadata field (title, symbol, date, mode …) that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetaChange {
    pub key: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Everything that differs between two states of one document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Comparison {
    /// Paragraphs only in the new state, in its order.
    pub added: Vec<ParagraphRef>,
    /// Paragraphs only in the old state, in its order.
    pub deleted: Vec<ParagraphRef>,
    pub moved: Vec<MovedParagraph>,
    pub changed: Vec<TextChange>,
    pub status_changed: Vec<StatusChange>,
    pub footnotes: Vec<FootnoteChange>,
    pub meta: Vec<MetaChange>,
}

impl Comparison {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.deleted.is_empty()
            && self.moved.is_empty()
            && self.changed.is_empty()
            && self.status_changed.is_empty()
            && self.footnotes.is_empty()
            && self.meta.is_empty()
    }
}

fn reference(p: &Paragraph) -> ParagraphRef {
    ParagraphRef {
        id: p.id.clone(),
        label: p.label.clone(),
        text: plain_text(&p.text),
    }
}

/// Compares `old` and `new` (typed views with labels) paragraph by paragraph.
pub fn compare(old: &Resolution, new: &Resolution) -> Comparison {
    let old_by_id: HashMap<&str, &Paragraph> =
        old.paragraphs.iter().map(|p| (p.id.as_str(), p)).collect();
    let new_by_id: HashMap<&str, &Paragraph> =
        new.paragraphs.iter().map(|p| (p.id.as_str(), p)).collect();
    let mut out = Comparison {
        added: new
            .paragraphs
            .iter()
            .filter(|p| !old_by_id.contains_key(p.id.as_str()))
            .map(reference)
            .collect(),
        deleted: old
            .paragraphs
            .iter()
            .filter(|p| !new_by_id.contains_key(p.id.as_str()))
            .map(reference)
            .collect(),
        ..Comparison::default()
    };
    let stayed = stayed_in_place(old, new, &new_by_id);
    for p in &new.paragraphs {
        let Some(o) = old_by_id.get(p.id.as_str()) else {
            continue;
        };
        if !stayed.contains(p.id.as_str()) {
            out.moved.push(MovedParagraph {
                id: p.id.clone(),
                old_label: o.label.clone(),
                new_label: p.label.clone(),
            });
        }
        let (ot, nt) = (plain_text(&o.text), plain_text(&p.text));
        if ot != nt {
            out.changed.push(TextChange {
                id: p.id.clone(),
                old_label: o.label.clone(),
                new_label: p.label.clone(),
                ops: word_diff(&ot, &nt),
            });
        }
        if o.status != p.status {
            out.status_changed.push(StatusChange {
                id: p.id.clone(),
                label: p.label.clone(),
                from: o.status,
                to: p.status,
            });
        }
    }
    out.footnotes = footnote_changes(&old.footnotes, &new.footnotes);
    out.meta = meta_changes(old, new);
    out
}

/// The ids of paragraphs present on both sides that kept their relative order: the longest
/// common subsequence of the two orders. The others moved.
fn stayed_in_place<'a>(
    old: &'a Resolution,
    new: &Resolution,
    new_by_id: &HashMap<&str, &Paragraph>,
) -> HashSet<&'a str> {
    let new_pos: HashMap<&str, usize> = new
        .paragraphs
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), i))
        .collect();
    let common: Vec<(&str, usize)> = old
        .paragraphs
        .iter()
        .filter(|p| new_by_id.contains_key(p.id.as_str()))
        .filter_map(|p| new_pos.get(p.id.as_str()).map(|&i| (p.id.as_str(), i)))
        .collect();
    // Longest increasing subsequence of new positions, in old order (patience, O(n log n)).
    let mut tails: Vec<usize> = Vec::new(); // index into common
    let mut prev: Vec<Option<usize>> = vec![None; common.len()];
    for (k, &(_, pos)) in common.iter().enumerate() {
        let at = tails.partition_point(|&t| common[t].1 < pos);
        prev[k] = at.checked_sub(1).map(|a| tails[a]);
        if at == tails.len() {
            tails.push(k);
        } else {
            tails[at] = k;
        }
    }
    let mut stayed = HashSet::new();
    let mut cur = tails.last().copied();
    while let Some(k) = cur {
        stayed.insert(common[k].0);
        cur = prev[k];
    }
    stayed
}

fn footnote_changes(old: &[Footnote], new: &[Footnote]) -> Vec<FootnoteChange> {
    let old_by_id: HashMap<&str, &Footnote> = old.iter().map(|f| (f.id.as_str(), f)).collect();
    let new_ids: HashSet<&str> = new.iter().map(|f| f.id.as_str()).collect();
    let mut out = Vec::new();
    for f in new {
        let nt = plain_text(&f.text);
        match old_by_id.get(f.id.as_str()) {
            None => out.push(FootnoteChange {
                id: f.id.clone(),
                change: FootnoteChangeKind::Added,
                old_marker: 0,
                new_marker: f.marker,
                ops: word_diff("", &nt),
            }),
            Some(o) => {
                let ot = plain_text(&o.text);
                if ot != nt {
                    out.push(FootnoteChange {
                        id: f.id.clone(),
                        change: FootnoteChangeKind::Changed,
                        old_marker: o.marker,
                        new_marker: f.marker,
                        ops: word_diff(&ot, &nt),
                    });
                }
            }
        }
    }
    for o in old.iter().filter(|o| !new_ids.contains(o.id.as_str())) {
        out.push(FootnoteChange {
            id: o.id.clone(),
            change: FootnoteChangeKind::Deleted,
            old_marker: o.marker,
            new_marker: 0,
            ops: word_diff(&plain_text(&o.text), ""),
        });
    }
    out
}

/// Metadata compared through its JSON form, so every field of SPEC §2 is covered.
fn meta_changes(old: &Resolution, new: &Resolution) -> Vec<MetaChange> {
    let as_map = |r: &Resolution| match serde_json::to_value(&r.meta) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    let (o, n) = (as_map(old), as_map(new));
    let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_owned);
    let mut keys: Vec<&String> = o.keys().chain(n.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| o.get(*k) != n.get(*k))
        .map(|k| MetaChange {
            key: k.clone(),
            from: text(o.get(k)),
            to: text(n.get(k)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use plenary_doc::{ParagraphKind, Run};

    fn para(id: &str, label: &str, text: &str, status: Status) -> Paragraph {
        Paragraph {
            id: id.into(),
            kind: ParagraphKind::Operative,
            level: 0,
            status,
            text: vec![Run::plain(text)],
            number: String::new(),
            label: label.into(),
        }
    }

    fn res(ps: Vec<Paragraph>) -> Resolution {
        Resolution {
            paragraphs: ps,
            ..Resolution::default()
        }
    }

    #[test]
    fn reports_each_kind_of_change_once() {
        let old = res(vec![
            para("a", "OP1", "Decides to act;", Status::Open),
            para("x", "OP2", "Notes progress;", Status::Open),
            para("b", "OP3", "Requests a report;", Status::Open),
            para("c", "OP4", "Invites States;", Status::Open),
            para("d", "OP5", "Decides to remain seized.", Status::Open),
        ]);
        let new = res(vec![
            para("c", "OP4", "Invites States;", Status::Agreed),
            para("a", "OP1", "Decides to act now;", Status::Open),
            para("x", "OP2", "Notes progress;", Status::Open),
            para("n", "OP2bis", "Encourages donors;", Status::Open),
            para("d", "OP5", "Decides to remain seized.", Status::Open),
        ]);
        let c = compare(&old, &new);
        assert_eq!(
            c.added.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
            ["n"]
        );
        assert_eq!(
            c.deleted.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
            ["b"]
        );
        assert_eq!(c.moved.len(), 1);
        assert_eq!(c.moved[0].id, "c");
        assert_eq!(c.changed.len(), 1);
        assert_eq!(c.changed[0].id, "a");
        assert_eq!(c.status_changed.len(), 1);
        assert_eq!(c.status_changed[0].to, Status::Agreed);
        assert!(compare(&new, &new).is_empty());
    }
}
