//! `--ttl 8h`: the small duration syntax of `plenary token`.

use std::time::Duration;

/// Why a `--ttl` value was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration; write e.g. 90s, 30m, 8h, 2d or 1h30m")]
    Empty,
    #[error("`{0}` is not a duration; write e.g. 90s, 30m, 8h, 2d or 1h30m")]
    Invalid(String),
    #[error("unknown unit `{0}`; use s, m, h or d")]
    UnknownUnit(char),
    #[error("`{0}` is too long a duration")]
    Overflow(String),
}

/// Parses `90s`, `30m`, `8h`, `2d`, or a sum of such parts (`1h30m`). Every number needs a unit:
/// a bare `8` is refused rather than guessed to be seconds or hours.
pub fn parse_ttl(input: &str) -> Result<Duration, DurationError> {
    let text = input.trim();
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    let invalid = || DurationError::Invalid(text.to_owned());
    let overflow = || DurationError::Overflow(text.to_owned());
    let mut total: u64 = 0;
    let mut number: Option<u64> = None;
    for c in text.chars() {
        if let Some(digit) = c.to_digit(10) {
            let n = number.unwrap_or(0);
            number = Some(
                n.checked_mul(10)
                    .and_then(|n| n.checked_add(u64::from(digit)))
                    .ok_or_else(overflow)?,
            );
            continue;
        }
        let unit_secs = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            c if c.is_alphabetic() => return Err(DurationError::UnknownUnit(c)),
            _ => return Err(invalid()),
        };
        let n = number.take().ok_or_else(invalid)?;
        let part = n.checked_mul(unit_secs).ok_or_else(overflow)?;
        total = total.checked_add(part).ok_or_else(overflow)?;
    }
    if number.is_some() {
        return Err(invalid());
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_sums() {
        assert_eq!(parse_ttl("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("30m"), Ok(Duration::from_secs(1_800)));
        assert_eq!(parse_ttl("8h"), Ok(Duration::from_secs(28_800)));
        assert_eq!(parse_ttl("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse_ttl(" 1h30m "), Ok(Duration::from_secs(5_400)));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert_eq!(parse_ttl(""), Err(DurationError::Empty));
        assert_eq!(parse_ttl("8"), Err(DurationError::Invalid("8".into())));
        assert_eq!(parse_ttl("h"), Err(DurationError::Invalid("h".into())));
        assert_eq!(parse_ttl("8w"), Err(DurationError::UnknownUnit('w')));
        assert_eq!(parse_ttl("-8h"), Err(DurationError::Invalid("-8h".into())));
        assert!(matches!(
            parse_ttl("99999999999999999999d"),
            Err(DurationError::Overflow(_))
        ));
    }
}
