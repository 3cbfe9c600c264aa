//! Who may do what in a Plenary negotiation: tokens and the permission policy.
//!
//! The server must enforce SPEC §1 against whatever bytes a client sends, so the two questions
//! it asks on every connection and every update live here, free of any network or CRDT code:
//!
//! * **Who is this?** [`Verifier::verify`] checks a JWT (HS256 secret, RS256 or EdDSA public
//!   key, or an identity provider's key set chosen by `kid`; the algorithm is pinned by the key,
//!   never by the token) against an injected
//!   clock and yields a [`Principal`]: user, role, delegation, groups and the documents the token
//!   opens ([`Principal::may_open`], comment scopes via [`CommentScope`]).
//! * **May they do this?** [`authorize`] maps a principal, an [`Action`] (what an update does to
//!   one paragraph, proposal, comment …) and the document's [`DocContext`] to a [`Decision`]
//!   whose denial names a stable rule id. It is pure, so the matrix is table-tested.
//!
//! The crate deliberately knows nothing of yrs: the server translates an update's effect into
//! [`Action`]s, with [`DocMode`] and [`ParagraphStatus`] mirroring the document's strings.
//! [`Minter`], [`TokenRequest`] and [`parse_ttl`] serve `plenary token` and `serve --dev`.

mod claims;
mod duration;
mod glob;
mod jwks;
mod keys;
mod policy;
mod principal;
mod scope;
mod token;

pub use claims::{Claims, Role, TokenRequest, TokenRequestError};
pub use duration::{DurationError, parse_ttl};
pub use keys::{KeyError, MIN_SECRET_LEN, SigningKey, VerifyKey};
pub use policy::{
    Action, Decision, Denial, DocContext, DocMode, ParagraphStatus, UnknownValue, authorize,
};
pub use principal::Principal;
pub use scope::CommentScope;
pub use token::{AuthConfig, MAX_TOKEN_LEN, MintError, Minter, Renewable, TokenError, Verifier};
