//! Guessing the italic opening of a paragraph whose text carries no markup.
//!
//! UN drafts print the opening participle of a preambular paragraph
//! (*Recalling*, *Noting also*, *Bearing in mind*) and the opening verb of an
//! operative paragraph (*Encourages*, *Also requests*, *Calls upon*) in
//! italics; plain text loses that. We recover it from a list of the fixed
//! phrases of UN drafting plus a rule for the rest: leading adverbs, then one
//! participle (preamble) or third-person verb (operative), then trailing
//! adverbs such as "also" or "further".

/// Multi-word preambular openings that the word rule would cut short.
const PREAMBULAR_PHRASES: &[&str] = &[
    "Bearing in mind",
    "Taking note with appreciation of",
    "Taking note with interest of",
    "Taking note with satisfaction of",
    "Taking note of",
    "Taking into account",
    "Taking into consideration",
    "Noting with deep concern",
    "Noting with grave concern",
    "Noting with serious concern",
    "Noting with concern",
    "Noting with appreciation",
    "Noting with satisfaction",
    "Noting with interest",
    "Expressing deep concern",
    "Expressing grave concern",
    "Expressing serious concern",
    "Expressing concern",
    "Expressing its appreciation",
    "Expressing its deep appreciation",
    "Expressing appreciation",
    "Expressing its gratitude",
    "Guided by",
    "Having regard to",
    "Keeping in mind",
    "Recognizing with appreciation",
    "Welcoming with appreciation",
];

/// Adjectives that open preambular paragraphs without being participles.
const PREAMBULAR_ADJECTIVES: &[&str] = &[
    "Mindful",
    "Aware",
    "Conscious",
    "Cognizant",
    "Desirous",
    "Confident",
    "Resolved",
];

/// Operative verb phrases longer than one verb.
const OPERATIVE_PHRASES: &[&str] = &[
    "Calls upon",
    "Calls on",
    "Takes note with appreciation",
    "Takes note with interest",
    "Takes note with satisfaction",
    "Takes note with concern",
    "Takes note",
    "Expresses its deep appreciation",
    "Expresses its appreciation",
    "Expresses its gratitude",
    "Expresses its deep concern",
    "Expresses its concern",
    "Expresses deep concern",
    "Expresses grave concern",
    "Expresses serious concern",
    "Expresses concern",
    "Expresses appreciation",
    "Expresses its support",
    "Pays tribute",
    "Bears in mind",
    "Looks forward",
    "Draws attention",
];

/// Adverbs that may follow the opening word and stay italic ("Noting also",
/// "Requests further").
const TRAILING_ADVERBS: &[&str] = &["also", "further", "again", "moreover", "furthermore"];

/// Adverbs that may precede the opening word ("Also encourages", "Deeply
/// concerned", "Once again urges").
fn is_leading_adverb(word: &str) -> bool {
    let lower = word.to_lowercase();
    matches!(
        lower.as_str(),
        "also" | "further" | "again" | "once" | "moreover" | "furthermore"
    ) || (lower.len() > 4 && lower.ends_with("ly"))
}

/// Byte length of the italic opening of a preambular paragraph's text, or 0.
pub(crate) fn preambular_opening(text: &str) -> usize {
    opening(text, PREAMBULAR_PHRASES, |word, index| {
        let lower = word.to_lowercase();
        // "Having considered": the auxiliary takes the next word with it.
        if word == "Having" {
            return Head::TakeNext;
        }
        let participle = (lower.ends_with("ing") || lower.ends_with("ed")) && lower.len() > 4;
        let adjective = PREAMBULAR_ADJECTIVES
            .iter()
            .any(|a| a.eq_ignore_ascii_case(word));
        if (participle || adjective) && (index > 0 || starts_upper(word)) {
            Head::Yes
        } else {
            Head::No
        }
    })
}

/// Byte length of the italic opening of an operative paragraph's text, or 0.
pub(crate) fn operative_opening(text: &str) -> usize {
    opening(text, OPERATIVE_PHRASES, |word, index| {
        let verb = word.len() > 3 && word.ends_with('s') && !word.ends_with("ss");
        if verb && (index > 0 || starts_upper(word)) {
            Head::Yes
        } else {
            Head::No
        }
    })
}

enum Head {
    Yes,
    TakeNext,
    No,
}

fn starts_upper(word: &str) -> bool {
    word.chars().next().is_some_and(char::is_uppercase)
}

/// Words of `text` with their byte ranges, and whether punctuation ends the
/// word (which ends the opening too: italics stop before a comma).
fn words(text: &str) -> Vec<(usize, usize, &str, bool)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for raw in text.split(' ') {
        let start = offset;
        offset += raw.len() + 1;
        if raw.is_empty() {
            continue;
        }
        let trimmed = raw.trim_end_matches(|c: char| !c.is_alphanumeric());
        out.push((
            start,
            start + trimmed.len(),
            trimmed,
            trimmed.len() != raw.len(),
        ));
    }
    out
}

fn opening(text: &str, phrases: &[&str], head: impl Fn(&str, usize) -> Head) -> usize {
    let words = words(text);
    let mut i = 0;
    let mut end;
    // A known phrase, possibly after leading adverbs ("Also takes note").
    while words.get(i).is_some_and(|w| is_leading_adverb(w.2) && !w.3) {
        i += 1;
    }
    let phrase_start = words.get(i).map_or(text.len(), |w| w.0);
    let rest = &text[phrase_start..];
    if let Some(phrase) = phrases.iter().find(|p| {
        rest.starts_with(**p)
            && rest[p.len()..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric())
    }) {
        end = phrase_start + phrase.len();
        i = words
            .iter()
            .position(|w| w.1 >= end)
            .map_or(words.len(), |p| p + 1);
        if words.get(i.saturating_sub(1)).is_some_and(|w| w.3) {
            return end;
        }
    } else {
        let Some(word) = words.get(i) else { return 0 };
        match head(word.2, i) {
            Head::No => return 0,
            Head::Yes => {
                end = word.1;
                i += 1;
                if word.3 {
                    return end;
                }
            }
            Head::TakeNext => {
                let Some(next) = words.get(i + 1) else {
                    return 0;
                };
                end = next.1;
                i += 2;
                if next.3 {
                    return end;
                }
            }
        }
    }
    while let Some(word) = words.get(i) {
        if !TRAILING_ADVERBS.contains(&word.2) {
            break;
        }
        end = word.1;
        i += 1;
        if word.3 {
            break;
        }
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pp(text: &str) -> &str {
        &text[..preambular_opening(text)]
    }

    fn op(text: &str) -> &str {
        &text[..operative_opening(text)]
    }

    #[test]
    fn preambular_openings() {
        assert_eq!(pp("Recalling the outcome of"), "Recalling");
        assert_eq!(pp("Noting also the discussions"), "Noting also");
        assert_eq!(pp("Bearing in mind that"), "Bearing in mind");
        assert_eq!(pp("Deeply concerned about"), "Deeply concerned");
        assert_eq!(pp("Having considered the report"), "Having considered");
        assert_eq!(pp("Taking note of the report"), "Taking note of");
        assert_eq!(
            pp("Noting with concern also that"),
            "Noting with concern also"
        );
        assert_eq!(pp("Mindful of"), "Mindful");
        assert_eq!(pp("Fully aware that"), "Fully aware");
        assert_eq!(pp("Recalling, in particular,"), "Recalling");
        assert_eq!(pp("The situation is"), "");
    }

    #[test]
    fn operative_openings() {
        assert_eq!(op("Encourages Member States"), "Encourages");
        assert_eq!(op("Also encourages Member States"), "Also encourages");
        assert_eq!(op("Further requests the"), "Further requests");
        assert_eq!(op("Calls upon States"), "Calls upon");
        assert_eq!(op("Requests also the Secretary-General"), "Requests also");
        assert_eq!(
            op("Takes note with appreciation of"),
            "Takes note with appreciation"
        );
        assert_eq!(op("Decides to remain seized"), "Decides");
        assert_eq!(op("the States"), "");
    }
}
