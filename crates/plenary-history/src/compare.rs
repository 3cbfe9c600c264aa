//! Two states of one document, paragraph by paragraph, matched by paragraph id (ids survive
//! moves and are never reused, so a paragraph is followed through every edit), through the
//! pairing shared with `plenary diff` and the tracked-changes export
//! ([`plenary_doc::pairing`]): a paragraph out of order or of another kind now (preambular ↔
//! operative) is moved; footnotes are added, deleted, reworded or have a marker that moved.
//!
//! Both states carry their labels (computed against the version each point belongs to), so a
//! moved paragraph reports where delegates knew it (`OP4`) and where it is now (`OP2bis`).

use plenary_doc::pairing::{PairBy, Pairing, pair_footnotes, pair_paragraphs};
use plenary_doc::{Paragraph, Resolution, Status};
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
    /// Preambular ↔ operative.
    #[serde(default)]
    pub kind_changed: bool,
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
    /// Reworded (its marker may have moved too: see `marker_moved`).
    Changed,
    /// Same text, its reference now in another paragraph or after other words.
    MarkerMoved,
}

/// A footnote added, deleted, reworded or whose marker moved; `ops` is the word diff of its
/// text. A new number alone (notes are numbered by order of reference) is no change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FootnoteChange {
    pub id: String,
    pub change: FootnoteChangeKind,
    /// Its number on each side (0 where it does not exist).
    pub old_marker: u32,
    pub new_marker: u32,
    pub ops: Vec<WordOp>,
    /// Its reference stands elsewhere than it stood.
    #[serde(default)]
    pub marker_moved: bool,
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
    let pairing = pair_paragraphs(&old.paragraphs, &new.paragraphs, PairBy::Id);
    let mut out = Comparison {
        added: pairing
            .added
            .iter()
            .map(|&j| reference(&new.paragraphs[j]))
            .collect(),
        deleted: pairing
            .deleted
            .iter()
            .map(|&i| reference(&old.paragraphs[i]))
            .collect(),
        ..Comparison::default()
    };
    for pair in &pairing.pairs {
        let (o, p) = (&old.paragraphs[pair.old], &new.paragraphs[pair.new]);
        if pair.moved {
            out.moved.push(MovedParagraph {
                id: p.id.clone(),
                old_label: o.label.clone(),
                new_label: p.label.clone(),
                kind_changed: pair.kind_changed,
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
    out.footnotes = footnote_changes(old, new, PairBy::Id, &pairing);
    out.meta = meta_changes(old, new);
    out
}

/// A note's text without the markers of notes it cites.
fn note_text(runs: &[plenary_doc::Run]) -> String {
    runs.iter()
        .filter(|r| r.footnote.is_none())
        .map(|r| r.text.as_str())
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Footnotes paired as `by` says (given the paragraphs' pairing): added, deleted, reworded,
/// marker moved; in the new text's order, deletions last.
pub(crate) fn footnote_changes(
    old: &Resolution,
    new: &Resolution,
    by: PairBy,
    paragraphs: &Pairing,
) -> Vec<FootnoteChange> {
    let pairing = pair_footnotes(
        &old.footnotes,
        &new.footnotes,
        by,
        &old.paragraphs,
        &new.paragraphs,
        paragraphs,
    );
    let mut out = Vec::new();
    for (j, f) in new.footnotes.iter().enumerate() {
        if pairing.added.contains(&j) {
            out.push(FootnoteChange {
                id: f.id.clone(),
                change: FootnoteChangeKind::Added,
                old_marker: 0,
                new_marker: f.marker,
                ops: word_diff("", &note_text(&f.text)),
                marker_moved: false,
            });
        } else if let Some(p) = pairing.pairs.iter().find(|p| p.new == j) {
            let o = &old.footnotes[p.old];
            let change = if p.text_changed {
                FootnoteChangeKind::Changed
            } else if p.marker_moved {
                FootnoteChangeKind::MarkerMoved
            } else {
                continue;
            };
            out.push(FootnoteChange {
                id: f.id.clone(),
                change,
                old_marker: o.marker,
                new_marker: f.marker,
                ops: word_diff(&note_text(&o.text), &note_text(&f.text)),
                marker_moved: p.marker_moved,
            });
        }
    }
    for &i in &pairing.deleted {
        let o = &old.footnotes[i];
        out.push(FootnoteChange {
            id: o.id.clone(),
            change: FootnoteChangeKind::Deleted,
            old_marker: o.marker,
            new_marker: 0,
            ops: word_diff(&note_text(&o.text), ""),
            marker_moved: false,
        });
    }
    out
}

/// Who wrote what, for the tracked-changes export
/// ([`plenary_doc::export_docx_tracked_with`]): per paragraph the attribution's runs as
/// (characters, writer), and per paragraph the writer of the last of `entries` (the timeline
/// between the base and the current state, in order) that touched it; a writer is named
/// `user (Delegation)` and dated by its entry.
pub fn tracked_authors(
    attribution: &[crate::attribution::ParagraphAttribution],
    entries: &[crate::replay::TimelineEntry],
) -> plenary_doc::TrackedAuthors {
    let mut out = plenary_doc::TrackedAuthors::default();
    for e in entries {
        for id in &e.paragraphs {
            out.changed_by.insert(
                id.clone(),
                plenary_doc::Writer {
                    name: e.user.clone(),
                    delegation: e.delegation.clone(),
                    date: Some(iso8601(e.at_ms)),
                },
            );
        }
    }
    for p in attribution {
        let spans = p
            .runs
            .iter()
            .map(|r| {
                (
                    r.text.chars().count(),
                    plenary_doc::Writer {
                        name: r.user.clone(),
                        delegation: r.delegation.clone(),
                        date: Some(iso8601(r.at_ms)),
                    },
                )
            })
            .collect();
        out.paragraphs.insert(p.id.clone(), spans);
    }
    out
}

/// `2021-05-18T12:00:00Z` for milliseconds since the Unix epoch (UTC, whole seconds).
pub fn iso8601(at_ms: i64) -> String {
    let secs = at_ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Metadata compared through its JSON form, so every field of SPEC §2 is covered.
pub(crate) fn meta_changes(old: &Resolution, new: &Resolution) -> Vec<MetaChange> {
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
    fn iso8601_of_milliseconds() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_621_339_200_000), "2021-05-18T12:00:00Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00Z");
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
