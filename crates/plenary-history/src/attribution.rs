//! Who wrote which part of each paragraph.
//!
//! Each log entry is replayed in order; for every paragraph its effect touched, the paragraph's
//! text before and after is diffed word by word, kept words keep their author
//! and inserted ones are credited to the entry's user and delegation. Diffing (rather than
//! following yrs item ids) is what keeps authorship through the operations that rewrite a
//! paragraph's items wholesale: a move (delete and re-insert of the paragraph), a whole-text
//! replacement, the acceptance of a proposal. Text inserted by accepting a proposal is credited
//! to the proposal's author and delegation, not to the chair who accepted it.

use std::collections::HashMap;

use plenary_doc::{ProposalAction, Resolution, ResolutionDoc};
use plenary_store::LogEntry;
use serde::{Deserialize, Serialize};

use crate::words::plain_text;

/// Who wrote a run of text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Author {
    user: String,
    delegation: Option<String>,
    seq: u64,
    at_ms: i64,
    proposal: Option<String>,
}

/// A run of a paragraph's current text and who wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttributedRun {
    pub text: String,
    pub user: String,
    pub delegation: Option<String>,
    /// The latest log entry that wrote part of it, and when.
    pub seq: u64,
    pub at_ms: i64,
    /// Set when the text came in by accepting this proposal.
    pub proposal: Option<String>,
}

/// A paragraph's current text as runs by author.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ParagraphAttribution {
    pub id: String,
    pub label: String,
    pub runs: Vec<AttributedRun>,
}

impl Author {
    /// Runs are merged across entries by the same writer.
    fn same_writer(&self, other: &Author) -> bool {
        self.user == other.user
            && self.delegation == other.delegation
            && self.proposal == other.proposal
    }
}

/// Words (runs of letters and digits) and single other characters: diffing characters would
/// match letters of a new word scattered through the old text and credit them to its author.
fn tokens(text: &[char]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let mut j = i + 1;
        if text[i].is_alphanumeric() {
            while j < text.len() && text[j].is_alphanumeric() {
                j += 1;
            }
        }
        out.push(i..j);
        i = j;
    }
    out
}

/// Per paragraph: its text as characters and, per character, an index into `authors`.
#[derive(Default)]
pub(crate) struct Attributor {
    authors: Vec<Author>,
    paragraphs: HashMap<String, (Vec<char>, Vec<usize>)>,
}

impl Attributor {
    fn author(&mut self, a: Author) -> usize {
        if let Some(i) = self.authors.len().checked_sub(1)
            && self.authors[i] == a
        {
            return i;
        }
        self.authors.push(a);
        self.authors.len() - 1
    }

    /// Applies entry `seq` to `doc` and updates authorship of the paragraphs it touched.
    /// An entry that cannot be applied is skipped, as the server does on load.
    pub(crate) fn apply(&mut self, doc: &mut ResolutionDoc, seq: u64, entry: &LogEntry) {
        let Ok(effect) = doc.apply(&entry.update) else {
            return;
        };
        let writer = self.author(Author {
            user: entry.user.clone(),
            delegation: entry.delegation.clone(),
            seq,
            at_ms: entry.at_ms,
            proposal: None,
        });
        // Accepted proposals: their text is the proposer's.
        let mut credited: HashMap<String, usize> = HashMap::new();
        for (pid, pe) in &effect.proposals {
            let accepted = pe
                .fields
                .get("status")
                .is_some_and(|f| f.values.iter().any(|v| v.as_str() == Some("accepted")));
            let Some(p) = doc.proposal(pid).filter(|_| accepted) else {
                continue;
            };
            let proposer = self.author(Author {
                user: p.author.clone(),
                delegation: Some(p.delegation.clone()),
                seq,
                at_ms: entry.at_ms,
                proposal: Some(p.id.clone()),
            });
            match p.action {
                ProposalAction::Replace => {
                    if let Some(t) = &p.paragraph_id {
                        credited.insert(t.clone(), proposer);
                    }
                }
                ProposalAction::Insert => {
                    for (id, e) in &effect.paragraphs {
                        if e.inserted.is_some() && !e.deleted {
                            credited.insert(id.clone(), proposer);
                        }
                    }
                }
                ProposalAction::Delete | ProposalAction::Move => {}
            }
        }
        let rewritten = effect
            .paragraphs
            .iter()
            .filter(|(_, e)| e.text || e.inserted.is_some() || e.deleted)
            .map(|(id, _)| id);
        for id in rewritten {
            let who = credited.get(id).copied().unwrap_or(writer);
            match doc.paragraph(id) {
                Some(p) => {
                    let new: Vec<char> = plain_text(&p.text).chars().collect();
                    self.update(id, new, who);
                }
                None => {
                    self.paragraphs.remove(id);
                }
            }
        }
    }

    fn update(&mut self, id: &str, new: Vec<char>, who: usize) {
        let (old, old_authors) = self.paragraphs.remove(id).unwrap_or_default();
        let (old_tokens, new_tokens) = (tokens(&old), tokens(&new));
        let old_words: Vec<&[char]> = old_tokens.iter().map(|r| &old[r.clone()]).collect();
        let new_words: Vec<&[char]> = new_tokens.iter().map(|r| &new[r.clone()]).collect();
        let mut authors = Vec::with_capacity(new.len());
        for op in similar::capture_diff_slices(similar::Algorithm::Myers, &old_words, &new_words) {
            match op {
                similar::DiffOp::Equal { old_index, len, .. } => {
                    for r in &old_tokens[old_index..old_index + len] {
                        authors.extend_from_slice(&old_authors[r.clone()]);
                    }
                }
                similar::DiffOp::Delete { .. } => {}
                similar::DiffOp::Insert {
                    new_index, new_len, ..
                }
                | similar::DiffOp::Replace {
                    new_index, new_len, ..
                } => {
                    let chars: usize = new_tokens[new_index..new_index + new_len]
                        .iter()
                        .map(|r| r.len())
                        .sum();
                    authors.extend(std::iter::repeat_n(who, chars));
                }
            }
        }
        self.paragraphs.insert(id.to_owned(), (new, authors));
    }

    /// Runs by author for every paragraph of `r` (its labels are used as given).
    pub(crate) fn report(&self, r: &Resolution) -> Vec<ParagraphAttribution> {
        r.paragraphs
            .iter()
            .map(|p| {
                let mut runs: Vec<AttributedRun> = Vec::new();
                if let Some((chars, authors)) = self.paragraphs.get(&p.id) {
                    let mut i = 0;
                    while i < chars.len() {
                        let first = &self.authors[authors[i]];
                        let mut latest = first;
                        let mut j = i;
                        while j < chars.len() && self.authors[authors[j]].same_writer(first) {
                            let a = &self.authors[authors[j]];
                            if a.seq > latest.seq {
                                latest = a;
                            }
                            j += 1;
                        }
                        runs.push(AttributedRun {
                            text: chars[i..j].iter().collect(),
                            user: first.user.clone(),
                            delegation: first.delegation.clone(),
                            seq: latest.seq,
                            at_ms: latest.at_ms,
                            proposal: first.proposal.clone(),
                        });
                        i = j;
                    }
                }
                ParagraphAttribution {
                    id: p.id.clone(),
                    label: p.label.clone(),
                    runs,
                }
            })
            .collect()
    }
}
