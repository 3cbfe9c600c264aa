//! Drafting checks (SPEC §2) over a [`Resolution`], as typed findings.
//!
//! Rules, following the UN editorial manual as practised in drafts:
//! - a preambular paragraph opens with an italic participle (its first run
//!   is italic) and ends with a comma;
//! - an operative paragraph opens with an italic verb and ends with a
//!   semicolon; the last operative paragraph ends with a full stop; an
//!   operative paragraph introducing sub-paragraphs may end with a colon;
//! - a sub-paragraph (level 1 or deeper) introducing deeper ones ends with a colon;
//! - a sub-paragraph (level 1) need not open in italics; it ends with `;`,
//!   `; and`, `, and` or `,` — except the last sub-paragraph of an operative
//!   paragraph, which ends with `;` (or `.` under the last operative
//!   paragraph);
//! - footnote markers and trailing spaces are ignored when reading the end;
//! - an empty paragraph is reported as such and nothing else.

use serde::Serialize;

use crate::model::{Paragraph, ParagraphKind, Resolution};
use crate::numbering::labels;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    Empty,
    ItalicOpening,
    Ending,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub paragraph_id: String,
    pub label: String,
    pub rule: Rule,
    pub message: String,
}

impl Finding {
    /// The finding in plain words for a reader who has the draft in front of
    /// them: what is wrong with which paragraph, then the rule it breaks
    /// (`PP2 does not open in italics: a preambular paragraph opens with an
    /// italic participle.`). The CLI prints it and the API sends it, so the
    /// editor and the terminal say the same thing.
    pub fn sentence(&self) -> String {
        let label = if self.label.is_empty() {
            "a paragraph"
        } else {
            &self.label
        };
        match self.rule {
            Rule::Empty => format!("{label} is empty."),
            Rule::ItalicOpening => format!("{label} does not open in italics: {}.", self.message),
            Rule::Ending => format!("{label} does not end as it should: {}.", self.message),
        }
    }
}

/// The visible text without footnote markers, right-trimmed.
fn body(p: &Paragraph) -> String {
    let s: String = p
        .text
        .iter()
        .filter(|r| r.footnote.is_none())
        .map(|r| r.text.as_str())
        .collect();
    s.trim_end().to_owned()
}

fn opens_italic(p: &Paragraph) -> bool {
    p.text
        .iter()
        .find(|r| !r.text.trim().is_empty())
        .is_some_and(|r| r.italic)
}

/// Checks every paragraph of `r`.
pub fn check(r: &Resolution) -> Vec<Finding> {
    let derived = labels(&r.paragraphs, None);
    let ps = &r.paragraphs;
    let last_op = ps
        .iter()
        .rposition(|p| p.kind == ParagraphKind::Operative && p.level == 0);
    let mut out = Vec::new();
    for (i, p) in ps.iter().enumerate() {
        let label = if p.label.is_empty() {
            derived.get(i).map(|l| l.label.clone()).unwrap_or_default()
        } else {
            p.label.clone()
        };
        let mut find = |rule, message: String| {
            out.push(Finding {
                paragraph_id: p.id.clone(),
                label: label.clone(),
                rule,
                message,
            })
        };
        let text = body(p);
        if text.trim().is_empty() {
            find(Rule::Empty, "the paragraph is empty".into());
            continue;
        }
        let next = ps.get(i + 1);
        let has_subs = next.is_some_and(|n| n.level > p.level && n.kind == p.kind);
        let under_last_op = last_op.is_some_and(|l| i > l);
        let ends = |suffixes: &[&str]| suffixes.iter().any(|s| text.ends_with(s));
        match (p.kind, p.level) {
            (ParagraphKind::Preambular, 0) => {
                if !opens_italic(p) {
                    find(
                        Rule::ItalicOpening,
                        "a preambular paragraph opens with an italic participle".into(),
                    );
                }
                if !(ends(&[","]) || has_subs && ends(&[":"])) {
                    find(
                        Rule::Ending,
                        "a preambular paragraph ends with a comma".into(),
                    );
                }
            }
            (ParagraphKind::Operative, 0) => {
                if !opens_italic(p) {
                    find(
                        Rule::ItalicOpening,
                        "an operative paragraph opens with an italic verb".into(),
                    );
                }
                if has_subs {
                    if !ends(&[":", ";", ","]) {
                        find(
                            Rule::Ending,
                            "an operative paragraph introducing sub-paragraphs ends with a colon"
                                .into(),
                        );
                    }
                } else if Some(i) == last_op {
                    if !ends(&["."]) {
                        find(
                            Rule::Ending,
                            "the last operative paragraph ends with a full stop".into(),
                        );
                    }
                } else if !ends(&[";"]) {
                    find(
                        Rule::Ending,
                        "an operative paragraph ends with a semicolon".into(),
                    );
                }
            }
            (kind, _) => {
                let last_sub = !next.is_some_and(|n| n.level >= p.level && n.kind == kind);
                let introduces = next.is_some_and(|n| n.level > p.level && n.kind == kind);
                if introduces {
                    // A sub-paragraph introducing sub-sub-paragraphs (i), (ii) ….
                    if !ends(&[":", ";", ","]) {
                        find(
                            Rule::Ending,
                            "a sub-paragraph introducing sub-sub-paragraphs ends with a colon"
                                .into(),
                        );
                    }
                } else if kind == ParagraphKind::Operative && last_sub && under_last_op {
                    if !ends(&["."]) {
                        find(
                            Rule::Ending,
                            "the last sub-paragraph of the last operative paragraph ends with a full stop"
                                .into(),
                        );
                    }
                } else if kind == ParagraphKind::Operative && last_sub {
                    if !ends(&[";"]) {
                        find(
                            Rule::Ending,
                            "the last sub-paragraph of an operative paragraph ends with a semicolon"
                                .into(),
                        );
                    }
                } else if !ends(&[";", "; and", ", and", ","]) {
                    find(
                        Rule::Ending,
                        "a sub-paragraph ends with a semicolon (or \"; and\" before the last)"
                            .into(),
                    );
                }
            }
        }
    }
    out
}
