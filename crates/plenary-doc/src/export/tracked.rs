//! Word with tracked changes against a base version: how a revised draft
//! (Rev.1) is circulated, so that delegations see what moved since the last
//! version. Paragraphs are matched by id (stable across moves and edits):
//! a paragraph added since the base is an insertion, one removed is a
//! deletion shown where it stood, and a changed paragraph carries a word
//! diff. Italics and footnote references take part in the diff.

use std::collections::{HashMap, HashSet};

use docx_rs::{Delete, Insert, Paragraph as WordParagraph, Run as WordRun};

use super::docx::{
    DocxError, clean, document, footnote_run, frame, pack, superscript_run, text_run,
};
use super::numbering::Numbering;
use crate::model::{Paragraph, Resolution, Run};

/// Beyond this many cells the word diff of one paragraph gives up on
/// alignment and shows the old text deleted and the new inserted.
const MAX_DIFF_CELLS: usize = 4_000_000;

/// Renders `current` as a Word document whose tracked changes (author
/// `author`, time `date`, ISO 8601 such as `2021-05-18T12:00:00Z`) turn
/// `base` into it. Header fields are those of `current`.
pub fn export_docx_tracked(
    base: &Resolution,
    current: &Resolution,
    author: &str,
    date: &str,
) -> Result<Vec<u8>, DocxError> {
    let base_numbering = Numbering::of(base);
    let numbering = Numbering::of(current);
    let mark = Mark { author, date };
    let mut docx = document(&current.meta);
    let mut referenced = HashSet::new();

    let in_base: HashMap<&str, usize> = base
        .paragraphs
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), i))
        .collect();
    let in_current: HashSet<&str> = current.paragraphs.iter().map(|p| p.id.as_str()).collect();
    // Deleted paragraphs stand after the nearest earlier base paragraph
    // that survives (or at the top).
    let mut deleted_after: HashMap<Option<&str>, Vec<usize>> = HashMap::new();
    let mut anchor: Option<&str> = None;
    for (i, p) in base.paragraphs.iter().enumerate() {
        if in_current.contains(p.id.as_str()) {
            anchor = Some(p.id.as_str());
        } else {
            deleted_after.entry(anchor).or_default().push(i);
        }
    }
    let deleted = |after: Option<&str>| -> Vec<WordParagraph> {
        deleted_after
            .get(&after)
            .into_iter()
            .flatten()
            .map(|&i| deleted_paragraph(&base.paragraphs[i], &base_numbering.paragraphs[i], &mark))
            .collect()
    };

    for word in deleted(None) {
        docx = docx.add_paragraph(word);
    }
    for (paragraph, number) in current.paragraphs.iter().zip(&numbering.paragraphs) {
        let (mut word, number_run) = frame(paragraph, number);
        match in_base.get(paragraph.id.as_str()) {
            None => {
                word = word.insert(mark.author, mark.date);
                if let Some(run) = number_run {
                    word = word.add_insert(mark.insert(run));
                }
                for run in &paragraph.text {
                    let run = match &run.footnote {
                        Some(id) => footnote_run(id, &numbering, &mut referenced),
                        None => text_run(run),
                    };
                    word = word.add_insert(mark.insert(run));
                }
            }
            Some(&b) => {
                if let Some(run) = number_run {
                    word = word.add_run(run);
                }
                let old = tokens(&base.paragraphs[b].text);
                let new = tokens(&paragraph.text);
                for (op, group) in grouped(&diff(&old, &new)) {
                    word = match op {
                        Op::Equal => group_runs(&group, &numbering, &mut referenced)
                            .into_iter()
                            .fold(word, WordParagraph::add_run),
                        Op::Insert => group_runs(&group, &numbering, &mut referenced)
                            .into_iter()
                            .fold(word, |w, r| w.add_insert(mark.insert(r))),
                        Op::Delete => word.add_delete(mark.delete(&group, &base_numbering)),
                    };
                }
            }
        }
        docx = docx.add_paragraph(word);
        for word in deleted(Some(paragraph.id.as_str())) {
            docx = docx.add_paragraph(word);
        }
    }
    pack(docx)
}

struct Mark<'a> {
    author: &'a str,
    date: &'a str,
}

impl Mark<'_> {
    fn insert(&self, run: WordRun) -> Insert {
        Insert::new(run).author(self.author).date(self.date)
    }

    /// Deleted tokens of one format as a `w:del` (deleted footnote
    /// references print their base number).
    fn delete(&self, group: &[Token<'_>], base: &Numbering<'_>) -> Delete {
        let mut run = WordRun::new();
        let first = group.first();
        if let Some(id) = first.and_then(|t| t.footnote) {
            run = superscript_run(base.footnote(id), None);
            let text: String = run_text(&run);
            run = WordRun::new().add_delete_text(text);
            run.run_property = run
                .run_property
                .vert_align(docx_rs::VertAlignType::SuperScript);
        } else {
            let text: String = group.iter().map(|t| t.text).collect();
            run = run.add_delete_text(clean(&text));
            if first.is_some_and(|t| t.italic) {
                run = run.italic();
            }
        }
        Delete::new()
            .add_run(run)
            .author(self.author)
            .date(self.date)
    }
}

fn run_text(run: &WordRun) -> String {
    run.children
        .iter()
        .filter_map(|c| match c {
            docx_rs::RunChild::Text(t) => Some(t.text.clone()),
            _ => None,
        })
        .collect()
}

fn deleted_paragraph(paragraph: &Paragraph, number: &str, mark: &Mark<'_>) -> WordParagraph {
    let (mut word, number_run) = frame(paragraph, number);
    word = word.delete(mark.author, mark.date);
    let mut text = String::new();
    if let Some(run) = number_run {
        text.push_str(&run_text(&run));
        text.push('\t');
    }
    word = word.add_delete(
        Delete::new()
            .add_run(WordRun::new().add_delete_text(text))
            .author(mark.author)
            .date(mark.date),
    );
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
        word = word.add_delete(
            Delete::new()
                .add_run(deleted)
                .author(mark.author)
                .date(mark.date),
        );
    }
    word
}

/// A word, a run of spaces, or a footnote reference, with its format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Token<'a> {
    text: &'a str,
    italic: bool,
    footnote: Option<&'a str>,
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
            if in_space.is_some_and(|s| s != space) {
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

/// Word runs for a group of tokens from the current text.
fn group_runs(
    group: &[Token<'_>],
    numbering: &Numbering<'_>,
    referenced: &mut HashSet<u32>,
) -> Vec<WordRun> {
    match group.first().and_then(|t| t.footnote) {
        Some(id) => vec![footnote_run(id, numbering, referenced)],
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
            "to support teacher training in [+all][+ ]developing [-countries;][+countries][+ ][+and][+ ][+regions;]"
        );
    }
}
