//! The claims a Plenary token carries, and how development tokens are requested.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::policy::UnknownValue;

/// The four roles of SPEC §1. Serialized in lowercase (`"chair"`, `"delegate"` …) as in tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Chair or facilitator of the consultations.
    Chair,
    /// The secretariat servicing the body.
    Secretariat,
    /// A member of a delegation (requires the `delegation` claim).
    Delegate,
    /// Observer states, IGOs, NGOs.
    Observer,
}

impl Role {
    /// All roles, in SPEC order (handy for `serve --dev`, which prints one token per role).
    pub const ALL: [Role; 4] = [
        Role::Chair,
        Role::Secretariat,
        Role::Delegate,
        Role::Observer,
    ];

    /// The claim value, e.g. `"secretariat"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Chair => "chair",
            Role::Secretariat => "secretariat",
            Role::Delegate => "delegate",
            Role::Observer => "observer",
        }
    }

    /// How a change is attributed when the principal speaks for no delegation
    /// (a chair in personal capacity, the secretariat).
    pub fn label(self) -> &'static str {
        match self {
            Role::Chair => "Chair",
            Role::Secretariat => "Secretariat",
            Role::Delegate => "Delegate",
            Role::Observer => "Observer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or(UnknownValue {
                what: "role",
                expected: "chair, secretariat, delegate or observer",
            })
    }
}

/// The JWT payload Plenary mints and expects (SPEC §4). Times are Unix seconds.
///
/// Verification does not deserialize into this struct directly: it reads claim by claim so that
/// a bad token is reported as the claim that was missing or wrong ([`crate::TokenError`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Stable user id; comment authorship is compared on it.
    pub sub: String,
    /// Display name, for attribution and presence.
    pub name: String,
    pub role: Role,
    /// Delegation code (`JPN`, `EU` …); required for delegates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegation: Option<String>,
    /// Groups the user belongs to (`EU`, `G77`), which open group comment scopes.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Document names or glob patterns (`res-*`) the token opens.
    #[serde(default)]
    pub docs: Vec<String>,
    pub iss: String,
    pub aud: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    pub iat: u64,
}

/// What `plenary token --role … --delegation … --ttl 8h` asks for; turned into [`Claims`] by
/// [`TokenRequest::into_claims`] with the server's issuer/audience and an injected clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub role: Role,
    pub name: String,
    /// Stable user id; derived from role, delegation and name when `None`.
    pub sub: Option<String>,
    pub delegation: Option<String>,
    pub groups: Vec<String>,
    pub docs: Vec<String>,
    pub ttl: Duration,
}

/// Why a [`TokenRequest`] cannot become a token the server would accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRequestError {
    #[error("a delegate token needs a delegation (e.g. --delegation JPN)")]
    DelegateWithoutDelegation,
    #[error("the name must not be empty")]
    EmptyName,
    #[error(
        "{claim} value `{value}` must be non-empty and contain no `/` (it names a comment scope)"
    )]
    InvalidCode { claim: &'static str, value: String },
    #[error("the time to live must be at least one second")]
    ZeroTtl,
    #[error("the time to live overflows the token's expiry time")]
    TtlTooLong,
}

impl TokenRequest {
    /// Builds the claims, valid from `now_unix_secs` for `ttl`.
    pub fn into_claims(
        self,
        issuer: &str,
        audience: &str,
        now_unix_secs: u64,
    ) -> Result<Claims, TokenRequestError> {
        if self.name.trim().is_empty() {
            return Err(TokenRequestError::EmptyName);
        }
        if self.role == Role::Delegate && self.delegation.is_none() {
            return Err(TokenRequestError::DelegateWithoutDelegation);
        }
        if let Some(code) = &self.delegation {
            check_code("delegation", code)?;
        }
        for group in &self.groups {
            check_code("groups", group)?;
        }
        let ttl = self.ttl.as_secs();
        if ttl == 0 {
            return Err(TokenRequestError::ZeroTtl);
        }
        let exp = now_unix_secs
            .checked_add(ttl)
            .ok_or(TokenRequestError::TtlTooLong)?;
        let sub = self
            .sub
            .unwrap_or_else(|| derive_sub(self.role, self.delegation.as_deref(), &self.name));
        Ok(Claims {
            sub,
            name: self.name,
            role: self.role,
            delegation: self.delegation,
            groups: self.groups,
            docs: self.docs,
            iss: issuer.to_owned(),
            aud: audience.to_owned(),
            exp,
            nbf: Some(now_unix_secs),
            iat: now_unix_secs,
        })
    }
}

/// Delegation and group codes become path segments of comment-scope document names.
pub(crate) fn is_valid_code(code: &str) -> bool {
    !code.is_empty() && !code.contains('/') && !code.chars().any(char::is_whitespace)
}

fn check_code(claim: &'static str, code: &str) -> Result<(), TokenRequestError> {
    if is_valid_code(code) {
        Ok(())
    } else {
        Err(TokenRequestError::InvalidCode {
            claim,
            value: code.to_owned(),
        })
    }
}

/// `delegate:JPN:aiko-tanaka`: readable in logs, stable for the same person.
fn derive_sub(role: Role, delegation: Option<&str>, name: &str) -> String {
    let slug: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    match delegation {
        Some(d) => format!("{role}:{d}:{slug}"),
        None => format!("{role}:{slug}"),
    }
}
