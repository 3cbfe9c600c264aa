//! The inline syntax of the plain-text layout, shared by the importer and
//! (in reverse) the text exporter:
//!
//! - `*…*` toggles italics (drafts converted from PDF or Word mark the
//!   opening verb this way);
//! - a run of Unicode superscript digits (`¹`, `²³`, `¹⁰`) is one footnote
//!   marker, the number it spells;
//! - `[text](target)` is a link: the text is kept, the target dropped (the
//!   document model has no links, and targets in converted drafts are
//!   placeholders such as `#`);
//! - `\` makes the next character literal, so that text containing `*`,
//!   `[`, `\` or a superscript digit survives export and re-import.

/// A piece of inline text before footnote numbers are resolved to ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Text {
        text: String,
        italic: bool,
    },
    /// A footnote reference: the number it prints and the characters as
    /// printed (kept as the marker run's text).
    Marker {
        number: u32,
        printed: String,
    },
}

/// The result of parsing one paragraph's or footnote's inline text.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    pub pieces: Vec<Piece>,
    /// Whether any `*` toggled italics: then the markup is authoritative and
    /// the importer does not guess the opening phrase.
    pub had_markup: bool,
    /// An italic span was opened and never closed.
    pub unclosed_italic: bool,
}

const SUPERSCRIPT_DIGITS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];

/// The value of a superscript digit, if `c` is one.
pub(crate) fn superscript_value(c: char) -> Option<u32> {
    SUPERSCRIPT_DIGITS
        .iter()
        .position(|&d| d == c)
        .and_then(|p| u32::try_from(p).ok())
}

/// `12` → `¹²`.
pub(crate) fn superscript(number: u32) -> String {
    number
        .to_string()
        .chars()
        .filter_map(|c| c.to_digit(10))
        .filter_map(|d| SUPERSCRIPT_DIGITS.get(d as usize).copied())
        .collect()
}

/// Splits a leading superscript number off `line` (`"¹ text"` →
/// `(1, "¹", " text")`), as footnote bodies at page bottoms begin.
pub(crate) fn leading_superscript(line: &str) -> Option<(u32, &str, &str)> {
    let end = line
        .char_indices()
        .find(|&(_, c)| superscript_value(c).is_none())
        .map_or(line.len(), |(i, _)| i);
    if end == 0 {
        return None;
    }
    let printed = &line[..end];
    Some((superscript_number(printed)?, printed, &line[end..]))
}

/// `¹⁰` → 10; `None` on overflow (a run of superscripts too long to be a
/// footnote number).
fn superscript_number(printed: &str) -> Option<u32> {
    printed.chars().try_fold(0u32, |acc, c| {
        acc.checked_mul(10)?.checked_add(superscript_value(c)?)
    })
}

/// Parses inline markup. Never fails: anything unusual is taken literally.
pub(crate) fn parse_inline(input: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let mut italic = false;
    let mut buf = String::new();
    let chars: Vec<char> = input.chars().collect();
    let mut i = 0;
    let flush = |buf: &mut String, italic: bool, pieces: &mut Vec<Piece>| {
        if !buf.is_empty() {
            push_text(pieces, std::mem::take(buf), italic);
        }
    };
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' if i + 1 < chars.len() => {
                buf.push(chars[i + 1]);
                i += 2;
            }
            '*' => {
                flush(&mut buf, italic, &mut parsed.pieces);
                italic = !italic;
                parsed.had_markup = true;
                i += 1;
            }
            '[' => match link_end(&chars, i) {
                Some((text_end, after)) => {
                    // The link text itself may hold markup; keep it simple:
                    // take it literally, honouring escapes.
                    let mut j = i + 1;
                    while j < text_end {
                        if chars[j] == '\\' && j + 1 < text_end {
                            j += 1;
                        }
                        buf.push(chars[j]);
                        j += 1;
                    }
                    i = after;
                }
                None => {
                    buf.push(c);
                    i += 1;
                }
            },
            c if superscript_value(c).is_some() => {
                let start = i;
                while chars
                    .get(i)
                    .is_some_and(|&c| superscript_value(c).is_some())
                {
                    i += 1;
                }
                let printed: String = chars[start..i].iter().collect();
                match superscript_number(&printed) {
                    Some(number) => {
                        flush(&mut buf, italic, &mut parsed.pieces);
                        parsed.pieces.push(Piece::Marker { number, printed });
                    }
                    None => buf.push_str(&printed),
                }
            }
            c => {
                buf.push(c);
                i += 1;
            }
        }
    }
    flush(&mut buf, italic, &mut parsed.pieces);
    parsed.unclosed_italic = italic;
    parsed
}

/// For a `[` at `open`: the index of the closing `]` and the index just
/// after the `)` of a well-formed `[text](target)`.
fn link_end(chars: &[char], open: usize) -> Option<(usize, usize)> {
    let mut j = open + 1;
    while j < chars.len() {
        match chars[j] {
            '\\' => j += 2,
            ']' => break,
            '[' => return None,
            _ => j += 1,
        }
    }
    if chars.get(j) != Some(&']') || chars.get(j + 1) != Some(&'(') {
        return None;
    }
    let close = chars[j + 2..].iter().position(|&c| c == ')')?;
    let target = &chars[j + 2..j + 2 + close];
    if target.iter().any(|c| c.is_whitespace()) {
        return None;
    }
    Some((j, j + 3 + close))
}

fn push_text(pieces: &mut Vec<Piece>, text: String, italic: bool) {
    if let Some(Piece::Text {
        text: last,
        italic: last_italic,
    }) = pieces.last_mut()
        && *last_italic == italic
    {
        last.push_str(&text);
        return;
    }
    pieces.push(Piece::Text { text, italic });
}

/// Escapes text for the plain-text layout: the inverse of [`parse_inline`]
/// for a run without markup.
pub(crate) fn escape_inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '*' | '[') || superscript_value(c).is_some() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn superscripts_round_trip() {
        for n in [1, 9, 10, 23, 105] {
            let printed = superscript(n);
            assert_eq!(
                leading_superscript(&printed),
                Some((n, printed.as_str(), ""))
            );
        }
    }

    #[test]
    fn escaped_text_parses_back_literally() {
        let text = "a*b [x](y) \\ ¹² end";
        let parsed = parse_inline(&escape_inline(text));
        assert!(!parsed.had_markup);
        assert_eq!(
            parsed.pieces,
            vec![Piece::Text {
                text: text.to_owned(),
                italic: false
            }]
        );
    }

    #[test]
    fn links_keep_their_text() {
        let parsed = parse_inline("[A/CONF.234/16](#).");
        assert_eq!(
            parsed.pieces,
            vec![Piece::Text {
                text: "A/CONF.234/16.".to_owned(),
                italic: false
            }]
        );
    }
}
