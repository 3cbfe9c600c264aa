//! The Yjs layout of a resolution (SPEC §2): root names and keys, and the
//! two directions between it and the typed [`Resolution`] view.
//!
//! Root names and keys are a contract with every Yjs client; they live here
//! once. Enum values are stored as their kebab-case names, `level` as a
//! number, `createdAt`/`at` as milliseconds.

use std::collections::HashMap;
use std::sync::Arc;

use yrs::types::text::{Diff, YChange};
use yrs::{
    Any, Array, ArrayPrelim, ArrayRef, Map, MapPrelim, MapRef, Out, ReadTxn, Text, TextPrelim,
    TextRef, TransactionMut,
};

use crate::model::{
    Footnote, Meta, Mode, Paragraph, ParagraphKind, Proposal, ProposalAction, ProposalStatus,
    Resolution, Run, Sponsor,
};

pub const META: &str = "meta";
pub const PARAGRAPHS: &str = "paragraphs";
pub const FOOTNOTES: &str = "footnotes";
pub const PROPOSALS: &str = "proposals";
pub const SPONSORS: &str = "sponsors";

/// The meta key the server writes, and only the server, when a version is named: the
/// version's name (`ResolutionDoc::write_revision`). Not a field of SPEC §2's `Meta`: pages
/// observe it to learn the new base order of their provisional labels.
pub const REVISION: &str = "revision";

pub(crate) const ITALIC: &str = "italic";
pub(crate) const FOOTNOTE: &str = "footnote";

/// The meta keys of SPEC §2, in the order the `Meta` struct lists them.
pub const META_KEYS: [&str; 18] = [
    "symbol",
    "distribution",
    "date",
    "original",
    "organ",
    "body",
    "session",
    "venue",
    "agendaItem",
    "agendaTitle",
    "submittedBy",
    "report",
    "introduction",
    "number",
    "title",
    "actingBody",
    "closing",
    "mode",
];

/// Kebab-case name of a serde unit enum value ("ad-ref", "operative", …).
pub(crate) fn enum_name<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

pub(crate) fn parse_enum<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
}

pub(crate) fn meta_get<'a>(m: &'a Meta, key: &str) -> Option<&'a Option<String>> {
    Some(match key {
        "symbol" => &m.symbol,
        "distribution" => &m.distribution,
        "date" => &m.date,
        "original" => &m.original,
        "organ" => &m.organ,
        "body" => &m.body,
        "session" => &m.session,
        "venue" => &m.venue,
        "agendaItem" => &m.agenda_item,
        "agendaTitle" => &m.agenda_title,
        "submittedBy" => &m.submitted_by,
        "report" => &m.report,
        "introduction" => &m.introduction,
        "number" => &m.number,
        "title" => &m.title,
        "actingBody" => &m.acting_body,
        "closing" => &m.closing,
        _ => return None,
    })
}

fn meta_slot<'a>(m: &'a mut Meta, key: &str) -> Option<&'a mut Option<String>> {
    Some(match key {
        "symbol" => &mut m.symbol,
        "distribution" => &mut m.distribution,
        "date" => &mut m.date,
        "original" => &mut m.original,
        "organ" => &mut m.organ,
        "body" => &mut m.body,
        "session" => &mut m.session,
        "venue" => &mut m.venue,
        "agendaItem" => &mut m.agenda_item,
        "agendaTitle" => &mut m.agenda_title,
        "submittedBy" => &mut m.submitted_by,
        "report" => &mut m.report,
        "introduction" => &mut m.introduction,
        "number" => &mut m.number,
        "title" => &mut m.title,
        "actingBody" => &mut m.acting_body,
        "closing" => &mut m.closing,
        _ => return None,
    })
}

/// Format attributes for a run: unset attributes are written as `null` so an
/// insertion never inherits its left neighbour's italics.
pub(crate) fn run_attrs(run: &Run) -> HashMap<Arc<str>, Any> {
    let mut a = HashMap::new();
    a.insert(
        Arc::from(ITALIC),
        if run.italic {
            Any::Bool(true)
        } else {
            Any::Null
        },
    );
    a.insert(
        Arc::from(FOOTNOTE),
        match &run.footnote {
            Some(id) => Any::String(Arc::from(id.as_str())),
            None => Any::Null,
        },
    );
    a
}

pub(crate) fn write_runs(txn: &mut TransactionMut, text: &TextRef, at: u32, runs: &[Run]) -> u32 {
    let mut pos = at;
    for run in runs {
        if run.text.is_empty() {
            continue;
        }
        text.insert_with_attributes(txn, pos, &run.text, run_attrs(run));
        pos += utf16_len(&run.text);
    }
    pos - at
}

pub(crate) fn utf16_len(s: &str) -> u32 {
    s.encode_utf16().count() as u32
}

pub(crate) fn read_runs<T: ReadTxn>(txn: &T, text: &TextRef) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for Diff {
        insert, attributes, ..
    } in text.diff(txn, YChange::identity)
    {
        let s = match insert {
            Out::Any(Any::String(s)) => s.to_string(),
            _ => continue,
        };
        let (italic, footnote) = match attributes.as_deref() {
            Some(a) => (
                matches!(a.get(ITALIC), Some(Any::Bool(true))),
                match a.get(FOOTNOTE) {
                    Some(Any::String(id)) => Some(id.to_string()),
                    _ => None,
                },
            ),
            None => (false, None),
        };
        match runs.last_mut() {
            Some(last) if last.italic == italic && last.footnote == footnote => {
                last.text.push_str(&s)
            }
            _ => runs.push(Run {
                text: s,
                italic,
                footnote,
            }),
        }
    }
    runs
}

pub(crate) fn str_of<T: ReadTxn>(txn: &T, map: &MapRef, key: &str) -> Option<String> {
    match map.get(txn, key) {
        Some(Out::Any(Any::String(s))) => Some(s.to_string()),
        _ => None,
    }
}

pub(crate) fn num_of<T: ReadTxn>(txn: &T, map: &MapRef, key: &str) -> Option<f64> {
    match map.get(txn, key) {
        Some(Out::Any(Any::Number(n))) => n.as_f64(),
        _ => None,
    }
}

pub(crate) fn text_of<T: ReadTxn>(txn: &T, map: &MapRef, key: &str) -> Option<TextRef> {
    match map.get(txn, key) {
        Some(Out::YText(t)) => Some(t),
        _ => None,
    }
}

fn opt_any(s: &Option<String>) -> Any {
    match s {
        Some(s) => Any::String(Arc::from(s.as_str())),
        None => Any::Null,
    }
}

/// Writes a paragraph map's fields into a fresh map.
pub(crate) fn write_paragraph(txn: &mut TransactionMut, map: &MapRef, p: &Paragraph) {
    map.insert(txn, "id", p.id.as_str());
    map.insert(txn, "kind", enum_name(&p.kind));
    map.insert(txn, "level", Any::from(p.level as i64));
    map.insert(txn, "status", enum_name(&p.status));
    let text = map.insert(txn, "text", TextPrelim::new(""));
    write_runs(txn, &text, 0, &p.text);
}

pub(crate) fn read_paragraph<T: ReadTxn>(txn: &T, map: &MapRef) -> Option<Paragraph> {
    Some(Paragraph {
        id: str_of(txn, map, "id")?,
        kind: str_of(txn, map, "kind")
            .and_then(|s| parse_enum(&s))
            .unwrap_or(ParagraphKind::Operative),
        level: num_of(txn, map, "level")
            .map(|n| n.clamp(0.0, 9.0) as u8)
            .unwrap_or(0),
        status: str_of(txn, map, "status")
            .and_then(|s| parse_enum(&s))
            .unwrap_or_default(),
        text: text_of(txn, map, "text")
            .map(|t| read_runs(txn, &t))
            .unwrap_or_default(),
        number: String::new(),
        label: String::new(),
    })
}

pub(crate) fn write_proposal(txn: &mut TransactionMut, map: &MapRef, p: &Proposal) {
    map.insert(txn, "id", p.id.as_str());
    map.insert(txn, "paragraphId", opt_any(&p.paragraph_id));
    if let Some(fid) = &p.footnote_id {
        map.insert(txn, "footnoteId", fid.as_str());
    }
    map.insert(txn, "after", opt_any(&p.after));
    map.insert(txn, "action", enum_name(&p.action));
    map.insert(txn, "text", p.text.as_str());
    if let Some(base) = &p.base_text {
        map.insert(txn, "baseText", base.as_str());
    }
    if let Some(seq) = p.base_seq {
        map.insert(txn, "baseSeq", Any::from(seq as f64));
    }
    if let Some(kind) = &p.kind {
        map.insert(txn, "kind", enum_name(kind));
    }
    if let Some(level) = p.level {
        map.insert(txn, "level", Any::from(level as i64));
    }
    map.insert(txn, "delegation", p.delegation.as_str());
    map.insert(txn, "onBehalfOf", opt_any(&p.on_behalf_of));
    let sup: Vec<Any> = p
        .supporters
        .iter()
        .map(|s| Any::String(Arc::from(s.as_str())))
        .collect();
    map.insert(txn, "supporters", ArrayPrelim::from(sup));
    map.insert(txn, "author", p.author.as_str());
    map.insert(txn, "createdAt", Any::from(p.created_at));
    map.insert(txn, "status", enum_name(&p.status));
    map.insert(txn, "decidedBy", opt_any(&p.decided_by));
    if let Some(at) = p.decided_at {
        map.insert(txn, "decidedAt", Any::from(at));
    }
}

pub(crate) fn read_proposal<T: ReadTxn>(txn: &T, map: &MapRef) -> Option<Proposal> {
    Some(Proposal {
        id: str_of(txn, map, "id")?,
        paragraph_id: str_of(txn, map, "paragraphId"),
        footnote_id: str_of(txn, map, "footnoteId"),
        after: str_of(txn, map, "after"),
        action: str_of(txn, map, "action").and_then(|s| parse_enum::<ProposalAction>(&s))?,
        text: str_of(txn, map, "text").unwrap_or_default(),
        base_text: str_of(txn, map, "baseText"),
        base_seq: num_of(txn, map, "baseSeq")
            .filter(|n| n.is_finite() && *n >= 0.0)
            .map(|n| n as u64),
        kind: str_of(txn, map, "kind").and_then(|s| parse_enum(&s)),
        level: num_of(txn, map, "level").map(|n| n.clamp(0.0, 2.0) as u8),
        delegation: str_of(txn, map, "delegation").unwrap_or_default(),
        on_behalf_of: str_of(txn, map, "onBehalfOf"),
        supporters: match map.get(txn, "supporters") {
            Some(Out::YArray(a)) => a
                .iter(txn)
                .filter_map(|v| match v {
                    Out::Any(Any::String(s)) => Some(s.to_string()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        },
        author: str_of(txn, map, "author").unwrap_or_default(),
        created_at: num_of(txn, map, "createdAt").unwrap_or(0.0) as i64,
        status: str_of(txn, map, "status")
            .and_then(|s| parse_enum::<ProposalStatus>(&s))
            .unwrap_or_default(),
        decided_by: str_of(txn, map, "decidedBy"),
        decided_at: num_of(txn, map, "decidedAt").map(|n| n as i64),
    })
}

pub(crate) fn write_sponsor(txn: &mut TransactionMut, map: &MapRef, s: &Sponsor) {
    map.insert(txn, "delegation", s.delegation.as_str());
    map.insert(txn, "signedBy", s.signed_by.as_str());
    map.insert(txn, "at", Any::from(s.at));
}

fn read_sponsor<T: ReadTxn>(txn: &T, map: &MapRef) -> Option<Sponsor> {
    Some(Sponsor {
        delegation: str_of(txn, map, "delegation")?,
        signed_by: str_of(txn, map, "signedBy").unwrap_or_default(),
        at: num_of(txn, map, "at").unwrap_or(0.0) as i64,
    })
}

/// The root types, fetched once per document.
#[derive(Clone)]
pub(crate) struct Roots {
    pub meta: MapRef,
    pub paragraphs: ArrayRef,
    pub footnotes: MapRef,
    pub proposals: ArrayRef,
    pub sponsors: ArrayRef,
}

impl Roots {
    pub fn new(doc: &yrs::Doc) -> Self {
        Roots {
            meta: doc.get_or_insert_map(META),
            paragraphs: doc.get_or_insert_array(PARAGRAPHS),
            footnotes: doc.get_or_insert_map(FOOTNOTES),
            proposals: doc.get_or_insert_array(PROPOSALS),
            sponsors: doc.get_or_insert_array(SPONSORS),
        }
    }

    /// Writes a whole model into (empty) roots. Derived fields are ignored.
    pub fn write(&self, txn: &mut TransactionMut, r: &Resolution) {
        for key in META_KEYS {
            if let Some(Some(v)) = meta_get(&r.meta, key) {
                self.meta.insert(txn, key, v.as_str());
            }
        }
        self.meta.insert(txn, "mode", enum_name(&r.meta.mode));
        for p in &r.paragraphs {
            let len = self.paragraphs.len(txn);
            let map = self.paragraphs.insert(txn, len, MapPrelim::default());
            write_paragraph(txn, &map, p);
        }
        for f in &r.footnotes {
            let t = self
                .footnotes
                .insert(txn, f.id.as_str(), TextPrelim::new(""));
            write_runs(txn, &t, 0, &f.text);
        }
        for p in &r.proposals {
            let len = self.proposals.len(txn);
            let map = self.proposals.insert(txn, len, MapPrelim::default());
            write_proposal(txn, &map, p);
        }
        for s in &r.sponsors {
            let len = self.sponsors.len(txn);
            let map = self.sponsors.insert(txn, len, MapPrelim::default());
            write_sponsor(txn, &map, s);
        }
    }

    pub fn read_meta<T: ReadTxn>(&self, txn: &T) -> Meta {
        let mut meta = Meta::default();
        for key in META_KEYS {
            if let (Some(slot), Some(Out::Any(Any::String(v)))) =
                (meta_slot(&mut meta, key), self.meta.get(txn, key))
            {
                *slot = Some(v.to_string());
            }
        }
        meta.mode = match self.meta.get(txn, "mode") {
            Some(Out::Any(Any::String(s))) => parse_enum::<Mode>(&s).unwrap_or_default(),
            _ => Mode::default(),
        };
        meta
    }

    pub fn paragraph_maps<T: ReadTxn>(&self, txn: &T) -> Vec<MapRef> {
        self.paragraphs
            .iter(txn)
            .filter_map(|v| match v {
                Out::YMap(m) => Some(m),
                _ => None,
            })
            .collect()
    }

    pub fn proposal_maps<T: ReadTxn>(&self, txn: &T) -> Vec<MapRef> {
        self.proposals
            .iter(txn)
            .filter_map(|v| match v {
                Out::YMap(m) => Some(m),
                _ => None,
            })
            .collect()
    }

    /// The typed view, with derived numbering, labels and footnote markers.
    pub fn read<T: ReadTxn>(&self, txn: &T) -> Resolution {
        let mut paragraphs: Vec<Paragraph> = self
            .paragraph_maps(txn)
            .iter()
            .filter_map(|m| read_paragraph(txn, m))
            .collect();
        crate::numbering::number_paragraphs(&mut paragraphs, None);
        let mut notes: HashMap<String, Vec<Run>> = HashMap::new();
        let mut ids: Vec<String> = Vec::new();
        for (k, v) in self.footnotes.iter(txn) {
            if let Out::YText(t) = v {
                notes.insert(k.to_owned(), read_runs(txn, &t));
                ids.push(k.to_owned());
            }
        }
        ids.sort();
        // numbering by order of first reference; unreferenced notes last
        let mut order: Vec<String> = Vec::new();
        for p in &paragraphs {
            for r in &p.text {
                if let Some(f) = &r.footnote
                    && !order.contains(f)
                    && notes.contains_key(f)
                {
                    order.push(f.clone());
                }
            }
        }
        for id in ids {
            if !order.contains(&id) {
                order.push(id);
            }
        }
        let marker_of = |id: &str| order.iter().position(|o| o == id).map(|i| i as u32 + 1);
        for p in &mut paragraphs {
            for r in &mut p.text {
                if let Some(n) = r.footnote.as_deref().and_then(marker_of) {
                    r.text = superscript(n);
                }
            }
        }
        let footnotes = order
            .iter()
            .enumerate()
            .map(|(i, id)| Footnote {
                id: id.clone(),
                marker: i as u32 + 1,
                text: notes.remove(id).unwrap_or_default(),
            })
            .collect();
        Resolution {
            meta: self.read_meta(txn),
            paragraphs,
            footnotes,
            proposals: self
                .proposal_maps(txn)
                .iter()
                .filter_map(|m| read_proposal(txn, m))
                .collect(),
            sponsors: self
                .sponsors
                .iter(txn)
                .filter_map(|v| match v {
                    Out::YMap(m) => read_sponsor(txn, &m),
                    _ => None,
                })
                .collect(),
        }
    }
}

/// `12` → `¹²`.
pub fn superscript(n: u32) -> String {
    const DIGITS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    n.to_string()
        .chars()
        .filter_map(|c| c.to_digit(10).map(|d| DIGITS[d as usize]))
        .collect()
}
