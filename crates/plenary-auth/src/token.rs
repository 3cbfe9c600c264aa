//! Verifying and minting JWTs with `jsonwebtoken`, against an injected clock.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use std::collections::BTreeMap;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value};

use crate::claims::{Claims, Role, is_valid_code};
use crate::keys::{KeyError, SigningKey, VerifyKey, algorithm_name};
use crate::principal::Principal;

/// Tokens longer than this are refused before any decoding: a real one is well under 2 KiB.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// The server's token configuration (SPEC §4, §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// The key, which also pins the algorithm.
    pub key: VerifyKey,
    /// Expected `iss`.
    pub issuer: String,
    /// Expected `aud` (a token's `aud` may be a string or an array containing it).
    pub audience: String,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    pub leeway_secs: u64,
}

/// Why a token was refused. Messages say what was wrong, never the token or the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    #[error("token signed with algorithm `{found}`; this server accepts only {expected}")]
    AlgorithmNotAllowed {
        found: String,
        expected: &'static str,
    },
    #[error("bad signature: the token was not signed by this server's key, or was altered")]
    BadSignature,
    #[error(
        "token names key `{kid}`, which this server does not know: a new key may not be loaded yet, or the key was retired"
    )]
    UnknownKey { kid: String },
    #[error("token expired at {at} (Unix seconds)")]
    Expired { at: u64 },
    #[error("token not valid before {at} (Unix seconds)")]
    NotYetValid { at: u64 },
    #[error("token was issued by another issuer")]
    WrongIssuer,
    #[error("token is meant for another audience")]
    WrongAudience,
    #[error("token lacks the `{0}` claim")]
    MissingClaim(&'static str),
    #[error("the `{claim}` claim is invalid: {problem}")]
    InvalidClaim {
        claim: &'static str,
        problem: &'static str,
    },
}

/// A token [`Verifier::verify_renewable`] accepted: who it speaks for (`expires_at` is its
/// possibly past `exp`) and its `iat`, from which a renewal keeps the original lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renewable {
    pub principal: Principal,
    pub issued_at: Option<u64>,
}

/// Checks tokens against one [`AuthConfig`]. Cheap to share (`Arc`) across connections; to
/// rotate keys, build a new one and swap it in.
pub struct Verifier {
    keys: Keys,
    algorithm: &'static str,
    leeway_secs: u64,
}

/// One key, or a key set chosen by `kid`; each key with the validation of its algorithm.
enum Keys {
    One(Box<(DecodingKey, Validation)>),
    ByKid(BTreeMap<String, (DecodingKey, Validation)>),
}

fn validation(algorithm: Algorithm, config: &AuthConfig) -> Validation {
    let mut validation = Validation::new(algorithm);
    // Time is ours to check against the injected clock; jsonwebtoken would read the system
    // clock. It still checks signature, `iss`, `aud` and that exp/iss/aud are present.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.set_issuer(&[&config.issuer]);
    validation.set_audience(&[&config.audience]);
    validation
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    pub fn new(config: AuthConfig) -> Result<Verifier, KeyError> {
        let keys = if let VerifyKey::Jwks(json) = &config.key {
            Keys::ByKid(
                crate::jwks::parse(json)?
                    .into_iter()
                    .map(|(kid, k)| (kid, (k.key, validation(k.algorithm, &config))))
                    .collect(),
            )
        } else {
            let (algorithm, key) = config.key.single_key()?;
            Keys::One(Box::new((key, validation(algorithm, &config))))
        };
        Ok(Verifier {
            keys,
            algorithm: config.key.algorithm_name(),
            leeway_secs: config.leeway_secs,
        })
    }

    /// The `kid`s of the configured key set (empty for a single key), for logs at (re)load.
    pub fn key_ids(&self) -> Vec<String> {
        match &self.keys {
            Keys::One(..) => Vec::new(),
            Keys::ByKid(keys) => keys.keys().cloned().collect(),
        }
    }

    /// Clock skew tolerated on `exp` and `nbf`, in seconds: a connection lives until its token's
    /// `exp` plus this.
    pub fn leeway_secs(&self) -> u64 {
        self.leeway_secs
    }

    /// The algorithm every token must use (`HS256`, `RS256` or `EdDSA`).
    pub fn algorithm(&self) -> &'static str {
        self.algorithm
    }

    /// Verifies `token` at time `now_unix_secs` and returns who it speaks for.
    ///
    /// Checked in order: shape and algorithm (from the configured key; `alg: none` or any other
    /// algorithm is refused before the signature is looked at), signature, `iss`, `aud`, `exp`
    /// and `nbf` (± leeway), then Plenary's own claims.
    pub fn verify(&self, token: &str, now_unix_secs: u64) -> Result<Principal, TokenError> {
        let (claims, exp) = self.decode(token, now_unix_secs, self.leeway_secs)?;
        principal_from(&claims, exp)
    }

    /// Verifies `token` like [`Verifier::verify`], except that its `exp` may have passed by up
    /// to `grace_secs` (or the leeway, if larger): what renewing an expired session needs. The
    /// signature, `iss`, `aud`, `nbf` and Plenary's claims are checked exactly as in `verify`.
    pub fn verify_renewable(
        &self,
        token: &str,
        now_unix_secs: u64,
        grace_secs: u64,
    ) -> Result<Renewable, TokenError> {
        let (claims, exp) = self.decode(token, now_unix_secs, grace_secs.max(self.leeway_secs))?;
        Ok(Renewable {
            principal: principal_from(&claims, exp)?,
            issued_at: time_claim(&claims, "iat")?,
        })
    }

    /// Header, signature, `iss`, `aud`, then `exp` (tolerating `exp_slack` seconds) and `nbf`.
    fn decode(
        &self,
        token: &str,
        now_unix_secs: u64,
        exp_slack: u64,
    ) -> Result<(Map<String, Value>, u64), TokenError> {
        let (key, validation) = self.key_for(token)?;
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, key, validation)
            .map_err(map_jwt_error)?;
        let claims = data.claims;

        let exp = time_claim(&claims, "exp")?.ok_or(TokenError::MissingClaim("exp"))?;
        if now_unix_secs > exp.saturating_add(exp_slack) {
            return Err(TokenError::Expired { at: exp });
        }
        if let Some(nbf) = time_claim(&claims, "nbf")?
            && nbf > now_unix_secs.saturating_add(self.leeway_secs)
        {
            return Err(TokenError::NotYetValid { at: nbf });
        }
        Ok((claims, exp))
    }

    /// Checks the header and picks the key: the configured one, or the one its `kid` names.
    fn key_for(&self, token: &str) -> Result<(&DecodingKey, &Validation), TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed("longer than 8 KiB"));
        }
        let mut parts = token.split('.');
        let (Some(header), Some(_), Some(_), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed("not three dot-separated parts"));
        };
        let header = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| TokenError::Malformed("header is not base64url"))?;
        let header: Value = serde_json::from_slice(&header)
            .map_err(|_| TokenError::Malformed("header is not JSON"))?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(TokenError::Malformed("header has no `alg`"))?;
        let (key, validation) = match &self.keys {
            Keys::One(one) => (&one.0, &one.1),
            Keys::ByKid(keys) => {
                let kid =
                    header
                        .get("kid")
                        .and_then(Value::as_str)
                        .ok_or(TokenError::Malformed(
                            "header has no `kid`: this server picks the key by `kid`",
                        ))?;
                keys.get(kid)
                    .map(|(k, v)| (k, v))
                    .ok_or_else(|| TokenError::UnknownKey {
                        kid: shortened(kid),
                    })?
            }
        };
        let expected = validation.algorithms.first().copied().map(algorithm_name);
        if Some(alg) != expected {
            return Err(TokenError::AlgorithmNotAllowed {
                found: shortened(alg),
                expected: expected.unwrap_or("unsupported"),
            });
        }
        // RFC 7515 §4.1.11: a recipient must refuse a token whose `crit` names extensions it does
        // not understand. jsonwebtoken parses `crit` but does not act on it, and this server
        // understands no extension, so any `crit` is refused.
        if header.get("crit").is_some() {
            return Err(TokenError::Malformed(
                "header carries `crit`: no critical extension is supported",
            ));
        }
        Ok((key, validation))
    }
}

/// A client-chosen string as an error may repeat it: at most 16 characters.
fn shortened(s: &str) -> String {
    let mut out: String = s.chars().take(16).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

fn map_jwt_error(err: jsonwebtoken::errors::Error) -> TokenError {
    match err.kind() {
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
        ErrorKind::InvalidAudience => TokenError::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
            "exp" => TokenError::MissingClaim("exp"),
            "iss" => TokenError::MissingClaim("iss"),
            "aud" => TokenError::MissingClaim("aud"),
            _ => TokenError::Malformed("a required registered claim is missing"),
        },
        ErrorKind::InvalidClaimFormat(_) => {
            TokenError::Malformed("a registered claim has the wrong type")
        }
        ErrorKind::InvalidAlgorithm => TokenError::AlgorithmNotAllowed {
            found: "another algorithm".to_owned(),
            expected: "the configured one",
        },
        ErrorKind::Json(_) => TokenError::Malformed("payload is not a JSON object of claims"),
        ErrorKind::Base64(_) => TokenError::Malformed("a part is not base64url"),
        ErrorKind::Utf8(_) => TokenError::Malformed("a part is not UTF-8"),
        // Key problems surface as a refused signature rather than leak details to the client;
        // `Verifier::new` has already rejected the keys it can recognise as broken.
        _ => TokenError::BadSignature,
    }
}

fn time_claim(claims: &Map<String, Value>, name: &'static str) -> Result<Option<u64>, TokenError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or(TokenError::InvalidClaim {
            claim: name,
            problem: "must be a non-negative integer of Unix seconds",
        }),
    }
}

fn string_claim<'a>(
    claims: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'a str>, TokenError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(TokenError::InvalidClaim {
            claim: name,
            problem: "must be a string",
        }),
    }
}

fn required_string(claims: &Map<String, Value>, name: &'static str) -> Result<String, TokenError> {
    match string_claim(claims, name)? {
        Some(s) if !s.trim().is_empty() => Ok(s.to_owned()),
        Some(_) => Err(TokenError::InvalidClaim {
            claim: name,
            problem: "must not be empty",
        }),
        None => Err(TokenError::MissingClaim(name)),
    }
}

fn string_list(claims: &Map<String, Value>, name: &'static str) -> Result<Vec<String>, TokenError> {
    let invalid = TokenError::InvalidClaim {
        claim: name,
        problem: "must be an array of strings",
    };
    match claims.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or(invalid.clone()))
            .collect(),
        Some(_) => Err(invalid),
    }
}

fn principal_from(claims: &Map<String, Value>, exp: u64) -> Result<Principal, TokenError> {
    let sub = required_string(claims, "sub")?;
    let name = required_string(claims, "name")?;
    let role = match string_claim(claims, "role")? {
        None => return Err(TokenError::MissingClaim("role")),
        Some(r) => r.parse::<Role>().map_err(|_| TokenError::InvalidClaim {
            claim: "role",
            problem: "must be chair, secretariat, delegate or observer",
        })?,
    };
    let delegation = string_claim(claims, "delegation")?.map(str::to_owned);
    if let Some(code) = &delegation
        && !is_valid_code(code)
    {
        return Err(TokenError::InvalidClaim {
            claim: "delegation",
            problem: "must be a code without `/` or spaces",
        });
    }
    if role == Role::Delegate && delegation.is_none() {
        return Err(TokenError::MissingClaim("delegation"));
    }
    let groups = string_list(claims, "groups")?;
    if !groups.iter().all(|g| is_valid_code(g)) {
        return Err(TokenError::InvalidClaim {
            claim: "groups",
            problem: "each group must be a code without `/` or spaces",
        });
    }
    let docs = string_list(claims, "docs")?;
    Ok(Principal {
        sub,
        name,
        role,
        delegation,
        groups,
        docs,
        expires_at: exp,
    })
}

/// Signs development tokens (`plenary token`, `serve --dev`) with the configured key.
pub struct Minter {
    key: EncodingKey,
    header: Header,
}

impl std::fmt::Debug for Minter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Minter")
            .field("alg", &algorithm_name(self.header.alg))
            .finish_non_exhaustive()
    }
}

/// Why a token could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MintError {
    #[error("could not sign the token with the configured key")]
    Signing,
}

impl Minter {
    /// Signs with HS256 and this shared secret (what `PLENARY_JWT_SECRET` holds).
    pub fn hs256(secret: &[u8]) -> Result<Minter, KeyError> {
        Minter::new(&SigningKey::Hs256Secret(secret.to_vec()))
    }

    pub fn new(key: &SigningKey) -> Result<Minter, KeyError> {
        let mut header = Header::new(key.algorithm());
        header.typ = Some("JWT".to_owned());
        Ok(Minter {
            key: key.encoding_key()?,
            header,
        })
    }

    /// Names the signing key in the header (`kid`), as a server with a key set requires.
    pub fn with_kid(mut self, kid: &str) -> Minter {
        self.header.kid = Some(kid.to_owned());
        self
    }

    pub fn mint(&self, claims: &Claims) -> Result<String, MintError> {
        jsonwebtoken::encode(&self.header, claims, &self.key).map_err(|_| MintError::Signing)
    }
}
