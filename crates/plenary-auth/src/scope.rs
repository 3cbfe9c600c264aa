//! Comment scopes: one Yjs document per visibility, so private notes never reach other clients.

use std::fmt;

use crate::claims::is_valid_code;

/// Who may read a comment document (SPEC §2): `<doc>/comments/public`,
/// `<doc>/comments/group/<GROUP>`, `<doc>/comments/delegation/<CODE>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CommentScope {
    /// Everyone who may open the resolution.
    Public,
    /// Members of a group (`EU`, `G77`), from the `groups` claim.
    Group(String),
    /// One delegation's private notes, from the `delegation` claim.
    Delegation(String),
}

const COMMENTS: &str = "/comments/";

impl CommentScope {
    /// Splits a comment document's name into the resolution it annotates and its scope;
    /// `None` for any other name (including malformed ones such as `res/comments/group/`).
    ///
    /// ```
    /// use plenary_auth::CommentScope;
    /// assert_eq!(
    ///     CommentScope::parse_doc_name("res-1/comments/group/EU"),
    ///     Some(("res-1", CommentScope::Group("EU".into())))
    /// );
    /// assert_eq!(CommentScope::parse_doc_name("res-1"), None);
    /// ```
    pub fn parse_doc_name(name: &str) -> Option<(&str, CommentScope)> {
        let at = name.rfind(COMMENTS)?;
        let (base, rest) = (&name[..at], &name[at + COMMENTS.len()..]);
        if base.is_empty() {
            return None;
        }
        let scope = match rest.split_once('/') {
            None if rest == "public" => CommentScope::Public,
            Some(("group", code)) if is_valid_code(code) => CommentScope::Group(code.to_owned()),
            Some(("delegation", code)) if is_valid_code(code) => {
                CommentScope::Delegation(code.to_owned())
            }
            _ => return None,
        };
        Some((base, scope))
    }

    /// The comment document of this scope for resolution `base`, e.g. `res-1/comments/public`.
    pub fn doc_name(&self, base: &str) -> String {
        format!("{base}/comments/{self}")
    }
}

/// The scope's path: `public`, `group/EU`, `delegation/JPN`.
impl fmt::Display for CommentScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommentScope::Public => f.write_str("public"),
            CommentScope::Group(g) => write!(f, "group/{g}"),
            CommentScope::Delegation(d) => write!(f, "delegation/{d}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::CommentScope;

    #[test]
    fn parses_the_three_scopes_and_round_trips() {
        for (name, base, scope) in [
            ("res-1/comments/public", "res-1", CommentScope::Public),
            (
                "res-1/comments/group/G77",
                "res-1",
                CommentScope::Group("G77".into()),
            ),
            (
                "e/cn.15/comments/delegation/JPN",
                "e/cn.15",
                CommentScope::Delegation("JPN".into()),
            ),
        ] {
            assert_eq!(
                CommentScope::parse_doc_name(name),
                Some((base, scope.clone()))
            );
            assert_eq!(scope.doc_name(base), name);
        }
    }

    #[test]
    fn rejects_other_names() {
        for name in [
            "res-1",
            "/comments/public",
            "res-1/comments/",
            "res-1/comments/private",
            "res-1/comments/group/",
            "res-1/comments/group/EU/x",
            "res-1/comments/delegation/J PN",
            "res-1/comments/public/x",
        ] {
            assert_eq!(CommentScope::parse_doc_name(name), None, "{name}");
        }
    }
}
