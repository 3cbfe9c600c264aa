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
use std::time::{Duration, Instant};

use plenary_doc::{ProposalAction, Resolution, ResolutionDoc};
use plenary_store::LogEntry;
use serde::{Deserialize, Serialize};

/// Who wrote a run of text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// The plain text of the paragraphs `ids` (the first paragraph of each id, as
/// `ResolutionDoc::paragraph` finds it), read straight from the Y.Text: reading the typed
/// paragraph assembles its formatting runs, which costs many times more on a text with a long
/// history of edits.
fn paragraph_texts(doc: &ResolutionDoc, ids: &[&String]) -> HashMap<String, String> {
    use yrs::{Array, GetString, Map, Out, Transact};
    let mut out = HashMap::with_capacity(ids.len());
    let paragraphs = doc.doc().get_or_insert_array("paragraphs"); // SPEC §2 root
    let txn = doc.doc().transact();
    for item in paragraphs.iter(&txn) {
        let Out::YMap(m) = item else { continue };
        let Some(Out::Any(yrs::Any::String(id))) = m.get(&txn, "id") else {
            continue;
        };
        if out.contains_key(id.as_ref()) || !ids.iter().any(|w| w.as_str() == id.as_ref()) {
            continue;
        }
        let text = match m.get(&txn, "text") {
            Some(Out::YText(t)) => t.get_string(&txn),
            Some(Out::Any(yrs::Any::String(s))) => s.to_string(),
            _ => String::new(),
        };
        out.insert(id.to_string(), text);
        if out.len() == ids.len() {
            break;
        }
    }
    out
}

/// Whether a token ends before `at` (a word never spans it).
fn boundary(text: &[char], at: usize) -> bool {
    at == 0 || at >= text.len() || !(text[at - 1].is_alphanumeric() && text[at].is_alphanumeric())
}

/// The number of a word, the same for equal words.
fn intern<'a>(ids: &mut HashMap<&'a [char], u32>, word: &'a [char]) -> u32 {
    let next = ids.len() as u32;
    *ids.entry(word).or_insert(next)
}

/// How long one paragraph's word diff may take. Typing changes a few words and takes
/// microseconds; past this (a crafted rewrite of a huge paragraph) the diff settles for a coarser
/// answer rather than holding a history request or a checkpoint task.
const DIFF_DEADLINE: Duration = Duration::from_millis(200);

/// Per paragraph: its text as characters and, per character, an index into `authors`.
#[derive(Default)]
pub(crate) struct Attributor {
    authors: Vec<Author>,
    paragraphs: HashMap<String, (Vec<char>, Vec<u32>)>,
}

/// The serialized form of an [`Attributor`]: only the authors still credited, and per paragraph
/// its text with runs of (author, characters).
#[derive(Serialize, Deserialize)]
struct Saved {
    authors: Vec<Author>,
    paragraphs: Vec<SavedParagraph>,
}

#[derive(Serialize, Deserialize)]
struct SavedParagraph {
    id: String,
    text: String,
    runs: Vec<(u32, u32)>,
}

impl Attributor {
    fn author(&mut self, a: Author) -> u32 {
        if let Some(i) = self.authors.len().checked_sub(1)
            && self.authors[i] == a
        {
            return i as u32;
        }
        self.authors.push(a);
        (self.authors.len() - 1) as u32
    }

    /// Authors known, credited or not (each entry adds one; [`compact`](Self::compact) drops
    /// those no text is credited to any more).
    pub(crate) fn author_count(&self) -> usize {
        self.authors.len()
    }

    /// Forgets the authors no character is credited to, renumbering the rest in order.
    pub(crate) fn compact(&mut self) {
        let mut map: Vec<u32> = vec![u32::MAX; self.authors.len()];
        for (_, authors) in self.paragraphs.values() {
            for &a in authors {
                map[a as usize] = 0;
            }
        }
        let mut kept = Vec::new();
        for (i, a) in std::mem::take(&mut self.authors).into_iter().enumerate() {
            if map[i] == 0 {
                map[i] = kept.len() as u32;
                kept.push(a);
            }
        }
        for (_, authors) in self.paragraphs.values_mut() {
            for a in authors.iter_mut() {
                *a = map[*a as usize];
            }
        }
        self.authors = kept;
    }

    /// The state as JSON, compacted first.
    pub(crate) fn save(&mut self) -> Vec<u8> {
        self.compact();
        let mut paragraphs: Vec<SavedParagraph> = self
            .paragraphs
            .iter()
            .map(|(id, (chars, authors))| {
                let mut runs: Vec<(u32, u32)> = Vec::new();
                for &a in authors {
                    match runs.last_mut() {
                        Some((who, n)) if *who == a => *n += 1,
                        _ => runs.push((a, 1)),
                    }
                }
                SavedParagraph {
                    id: id.clone(),
                    text: chars.iter().collect(),
                    runs,
                }
            })
            .collect();
        paragraphs.sort_by(|a, b| a.id.cmp(&b.id));
        serde_json::to_vec(&Saved {
            authors: self.authors.clone(),
            paragraphs,
        })
        .unwrap_or_default()
    }

    /// The state [`save`](Self::save) wrote; `None` if the bytes are not one.
    pub(crate) fn load(bytes: &[u8]) -> Option<Attributor> {
        let saved: Saved = serde_json::from_slice(bytes).ok()?;
        let mut paragraphs = HashMap::with_capacity(saved.paragraphs.len());
        for p in saved.paragraphs {
            let chars: Vec<char> = p.text.chars().collect();
            let mut authors = Vec::with_capacity(chars.len());
            for (who, n) in p.runs {
                if who as usize >= saved.authors.len() {
                    return None;
                }
                authors.extend(std::iter::repeat_n(who, n as usize));
            }
            if authors.len() != chars.len() {
                return None;
            }
            paragraphs.insert(p.id, (chars, authors));
        }
        Some(Attributor {
            authors: saved.authors,
            paragraphs,
        })
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
        let mut credited: HashMap<String, u32> = HashMap::new();
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
        let rewritten: Vec<&String> = effect
            .paragraphs
            .iter()
            .filter(|(_, e)| e.text || e.inserted.is_some() || e.deleted)
            .map(|(id, _)| id)
            .collect();
        if rewritten.is_empty() {
            return;
        }
        let mut texts = paragraph_texts(doc, &rewritten);
        for id in rewritten {
            let who = credited.get(id).copied().unwrap_or(writer);
            match texts.remove(id.as_str()) {
                Some(text) => self.update(id, text.chars().collect(), who),
                None => {
                    self.paragraphs.remove(id);
                }
            }
        }
    }

    fn update(&mut self, id: &str, new: Vec<char>, who: u32) {
        let (old, old_authors) = self.paragraphs.remove(id).unwrap_or_default();
        // What both texts share at either end (backed off to word boundaries) keeps its authors
        // without being tokenised: typing in a long paragraph costs the comparison, not a diff.
        let mut head = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
        while !(boundary(&old, head) && boundary(&new, head)) {
            head -= 1;
        }
        let mut tail = old[head..]
            .iter()
            .rev()
            .zip(new[head..].iter().rev())
            .take_while(|(a, b)| a == b)
            .count();
        while !(boundary(&old, old.len() - tail) && boundary(&new, new.len() - tail)) {
            tail -= 1;
        }
        let (old_mid, new_mid) = (&old[head..old.len() - tail], &new[head..new.len() - tail]);
        let (old_tokens, new_tokens) = (tokens(old_mid), tokens(new_mid));
        // Tokens as small numbers (equal words, equal numbers): memory per token stays small.
        let mut ids: HashMap<&[char], u32> = HashMap::new();
        let old_words: Vec<u32> = old_tokens
            .iter()
            .map(|r| intern(&mut ids, &old_mid[r.clone()]))
            .collect();
        let new_words: Vec<u32> = new_tokens
            .iter()
            .map(|r| intern(&mut ids, &new_mid[r.clone()]))
            .collect();
        let mut authors = Vec::with_capacity(new.len());
        authors.extend_from_slice(&old_authors[..head]);
        let deadline = Instant::now() + DIFF_DEADLINE;
        for op in similar::capture_diff_slices_deadline(
            similar::Algorithm::Myers,
            &old_words,
            &new_words,
            Some(deadline),
        ) {
            match op {
                similar::DiffOp::Equal { old_index, len, .. } => {
                    for r in &old_tokens[old_index..old_index + len] {
                        authors.extend_from_slice(&old_authors[head + r.start..head + r.end]);
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
        authors.extend_from_slice(&old_authors[old.len() - tail..]);
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
                        let first = &self.authors[authors[i] as usize];
                        let mut latest = first;
                        let mut j = i;
                        while j < chars.len()
                            && self.authors[authors[j] as usize].same_writer(first)
                        {
                            let a = &self.authors[authors[j] as usize];
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
