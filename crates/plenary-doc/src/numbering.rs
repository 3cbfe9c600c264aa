//! Derived numbering (SPEC §2): never stored, always computed from order.
//!
//! Operative paragraphs are numbered 1, 2, 3 …; sub-paragraphs (a), (b) …
//! restart under each operative paragraph; preambular paragraphs are not
//! numbered in print but cited PP1, PP2 …. Labels: `PP2`, `OP4`, `OP4(b)`.
//!
//! Between two named versions, labels are computed against the *base order*
//! (the paragraph ids and kinds at the last named version) so that the
//! references delegates wrote down stay valid: a paragraph that was in the
//! base keeps its base label even if it moved; a paragraph not in the base
//! takes the label of the preceding base paragraph of the same kind (and,
//! for a top-level paragraph, of level 0) plus the Latin ordinal suffixes of
//! UN practice: `OP3bis`, `OP3ter`, `OP3quater` … (`PP2bis`). Choices made
//! where practice varies:
//! - a new paragraph before the first base paragraph of its kind is anchored
//!   on a virtual paragraph 0: `PP0bis`, `OP0bis` (HRC texts write "PP0";
//!   keeping the suffix makes a second insertion `PP0ter`, unambiguous);
//! - a new sub-paragraph right under a base operative paragraph (before its
//!   first base sub-paragraph) is `OP4(0)bis`; after a base sub-paragraph it
//!   is `OP4(b)bis`;
//! - past `decies` the suffix is numeric: `OP3-11`.
//!
//! Naming the next version stores a new base order, which renumbers.
//!
//! The web editor computes the same labels in the page (`web/src/labels.ts`, a port of
//! [`labels`] with the base order from `GET /api/docs/{doc}/versions`): keep the two in
//! step, and change both together.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::model::{Paragraph, ParagraphKind};

/// The paragraph order at the last named version (the server stores it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseOrder {
    pub paragraphs: Vec<BaseParagraph>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseParagraph {
    pub id: String,
    pub kind: ParagraphKind,
    #[serde(default)]
    pub level: u8,
}

impl BaseOrder {
    /// The base order of a list of paragraphs (e.g. when naming a version).
    pub fn of(paragraphs: &[Paragraph]) -> Self {
        BaseOrder {
            paragraphs: paragraphs
                .iter()
                .map(|p| BaseParagraph {
                    id: p.id.clone(),
                    kind: p.kind,
                    level: p.level,
                })
                .collect(),
        }
    }
}

/// A paragraph's derived number ("3", "(b)", "" for preambular) and label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParagraphLabel {
    pub number: String,
    pub label: String,
}

const ORDINALS: [&str; 9] = [
    "bis",
    "ter",
    "quater",
    "quinquies",
    "sexies",
    "septies",
    "octies",
    "novies",
    "decies",
];

fn suffix(n: usize) -> String {
    match ORDINALS.get(n) {
        Some(s) => (*s).to_owned(),
        None => format!("-{}", n + 2),
    }
}

/// The label of the `index`-th sub-paragraph as UN texts letter them: a … z, then aa, bb …
/// zz, then aaa ….
pub(crate) fn letter(index: usize) -> String {
    let letters = b"abcdefghijklmnopqrstuvwxyz";
    let c = char::from(letters[index % 26]);
    std::iter::repeat_n(c, index / 26 + 1).collect()
}

/// `0` → `i`, `3` → `iv`, `8` → `ix`: lower-case Roman numerals, as UN texts number
/// sub-sub-paragraphs (i), (ii) … (below 4 000; a draft never comes near).
pub(crate) fn roman(i: usize) -> String {
    const DIGITS: [(usize, &str); 13] = [
        (1000, "m"),
        (900, "cm"),
        (500, "d"),
        (400, "cd"),
        (100, "c"),
        (90, "xc"),
        (50, "l"),
        (40, "xl"),
        (10, "x"),
        (9, "ix"),
        (5, "v"),
        (4, "iv"),
        (1, "i"),
    ];
    let mut n = i + 1;
    let mut s = String::new();
    for (value, digits) in DIGITS {
        while n >= value {
            s.push_str(digits);
            n -= value;
        }
    }
    s
}

/// Plain numbering of a sequence of (kind, level): operative paragraphs 1, 2 …
/// (preambular ones are not numbered in print, cited PP1, PP2 …); sub-paragraphs
/// (level 1) (a), (b) … under each paragraph of either kind; sub-sub-paragraphs (level 2
/// and deeper) (i), (ii) … under each sub-paragraph. The one numbering of the crate: the
/// importer, the exports and the labels all derive from it.
pub(crate) fn plain(items: &[(ParagraphKind, u8)]) -> Vec<ParagraphLabel> {
    let (mut pp, mut op, mut sub, mut subsub) = (0usize, 0usize, 0usize, 0usize);
    items
        .iter()
        .map(|(kind, level)| {
            let parent = |op: usize, pp: usize| match kind {
                ParagraphKind::Preambular => format!("PP{}", pp.max(1)),
                ParagraphKind::Operative => format!("OP{}", op.max(1)),
            };
            match (kind, level) {
                (ParagraphKind::Preambular, 0) => {
                    pp += 1;
                    (sub, subsub) = (0, 0);
                    ParagraphLabel {
                        number: String::new(),
                        label: format!("PP{pp}"),
                    }
                }
                (ParagraphKind::Operative, 0) => {
                    op += 1;
                    (sub, subsub) = (0, 0);
                    ParagraphLabel {
                        number: op.to_string(),
                        label: format!("OP{op}"),
                    }
                }
                (_, 1) => {
                    sub += 1;
                    subsub = 0;
                    let l = letter(sub - 1);
                    ParagraphLabel {
                        number: format!("({l})"),
                        label: format!("{}({l})", parent(op, pp)),
                    }
                }
                (_, _) => {
                    subsub += 1;
                    let r = roman(subsub - 1);
                    ParagraphLabel {
                        number: format!("({r})"),
                        label: format!("{}({})({r})", parent(op, pp), letter(sub.max(1) - 1)),
                    }
                }
            }
        })
        .collect()
}

/// Labels of `paragraphs` in order: plain numbering without a base;
/// provisional labels (`OP3bis`) for paragraphs absent from `base`.
pub fn labels(paragraphs: &[Paragraph], base: Option<&BaseOrder>) -> Vec<ParagraphLabel> {
    let items: Vec<(ParagraphKind, u8)> = paragraphs.iter().map(|p| (p.kind, p.level)).collect();
    let Some(base) = base else {
        return plain(&items);
    };
    let base_items: Vec<(ParagraphKind, u8)> =
        base.paragraphs.iter().map(|b| (b.kind, b.level)).collect();
    let base_labels: HashMap<&str, ParagraphLabel> = base
        .paragraphs
        .iter()
        .map(|b| b.id.as_str())
        .zip(plain(&base_items))
        .collect();
    let in_base: HashSet<&str> = base_labels.keys().copied().collect();
    // The last base paragraph seen: preambular, and operative per level (a deeper
    // level is forgotten when a shallower one comes).
    let mut last_pp: Option<&ParagraphLabel> = None;
    let mut last_op: [Option<&ParagraphLabel>; 3] = [None, None, None];
    let mut used: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::with_capacity(paragraphs.len());
    for p in paragraphs {
        if in_base.contains(p.id.as_str()) {
            if let Some(l) = base_labels.get(p.id.as_str()) {
                match p.kind {
                    ParagraphKind::Preambular if base_level(base, &p.id) == 0 => last_pp = Some(l),
                    ParagraphKind::Preambular => {}
                    ParagraphKind::Operative => {
                        let lv = usize::from(base_level(base, &p.id).min(2));
                        last_op[lv] = Some(l);
                        for deeper in &mut last_op[lv + 1..] {
                            *deeper = None;
                        }
                    }
                }
                out.push(l.clone());
            }
            continue;
        }
        let (anchor_label, anchor_number) = match p.kind {
            ParagraphKind::Preambular => (
                last_pp.map_or("PP0".to_owned(), |l| l.label.clone()),
                String::new(),
            ),
            ParagraphKind::Operative => {
                let lv = usize::from(p.level.min(2));
                match last_op[lv] {
                    Some(l) => (l.label.clone(), l.number.clone()),
                    // No base paragraph of this level yet under the enclosing one: a
                    // virtual paragraph 0 under the nearest enclosing base paragraph.
                    None => {
                        let enclosing = last_op[..lv].iter().rposition(Option::is_some);
                        let mut label = match enclosing {
                            Some(e) => last_op[e].map_or(String::new(), |l| l.label.clone()),
                            None => "OP0".to_owned(),
                        };
                        // "OP0" stands for level 0 when there is no enclosing paragraph.
                        let from = enclosing.map_or(1, |e| e + 1);
                        for _ in from..=lv {
                            label.push_str("(0)");
                        }
                        let number = if lv == 0 { "0" } else { "(0)" };
                        (label, number.to_owned())
                    }
                }
            }
        };
        let n = used.entry(anchor_label.clone()).or_insert(0);
        let sfx = suffix(*n);
        *n += 1;
        out.push(ParagraphLabel {
            number: if anchor_number.is_empty() {
                String::new()
            } else {
                format!("{anchor_number}{sfx}")
            },
            label: format!("{anchor_label}{sfx}"),
        });
    }
    out
}

fn base_level(base: &BaseOrder, id: &str) -> u8 {
    base.paragraphs
        .iter()
        .find(|b| b.id == id)
        .map_or(0, |b| b.level)
}

/// Fills `number` and `label` of each paragraph.
pub fn number_paragraphs(paragraphs: &mut [Paragraph], base: Option<&BaseOrder>) {
    let ls = labels(paragraphs, base);
    for (p, l) in paragraphs.iter_mut().zip(ls) {
        p.number = l.number;
        p.label = l.label;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;

    fn para(id: &str, kind: ParagraphKind, level: u8) -> Paragraph {
        Paragraph {
            id: id.into(),
            kind,
            level,
            status: Status::Open,
            text: vec![],
            number: String::new(),
            label: String::new(),
        }
    }
    use ParagraphKind::{Operative as O, Preambular as P};

    fn label_list(ps: &[Paragraph], base: Option<&BaseOrder>) -> Vec<String> {
        labels(ps, base).into_iter().map(|l| l.label).collect()
    }

    #[test]
    fn plain_numbering_restarts_sub_paragraphs_under_each_operative() {
        let ps = vec![
            para("a", P, 0),
            para("b", P, 0),
            para("c", O, 0),
            para("d", O, 0),
            para("e", O, 1),
            para("f", O, 1),
            para("g", O, 0),
            para("h", O, 1),
        ];
        assert_eq!(
            label_list(&ps, None),
            [
                "PP1", "PP2", "OP1", "OP2", "OP2(a)", "OP2(b)", "OP3", "OP3(a)"
            ]
        );
        let n: Vec<String> = labels(&ps, None).into_iter().map(|l| l.number).collect();
        assert_eq!(n, ["", "", "1", "2", "(a)", "(b)", "3", "(a)"]);
    }

    #[test]
    fn sub_sub_paragraphs_count_in_roman_numerals_under_each_sub_paragraph() {
        let ps = vec![
            para("a", P, 0),
            para("a1", P, 1),
            para("c", O, 0),
            para("d", O, 1),
            para("e", O, 1),
            para("e1", O, 2),
            para("e2", O, 2),
            para("e3", O, 2),
            para("e4", O, 2),
            para("f", O, 1),
            para("g", O, 0),
            para("g1", O, 1),
            para("g1i", O, 2),
        ];
        assert_eq!(
            label_list(&ps, None),
            [
                "PP1",
                "PP1(a)",
                "OP1",
                "OP1(a)",
                "OP1(b)",
                "OP1(b)(i)",
                "OP1(b)(ii)",
                "OP1(b)(iii)",
                "OP1(b)(iv)",
                "OP1(c)",
                "OP2",
                "OP2(a)",
                "OP2(a)(i)"
            ]
        );
        let n: Vec<String> = labels(&ps, None).into_iter().map(|l| l.number).collect();
        assert_eq!(
            n,
            [
                "", "(a)", "1", "(a)", "(b)", "(i)", "(ii)", "(iii)", "(iv)", "(c)", "2", "(a)",
                "(i)"
            ]
        );
        let romans: Vec<String> = [0, 3, 4, 8, 9, 13, 38, 48].map(roman).to_vec();
        assert_eq!(romans, ["i", "iv", "v", "ix", "x", "xiv", "xxxix", "xlix"]);
        let letters: Vec<String> = [0, 25, 26, 27, 52].map(letter).to_vec();
        assert_eq!(letters, ["a", "z", "aa", "bb", "aaa"]);
    }

    #[test]
    fn a_new_sub_sub_paragraph_takes_a_provisional_label_under_its_base_sub_paragraph() {
        let base_ps = vec![
            para("o1", O, 0),
            para("o1a", O, 1),
            para("o1b", O, 1),
            para("o1b1", O, 2),
            para("o1c", O, 1),
        ];
        let base = BaseOrder::of(&base_ps);
        let now = vec![
            para("o1", O, 0),
            para("o1a", O, 1),
            para("n1", O, 2), // under (a), which had none
            para("o1b", O, 1),
            para("o1b1", O, 2),
            para("n2", O, 2), // after (b)(i)
            para("n3", O, 1), // a sub-paragraph after (b)(i): anchored on (b), not on (b)(i)
            para("o1c", O, 1),
        ];
        assert_eq!(
            label_list(&now, Some(&base)),
            [
                "OP1",
                "OP1(a)",
                "OP1(a)(0)bis",
                "OP1(b)",
                "OP1(b)(i)",
                "OP1(b)(i)bis",
                "OP1(b)bis",
                "OP1(c)"
            ]
        );
    }

    #[test]
    fn provisional_labels_keep_base_references_valid() {
        let base_ps = vec![
            para("p1", P, 0),
            para("p2", P, 0),
            para("o1", O, 0),
            para("o2", O, 0),
            para("o2a", O, 1),
            para("o3", O, 0),
        ];
        let base = BaseOrder::of(&base_ps);
        // insert two after OP2(a)... a new OP after OP2's sub, a new PP first,
        // move OP3 before OP1, a sub after OP2(a)
        let now = vec![
            para("n0", P, 0),
            para("p1", P, 0),
            para("p2", P, 0),
            para("n1", P, 0),
            para("o3", O, 0),
            para("o1", O, 0),
            para("o2", O, 0),
            para("o2a", O, 1),
            para("n2", O, 1),
            para("n3", O, 0),
            para("n4", O, 0),
        ];
        assert_eq!(
            label_list(&now, Some(&base)),
            [
                "PP0bis",
                "PP1",
                "PP2",
                "PP2bis",
                "OP3",
                "OP1",
                "OP2",
                "OP2(a)",
                "OP2(a)bis",
                "OP2bis",
                "OP2ter"
            ]
        );
        let numbers: Vec<String> = labels(&now, Some(&base))
            .into_iter()
            .map(|l| l.number)
            .collect();
        assert_eq!(numbers[9], "2bis");
        // naming a version renumbers
        let renamed = BaseOrder::of(&now);
        assert_eq!(label_list(&now, Some(&renamed))[9], "OP4");
    }

    #[test]
    fn suffixes_follow_latin_ordinals_then_numbers() {
        let base = BaseOrder::of(&[para("o1", O, 0)]);
        let mut now = vec![para("o1", O, 0)];
        for i in 0..11 {
            now.push(para(&format!("n{i}"), O, 0));
        }
        let l = label_list(&now, Some(&base));
        assert_eq!(l[1], "OP1bis");
        assert_eq!(l[3], "OP1quater");
        assert_eq!(l[9], "OP1decies");
        assert_eq!(l[10], "OP1-11");
    }
}
