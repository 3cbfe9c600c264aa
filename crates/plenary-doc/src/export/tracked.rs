//! Word with tracked changes against a base: how a revised draft (Rev.1)
//! is circulated, so that delegations see what changed since the last
//! version.
//!
//! Paragraphs are paired by [`crate::pairing`] (by id for two states of one
//! document, by content words for two separately imported texts):
//!
//! - an added paragraph is one whole insertion (`w:ins`, its paragraph mark
//!   too), a deleted one one whole deletion where it stood;
//! - a changed paragraph carries a word diff (italics and footnote
//!   references take part);
//! - a *moved* paragraph (out of order, or preambular ↔ operative) is a
//!   whole deletion at its old place and a whole insertion at its new one,
//!   each with a Word comment naming the move (`Moved from OP3 (now PP5)`)
//!   and, at the new place, the redline of its wording. docx-rs writes
//!   `w:moveFrom`/`w:moveTo` but not the `w:moveFromRangeStart`/`End` marks
//!   Word expects around them, so the plain deletion and insertion are
//!   used: each can be accepted or rejected on its own, and rejecting both
//!   gives the base back;
//! - the header block (masthead, title, submitted-by line …) and the
//!   closing lines are compared line by line and changed lines carry a word
//!   diff; a footnote whose text changed carries a word diff inside the
//!   note, an added one is inserted whole.
//!
//! Each insertion is credited to whoever wrote it where history knows it
//! ([`TrackedAuthors`], from the history's attribution): `Name (Delegation)`
//! and the time of the writing entry. A paragraph deleted whole goes to
//! whoever deleted it, a moved one to whoever last changed it (from the
//! log). A deletion inside a paragraph that is part of a replacement goes
//! to the writer of the replacing words; other deletions inside a
//! paragraph, header and footnote changes go to the given author.

use std::collections::{HashMap, HashSet};

use docx_rs::{
    Comment, Delete, DocumentChild, Insert, Paragraph as WordParagraph, ParagraphChild,
    Run as WordRun, RunChild, RunProperty,
};

use super::docx::{
    DocxError, clean, closing, document, footnote_run, frame, pack, superscript_run, text_run,
};
use super::numbering::Numbering;
use crate::model::{Footnote, Paragraph, Resolution, Run};
use crate::numbering::number_paragraphs;
use crate::pairing::{PairBy, pair_footnotes, pair_paragraphs};

/// Beyond this many cells the word diff of one paragraph gives up on
/// alignment and shows the old text deleted and the new inserted.
const MAX_DIFF_CELLS: usize = 4_000_000;

/// Who wrote a piece of text, as history knows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Writer {
    /// The person (user name).
    pub name: String,
    pub delegation: Option<String>,
    /// When (ISO 8601); the export's date where unknown.
    pub date: Option<String>,
}

impl Writer {
    fn mark(&self, default: &Mark) -> Mark {
        Mark {
            author: self.label(),
            date: self.date.clone().unwrap_or_else(|| default.date.clone()),
        }
    }

    /// `w:author`: `Name (Delegation)`.
    pub fn label(&self) -> String {
        match &self.delegation {
            Some(d) if !d.is_empty() => format!("{} ({d})", self.name),
            _ => self.name.clone(),
        }
    }
}

/// Who wrote what, as history knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackedAuthors {
    /// Per paragraph id of the current side, its text (every run's text in
    /// order, footnote markers included) as consecutive spans of
    /// (characters, writer).
    pub paragraphs: HashMap<String, Vec<(usize, Writer)>>,
    /// Per paragraph id (either side), the writer of the last change to it
    /// since the base: credited with a paragraph deleted whole (exact: the
    /// deletion is its last change) and with both marks of a paragraph moved
    /// (the last change is usually the move; a later edit of its text wins).
    pub changed_by: HashMap<String, Writer>,
}

impl TrackedAuthors {
    fn at(&self, paragraph: &str, offset: usize) -> Option<&Writer> {
        let spans = self.paragraphs.get(paragraph)?;
        let mut end = 0;
        for (len, writer) in spans {
            end += len;
            if offset < end {
                return Some(writer);
            }
        }
        spans.last().map(|(_, w)| w)
    }
}

/// How to render a tracked-changes document.
#[derive(Debug, Clone, Copy)]
pub struct TrackedOptions<'a> {
    /// The author of changes history does not attribute.
    pub author: &'a str,
    /// ISO 8601, such as `2021-05-18T12:00:00Z`.
    pub date: &'a str,
    /// By id (two states of one document) or by similarity (two imports).
    pub pair_by: PairBy,
    pub authors: Option<&'a TrackedAuthors>,
}

/// Renders `current` as a Word document whose tracked changes (author
/// `author`, time `date`) turn `base` into it, `base` and `current` being
/// two states of one document (paragraphs paired by id).
pub fn export_docx_tracked(
    base: &Resolution,
    current: &Resolution,
    author: &str,
    date: &str,
) -> Result<Vec<u8>, DocxError> {
    export_docx_tracked_with(
        base,
        current,
        &TrackedOptions {
            author,
            date,
            pair_by: PairBy::Id,
            authors: None,
        },
    )
}

/// Renders `current` with tracked changes against `base`, as `options` say.
pub fn export_docx_tracked_with(
    base: &Resolution,
    current: &Resolution,
    options: &TrackedOptions<'_>,
) -> Result<Vec<u8>, DocxError> {
    let base_numbering = Numbering::of(base);
    let numbering = Numbering::of(current);
    let default = Mark {
        author: options.author.to_owned(),
        date: options.date.to_owned(),
    };
    let mut comments = 0usize;
    let pairing = pair_paragraphs(&base.paragraphs, &current.paragraphs, options.pair_by);
    let notes = pair_footnotes(
        &base.footnotes,
        &current.footnotes,
        options.pair_by,
        &base.paragraphs,
        &current.paragraphs,
        &pairing,
    );
    let mut note_base: HashMap<&str, NoteBase<'_>> = HashMap::new();
    for &j in &notes.added {
        note_base.insert(current.footnotes[j].id.as_str(), NoteBase::Added);
    }
    for p in notes.pairs.iter().filter(|p| p.text_changed) {
        note_base.insert(
            current.footnotes[p.new].id.as_str(),
            NoteBase::Changed(&base.footnotes[p.old]),
        );
    }
    // Footnote references are compared through the footnote pairing: two
    // imports number their notes by order of reference.
    let old_to_new: HashMap<&str, &str> = notes
        .pairs
        .iter()
        .map(|p| {
            (
                base.footnotes[p.old].id.as_str(),
                current.footnotes[p.new].id.as_str(),
            )
        })
        .collect();
    let new_to_old: HashMap<&str, &str> = old_to_new.iter().map(|(o, n)| (*n, *o)).collect();
    let (old_labels, new_labels) = (labels(&base.paragraphs), labels(&current.paragraphs));

    let mut docx = document(&super::sponsored_meta(current));
    let head = docx.document.children.len();
    let base_head = document(&super::sponsored_meta(base)).document.children;
    let tracked_head = tracked_lines(&base_head, &docx.document.children, &default);
    docx.document.children.splice(0..head, tracked_head);

    // Paragraphs shown deleted (deleted, or the old place of a moved one)
    // stand after the nearest earlier base paragraph that stayed in place.
    let changed_by = |id: &str| -> Mark {
        options
            .authors
            .and_then(|a| a.changed_by.get(id))
            .map_or_else(|| default.clone(), |w| w.mark(&default))
    };
    let mut ghosts_after: HashMap<Option<usize>, Vec<usize>> = HashMap::new();
    let mut anchor: Option<usize> = None;
    for i in 0..base.paragraphs.len() {
        match pairing.of_old(i) {
            Some(p) if !p.moved => anchor = Some(p.new),
            _ => ghosts_after.entry(anchor).or_default().push(i),
        }
    }
    let mut ghosts = |after: Option<usize>, comments: &mut usize| -> Vec<WordParagraph> {
        ghosts_after
            .remove(&after)
            .into_iter()
            .flatten()
            .map(|i| {
                let mark = changed_by(&base.paragraphs[i].id);
                let mut word =
                    deleted_paragraph(&base.paragraphs[i], &base_numbering.paragraphs[i], &mark);
                if let Some(p) = pairing.of_old(i) {
                    let text = format!("Moved to {} (was {})", new_labels[p.new], old_labels[i]);
                    word = comment(word, &text, &mark, comments);
                }
                word
            })
            .collect()
    };

    let mut referenced = HashSet::new();
    let mut notes_ctx = Notes {
        numbering: &numbering,
        base_numbering: &base_numbering,
        referenced: &mut referenced,
        base: &note_base,
        mark: &default,
        old_to_new: &old_to_new,
        new_to_old: &new_to_old,
    };
    let mut body: Vec<WordParagraph> = ghosts(None, &mut comments);
    for (j, (paragraph, number)) in current
        .paragraphs
        .iter()
        .zip(&numbering.paragraphs)
        .enumerate()
    {
        let writers = Writers {
            authors: options.authors,
            paragraph: &paragraph.id,
            default: &default,
        };
        let word = match pairing.of_new(j) {
            None => inserted_paragraph(paragraph, number, &writers, None, &mut notes_ctx),
            Some(p) if p.moved => {
                let old = &base.paragraphs[p.old];
                let mut text = format!("Moved from {} (now {})", old_labels[p.old], new_labels[j]);
                let redline = redline(&old.text, &paragraph.text);
                if let Some(redline) = redline {
                    text.push_str(". Wording: ");
                    text.push_str(&redline);
                }
                let mover = options
                    .authors
                    .and_then(|a| a.changed_by.get(&paragraph.id))
                    .map(|w| w.mark(&default));
                let word =
                    inserted_paragraph(paragraph, number, &writers, mover.as_ref(), &mut notes_ctx);
                let mark = mover.unwrap_or_else(|| writers.mark_at(0));
                comment(word, &text, &mark, &mut comments)
            }
            Some(p) => changed_paragraph(
                &base.paragraphs[p.old],
                paragraph,
                number,
                &writers,
                &mut notes_ctx,
            ),
        };
        body.push(word);
        body.extend(ghosts(Some(j), &mut comments));
    }
    for word in body {
        docx = docx.add_paragraph(word);
    }
    let closing_lines: Vec<DocumentChild> = tracked_lines(
        &as_children(closing(&base.meta)),
        &as_children(closing(&current.meta)),
        &default,
    );
    docx.document.children.extend(closing_lines);
    pack(docx)
}

fn as_children(paragraphs: Vec<WordParagraph>) -> Vec<DocumentChild> {
    paragraphs
        .into_iter()
        .map(|p| DocumentChild::Paragraph(Box::new(p)))
        .collect()
}

/// Each paragraph's label (`PP3`, `OP4`, `OP4(b)`).
fn labels(paragraphs: &[Paragraph]) -> Vec<String> {
    let mut ps = paragraphs.to_vec();
    number_paragraphs(&mut ps, None);
    ps.into_iter().map(|p| p.label).collect()
}

#[derive(Debug, Clone)]
struct Mark {
    author: String,
    date: String,
}

impl Mark {
    fn insert(&self, run: WordRun) -> Insert {
        Insert::new(run).author(&self.author).date(&self.date)
    }

    fn delete(&self, run: WordRun) -> Delete {
        Delete::new()
            .add_run(run)
            .author(&self.author)
            .date(&self.date)
    }
}

/// Who wrote which characters of one current paragraph.
struct Writers<'a> {
    authors: Option<&'a TrackedAuthors>,
    paragraph: &'a str,
    default: &'a Mark,
}

impl Writers<'_> {
    fn at(&self, offset: usize) -> Option<&Writer> {
        self.authors.and_then(|a| a.at(self.paragraph, offset))
    }

    fn mark_at(&self, offset: usize) -> Mark {
        self.mark_of(self.at(offset))
    }

    fn mark_of(&self, writer: Option<&Writer>) -> Mark {
        match writer {
            Some(w) => Mark {
                author: w.label(),
                date: w.date.clone().unwrap_or_else(|| self.default.date.clone()),
            },
            None => self.default.clone(),
        }
    }
}

/// The base of a footnote of the current text that is tracked.
#[derive(Debug, Clone, Copy)]
enum NoteBase<'a> {
    Added,
    Changed(&'a Footnote),
}

struct Notes<'a, 'b> {
    numbering: &'a Numbering<'a>,
    base_numbering: &'a Numbering<'a>,
    referenced: &'b mut HashSet<u32>,
    base: &'a HashMap<&'a str, NoteBase<'a>>,
    mark: &'a Mark,
    /// Footnote ids of the base → the paired ids of the current text.
    old_to_new: &'a HashMap<&'a str, &'a str>,
    new_to_old: &'a HashMap<&'a str, &'a str>,
}

impl Notes<'_, '_> {
    /// The reference run of footnote `id`; at its first reference, the note
    /// itself, with its text tracked against the base where it changed.
    fn run(&mut self, id: &str) -> WordRun {
        let first = !self.referenced.contains(&self.numbering.footnote(id));
        let mut run = footnote_run(id, self.numbering, self.referenced);
        let (Some(base), true) = (self.base.get(id), first) else {
            return run;
        };
        let Some(note) = self.numbering.footnotes.iter().find(|f| f.id == id) else {
            return run;
        };
        let text_runs = note.text.iter().filter(|r| r.footnote.is_none()).count();
        for child in &mut run.children {
            let RunChild::FootnoteReference(reference) = child else {
                continue;
            };
            let Some(content) = reference.content.first_mut() else {
                continue;
            };
            let keep = content.children.len().saturating_sub(text_runs);
            let property = content.children[keep..]
                .iter()
                .chain(content.children[..keep].iter().rev())
                .find_map(|c| match c {
                    ParagraphChild::Run(r) => Some(r.run_property.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            content.children.truncate(keep);
            let plain = |runs: &[Run]| -> Vec<Run> {
                runs.iter()
                    .filter(|r| r.footnote.is_none())
                    .cloned()
                    .collect()
            };
            let new_runs = plain(&note.text);
            let old_runs = match base {
                NoteBase::Added => Vec::new(),
                NoteBase::Changed(f) => plain(&f.text),
            };
            let (old, new) = (tokens(&old_runs), tokens(&new_runs));
            for (op, group) in grouped(&diff(&old, &new)) {
                let text: String = group.iter().map(|t| t.text).collect();
                let italic = group.first().is_some_and(|t| t.italic);
                let mut word = match op {
                    Op::Delete => WordRun::new().add_delete_text(clean(&text)),
                    _ => WordRun::new().add_text(clean(&text)),
                };
                word.run_property = property.clone();
                if italic {
                    word = word.italic();
                }
                content.children.push(match op {
                    Op::Equal => ParagraphChild::Run(Box::new(word)),
                    Op::Insert => ParagraphChild::Insert(self.mark.insert(word)),
                    Op::Delete => ParagraphChild::Delete(self.mark.delete(word)),
                });
            }
        }
        run
    }
}

/// A paragraph of the current text inserted whole: its mark and its runs,
/// one `w:ins` per writer (or all by `whole`).
fn inserted_paragraph(
    paragraph: &Paragraph,
    number: &str,
    writers: &Writers<'_>,
    whole: Option<&Mark>,
    notes: &mut Notes<'_, '_>,
) -> WordParagraph {
    let (mut word, number_run) = frame(paragraph, number);
    let mark_at = |offset: usize| whole.cloned().unwrap_or_else(|| writers.mark_at(offset));
    let first = mark_at(0);
    word = word.insert(&first.author, &first.date);
    let mut runs: Vec<(Mark, WordRun)> = Vec::new();
    if let Some(run) = number_run {
        runs.push((first.clone(), run));
    }
    let mut offset = 0;
    for run in &paragraph.text {
        let mark = mark_at(offset);
        offset += run.text.chars().count();
        let word = match &run.footnote {
            Some(id) => notes.run(id),
            None => text_run(run),
        };
        runs.push((mark, word));
    }
    let mut insert: Option<(Mark, Insert)> = None;
    for (mark, run) in runs {
        insert = match insert {
            Some((m, ins)) if m.author == mark.author && m.date == mark.date => {
                Some((m, ins.add_run(run)))
            }
            Some((_, ins)) => {
                word = word.add_insert(ins);
                Some((mark.clone(), mark.insert(run)))
            }
            None => Some((mark.clone(), mark.insert(run))),
        };
    }
    if let Some((_, ins)) = insert {
        word = word.add_insert(ins);
    }
    word
}

/// A paragraph on both sides, in place: the word diff of its text.
fn changed_paragraph(
    old: &Paragraph,
    paragraph: &Paragraph,
    number: &str,
    writers: &Writers<'_>,
    notes: &mut Notes<'_, '_>,
) -> WordParagraph {
    let (mut word, number_run) = frame(paragraph, number);
    if let Some(run) = number_run {
        word = word.add_run(run);
    }
    let mut old_tokens = tokens(&old.text);
    for t in &mut old_tokens {
        if let Some(id) = t.footnote {
            t.footnote = Some(notes.old_to_new.get(id).copied().unwrap_or(id));
        }
    }
    let new_tokens = tokens(&paragraph.text);
    let ops = diff(&old_tokens, &new_tokens);
    // Each operation with the writer of its place in the current text.
    let mut offset = 0;
    let mut placed: Vec<(Op, Token<'_>, Option<&Writer>)> = Vec::new();
    for &(op, token) in &ops {
        let writer = match op {
            Op::Delete => None,
            _ => writers.at(offset),
        };
        if op != Op::Delete {
            offset += token.text.chars().count();
        }
        placed.push((op, token, writer));
    }
    let groups = grouped_by_writer(&placed);
    for (k, (op, group, writer)) in groups.iter().enumerate() {
        word = match op {
            Op::Equal => group_runs(group, notes)
                .into_iter()
                .fold(word, WordParagraph::add_run),
            Op::Insert => {
                let mark = writers.mark_of(*writer);
                group_runs(group, notes)
                    .into_iter()
                    .fold(word, |w, r| w.add_insert(mark.insert(r)))
            }
            Op::Delete => {
                // Part of a replacement: the replacing words' writer.
                let replacing = groups[k + 1..]
                    .iter()
                    .take_while(|(op, _, _)| *op != Op::Equal)
                    .find(|(op, _, _)| *op == Op::Insert)
                    .and_then(|(_, _, w)| *w);
                let mark = writers.mark_of(replacing);
                word.add_delete(mark.delete(deleted_run(group, notes)))
            }
        };
    }
    word
}

/// Deleted tokens of one format as a run of deleted text (deleted footnote
/// references print their base number).
fn deleted_run(group: &[Token<'_>], notes: &Notes<'_, '_>) -> WordRun {
    let first = group.first();
    if let Some(id) = first.and_then(|t| t.footnote) {
        let id = notes.new_to_old.get(id).copied().unwrap_or(id);
        let run = superscript_run(notes.base_numbering.footnote(id), None);
        let mut deleted = WordRun::new().add_delete_text(run_text(&run));
        deleted.run_property = deleted
            .run_property
            .vert_align(docx_rs::VertAlignType::SuperScript);
        deleted
    } else {
        let text: String = group.iter().map(|t| t.text).collect();
        let run = WordRun::new().add_delete_text(clean(&text));
        if first.is_some_and(|t| t.italic) {
            run.italic()
        } else {
            run
        }
    }
}

fn run_text(run: &WordRun) -> String {
    run.children
        .iter()
        .filter_map(|c| match c {
            RunChild::Text(t) => Some(t.text.clone()),
            RunChild::Tab(_) => Some("\t".to_owned()),
            _ => None,
        })
        .collect()
}

/// A base paragraph deleted whole, mark included, in one `w:del`.
fn deleted_paragraph(paragraph: &Paragraph, number: &str, mark: &Mark) -> WordParagraph {
    let (mut word, number_run) = frame(paragraph, number);
    word = word.delete(&mark.author, &mark.date);
    let mut delete = Delete::new().author(&mark.author).date(&mark.date);
    if let Some(run) = number_run {
        delete = delete.add_run(
            WordRun::new().add_delete_text(format!("{}\t", run_text(&run).trim_end_matches('\t'))),
        );
    }
    for run in &paragraph.text {
        let mut deleted = WordRun::new().add_delete_text(clean(&run.text));
        if run.italic {
            deleted = deleted.italic();
        }
        if run.footnote.is_some() {
            deleted.run_property = deleted
                .run_property
                .vert_align(docx_rs::VertAlignType::SuperScript);
        }
        delete = delete.add_run(deleted);
    }
    word.add_delete(delete)
}

/// Attaches a Word comment spanning the whole paragraph.
fn comment(word: WordParagraph, text: &str, mark: &Mark, counter: &mut usize) -> WordParagraph {
    *counter += 1;
    let id = *counter;
    let note = Comment::new(id)
        .author(&mark.author)
        .date(&mark.date)
        .add_paragraph(WordParagraph::new().add_run(WordRun::new().add_text(clean(text))));
    let mut word = word;
    word.children.insert(
        0,
        ParagraphChild::CommentStart(Box::new(docx_rs::CommentRangeStart::new(note))),
    );
    word.add_comment_end(id)
}

/// `[-deleted-]{+inserted+}` of two texts' words, or `None` when they are
/// the same.
fn redline(old: &[Run], new: &[Run]) -> Option<String> {
    let plain = |runs: &[Run]| -> Vec<Run> {
        runs.iter()
            .filter(|r| r.footnote.is_none())
            .cloned()
            .collect()
    };
    let (old, new) = (plain(old), plain(new));
    let ops = diff(&tokens(&old), &tokens(&new));
    if ops.iter().all(|(op, _)| *op == Op::Equal) {
        return None;
    }
    let mut out = String::new();
    for (op, group) in grouped(&ops) {
        let text: String = group.iter().map(|t| t.text).collect();
        match op {
            Op::Equal => out.push_str(&text),
            Op::Delete => out.push_str(&format!("[-{text}-]")),
            Op::Insert => out.push_str(&format!("{{+{text}+}}")),
        }
    }
    Some(out)
}

/// The text of a header or closing line (tabs as `\t`).
fn line_text(child: &DocumentChild) -> Option<String> {
    let DocumentChild::Paragraph(p) = child else {
        return None;
    };
    Some(
        p.children
            .iter()
            .filter_map(|c| match c {
                ParagraphChild::Run(r) => Some(run_text(r)),
                _ => None,
            })
            .collect(),
    )
}

/// Header or closing lines of the current text, tracked against the base
/// lines: equal lines kept, lines paired in order inside a changed stretch
/// get a word diff, the others are inserted or deleted whole.
fn tracked_lines(
    base: &[DocumentChild],
    current: &[DocumentChild],
    mark: &Mark,
) -> Vec<DocumentChild> {
    let bt: Vec<Option<String>> = base.iter().map(line_text).collect();
    let ct: Vec<Option<String>> = current.iter().map(line_text).collect();
    // LCS of the lines (a few dozen at most).
    let (n, m) = (bt.len(), ct.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if bt[i] == ct[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    let (mut gone, mut came): (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
    let flush = |gone: &mut Vec<usize>, came: &mut Vec<usize>, out: &mut Vec<DocumentChild>| {
        let pairs = gone.len().min(came.len());
        for k in 0..pairs {
            out.push(changed_line(&base[gone[k]], &current[came[k]], mark));
        }
        for &g in &gone[pairs..] {
            out.push(deleted_line(&base[g], mark));
        }
        for &c in &came[pairs..] {
            out.push(inserted_line(&current[c], mark));
        }
        gone.clear();
        came.clear();
    };
    while i < n || j < m {
        if i < n && j < m && bt[i] == ct[j] {
            flush(&mut gone, &mut came, &mut out);
            out.push(current[j].clone());
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            gone.push(i);
            i += 1;
        } else {
            came.push(j);
            j += 1;
        }
    }
    flush(&mut gone, &mut came, &mut out);
    out
}

fn first_run_property(p: &WordParagraph) -> RunProperty {
    p.children
        .iter()
        .find_map(|c| match c {
            ParagraphChild::Run(r) => Some(r.run_property.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

/// A line's text as runs (tabs kept) with the given property.
fn line_runs(text: &str, property: &RunProperty, deleted: bool) -> Vec<WordRun> {
    let mut run = WordRun::new();
    for (k, part) in text.split('\t').enumerate() {
        if k > 0 {
            run = run.add_tab();
        }
        if !part.is_empty() {
            run = if deleted {
                run.add_delete_text(part)
            } else {
                run.add_text(part)
            };
        }
    }
    run.run_property = property.clone();
    vec![run]
}

fn changed_line(base: &DocumentChild, current: &DocumentChild, mark: &Mark) -> DocumentChild {
    let (DocumentChild::Paragraph(b), DocumentChild::Paragraph(c)) = (base, current) else {
        return current.clone();
    };
    let (old, new) = (
        line_text(base).unwrap_or_default(),
        line_text(current).unwrap_or_default(),
    );
    let (old_property, new_property) = (first_run_property(b), first_run_property(c));
    let mut word = (**c).clone();
    word.children.clear();
    let (old_runs, new_runs) = (vec![Run::plain(&old)], vec![Run::plain(&new)]);
    for (op, group) in grouped(&diff(&tokens(&old_runs), &tokens(&new_runs))) {
        let text: String = group.iter().map(|t| t.text).collect();
        match op {
            Op::Equal => {
                for r in line_runs(&text, &new_property, false) {
                    word = word.add_run(r);
                }
            }
            Op::Insert => {
                for r in line_runs(&text, &new_property, false) {
                    word = word.add_insert(mark.insert(r));
                }
            }
            Op::Delete => {
                for r in line_runs(&text, &old_property, true) {
                    word = word.add_delete(mark.delete(r));
                }
            }
        }
    }
    DocumentChild::Paragraph(Box::new(word))
}

fn deleted_line(base: &DocumentChild, mark: &Mark) -> DocumentChild {
    let DocumentChild::Paragraph(b) = base else {
        return base.clone();
    };
    let text = line_text(base).unwrap_or_default();
    let property = first_run_property(b);
    let mut word = (**b).clone();
    word.children.clear();
    word = word.delete(&mark.author, &mark.date);
    for r in line_runs(&text, &property, true) {
        word = word.add_delete(mark.delete(r));
    }
    DocumentChild::Paragraph(Box::new(word))
}

fn inserted_line(current: &DocumentChild, mark: &Mark) -> DocumentChild {
    let DocumentChild::Paragraph(c) = current else {
        return current.clone();
    };
    let mut word = (**c).clone();
    let runs: Vec<ParagraphChild> = std::mem::take(&mut word.children);
    word = word.insert(&mark.author, &mark.date);
    for child in runs {
        word.children.push(match child {
            ParagraphChild::Run(r) => ParagraphChild::Insert(mark.insert(*r)),
            other => other,
        });
    }
    DocumentChild::Paragraph(Box::new(word))
}

/// A word with the spaces after it (or leading spaces alone), or a
/// footnote reference, with its format.
#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    text: &'a str,
    italic: bool,
    footnote: Option<&'a str>,
}

/// Footnote references are equal by note, whatever number they print.
impl PartialEq for Token<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self.footnote, other.footnote) {
            (Some(a), Some(b)) => a == b,
            (None, None) => self.text == other.text && self.italic == other.italic,
            _ => false,
        }
    }
}

fn tokens(runs: &[Run]) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    for run in runs {
        if let Some(id) = run.footnote.as_deref() {
            out.push(Token {
                text: &run.text,
                italic: false,
                footnote: Some(id),
            });
            continue;
        }
        let mut start = 0;
        let mut in_space = None;
        for (i, c) in run.text.char_indices() {
            let space = c.is_whitespace();
            // A word keeps the spaces after it: matching bare spaces would
            // interleave the words of a rewritten stretch.
            if in_space == Some(true) && !space {
                out.push(Token {
                    text: &run.text[start..i],
                    italic: run.italic,
                    footnote: None,
                });
                start = i;
            }
            in_space = Some(space);
        }
        if start < run.text.len() {
            out.push(Token {
                text: &run.text[start..],
                italic: run.italic,
                footnote: None,
            });
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Equal,
    Delete,
    Insert,
}

/// Word diff: common prefix and suffix, then a longest common subsequence
/// of what remains.
fn diff<'a>(old: &[Token<'a>], new: &[Token<'a>]) -> Vec<(Op, Token<'a>)> {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let a = &old[prefix..old.len() - suffix];
    let b = &new[prefix..new.len() - suffix];
    let mut out: Vec<(Op, Token<'a>)> = old[..prefix].iter().map(|t| (Op::Equal, *t)).collect();
    if a.len().saturating_mul(b.len()) > MAX_DIFF_CELLS {
        out.extend(a.iter().map(|t| (Op::Delete, *t)));
        out.extend(b.iter().map(|t| (Op::Insert, *t)));
    } else {
        // lcs[i][j]: length of the LCS of a[i..] and b[j..].
        let width = b.len() + 1;
        let mut lcs = vec![0u32; (a.len() + 1) * width];
        for i in (0..a.len()).rev() {
            for j in (0..b.len()).rev() {
                lcs[i * width + j] = if a[i] == b[j] {
                    lcs[(i + 1) * width + j + 1] + 1
                } else {
                    lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            if i < a.len() && j < b.len() && a[i] == b[j] {
                out.push((Op::Equal, a[i]));
                i += 1;
                j += 1;
            } else if i < a.len()
                && (j == b.len() || lcs[(i + 1) * width + j] >= lcs[i * width + j + 1])
            {
                // Deletions first, as Word shows a replacement.
                out.push((Op::Delete, a[i]));
                i += 1;
            } else {
                out.push((Op::Insert, b[j]));
                j += 1;
            }
        }
    }
    out.extend(old[old.len() - suffix..].iter().map(|t| (Op::Equal, *t)));
    out
}

/// Consecutive tokens with the same operation and format, merged.
fn grouped<'a>(ops: &[(Op, Token<'a>)]) -> Vec<(Op, Vec<Token<'a>>)> {
    let mut out: Vec<(Op, Vec<Token<'a>>)> = Vec::new();
    for &(op, token) in ops {
        match out.last_mut() {
            Some((last_op, group))
                if *last_op == op
                    && token.footnote.is_none()
                    && group
                        .last()
                        .is_some_and(|t| t.footnote.is_none() && t.italic == token.italic) =>
            {
                group.push(token);
            }
            _ => out.push((op, vec![token])),
        }
    }
    out
}

/// Consecutive operations with the same operation, format and writer,
/// merged.
#[allow(clippy::type_complexity)]
fn grouped_by_writer<'a, 'w>(
    ops: &[(Op, Token<'a>, Option<&'w Writer>)],
) -> Vec<(Op, Vec<Token<'a>>, Option<&'w Writer>)> {
    let mut out: Vec<(Op, Vec<Token<'a>>, Option<&'w Writer>)> = Vec::new();
    for &(op, token, writer) in ops {
        match out.last_mut() {
            Some((last_op, group, last_writer))
                if *last_op == op
                    && *last_writer == writer
                    && token.footnote.is_none()
                    && group
                        .last()
                        .is_some_and(|t| t.footnote.is_none() && t.italic == token.italic) =>
            {
                group.push(token);
            }
            _ => out.push((op, vec![token], writer)),
        }
    }
    out
}

/// Word runs for a group of tokens from the current text.
fn group_runs(group: &[Token<'_>], notes: &mut Notes<'_, '_>) -> Vec<WordRun> {
    match group.first().and_then(|t| t.footnote) {
        Some(id) => vec![notes.run(id)],
        None => {
            let text: String = group.iter().map(|t| t.text).collect();
            let italic = group.first().is_some_and(|t| t.italic);
            vec![text_run(&Run {
                text,
                italic,
                footnote: None,
            })]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(text: &str) -> Vec<Run> {
        vec![Run {
            text: text.to_owned(),
            ..Run::default()
        }]
    }

    fn render(ops: &[(Op, Token<'_>)]) -> String {
        ops.iter()
            .map(|(op, t)| match op {
                Op::Equal => t.text.to_owned(),
                Op::Delete => format!("[-{}]", t.text),
                Op::Insert => format!("[+{}]", t.text),
            })
            .collect()
    }

    #[test]
    fn word_diff_marks_only_the_changed_words() {
        let old = runs("to support teacher training in developing countries;");
        let new = runs("to support teacher training in all developing countries and regions;");
        let ops = diff(&tokens(&old), &tokens(&new));
        assert_eq!(
            render(&ops),
            "to support teacher training in [+all ]developing [-countries;][+countries ][+and ][+regions;]"
        );
    }
}
