//! Printed numbers of paragraphs and footnotes, from document order.

use std::collections::HashMap;

use crate::model::{Footnote, ParagraphKind, Resolution};

/// How each paragraph and footnote of a resolution is numbered in print.
#[derive(Debug)]
pub(crate) struct Numbering<'a> {
    /// Per paragraph, in order: `"3"` for an operative paragraph, `"b"` for
    /// a sub-paragraph, `"ii"` for a sub-sub-paragraph, `""` for a preambular paragraph.
    pub paragraphs: Vec<String>,
    /// Footnote id → printed number, by order of first reference; footnotes
    /// never referenced follow, in their order.
    pub footnote_numbers: HashMap<&'a str, u32>,
    /// Footnotes in printed order.
    pub footnotes: Vec<&'a Footnote>,
}

impl<'a> Numbering<'a> {
    pub(crate) fn of(resolution: &'a Resolution) -> Self {
        let items: Vec<(ParagraphKind, u8)> = resolution
            .paragraphs
            .iter()
            .map(|p| (p.kind, p.level))
            .collect();
        let paragraphs = crate::numbering::plain(&items)
            .into_iter()
            .map(|l| {
                l.number
                    .trim_start_matches('(')
                    .trim_end_matches(')')
                    .to_owned()
            })
            .collect();

        let by_id: HashMap<&str, &Footnote> = resolution
            .footnotes
            .iter()
            .map(|f| (f.id.as_str(), f))
            .collect();
        let mut footnote_numbers = HashMap::new();
        let mut footnotes = Vec::new();
        let referenced = resolution
            .paragraphs
            .iter()
            .flat_map(|p| &p.text)
            .filter_map(|run| run.footnote.as_deref());
        let in_order = referenced.chain(resolution.footnotes.iter().map(|f| f.id.as_str()));
        for id in in_order {
            if footnote_numbers.contains_key(id) {
                continue;
            }
            let number = u32::try_from(footnote_numbers.len() + 1).unwrap_or(u32::MAX);
            footnote_numbers.insert(id, number);
            if let Some(footnote) = by_id.get(id) {
                footnotes.push(*footnote);
            }
        }
        Numbering {
            paragraphs,
            footnote_numbers,
            footnotes,
        }
    }

    /// The printed number of footnote `id` (0 if the id is unknown, which
    /// cannot happen for ids taken from the same resolution).
    pub(crate) fn footnote(&self, id: &str) -> u32 {
        self.footnote_numbers.get(id).copied().unwrap_or(0)
    }
}
