//! Word-level diff of two paragraph texts, as a secretariat's comparison shows it: runs of
//! unchanged, inserted and deleted words (whitespace stays with the words it follows).

use plenary_doc::Run;
use serde::{Deserialize, Serialize};

/// What a run of words did between two texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum WordOpKind {
    Equal,
    Insert,
    Delete,
}

/// A run of words with one fate; concatenating the `equal` and `delete` runs gives the old text,
/// the `equal` and `insert` runs the new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WordOp {
    pub op: WordOpKind,
    pub text: String,
}

/// The word diff of `old` → `new`, adjacent runs of the same kind merged.
pub fn word_diff(old: &str, new: &str) -> Vec<WordOp> {
    let diff = similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Patience)
        .diff_words(old, new);
    let mut ops: Vec<WordOp> = Vec::new();
    for change in diff.iter_all_changes() {
        let op = match change.tag() {
            similar::ChangeTag::Equal => WordOpKind::Equal,
            similar::ChangeTag::Insert => WordOpKind::Insert,
            similar::ChangeTag::Delete => WordOpKind::Delete,
        };
        match ops.last_mut() {
            Some(last) if last.op == op => last.text.push_str(change.value()),
            _ => ops.push(WordOp {
                op,
                text: change.value().to_owned(),
            }),
        }
    }
    ops
}

/// The text of a paragraph or footnote without formatting.
pub fn plain_text(runs: &[Run]) -> String {
    runs.iter().map(|r| r.text.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(ops: &[WordOp], keep: WordOpKind) -> String {
        ops.iter()
            .filter(|o| o.op == WordOpKind::Equal || o.op == keep)
            .map(|o| o.text.as_str())
            .collect()
    }

    #[test]
    fn a_changed_word_is_one_delete_and_one_insert_between_equal_runs() {
        let old = "Requests the Secretary-General to report to the Commission;";
        let new = "Requests the Executive Director to report to the Commission;";
        let ops = word_diff(old, new);
        assert_eq!(side(&ops, WordOpKind::Delete), old);
        assert_eq!(side(&ops, WordOpKind::Insert), new);
        let deleted: String = ops
            .iter()
            .filter(|o| o.op == WordOpKind::Delete)
            .map(|o| o.text.as_str())
            .collect();
        let inserted: String = ops
            .iter()
            .filter(|o| o.op == WordOpKind::Insert)
            .map(|o| o.text.as_str())
            .collect();
        assert_eq!(deleted.trim(), "Secretary-General");
        assert_eq!(inserted.trim(), "Executive Director");
    }

    #[test]
    fn identical_texts_are_one_equal_run() {
        let ops = word_diff("Notes with concern,", "Notes with concern,");
        assert_eq!(ops.len(), 1);
        assert_eq!(ops[0].op, WordOpKind::Equal);
    }
}
