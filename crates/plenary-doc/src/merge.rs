//! Word-level three-way merge: a proposal is a change from the text it was
//! made on (`base`) to its own text (`proposed`); accepting it applies that
//! change to the paragraph as it is now (`current`).
//!
//! Texts are split into tokens: words (letters, ASCII digits, apostrophes),
//! runs of whitespace, and every other character on its own (punctuation,
//! footnote markers ¹²³, so a marker next to an edited word is kept as the
//! item it is). Both sides are diffed against the base (Myers, `similar`).
//! A change of one side is a base token range and what replaces it. Changes
//! of the two sides whose ranges overlap or touch (share an end, or an
//! insertion at the edge of the other's range) conflict: the proposal is
//! *stale* there. Everything else merges: the result is the base with both
//! sides' changes, which is why two proposals on different words of one
//! paragraph give the same text whichever is accepted first.
//!
//! The result is also given as [`Edit`]s on `current` (UTF-16 offsets, as
//! Yjs counts), the proposal's changes only, so a document applies exactly
//! those and leaves every other character — its formatting, its author,
//! text typed meanwhile — as it is.

use std::ops::Range;

use similar::{Algorithm, DiffOp, capture_diff_slices};

/// Where the two sides changed the same words: byte ranges in each text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conflict {
    pub base: Range<usize>,
    pub current: Range<usize>,
    pub proposed: Range<usize>,
}

/// One change to apply to the current text: delete `delete` UTF-16 units at
/// `index` (an offset in the current text, before any edit is applied),
/// then insert `insert` there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub index: u32,
    pub delete: u32,
    pub insert: String,
}

/// A merge worked out: the text it gives, and the edits of `current` that
/// give it (ascending, not overlapping).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub text: String,
    pub edits: Vec<Edit>,
}

/// Merges the change `base → proposed` into `current`: the merged text, or
/// the conflicts when the words the proposal changes were changed since.
pub fn merge(base: &str, current: &str, proposed: &str) -> Result<String, Vec<Conflict>> {
    plan(base, current, proposed, false).map(|p| p.text)
}

/// Like [`merge`], with the edits. With `force`, a conflict is settled for
/// the proposal: its version of the conflicting words replaces the
/// current one (accept anyway).
pub fn plan(base: &str, current: &str, proposed: &str, force: bool) -> Result<Plan, Vec<Conflict>> {
    let b = tokens(base);
    let c = tokens(current);
    let p = tokens(proposed);
    let mut all: Vec<(Change, bool)> = changes(&b, &c)
        .into_iter()
        .map(|ch| (ch, false))
        .chain(changes(&b, &p).into_iter().map(|ch| (ch, true)))
        .collect();
    all.sort_by_key(|(ch, _)| (ch.old.start, ch.old.end));

    let c_off = offsets(&c);
    let b_bytes = byte_offsets(&b);
    let c_bytes = byte_offsets(&c);
    let p_bytes = byte_offsets(&p);

    let mut text = String::with_capacity(current.len() + proposed.len());
    let mut edits = Vec::new();
    let mut conflicts = Vec::new();
    // base tokens emitted so far; shifts base index → current / proposed index
    let mut at = 0usize;
    let (mut c_shift, mut p_shift) = (0isize, 0isize);
    let mut i = 0;
    while i < all.len() {
        // a cluster: changes whose base ranges overlap or touch
        let start = all[i].0.old.start;
        let mut end = all[i].0.old.end;
        let (mut has_c, mut has_p) = (false, false);
        let (mut dc, mut dp) = (0isize, 0isize);
        let mut j = i;
        while j < all.len() && (j == i || all[j].0.old.start <= end) {
            let (ch, proposal) = &all[j];
            end = end.max(ch.old.end);
            let delta = ch.new.len() as isize - ch.old.len() as isize;
            if *proposal {
                has_p = true;
                dp += delta;
            } else {
                has_c = true;
                dc += delta;
            }
            j += 1;
        }
        for t in &b[at..start] {
            text.push_str(t);
        }
        let shift = |x: usize, s: isize| (x as isize + s) as usize;
        let cur = shift(start, c_shift)..shift(end, c_shift + dc);
        let prop = shift(start, p_shift)..shift(end, p_shift + dp);
        if has_p && has_c && !force {
            conflicts.push(Conflict {
                base: b_bytes[start]..b_bytes[end],
                current: c_bytes[cur.start]..c_bytes[cur.end],
                proposed: p_bytes[prop.start]..p_bytes[prop.end],
            });
        }
        if has_p {
            let insert: String = p[prop.clone()].concat();
            text.push_str(&insert);
            edits.push(trimmed_edit(&c[cur.clone()], &p[prop], c_off[cur.start]));
        } else {
            for t in &c[cur] {
                text.push_str(t);
            }
        }
        c_shift += dc;
        p_shift += dp;
        at = end;
        i = j;
    }
    for t in &b[at..] {
        text.push_str(t);
    }
    if !conflicts.is_empty() {
        return Err(conflicts);
    }
    edits.retain(|e| e.delete > 0 || !e.insert.is_empty());
    Ok(Plan { text, edits })
}

/// The edits that turn `current` into `target` (a chair's own text):
/// word-level, minimal, never a whole-text rewrite unless every word changed.
pub fn rewrite(current: &str, target: &str) -> Plan {
    match plan(current, current, target, true) {
        Ok(p) => p,
        // unreachable: `current` has no changes against itself, so no conflicts
        Err(_) => Plan {
            text: target.to_owned(),
            edits: vec![Edit {
                index: 0,
                delete: utf16_len(current),
                insert: target.to_owned(),
            }],
        },
    }
}

/// The edit replacing tokens `old` (starting at UTF-16 offset `at`) with
/// `new`, with their common leading and trailing tokens left out.
fn trimmed_edit(old: &[&str], new: &[&str], at: u32) -> Edit {
    let pre = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let skipped: u32 = old[..pre].iter().map(|t| utf16_len(t)).sum();
    let (old, new) = (&old[pre..], &new[pre..]);
    let post = old
        .iter()
        .rev()
        .zip(new.iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (old, new) = (&old[..old.len() - post], &new[..new.len() - post]);
    Edit {
        index: at + skipped,
        delete: old.iter().map(|t| utf16_len(t)).sum(),
        insert: new.concat(),
    }
}

fn utf16_len(s: &str) -> u32 {
    s.encode_utf16().count() as u32
}

/// A change of one side: base tokens `old` became that side's tokens `new`.
#[derive(Debug, Clone)]
struct Change {
    old: Range<usize>,
    new: Range<usize>,
}

/// The changes `old → new`, consecutive diff operations joined.
fn changes(old: &[&str], new: &[&str]) -> Vec<Change> {
    let mut out: Vec<Change> = Vec::new();
    for op in capture_diff_slices(Algorithm::Myers, old, new) {
        let (o, n) = match op {
            DiffOp::Equal { .. } => continue,
            DiffOp::Delete {
                old_index,
                old_len,
                new_index,
            } => (old_index..old_index + old_len, new_index..new_index),
            DiffOp::Insert {
                old_index,
                new_index,
                new_len,
            } => (old_index..old_index, new_index..new_index + new_len),
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => (
                old_index..old_index + old_len,
                new_index..new_index + new_len,
            ),
        };
        match out.last_mut() {
            Some(last) if last.old.end == o.start && last.new.end == n.start => {
                last.old.end = o.end;
                last.new.end = n.end;
            }
            _ => out.push(Change { old: o, new: n }),
        }
    }
    out
}

/// Words, runs of whitespace, and single other characters.
pub(crate) fn tokens(s: &str) -> Vec<&str> {
    #[derive(PartialEq, Clone, Copy)]
    enum Class {
        Word,
        Space,
        Other,
    }
    let class = |c: char| {
        if c.is_alphabetic() || c.is_ascii_digit() || c == '\'' || c == '’' {
            Class::Word
        } else if c.is_whitespace() {
            Class::Space
        } else {
            Class::Other
        }
    };
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev: Option<Class> = None;
    for (i, ch) in s.char_indices() {
        let k = class(ch);
        if let Some(p) = prev
            && (p != k || k == Class::Other)
        {
            out.push(&s[start..i]);
            start = i;
        }
        prev = Some(k);
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// UTF-16 offset of each token's start, and of the end (one more entry).
fn offsets(tokens: &[&str]) -> Vec<u32> {
    let mut out = Vec::with_capacity(tokens.len() + 1);
    let mut at = 0u32;
    out.push(0);
    for t in tokens {
        at += utf16_len(t);
        out.push(at);
    }
    out
}

/// Byte offset of each token's start, and of the end.
fn byte_offsets(tokens: &[&str]) -> Vec<usize> {
    let mut out = Vec::with_capacity(tokens.len() + 1);
    let mut at = 0usize;
    out.push(0);
    for t in tokens {
        at += t.len();
        out.push(at);
    }
    out
}

/// Applies edits (as [`Plan::edits`]) to a string: what a document does to
/// its text, for tests and checks.
pub fn apply_edits(current: &str, edits: &[Edit]) -> String {
    let units: Vec<u16> = current.encode_utf16().collect();
    let mut out: Vec<u16> = Vec::with_capacity(units.len());
    let mut at = 0usize;
    for e in edits {
        let i = (e.index as usize).min(units.len());
        out.extend_from_slice(&units[at.min(i)..i]);
        out.extend(e.insert.encode_utf16());
        at = (i + e.delete as usize).min(units.len());
    }
    out.extend_from_slice(&units[at.min(units.len())..]);
    String::from_utf16_lossy(&out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(base: &str, current: &str, proposed: &str) -> String {
        let p = plan(base, current, proposed, false).expect("clean merge");
        assert_eq!(
            apply_edits(current, &p.edits),
            p.text,
            "edits give the text"
        );
        p.text
    }

    #[test]
    fn tokens_split_words_spaces_and_marks() {
        assert_eq!(
            tokens("States¹, don't  stop;"),
            ["States", "¹", ",", " ", "don't", "  ", "stop", ";"]
        );
        assert!(tokens("").is_empty());
    }

    #[test]
    fn a_proposal_on_unchanged_words_merges() {
        let base = "Requests the Secretariat to report to the Commission;";
        let current = "Requests the Secretary-General to report to the Commission;";
        let proposed = "Requests the Secretariat to report annually to the Commission;";
        assert_eq!(
            check(base, current, proposed),
            "Requests the Secretary-General to report annually to the Commission;"
        );
    }

    #[test]
    fn two_proposals_on_different_words_commute() {
        let base = "Invites Member States to consider the report at its next session;";
        let p1 = "Invites all Member States to consider the report at its next session;";
        let p2 = "Invites Member States to consider the report at its seventieth session;";
        let a = check(base, &check(base, base, p1), p2);
        let b = check(base, &check(base, base, p2), p1);
        assert_eq!(a, b);
        assert_eq!(
            a,
            "Invites all Member States to consider the report at its seventieth session;"
        );
    }

    #[test]
    fn changes_to_the_same_words_conflict() {
        let base = "Urges States to act;";
        let current = "Urges all States to act;";
        let proposed = "Urges some States to act;";
        let conflicts = merge(base, current, proposed).unwrap_err();
        assert_eq!(conflicts.len(), 1);
        let c = &conflicts[0];
        assert_eq!(&current[c.current.clone()], "all ");
        assert_eq!(&proposed[c.proposed.clone()], "some ");
        // accepted anyway, the proposal's version wins its conflict
        let forced = plan(base, current, proposed, true).unwrap();
        assert_eq!(forced.text, "Urges some States to act;");
        assert_eq!(apply_edits(current, &forced.edits), forced.text);
    }

    #[test]
    fn a_deleted_word_the_proposal_edits_is_a_conflict() {
        let conflicts = merge("Notes the report;", "Notes the;", "Notes the final report;");
        assert!(conflicts.is_err());
    }

    #[test]
    fn edits_are_minimal_and_count_utf16() {
        let p = plan(
            "Notes 𝒜 report;",
            "Notes 𝒜 report;",
            "Notes 𝒜 final report;",
            false,
        )
        .unwrap();
        assert_eq!(
            p.edits,
            vec![Edit {
                index: 9,
                delete: 0,
                insert: "final ".into()
            }]
        );
        let r = rewrite("a b c d", "a x c d");
        assert_eq!(
            r.edits,
            vec![Edit {
                index: 2,
                delete: 1,
                insert: "x".into()
            }]
        );
    }

    /// A base of distinct words; two proposals editing words at least two
    /// apart, each edit a replacement, a deletion or an insertion of a word
    /// found nowhere else.
    fn scenario() -> impl Strategy<Value = (Vec<String>, Vec<(usize, u8, bool)>)> {
        (6usize..30).prop_flat_map(|n| {
            (
                Just((0..n).map(|i| format!("w{i}")).collect::<Vec<_>>()),
                proptest::collection::vec((0..n, 0u8..3, any::<bool>()), 1..8),
            )
        })
    }

    fn render(words: &[String], edits: &[(usize, u8)], tag: &str) -> String {
        let mut out: Vec<String> = Vec::new();
        for (i, w) in words.iter().enumerate() {
            match edits.iter().find(|(at, _)| *at == i).map(|(_, k)| *k) {
                Some(0) => out.push(format!("{tag}{i}")),
                Some(1) => {}
                Some(_) => {
                    out.push(format!("{tag}{i}"));
                    out.push(w.clone());
                }
                None => out.push(w.clone()),
            }
        }
        out.join(" ") + ";"
    }

    proptest! {
        #[test]
        fn non_overlapping_edits_commute((words, picks) in scenario()) {
            // keep picks two or more words apart, alternate them between the proposals
            let mut taken: Vec<(usize, u8, bool)> = Vec::new();
            for (i, k, side) in picks {
                if taken.iter().all(|(j, _, _)| i.abs_diff(*j) >= 2) {
                    taken.push((i, k, side));
                }
            }
            let one: Vec<(usize, u8)> = taken.iter().filter(|t| t.2).map(|t| (t.0, t.1)).collect();
            let two: Vec<(usize, u8)> = taken.iter().filter(|t| !t.2).map(|t| (t.0, t.1)).collect();
            let base = render(&words, &[], "");
            let p1 = render(&words, &one, "A");
            let p2 = render(&words, &two, "B");
            let both: Vec<(usize, u8, &str)> = taken
                .iter()
                .map(|t| (t.0, t.1, if t.2 { "A" } else { "B" }))
                .collect();
            let first = check(&base, &check(&base, &base, &p1), &p2);
            let second = check(&base, &check(&base, &base, &p2), &p1);
            prop_assert_eq!(&first, &second);
            for (i, k, tag) in both {
                let word = format!("{tag}{i}");
                let gone = format!(" w{i} ");
                if k == 1 {
                    let padded = format!(" {} ", first.trim_end_matches(';'));
                    prop_assert!(!padded.contains(&gone));
                } else {
                    prop_assert!(first.contains(&word));
                }
            }
        }
    }
}
