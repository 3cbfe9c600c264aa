//! The `docs` claim's patterns: exact names or globs with `*` and `?`.

/// Whether `name` matches `pattern`, where `*` stands for any run of characters and `?` for
/// exactly one, but neither ever crosses a `/`: the pattern `res-*` opens `res-2021` but not
/// `res-2021/anything`, so a pattern never reaches into nested names by accident. Comment-scope
/// documents are matched on their base name instead (see [`crate::Principal::may_open`]).
pub(crate) fn matches(pattern: &str, name: &str) -> bool {
    let mut patterns = pattern.split('/');
    let mut names = name.split('/');
    loop {
        match (patterns.next(), names.next()) {
            (None, None) => return true,
            (Some(p), Some(n)) if segment_matches(p, n) => {}
            _ => return false,
        }
    }
}

/// Classic linear wildcard matching with backtracking to the last `*` (no recursion, so a
/// hostile pattern or name costs O(len²) at worst, never exponential time).
fn segment_matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(&c) if c == '?' || c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn exact_star_and_question_mark() {
        assert!(matches("res-2021", "res-2021"));
        assert!(!matches("res-2021", "res-2022"));
        assert!(matches("res-*", "res-2021"));
        assert!(matches("res-*", "res-"));
        assert!(!matches("res-*", "draft-2021"));
        assert!(matches("*", "anything"));
        assert!(matches("res-202?", "res-2021"));
        assert!(!matches("res-202?", "res-20211"));
        assert!(matches("*-rev*", "l4-rev1"));
        assert!(matches("a*b*c", "axxbyyc"));
        assert!(!matches("a*b*c", "axxbyy"));
    }

    #[test]
    fn wildcards_never_cross_a_slash() {
        assert!(!matches("res-*", "res-1/comments/public"));
        assert!(!matches("*", "a/b"));
        assert!(matches("*/*", "a/b"));
        assert!(!matches("res-?", "res-/"));
    }
}
